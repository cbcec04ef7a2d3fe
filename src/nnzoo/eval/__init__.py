"""Pure metric functions, and the evaluation of a finished run."""
