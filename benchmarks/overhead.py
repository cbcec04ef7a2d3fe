"""Engine overhead: one epoch of `nnzoo train mnist-cnn` against a bare PyTorch loop with the same model,
batch, data, optimizer and schedule, side by side in one run (alternating, so drift hits both alike).

    python benchmarks/overhead.py [--epochs 1] [--repeats 2] [--recipe mnist-cnn]

Prints one JSON object with both times per epoch and their ratio (nnzoo / bare).
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from nnzoo import registry
from nnzoo.config import parse_overrides
from nnzoo.train.loop import epoch_order, fit
from nnzoo.train.optim import make_optimizer, make_schedule


def bare_loop(recipe, mcfg, tcfg) -> float:
    """What a user would write by hand: shuffle, slice, forward, backward, step; validate at the end."""
    t0 = time.perf_counter()
    task = registry.get_task(recipe.task)
    data = task.load(tcfg)
    mcfg = task.adapt(mcfg, data)
    torch.manual_seed(tcfg.seed)
    model = registry.create_model(recipe.model, mcfg)
    opt = make_optimizer(model.parameters(), tcfg)
    n, b = len(data.train_x), tcfg.batch_size
    steps = n // b
    sched = make_schedule(opt, tcfg, steps * tcfg.epochs)
    for epoch in range(tcfg.epochs):
        order = epoch_order(n, tcfg.seed, epoch)
        model.train()
        for i in range(steps):
            idx = order[i * b:(i + 1) * b]
            x, y = data.train_x[idx], data.train_y[idx]
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            # the same validation pass the engine makes at an epoch's end
            for j in range(0, len(data.val_x), 1000):
                (model(data.val_x[j:j + 1000]).argmax(1) == data.val_y[j:j + 1000]).float().mean()
    return time.perf_counter() - t0


def engine(recipe, mcfg, tcfg) -> float:
    out = Path(tempfile.mkdtemp(prefix="nnzoo-overhead-"))
    t0 = time.perf_counter()
    fit(out / "run", recipe, mcfg, tcfg, verbose=True)
    dt = time.perf_counter() - t0
    shutil.rmtree(out)
    return dt


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", default="mnist-cnn")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    recipe = registry.get_recipe(args.recipe)
    # augmentation off: the bare loop has none, and this measures the engine, not the data pipeline
    mcfg, tcfg = registry.resolve(recipe, parse_overrides([f"epochs={args.epochs}", "augment=0", "precision=fp32"]))
    times = {"bare": [], "nnzoo": []}
    for _ in range(args.repeats):
        times["bare"].append(bare_loop(recipe, mcfg, tcfg) / args.epochs)
        times["nnzoo"].append(engine(recipe, mcfg, tcfg) / args.epochs)
    bare, ours = min(times["bare"]), min(times["nnzoo"])
    print(json.dumps({"recipe": args.recipe, "bare_seconds_per_epoch": round(bare, 2),
                      "nnzoo_seconds_per_epoch": round(ours, 2), "overhead_ratio": round(ours / bare, 3),
                      "all_runs": times, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
