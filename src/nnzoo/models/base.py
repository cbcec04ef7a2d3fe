"""What the training loop may ask of a model, declared once: every registered model derives from `Model`.

A model must define `loss(batch) -> dict` (a scalar "loss" plus any other parts worth logging; an entry that is
not a 0-d tensor, such as a recurrent state, is handed back to the task's stream and never logged). The rest has
defaults here, so the loop calls it without asking whether it exists:

  players()          {name: parameters}, one optimizer each; default one player, "model", over every weight
  phases(step)       which players update at a step, in order; default [None]: the one loss, loss(batch)
  after_step(phase)  after a player's optimizer step (WGAN's clipping, a generator's running average)
  stages()           training before the main one, each a `Stage` (greedy layer-wise pretraining, a language
                     model first); default none
  fused(device)      True where the model updates its own weights in `fused_step(batch, lr)` (word2vec's
                     compiled SGD loop on a CPU): the loop then runs no backward pass and no optimizer step,
                     only the schedule, whose rate it hands over; default False
"""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from dataclasses import dataclass, field
from typing import Callable

import torch.nn as nn


@dataclass(frozen=True)
class Stage:
    """A stretch of training the loop runs before the main one, with its own optimizers, loss and steps, and
    the same checkpoints, autocast, metrics and progress bar. The batches are the task's training stream."""
    name: str
    """Its name in metrics.jsonl (the split), the checkpoint and the progress bar, e.g. "pretrain-layer1"."""
    epochs: int
    """Passes over the training stream."""
    players: dict[str, list]
    """{name: parameters}: what this stage trains, one optimizer each."""
    loss: Callable
    """loss(batch, phase) -> {"loss": scalar, ...}: phase is the player's name."""
    train: dict = field(default_factory=dict)
    """Training keys that differ from the run's for this stage (its own schedule, lr, grad_clip, ...)."""
    salt: int = 0
    """Makes this stage's shuffles differ from the main stage's (which has 0)."""

    def phases(self, step: int) -> list:
        return list(self.players)


class Model(nn.Module, metaclass=ABCMeta):
    """An nnzoo model: an nn.Module with `loss(batch)` and the defaults above."""

    @abstractmethod
    def loss(self, batch) -> dict:
        """{"loss": scalar to minimise, ...other parts to log}."""

    def players(self) -> dict:
        return {"model": list(self.parameters())}

    def phases(self, step: int) -> list:
        return [None]

    def after_step(self, phase) -> None:
        pass

    def stages(self) -> list[Stage]:
        return []

    def fused(self, device) -> bool:
        return False

    def fused_step(self, batch, lr: float) -> dict:
        """Train on one batch in place at learning rate lr; the same dict as loss(batch). Called only where
        fused(device) is True."""
        raise TypeError(f"{type(self).__name__}.fused() is True but it defines no fused_step")
