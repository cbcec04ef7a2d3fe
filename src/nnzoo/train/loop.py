"""The one training loop every recipe runs through.

fit() runs the model's stages (pretraining, models/base.py) and then the main one, one batch per step from
the task's stream (tasks/base.py). It is seeded and resumable to the exact step: a stream starts again at any
step from (seed, step) and the task's own checkpointed state, and the global RNG state is checkpointed too.
It logs every loss part a model returns, checkpoints atomically, and runs the same under torchrun (DDP; only
rank 0 writes).
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
from ..errors import TrainingDiverged, UserError
from . import checkpoint
from .config import TrainConfig
from .device import autocast, pick_device, pick_precision
from .distributed import Dist, all_mean, setup, teardown
from .logging import MetricLogger, progress
from .optim import make_optimizer, make_schedule
from .stream import Epoch


CKPT_SECONDS = 30.0
PRECISION_NAMES = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}


class Objective(nn.Module):
    """Routes DDP's forward to the stage's loss(batch, phase), so gradient all-reduce hooks fire for any model
    and any stage."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.loss_fn = self.main_loss

    def main_loss(self, batch, phase=None):
        return self.model.loss(batch) if phase is None else self.model.loss(batch, phase)

    def forward(self, batch, phase=None):
        return self.loss_fn(batch, phase)


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


def make_players(groups: dict, tcfg: TrainConfig, total: int, device, amp_dtype) -> dict[str, Player]:
    out = {}
    for name, params in groups.items():
        params = list(params)
        opt = make_optimizer(params, tcfg)
        out[name] = Player(name, params, opt, make_schedule(opt, tcfg, total),
                           torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16))
    return out


@dataclass
class Plan:
    """One stage of a run laid out in steps: the model's stages first (pretraining), the main one last. Steps
    count through the whole run, so a checkpoint's step says where in which stage it stopped."""
    name: str
    start: int
    steps: int
    epoch: Epoch
    tcfg: TrainConfig
    players: dict
    phases: object  # step within the stage -> players updating, in order
    loss: object  # (batch, phase) -> dict, or None for the model's own loss
    salt: int
    main: bool

    @property
    def end(self) -> int:
        return self.start + self.steps


def plan_stages(model, task, data, tcfg: TrainConfig, world: int) -> list[Plan]:
    plans, start = [], 0
    for stage in model.stages():
        stcfg = C.replace(tcfg, {"epochs": stage.epochs, **stage.train})
        ep = task.epoch(data, stcfg, world)
        plans.append(Plan(stage.name, start, stage.epochs * ep.steps, ep, stcfg, stage.players, stage.phases,
                          stage.loss, stage.salt, False))
        start += plans[-1].steps
    ep = task.epoch(data, tcfg, world)
    plans.append(Plan("train", start, tcfg.epochs * ep.steps, ep, tcfg, model.players(), model.phases, None, 0,
                      True))
    return plans


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


def _add_parts(parts: dict, counts: dict, out: dict, phase, multi: bool) -> None:
    """Sum a step's 0-d outputs for the next log line (an adversarial model's losses named by player)."""
    for k, v in out.items():
        if isinstance(v, torch.Tensor) and v.ndim == 0:
            key = f"loss_{phase}" if multi and k == "loss" else k
            parts[key] = parts.get(key, 0.0) + v.detach().float()
            counts[key] = counts.get(key, 0) + 1


def fit(run_dir: Path, recipe, mcfg, tcfg: TrainConfig, *, task, build, resume: bool = False,
        verbose: bool = True, distributed: bool = True, announce: str = "") -> FitResult:
    """Train `recipe` into `run_dir`: `task` (a tasks.base.Task) reads the data and makes the batches, `build(mcfg)`
    makes the model (a models.base.Model). `nnzoo.runs.train` finds both by the recipe's names. Gradients are on
    whatever the caller's context (a cache built from inside an evaluation under `torch.no_grad`, say).
    distributed=False trains in this process alone even under torchrun: how a helper network is built from
    inside a distributed run. `announce` goes to stderr once the data are loaded and the model built, just
    before training (not at all if the data are missing)."""
    with torch.inference_mode(False), torch.enable_grad():
        return _fit(Path(run_dir), recipe, mcfg, tcfg, task, build, resume, verbose, distributed, announce)


def _fit(run_dir: Path, recipe, mcfg, tcfg: TrainConfig, task, build, resume: bool, verbose: bool,
         distributed: bool, announce: str) -> FitResult:
    device = pick_device(tcfg.device)
    dist = setup(device.type) if distributed else Dist()
    if dist.active and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
    amp_dtype = pick_precision(tcfg.precision, device)
    if tcfg.batch_size % dist.world:
        raise UserError(f"batch_size={tcfg.batch_size} does not split over {dist.world} processes; "
                        f"use a multiple of {dist.world}")

    data = task.load(tcfg)
    mcfg = task.adapt(mcfg, data)
    task.prepare(data, verbose)  # e.g. the judge its report reads: before the run folder and the first step
    seed_everything(tcfg.seed)
    model = build(mcfg).to(device)
    if tcfg.channels_last:  # only 4-d tensors change layout; a conv's output follows its weight's
        model = model.to(memory_format=torch.channels_last)
    task.attach(model, data, device)  # a frozen helper network the loss reads (SRGAN's feature loss)
    # starting weights from outside (pretrained word vectors): fresh runs only, a resumed run loads its own
    initialised = {} if resume else task.initialise(model, data, device, verbose and dist.main)
    plans = plan_stages(model, task, data, tcfg, dist.world)
    total = plans[-1].end
    multi = any(len(p.players) > 1 for p in plans)
    if announce and verbose and dist.main:
        print(announce, file=sys.stderr, flush=True)

    step, elapsed, val, saved = 0, 0.0, {}, None
    if resume:
        ck = checkpoint.latest(run_dir)
        checkpoint.load_into(model, ck)
        saved = checkpoint.load_state(ck)
        set_rng_state(saved["rng"])
        task.load_state_dict(saved.get("task", {}))
        step, elapsed, val = int(saved["step"]), float(saved["elapsed"]), dict(saved.get("val", {}))
    elif dist.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_config(run_dir, recipe, mcfg, tcfg, {**task.describe(data), **initialised})

    net = Objective(model)
    if dist.active:
        # an adversarial phase, or a stage before the main one, leaves other weights out of its graph
        net = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None,
                                                  find_unused_parameters=multi or len(plans) > 1)
    objective = net.module if dist.active else net
    log = MetricLogger(run_dir if dist.main else None, tcfg.tensorboard, elapsed)
    players: dict[str, Player] = {}
    plan = plans[-1]

    def save() -> None:
        if dist.main:
            checkpoint.save(run_dir, model, {
                "players": {name: {"optimizer": p.opt.state_dict(), "scheduler": p.sched.state_dict(),
                                   "scaler": p.scaler.state_dict()} for name, p in players.items()},
                "stage": plan.name, "task": task.state_dict(),
                "rng": rng_state(), "step": step, "elapsed": log.elapsed(), "val": val,
                # what `precision=auto` / `device=auto` became on this machine: figures depend on it
                "device": device.type, "precision": PRECISION_NAMES.get(amp_dtype, str(amp_dtype))}, step)

    # a GPU sync per step would cost throughput: check the loss there every log interval
    check_every = 1 if device.type == "cpu" else max(1, tcfg.log_every)
    stop = StopOnInterrupt()
    done = sum(min(max(step - p.start, 0), p.steps) * p.epoch.batch for p in plans)
    bar = progress(sum(p.steps * p.epoch.batch for p in plans), done, desc=recipe.name, unit=task.unit,
                   enabled=verbose and dist.main)
    parts: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    this_call, last_save = 0, time.time()
    fused = model.fused(device)
    out_of_time = False
    try:
        for plan in plans:
            if step >= plan.end:
                continue
            players = make_players(plan.players, plan.tcfg, plan.steps, device, amp_dtype)
            if saved is not None and saved.get("stage", "train") == plan.name:
                for name, p in players.items():
                    # run folders from before adversarial training kept their one optimizer at the top level
                    part = saved["players"][name] if "players" in saved else saved
                    p.opt.load_state_dict(part["optimizer"])
                    p.sched.load_state_dict(part["scheduler"])
                    p.scaler.load_state_dict(part["scaler"])
            saved = None
            objective.loss_fn = plan.loss or objective.main_loss
            split = "train" if plan.main else plan.name
            spe = plan.epoch.steps
            budget = plan.tcfg.time_limit * 60.0  # seconds; 0: no limit
            batches = task.train_batches(data, model, plan.tcfg, step - plan.start, dist.rank, dist.world, device,
                                         plan.salt)
            if not plan.main:
                bar.set_postfix({"stage": plan.name}, refresh=False)
            while step < plan.end:
                local = step - plan.start
                if not model.training:  # after an evaluation; train() walks every module: 0.15 ms a step
                    model.train()
                b = next(batches)
                outs = []
                for phase in (plan.phases(local) if b is not None else []):
                    p = players["model" if phase is None else phase]
                    if fused:
                        # the model's own in-place update at the schedule's rate (word2vec on a CPU)
                        out = model.fused_step(b, p.sched.get_last_lr()[0])
                        outs.append(out)
                        _add_parts(parts, counts, out, phase, multi)
                        continue
                    with autocast(device, amp_dtype):
                        out = net(b, phase)
                    loss = out["loss"]
                    if (step + 1) % check_every == 0 and not torch.isfinite(loss.detach()).all():
                        where = checkpoint.latest(run_dir).name if (run_dir / "checkpoints" / "latest").exists() else "none"
                        raise TrainingDiverged(f"loss became {loss.item()} at step {step + 1} (epoch "
                                               f"{local // spe + 1}{'' if plan.main else ' of ' + plan.name}); "
                                               f"last good checkpoint: {where}; try a lower lr= or grad_clip=1")
                    # every gradient, not just this player's: the generator's loss also reaches the critic's weights
                    model.zero_grad(set_to_none=True)
                    p.scaler.scale(loss).backward()
                    if plan.tcfg.grad_clip > 0:
                        p.scaler.unscale_(p.opt)
                        nn.utils.clip_grad_norm_(p.params, plan.tcfg.grad_clip)
                    p.scaler.step(p.opt)
                    p.scaler.update()
                    model.after_step(phase)  # e.g. WGAN's weight clipping
                    outs.append(out)
                    _add_parts(parts, counts, out, phase, multi)
                task.observe(outs)  # e.g. the recurrent state the next window of a stream starts from
                if budget:
                    # the schedule anneals by the clock; processes share the mean clock so they stop on the same step
                    used = all_mean(log.elapsed() / budget, dist)
                    for p in players.values():
                        p.sched.lr_lambdas[0].clock = used
                    out_of_time = used >= 1.0
                for p in players.values():
                    # a generator that waits n_critic steps for its first update, or a step without a batch
                    # (a replay buffer filling), or a model that updates itself: the schedule moves on without
                    # an optimizer step, as intended
                    if multi or not outs or fused:
                        with warnings.catch_warnings():
                            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)`")
                            p.sched.step()
                    else:
                        p.sched.step()
                step += 1
                this_call += 1
                bar.update(plan.epoch.batch)
                ep = (step - plan.start) / spe
                if step % tcfg.log_every == 0 or step == plan.end:
                    for k, v in parts.items():
                        log.log(step, ep, split, k, float(v) / counts[k])
                    log.log(step, ep, split, "lr", next(iter(players.values())).sched.get_last_lr()[0])
                    bar.set_postfix({**({} if plan.main else {"stage": plan.name}),
                                     **{k: f"{float(v) / counts[k]:.4f}" for k, v in parts.items()
                                        if k.startswith("loss")}, **task.progress()}, refresh=False)
                    parts, counts = {}, {}
                if tcfg.ckpt_every and step % tcfg.ckpt_every == 0:
                    save()
                if (stop.requested or (tcfg.stop_after and this_call >= tcfg.stop_after)) and step < total:
                    save()
                    return FitResult(run_dir, step, total, False, log.elapsed(), val)
                if (step - plan.start) % spe and not out_of_time:
                    continue
                # the end of an epoch
                if plan.main:
                    val = {k: all_mean(v, dist) for k, v in task.evaluate(model, data, "val", device, amp_dtype).items()}
                    for k, v in val.items():
                        log.log(step, ep, "val", k, v)
                    bar.set_postfix({f"val_{k}": f"{v:.4f}" for k, v in val.items()}, refresh=False)
                    if dist.main:  # e.g. a GAN's sample grid from fixed noise
                        task.after_epoch(model, data, run_dir, (step - plan.start) // spe, device)
                # checkpoint at an epoch's end, but not more than twice a minute: on small data sets writing
                # every epoch would cost more than the epoch itself; always at a stage's end
                if step == plan.end or out_of_time or time.time() - last_save >= CKPT_SECONDS:
                    save()
                    last_save = time.time()
                if out_of_time:
                    break
            if out_of_time:
                break
    finally:
        stop.restore()
        bar.close()
        log.close()
        teardown(dist)
    return FitResult(run_dir, step, step if out_of_time else total, True, log.elapsed(), val)
