"""What a family of models reads, how it is batched, evaluated and pictured. One module per task."""
