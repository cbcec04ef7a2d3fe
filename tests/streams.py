"""Training runs with stateful streams, for the exact-resume tests (tests/test_stream_resume.py), which also
run them in a subprocess that is killed: `python streams.py CASE RUN_DIR KILL_AT THREADS`.

The toy task's training stream is made by the model as it trains: the shape of deep RL.

An agent walks on a ring of N cells; the environment moves it by its action (-1, 0, +1) plus a random slip
drawn from the environment's own generator, and rewards it for standing on cell 0. Each step the current
model picks the action (epsilon-greedy, from the task's generator), the transition goes into a replay buffer
(a ring of fixed capacity), and once LEARNING_STARTS transitions are in it a batch is sampled from it; before
that a step has no update (batch None). The environment, the buffer and both generators are state that must
survive a checkpoint for a resumed run to train as the straight one did.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from dataclasses import dataclass

from nnzoo.models.base import Model
from nnzoo.recipes import Recipe
from nnzoo.tasks.base import Task
from nnzoo.train.stream import Epoch

N_CELLS, CAPACITY, LEARNING_STARTS, STEPS_PER_EPOCH = 7, 40, 6, 10
RECIPE = Recipe("toy-replay", "toy-replay", "toy-q", "none", "a ring walk with a replay buffer (tests only)",
                train=dict(epochs=3, batch_size=8, lr=0.05))


@dataclass
class ToyConfig:
    cells: int = N_CELLS


def one_hot(cell: torch.Tensor) -> torch.Tensor:
    return F.one_hot(cell, N_CELLS).float()


class ToyQ(Model):
    """Q(s, .) = W one_hot(s) + b, regressed on the reward of the action taken."""

    def __init__(self, cfg=None):
        super().__init__()
        self.cfg = cfg
        self.q = nn.Linear(N_CELLS, 3)

    def loss(self, batch) -> dict:
        s, a, r = batch
        q = self.q(one_hot(s)).gather(1, a[:, None]).squeeze(1)
        return {"loss": F.mse_loss(q, r)}


class ToyReplayTask(Task):
    kind = "toy replay"

    def __init__(self):
        self.env = torch.Generator().manual_seed(11)  # the slips
        self.explore = torch.Generator().manual_seed(12)  # epsilon-greedy and the buffer's draws
        self.cell = torch.tensor(3)
        self.buffer = torch.zeros(CAPACITY, 3)  # (s, a, r) per row
        self.size, self.pos = 0, 0

    def load(self, tcfg):
        return None

    def epoch(self, data, tcfg, world):
        return Epoch(STEPS_PER_EPOCH, tcfg.batch_size)

    def act(self, model) -> int:
        if float(torch.rand((), generator=self.explore)) < 0.3:
            return int(torch.randint(0, 3, (), generator=self.explore))
        with torch.no_grad():
            return int(model.q(one_hot(self.cell[None])).argmax())

    def train_batches(self, data, model, tcfg, start, rank, world, device, salt=0):
        while True:
            a = self.act(model)
            slip = int(torch.randint(-1, 2, (), generator=self.env))
            self.cell = (self.cell + a - 1 + slip) % N_CELLS
            r = float(self.cell == 0)
            self.buffer[self.pos] = torch.tensor([float(self.cell), float(a), r])
            self.pos, self.size = (self.pos + 1) % CAPACITY, min(self.size + 1, CAPACITY)
            if self.size < LEARNING_STARTS:
                yield None
                continue
            rows = self.buffer[torch.randint(0, self.size, (tcfg.batch_size,), generator=self.explore)]
            yield rows[:, 0].long(), rows[:, 1].long(), rows[:, 2]

    def evaluate(self, model, data, split, device, amp_dtype=None) -> dict:
        with torch.no_grad():
            return {"q_at_goal": float(model.q(one_hot(torch.tensor([0]))).max())}

    def test_report(self, model, data, device) -> tuple[dict, dict]:
        return self.evaluate(model, data, "test", device), {}

    def state_dict(self) -> dict:
        return {"env": self.env.get_state(), "explore": self.explore.get_state(), "cell": self.cell.clone(),
                "buffer": self.buffer.clone(), "size": self.size, "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.env.set_state(state["env"])
        self.explore.set_state(state["explore"])
        self.cell, self.buffer = state["cell"].clone(), state["buffer"].clone()
        self.size, self.pos = int(state["size"]), int(state["pos"])


# case -> (recipe, extra key=value settings): small enough to train in seconds on the stand-in data
CASES = {
    "toy-replay": (None, []),
    "charlm-carry-state": ("shakespeare-gru", ["hidden=16", "layers=1", "embed=8", "seq_len=16", "batch_size=8",
                                               "epochs=2", "train_subset=200", "carry_state=true", "lr=0.01",
                                               "dropout=0"]),
    "translate-buckets": ("translate-en-es", ["embed=8", "hidden=16", "attn_size=8", "batch_size=16", "epochs=2",
                                              "train_subset=192", "beam=2", "max_len=10", "dropout=0"]),
    "deep-ae-pretraining": ("mnist-deep-ae", ["data=digits", "hidden=[16,8]", "code=4", "pretrain_epochs=2",
                                              "epochs=2", "batch_size=128", "test_size=0"]),
}
COMMON = ["tensorboard=false", "log_every=5"]


def train(case: str, run_dir, resume: bool = False, extra=()):
    from pathlib import Path

    from nnzoo import registry, runs
    from nnzoo.config import parse_overrides
    from nnzoo.train.config import resolve
    from nnzoo.train.loop import fit
    name, settings = CASES[case]
    if name is None:
        mcfg, tcfg = resolve(RECIPE, ToyConfig, parse_overrides(COMMON + list(extra)))
        return fit(Path(run_dir), RECIPE, mcfg, tcfg, task=ToyReplayTask(), build=ToyQ, resume=resume,
                   verbose=False)
    recipe = registry.get_recipe(name)
    mcfg, tcfg = registry.resolve(recipe, parse_overrides(settings + COMMON + list(extra)))
    return runs.train(Path(run_dir), recipe, mcfg, tcfg, resume=resume, verbose=False)


def die_after_checkpoint(kill_at: int) -> None:
    """From now on this process dies by SIGKILL right after the checkpoint of step `kill_at` is written: no
    finally, no last checkpoint, as a power cut (the killed half of a resume test)."""
    import os
    import signal

    from nnzoo.train import checkpoint
    real_save = checkpoint.save

    def save_then_die(run_dir, model, state, step):
        path = real_save(run_dir, model, state, step)
        if step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return path
    checkpoint.save = save_then_die


if __name__ == "__main__":  # train until the checkpoint of step KILL_AT is written, then die by SIGKILL
    import sys

    case, run, kill_at, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)  # the straight run's thread count: the same sums in the same order
    die_after_checkpoint(kill_at)
    train(case, run, extra=[f"ckpt_every={kill_at}"])
    sys.exit("the run ended before the step it was to be killed at")
