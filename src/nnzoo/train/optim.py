"""Optimizers and learning-rate schedules by name."""
from __future__ import annotations

import math

import torch

from ..errors import UserError
from .config import SCHEDULES, TrainConfig


def fusable(params: list) -> bool:
    """Adam's fused kernel (one call per tensor instead of one per operation) takes float tensors on a CPU or a
    GPU: the same update, and for small networks several times faster (a 4-120-84-2 MLP: 188 -> 52 us a step
    on one thread), since the per-operation overhead is most of their step."""
    return bool(params) and all(isinstance(p, torch.Tensor) and p.is_floating_point()
                                and p.device.type in ("cpu", "cuda") for p in params)


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = list(params)
    fused = fusable(params) or None  # None: PyTorch's own choice (foreach where it can)
    betas = tuple(cfg.betas)
    if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
        raise UserError(f"betas={list(betas)}: give two numbers in [0, 1), e.g. betas=[0.5,0.999]")
    makers = {
        "sgd": lambda: torch.optim.SGD(params, lr=cfg.lr, weight_decay=cfg.weight_decay),
        "momentum": lambda: torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=True,
                                            weight_decay=cfg.weight_decay),
        "adam": lambda: torch.optim.Adam(params, lr=cfg.lr, betas=betas, weight_decay=cfg.weight_decay,
                                         fused=fused),
        "adamw": lambda: torch.optim.AdamW(params, lr=cfg.lr, betas=betas, weight_decay=cfg.weight_decay,
                                           fused=fused),
        "adadelta": lambda: torch.optim.Adadelta(params, lr=cfg.lr, weight_decay=cfg.weight_decay),
        "rmsprop": lambda: torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum,
                                               weight_decay=cfg.weight_decay),
    }
    if cfg.optimizer not in makers:
        raise UserError(f"unknown optimizer {cfg.optimizer!r}; choose one of {', '.join(makers)}")
    return makers[cfg.optimizer]()


class Multiplier:
    """lr(step) = peak * f(progress); a callable object (not a lambda) so the schedule's state pickles plainly.

    progress = max(step / total, clock): `clock` is the share of a time budget used (set by the training
    loop when `time_limit` is on, else 0), so a time-limited run anneals by the clock."""

    def __init__(self, kind: str, total: int, warmup: float):
        self.kind, self.total, self.warmup = kind, max(1, total), warmup
        self.clock = 0.0

    def __call__(self, step: int) -> float:
        done = max(step / self.total, self.clock)
        if done < self.warmup:
            # linear warm-up from lr / (warmup steps) to lr
            return min(1.0, (done + 1 / self.total) / self.warmup)
        t = (done - self.warmup) / max(1e-12, 1.0 - self.warmup)
        if self.kind == "cosine":
            # lr_t = lr * (1 + cos(pi t)) / 2
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))
        if self.kind == "step":
            return 1.0 if t < 0.5 else 0.1 if t < 0.75 else 0.01
        if self.kind == "linear":
            # lr_t = lr max(1 - t, 1e-4): word2vec.c's decay, never quite 0
            return max(1.0 - t, 1e-4)
        if self.kind == "halving":
            # lr_t = lr / 2^floor(4t): halved at 25, 50 and 75 % of training
            return 0.5 ** min(3, int(4 * t))
        return 1.0




def make_schedule(opt: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int):
    if cfg.schedule not in SCHEDULES:
        raise UserError(f"unknown schedule {cfg.schedule!r}; choose one of {', '.join(SCHEDULES)}")
    if cfg.schedule == "onecycle":
        if cfg.time_limit:
            raise UserError("time_limit= works with schedule=constant, cosine or step, not onecycle")
        # warm up over the first 25 % then anneal to ~0: fast convergence at a high peak lr (Smith 2018)
        # at least 8 steps: with fewer, the warm-up phase rounds to 0 steps and OneCycleLR divides by zero
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(8, total_steps),
                                                   pct_start=0.25, cycle_momentum=False)
    return torch.optim.lr_scheduler.LambdaLR(opt, Multiplier(cfg.schedule, total_steps, cfg.warmup))
