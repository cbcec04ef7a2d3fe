import os
from pathlib import Path

import pytest

os.environ.setdefault("NNZOO_PROGRESS", "0")
ROOT = Path(__file__).resolve().parents[1]

# settings that make an engine test take seconds: scikit-learn digits and a tiny CNN
FAST = ["data=digits", "channels=[4,8]", "hidden=[16]", "kernel=3", "padding=1", "batch_size=64",
        "log_every=5", "tensorboard=false", "augment=1"]


@pytest.fixture
def nnzoo_cli(capsys):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    from nnzoo.cli import main

    def run(*args):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err
    return run

# the same, tuned to learn fast: no augmentation or dropout, constant lr
LEARN = FAST + ["augment=0", "dropout=0", "schedule=constant", "lr=0.01"]


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one thread is fastest, and steady while other processes share the cores (while another
    process kept the cores busy, OpenMP threads waiting on each other made each small op ~50x slower). Module
    scope, so that a test module's module-scoped fixtures (a trained run shared by its tests) get it too:
    `pytestmark = pytest.mark.usefixtures("one_thread")`."""
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
