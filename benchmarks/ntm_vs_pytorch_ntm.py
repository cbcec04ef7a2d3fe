"""nnzoo's NTM beside pytorch-ntm's (github.com/loudinthecloud/pytorch-ntm), on the copy task, one after the
other on one thread each: wall time and training sequences until 0.1 wrong bits per sequence at length 20.

    # pytorch-ntm's code is read from a folder given here, never copied into nnzoo, e.g.
    git --git-dir=/path/to/pytorch-ntm.git worktree add /tmp/pytorch-ntm    # or: git archive HEAD | tar -x
    python benchmarks/ntm_vs_pytorch_ntm.py /tmp/pytorch-ntm [--seeds 0 1 2 3 4] [--their-seeds 0]
                                            [--budget 30000] [--eval-every 1000] [--json OUT]

Both sides train on the same stream of copy sequences (tasks/algorithmic.py: lengths 1-20 drawn uniformly,
8 random bits per vector, one length per batch, seeded by (seed, step)) and are scored the same way every
`--eval-every` training sequences: the wrong bits per sequence of 128 fixed held-out sequences of length 20,
outputs thresholded at 0.5 (pytorch-ntm's and Graves et al.'s "cost per sequence"). A side stops at the
first score <= 0.1 (solved) or when the budget of sequences is spent.

pytorch-ntm: its own model (`ntm.aio.EncapsulatedNTM`: LSTM controller of 100 units, 128 x 20 memory, one
read and one write head, 62,860 weights) with the training its train.py runs for the copy task: batch 1,
RMSprop (lr 1e-4, momentum 0.9, alpha 0.95), binary cross-entropy, gradients clipped to [-10, 10]; this
script only drives it (its train.py needs the `attrs` of 2018). It reads the input steps and the delimiter,
then as many steps without input as the answer has, as its train.py does.

nnzoo: the `ntm-copy` recipe's model and its training keys (batch, optimizer, learning rate and schedule,
gradient clipping) through nnzoo's own `make_optimizer` / `make_schedule`, i.e. the updates `nnzoo train
ntm-copy` makes, without the loop's checkpoints and logging.

Times count training only: each evaluation's time is measured and left out.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

THRESHOLD = 0.1
VAL_SIZE = 128


def val_set():
    """The held-out sequences (tasks/algorithmic.py's own validation set: length 20, seed VAL_SEED)."""
    from nnzoo.models.ntm import NTMConfig
    from nnzoo.tasks.algorithmic import KINDS, VAL_SEED
    return KINDS["copy"].make(VAL_SIZE, 20, NTMConfig(), torch.Generator().manual_seed(VAL_SEED))


def copy_stream(seed: int, batch: int):
    """The ntm-copy recipe's training stream at this seed and batch size."""
    from nnzoo import registry
    from nnzoo.config import parse_overrides
    from nnzoo.tasks.algorithmic import Task
    recipe = registry.get_recipe("ntm-copy")
    mcfg, tcfg = registry.resolve(recipe, parse_overrides([f"seed={seed}", f"batch_size={batch}"]))
    task = Task()
    data = task.load(tcfg)
    task.adapt(mcfg, data)
    return task.train_batches(data, None, tcfg, 0, 0, 1, torch.device("cpu"))


def wrong_bits(probs: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> float:
    return float((((probs > 0.5).float() != y).float().sum(-1) * mask).sum() / y.size(0))


# --------------------------------------------------------------------------------------------- the sides
class Ours:
    name = "nnzoo"

    def __init__(self, seed: int):
        from nnzoo import registry
        from nnzoo.config import parse_overrides
        from nnzoo.tasks.algorithmic import Task
        from nnzoo.train.optim import make_optimizer, make_schedule
        recipe = registry.get_recipe("ntm-copy")
        mcfg, self.tcfg = registry.resolve(recipe, parse_overrides([f"seed={seed}"]))
        data = Task().load(self.tcfg)
        mcfg = Task().adapt(mcfg, data)
        torch.manual_seed(seed)
        self.model = registry.create_model("ntm", mcfg)
        self.batch = self.tcfg.batch_size
        self.params = list(self.model.parameters())
        self.opt = make_optimizer(self.params, self.tcfg)
        steps = self.tcfg.epochs * (mcfg.epoch_sequences // self.batch)
        self.sched = make_schedule(self.opt, self.tcfg, steps)
        self.stream = copy_stream(seed, self.batch)
        self.setting = (f"batch {self.batch}, {self.tcfg.optimizer} lr {self.tcfg.lr:g} ({self.tcfg.schedule}), "
                        f"grad norm clip {self.tcfg.grad_clip:g}")

    def step(self) -> None:
        self.model.train()
        loss = self.model.loss(next(self.stream))["loss"]
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.tcfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.params, self.tcfg.grad_clip)
        self.opt.step()
        self.sched.step()

    @torch.no_grad()
    def score(self, x, y, mask) -> float:
        self.model.eval()
        return wrong_bits(torch.sigmoid(self.model(x)[0]), y, mask)


class Theirs:
    name = "pytorch-ntm"
    batch = 1

    def __init__(self, seed: int, folder: Path):
        sys.path.insert(0, str(folder))
        from ntm.aio import EncapsulatedNTM  # pytorch-ntm's own model, from the folder given
        torch.manual_seed(seed)
        # copy task: 8 bits + the delimiter in, 8 bits out, controller 100 x 1 layer, 1 head pair, 128 x 20
        self.model = EncapsulatedNTM(9, 8, 100, 1, 1, 128, 20)
        self.opt = torch.optim.RMSprop(self.model.parameters(), lr=1e-4, momentum=0.9, alpha=0.95)
        self.stream = copy_stream(seed, self.batch)
        self.setting = "batch 1, RMSprop lr 1e-4 momentum 0.9 alpha 0.95, grad values clipped to [-10, 10]"

    def run(self, x: torch.Tensor, answer: int) -> torch.Tensor:
        """x (B, T, 9) of which the first T - answer steps are input -> sigmoid outputs (B, answer, 8)."""
        B = x.size(0)
        self.model.init_sequence(B)
        for t in range(x.size(1) - answer):
            self.model(x[:, t])
        return torch.stack([self.model()[0] for _ in range(answer)], 1)

    def step(self) -> None:
        self.model.train()
        x, y, mask = next(self.stream)
        L = int(mask[0].sum())
        out = self.run(x, L)
        loss = F.binary_cross_entropy(out, y[:, -L:])
        self.opt.zero_grad()
        loss.backward()
        for p in self.model.parameters():
            if p.grad is not None:
                p.grad.clamp_(-10, 10)
        self.opt.step()

    @torch.no_grad()
    def score(self, x, y, mask) -> float:
        self.model.eval()
        L = int(mask[0].sum())
        return wrong_bits(self.run(x, L), y[:, -L:], mask[:, -L:])


def train_until_solved(side, budget: int, every: int, val, log) -> dict:
    seen, train_s, next_eval, curve = 0, 0.0, every, []
    solved_at = None
    while seen < budget:
        t = time.perf_counter()
        side.step()
        train_s += time.perf_counter() - t
        seen += side.batch
        if seen >= next_eval:
            next_eval += every
            bits = side.score(*val)
            curve.append((seen, round(bits, 3), round(train_s, 1)))
            log(f"  {side.name}: {seen:6d} sequences, {train_s:7.1f} s, {bits:7.3f} wrong bits/seq at length 20")
            if not torch.isfinite(torch.tensor(bits)):
                break
            if bits <= THRESHOLD:
                solved_at = seen
                break
    return {"solved": solved_at is not None, "sequences": seen, "train_seconds": round(train_s, 1),
            "ms_per_sequence": round(1000 * train_s / max(1, seen), 3), "curve": curve,
            "weights": sum(p.numel() for p in side.model.parameters()), "setting": side.setting}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("pytorch_ntm", type=Path, help="a folder holding pytorch-ntm's files (its ntm/ package)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="nnzoo's seeds")
    p.add_argument("--their-seeds", type=int, nargs="*", default=[0], help="pytorch-ntm's seeds (slow: batch 1)")
    p.add_argument("--budget", type=int, default=30_000, help="most training sequences per run")
    p.add_argument("--eval-every", type=int, default=1000, help="training sequences between scores")
    p.add_argument("--json", type=Path, help="write the results here")
    args = p.parse_args()
    if not (args.pytorch_ntm / "ntm" / "aio.py").is_file():
        sys.exit(f"{args.pytorch_ntm} has no ntm/aio.py: give the folder pytorch-ntm's files are in")
    torch.set_num_threads(1)
    val = val_set()
    runs = []
    for name, seeds in (("nnzoo", args.seeds), ("pytorch-ntm", args.their_seeds)):
        for seed in seeds:
            print(f"{name}, seed {seed}:", flush=True)
            side = Ours(seed) if name == "nnzoo" else Theirs(seed, args.pytorch_ntm)
            res = train_until_solved(side, args.budget, args.eval_every, val, lambda s: print(s, flush=True))
            runs.append({"side": name, "seed": seed, **res})
            print(f"{name} seed {seed}: {'solved' if res['solved'] else 'NOT solved'} after {res['sequences']} "
                  f"sequences, {res['train_seconds']} s ({res['ms_per_sequence']} ms/sequence)", flush=True)

    print(f"\ncopy, lengths 1-20, until <= {THRESHOLD} wrong bits/seq at length 20 (budget {args.budget} sequences), "
          f"1 thread, {platform.processor() or platform.machine()}, torch {torch.__version__}")
    print(f"{'side':12s} {'seed':>4s} {'solved':>6s} {'sequences':>9s} {'seconds':>8s} {'ms/seq':>7s}")
    for r in runs:
        print(f"{r['side']:12s} {r['seed']:4d} {str(r['solved']):>6s} {r['sequences']:9d} {r['train_seconds']:8.1f} "
              f"{r['ms_per_sequence']:7.2f}")
    summary = {}
    for name in ("nnzoo", "pytorch-ntm"):
        done = [r for r in runs if r["side"] == name and r["solved"]]
        mine = [r for r in runs if r["side"] == name]
        if mine:
            summary[name] = {"solved": f"{len(done)} of {len(mine)}",
                             "median_sequences_solved": sorted(r["sequences"] for r in done)[len(done) // 2]
                             if done else None,
                             "median_seconds_solved": sorted(r["train_seconds"] for r in done)[len(done) // 2]
                             if done else None,
                             "ms_per_sequence": round(sum(r["ms_per_sequence"] for r in mine) / len(mine), 3)}
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "summary": summary, "threads": 1,
                                         "cpu": platform.processor(), "torch": torch.__version__,
                                         "host_cpus": os.cpu_count()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
