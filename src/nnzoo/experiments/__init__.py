"""The lectures' claims as runnable experiments: run(out, quick, seed, progress) -> figures, images, summary."""
from __future__ import annotations

import contextlib


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with `n` torch intra-op threads, then give the caller's setting back.

    The experiments' tensors are small: on a 2-core machine with anything else running, spin-waiting
    OpenMP threads made small ops many times slower than one thread (measured ~20x for an MLP step)."""
    import torch
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)
