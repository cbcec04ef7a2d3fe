"""Run folders that nnzoo trains once and keeps under the data folder: the MNIST judge today, frozen encoders
and other helper networks later.

The first use on a fresh machine builds the folder, from whatever context asks for it (an evaluation under
`torch.no_grad`, one rank of a torchrun job, two `nnzoo` processes started together):
- an exclusive lock on `<folder>.lock` serialises builders; the one that waits finds the folder done;
- each build trains into a temporary folder of its own (`<folder>.tmp-` plus a random suffix), single-process, with
  gradients on, and only a trained and evaluated run is renamed into place, so the folder is complete or
  absent; a crash leaves at most a temporary folder, which the next builder removes under the lock;
- the caller's global random state is left as it was, so a run that builds a cache trains like one that
  found it.
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import torch

try:  # POSIX; elsewhere builds are still atomic, just not serialised
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

DONE = "eval.json"  # written last by `train.evaluate.evaluate`: its presence marks a finished folder


def is_built(folder: Path) -> bool:
    return (Path(folder) / DONE).exists()


@contextlib.contextmanager
def locked(folder: Path):
    """Hold the exclusive build lock of `folder` (blocks while another process holds it)."""
    lock = folder.with_name(folder.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as f:
        if fcntl is not None:
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def kept_rng():
    """Run a build without moving the caller's torch / numpy / random state."""
    import random

    import numpy as np
    state = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    try:
        yield
    finally:
        torch.set_rng_state(state[0])
        np.random.set_state(state[1])
        random.setstate(state[2])


def cached_run(folder: Path, build: Callable[[Path], None]) -> Path:
    """`folder`, made first by `build(run_dir)` if it is not built yet: build must leave a finished run folder
    (eval.json written last) at the path it is given."""
    folder = Path(folder)
    if is_built(folder):
        return folder
    with locked(folder):
        if is_built(folder):  # another process built it while this one waited for the lock
            return folder
        for stale in folder.parent.glob(folder.name + ".tmp*"):  # left by a crashed build
            shutil.rmtree(stale, ignore_errors=True)
        if folder.exists():  # unfinished (no eval.json): from a version of nnzoo without this lock
            shutil.rmtree(folder)
        tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
        try:
            with kept_rng(), torch.inference_mode(False), torch.enable_grad():
                build(tmp / "run")
            (tmp / "run").rename(folder)  # the same file system: atomic
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder
