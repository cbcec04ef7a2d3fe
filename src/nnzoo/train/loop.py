"""The one training loop every recipe runs through.

fit() is seeded, resumable to the exact step (the shuffle of each epoch is a function of seed and epoch,
and the global RNG state is checkpointed), logs every loss part a model returns, checkpoints atomically,
and runs the same under torchrun (DDP; only rank 0 writes).
"""
from __future__ import annotations

import json
import random
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .. import config as C
from .. import registry
from ..errors import TrainingDiverged, UserError
from . import checkpoint
from .config import TrainConfig
from .device import autocast, pick_device, pick_precision
from .distributed import Dist, all_mean, setup, teardown
from .logging import MetricLogger, progress
from .optim import make_optimizer, make_schedule


CKPT_SECONDS = 30.0
PRECISION_NAMES = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}


class Objective(nn.Module):
    """Routes DDP's forward to model.loss(batch[, phase]), so gradient all-reduce hooks fire for any model."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch, phase=None):
        return self.model.loss(batch) if phase is None else self.model.loss(batch, phase)


@dataclass
class Player:
    """One optimizer with its schedule and loss scaler. Most models have one; an adversarial model (GANs)
    names several with `players()` -> {name: parameters}, says which update at a step with `phases(step)`,
    and computes each one's loss with `loss(batch, phase)`. The loop below is the same for both."""
    name: str
    params: list
    opt: torch.optim.Optimizer
    sched: object
    scaler: torch.amp.GradScaler


def make_players(model: nn.Module, tcfg: TrainConfig, total: int, device, amp_dtype) -> dict[str, Player]:
    groups = model.players() if hasattr(model, "players") else {"model": list(model.parameters())}
    out = {}
    for name, params in groups.items():
        params = list(params)
        opt = make_optimizer(params, tcfg)
        out[name] = Player(name, params, opt, make_schedule(opt, tcfg, total),
                           torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16))
    return out


def phases_at(model: nn.Module, step: int) -> list:
    """Which players update at this step, in order (None: the model's single loss)."""
    return list(model.phases(step)) if hasattr(model, "phases") else [None]


class StopOnInterrupt:
    """The first Ctrl-C finishes the current step, checkpoints and returns; a second one aborts at once."""

    def __init__(self):
        self.requested = False
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nnnzoo: stopping after this step and writing a checkpoint (Ctrl-C again to abort)",
              file=sys.stderr)

    def restore(self):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


@dataclass
class FitResult:
    run_dir: Path
    step: int
    total_steps: int
    finished: bool
    wall: float
    val: dict


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffle of one epoch depends only on (seed, epoch), so a resumed run sees the same batches."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))


def rng_state() -> dict:
    # tensors and ints only, so the state loads with weights_only=True
    _, keys, pos, *_ = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "numpy": torch.from_numpy(keys.astype(np.int64)), "numpy_pos": int(pos)}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(("MT19937", state["numpy"].numpy().astype(np.uint32), int(state["numpy_pos"]), 0, 0.0))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def write_config(run_dir: Path, recipe, mcfg, tcfg, about_data: dict) -> None:
    doc = {"recipe": recipe.name, "task": recipe.task, "model": recipe.model, "data": tcfg.data,
           "model_config": C.to_dict(mcfg), "train": C.to_dict(tcfg), "nnzoo_version": _version(), **about_data}
    checkpoint.atomic_write_text(run_dir / "config.json", json.dumps(doc, indent=2) + "\n")


def _version() -> str:
    from .. import __version__
    return __version__


def fit(run_dir: Path, recipe, mcfg, tcfg: TrainConfig, resume: bool = False, verbose: bool = True,
        distributed: bool = True, announce: str = "") -> FitResult:
    """Train `recipe` into `run_dir`. Gradients are on whatever the caller's context (a cache built from
    inside an evaluation under `torch.no_grad`, say). distributed=False trains in this process alone even under
    torchrun: how a helper network is built from inside a distributed run. `announce` goes to stderr once the
    data are loaded and the model built, just before training (not at all if the data are missing)."""
    with torch.inference_mode(False), torch.enable_grad():
        return _fit(Path(run_dir), recipe, mcfg, tcfg, resume, verbose, distributed, announce)


def _fit(run_dir: Path, recipe, mcfg, tcfg: TrainConfig, resume: bool, verbose: bool, distributed: bool,
         announce: str) -> FitResult:
    device = pick_device(tcfg.device)
    dist = setup(device.type) if distributed else Dist()
    if dist.active and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
    amp_dtype = pick_precision(tcfg.precision, device)
    if tcfg.batch_size % dist.world:
        raise UserError(f"batch_size={tcfg.batch_size} does not split over {dist.world} processes; "
                        f"use a multiple of {dist.world}")

    task = registry.get_task(recipe.task)
    data = task.load(tcfg)
    mcfg = task.adapt(mcfg, data)
    seed_everything(tcfg.seed)
    model = registry.create_model(recipe.model, mcfg).to(device)
    if hasattr(task, "attach"):  # a frozen helper network the loss reads (SRGAN's feature loss)
        task.attach(model, data, device)
    n = task.n_train(data)
    if tcfg.train_subset > 0:  # the split is already a seeded shuffle, so its head is a random subset
        n = min(n, tcfg.train_subset)
    batch = min(tcfg.batch_size, n - n % dist.world)
    steps_per_epoch = max(1, n // batch)  # drop the last partial batch: every step sees `batch` examples
    total = tcfg.epochs * steps_per_epoch
    players = make_players(model, tcfg, total, device, amp_dtype)
    multi = len(players) > 1
    if announce and verbose and dist.main:
        print(announce, file=sys.stderr, flush=True)

    step, elapsed, val = 0, 0.0, {}
    if resume:
        ck = checkpoint.latest(run_dir)
        checkpoint.load_into(model, ck)
        state = checkpoint.load_state(ck)
        for name, p in players.items():
            # run folders from before adversarial training kept their one optimizer at the top level
            part = state["players"][name] if "players" in state else state
            p.opt.load_state_dict(part["optimizer"])
            p.sched.load_state_dict(part["scheduler"])
            p.scaler.load_state_dict(part["scaler"])
        set_rng_state(state["rng"])
        step, elapsed, val = int(state["step"]), float(state["elapsed"]), dict(state.get("val", {}))
    else:
        if dist.main:
            run_dir.mkdir(parents=True, exist_ok=True)
            write_config(run_dir, recipe, mcfg, tcfg, task.describe(data))
        if hasattr(task, "before_training"):  # e.g. greedy layer-wise pretraining, before the first step
            task.before_training(model, data, tcfg, device, verbose and dist.main)

    net = Objective(model)
    if dist.active:
        # an adversarial phase leaves the other player's weights out of its graph
        net = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None,
                                                  find_unused_parameters=multi)
    log = MetricLogger(run_dir if dist.main else None, tcfg.tensorboard, elapsed)

    def save() -> None:
        if dist.main:
            checkpoint.save(run_dir, model, {
                "players": {name: {"optimizer": p.opt.state_dict(), "scheduler": p.sched.state_dict(),
                                   "scaler": p.scaler.state_dict()} for name, p in players.items()},
                "rng": rng_state(), "step": step, "elapsed": log.elapsed(), "val": val,
                # what `precision=auto` / `device=auto` became on this machine: figures depend on it
                "device": device.type, "precision": PRECISION_NAMES.get(amp_dtype, str(amp_dtype))}, step)

    # a GPU sync per step would cost throughput: check the loss there every log interval
    check_every = 1 if device.type == "cpu" else max(1, tcfg.log_every)
    stop = StopOnInterrupt()
    bar = progress(total * batch, step * batch, desc=recipe.name, unit=getattr(task, "unit", "example"), enabled=verbose and dist.main)
    parts: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    this_call, last_save = 0, time.time()
    budget = tcfg.time_limit * 60.0  # seconds; 0: no limit
    out_of_time = False
    try:
        while step < total and not out_of_time:
            epoch = step // steps_per_epoch
            order = epoch_order(n, tcfg.seed, epoch)
            if hasattr(task, "bucket"):  # a task may regroup the shuffle into batches of similar length
                order = task.bucket(data, order, batch, seed=tcfg.seed * 100_003 + epoch)
            for i in range(step % steps_per_epoch, steps_per_epoch):
                idx = order[i * batch:(i + 1) * batch][dist.rank::dist.world]
                model.train()
                b = task.batch(data, idx, device, train=True, cfg=tcfg)
                for phase in phases_at(model, step):
                    p = players["model" if phase is None else phase]
                    with autocast(device, amp_dtype):
                        out = net(b, phase)
                    loss = out["loss"]
                    if (step + 1) % check_every == 0 and not torch.isfinite(loss.detach()).all():
                        where = checkpoint.latest(run_dir).name if (run_dir / "checkpoints" / "latest").exists() else "none"
                        raise TrainingDiverged(f"loss became {loss.item()} at step {step + 1} (epoch {epoch + 1}); "
                                               f"last good checkpoint: {where}; try a lower lr= or grad_clip=1")
                    # every gradient, not just this player's: the generator's loss also reaches the critic's weights
                    model.zero_grad(set_to_none=True)
                    p.scaler.scale(loss).backward()
                    if tcfg.grad_clip > 0:
                        p.scaler.unscale_(p.opt)
                        nn.utils.clip_grad_norm_(p.params, tcfg.grad_clip)
                    p.scaler.step(p.opt)
                    p.scaler.update()
                    if hasattr(model, "after_step"):  # e.g. WGAN's weight clipping
                        model.after_step(phase)
                    for k, v in out.items():
                        if v.ndim == 0:
                            key = f"loss_{phase}" if multi and k == "loss" else k
                            parts[key] = parts.get(key, 0.0) + v.detach().float()
                            counts[key] = counts.get(key, 0) + 1
                if budget:
                    # the schedule anneals by the clock; processes share the mean clock so they stop on the same step
                    used = all_mean(log.elapsed() / budget, dist)
                    for p in players.values():
                        p.sched.lr_lambdas[0].clock = used
                    out_of_time = used >= 1.0
                for p in players.values():
                    if multi:  # a generator that waits n_critic steps for its first update: expected, not a bug
                        with warnings.catch_warnings():
                            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)`")
                            p.sched.step()
                    else:
                        p.sched.step()
                step += 1
                this_call += 1
                bar.update(batch)
                if step % tcfg.log_every == 0 or step == total:
                    ep = step / steps_per_epoch
                    for k, v in parts.items():
                        log.log(step, ep, "train", k, float(v) / counts[k])
                    log.log(step, ep, "train", "lr", next(iter(players.values())).sched.get_last_lr()[0])
                    bar.set_postfix({k: f"{float(v) / counts[k]:.4f}" for k, v in parts.items()
                                     if k.startswith("loss")}, refresh=False)
                    parts, counts = {}, {}
                if tcfg.ckpt_every and step % tcfg.ckpt_every == 0:
                    save()
                if (stop.requested or (tcfg.stop_after and this_call >= tcfg.stop_after)) and step < total:
                    save()
                    return FitResult(run_dir, step, total, False, log.elapsed(), val)
                if out_of_time:
                    break
            val = {k: all_mean(v, dist) for k, v in task.evaluate(model, data, "val", device, amp_dtype).items()}
            for k, v in val.items():
                log.log(step, step / steps_per_epoch, "val", k, v)
            bar.set_postfix({f"val_{k}": f"{v:.4f}" for k, v in val.items()}, refresh=False)
            if hasattr(task, "after_epoch") and dist.main:  # e.g. a GAN's sample grid from fixed noise
                task.after_epoch(model, data, run_dir, step // steps_per_epoch, device)
            # checkpoint at an epoch's end, but not more than twice a minute: on small data sets writing
            # every epoch would cost more than the epoch itself
            if step == total or out_of_time or time.time() - last_save >= CKPT_SECONDS:
                save()
                last_save = time.time()
    finally:
        stop.restore()
        bar.close()
        log.close()
        teardown(dist)
    return FitResult(run_dir, step, step if out_of_time else total, True, log.elapsed(), val)
