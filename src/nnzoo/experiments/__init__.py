"""The lectures' claims as runnable experiments: run(out, quick, seed, progress) -> figures, images, summary."""
from __future__ import annotations

import contextlib
import pathlib


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


def train_recipe(run_dir: pathlib.Path, recipe: str, overrides: list[str], progress: bool):
    """A run of a recipe with key=value overrides, trained into run_dir (not cached); fit's result."""
    from .. import registry
    from ..config import parse_overrides
    from ..runs import train
    r = registry.get_recipe(recipe)
    mcfg, tcfg = registry.resolve(r, parse_overrides(overrides))
    return train(run_dir, r, mcfg, tcfg, verbose=progress, distributed=False)


def cached_recipe_run(folder: pathlib.Path, recipe: str, overrides: list[str], seed: int, progress: bool,
                      what: str) -> pathlib.Path:
    """A run of a recipe with these overrides, trained and evaluated once into `folder` (train/cache.py) and
    read from there by every later experiment."""
    from .. import registry
    from ..config import parse_overrides
    from ..runs import evaluate_run, train
    from ..train.cache import cached_run

    def build(run_dir: pathlib.Path) -> None:
        r = registry.get_recipe(recipe)
        mcfg, tcfg = registry.resolve(r, parse_overrides(overrides + [f"seed={seed}"]))
        train(run_dir, r, mcfg, tcfg, verbose=progress, distributed=False,
              announce=f"nnzoo: training {what} once into {folder}")
        evaluate_run(run_dir)
    return cached_run(folder, build)
