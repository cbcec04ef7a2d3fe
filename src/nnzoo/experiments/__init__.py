"""The lectures' claims as runnable experiments: run(out, quick, seed, progress) -> figures, images, summary."""
