"""Engine overhead: one epoch of `nnzoo train mnist-cnn` against a bare PyTorch loop with the same model,
batch, data, optimizer and schedule, side by side in one run (alternating, so drift hits both alike).

    python benchmarks/overhead.py [--epochs 1] [--repeats 2] [--recipe mnist-cnn] [--subset N]

`--recipe mnist-dcgan` compares the adversarial step instead, against the loop of PyTorch's DCGAN example:
one generator forward per step, D on real and on detached fakes, then G through D on the same fakes.

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
from nnzoo.runs import train as fit
from nnzoo.train.stream import epoch_order
from nnzoo.train.optim import make_optimizer, make_schedule


def build(recipe, mcfg, tcfg):
    """Data, model and task as a script would make them (inside the timed region, as fit() does)."""
    task = registry.get_task(recipe.task)
    data = task.load(tcfg)
    mcfg = task.adapt(mcfg, data)
    torch.manual_seed(tcfg.seed)
    return task, data, mcfg, registry.create_model(recipe.model, mcfg)


def bare_loop(recipe, mcfg, tcfg) -> float:
    """What a user would write by hand: shuffle, slice, forward, backward, step; validate at the end."""
    t0 = time.perf_counter()
    task, data, mcfg, model = build(recipe, mcfg, tcfg)
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


def bare_gan_loop(recipe, mcfg, tcfg) -> float:
    """The hand-written GAN loop (pytorch/examples dcgan/main.py), with the engine's validation FID pass."""
    t0 = time.perf_counter()
    task, data, mcfg, model = build(recipe, mcfg, tcfg)
    opt_d, opt_g = make_optimizer(list(model.critic.parameters()), tcfg), make_optimizer(
        list(model.generator.parameters()), tcfg)
    n, b = min(len(data.train_x), tcfg.train_subset or len(data.train_x)), tcfg.batch_size
    steps = n // b
    bce = F.binary_cross_entropy_with_logits
    for epoch in range(tcfg.epochs):
        order = epoch_order(n, tcfg.seed, epoch)
        model.train()
        for i in range(steps):
            idx = order[i * b:(i + 1) * b]
            real = data.train_x[idx] * 2 - 1
            fake = model.generate_raw(torch.randn(b, mcfg.latent))
            s_real, s_fake = model.critic(real), model.critic(fake.detach())
            loss_d = bce(s_real, torch.ones_like(s_real)) + bce(s_fake, torch.zeros_like(s_fake))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            s_fake = model.critic(fake)
            loss_g = bce(s_fake, torch.ones_like(s_fake))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
        task.evaluate(model, data, "val", torch.device("cpu"))
        task.after_epoch(model, data, Path(tempfile.mkdtemp(prefix="nnzoo-bare-")), epoch + 1, torch.device("cpu"))
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
    p.add_argument("--subset", type=int, default=0, help="train on this many images only (0: all)")
    args = p.parse_args()
    recipe = registry.get_recipe(args.recipe)
    # augmentation off: the bare loop has none, and this measures the engine, not the data pipeline
    mcfg, tcfg = registry.resolve(recipe, parse_overrides([f"epochs={args.epochs}", "augment=0", "precision=fp32",
                                                           f"train_subset={args.subset}"]))
    bare_fn = bare_gan_loop if recipe.task == "generate" else bare_loop
    times = {"bare": [], "nnzoo": []}
    for _ in range(args.repeats):
        times["bare"].append(bare_fn(recipe, mcfg, tcfg) / args.epochs)
        times["nnzoo"].append(engine(recipe, mcfg, tcfg) / args.epochs)
    bare, ours = min(times["bare"]), min(times["nnzoo"])
    print(json.dumps({"recipe": args.recipe, "bare_seconds_per_epoch": round(bare, 2),
                      "nnzoo_seconds_per_epoch": round(ours, 2), "overhead_ratio": round(ours / bare, 3),
                      "all_runs": times, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
