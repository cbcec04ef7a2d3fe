"""What the loop needs to know of a task's training stream before it starts, and the engine's shuffle."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Epoch:
    steps: int
    """Training steps per epoch (the loop evaluates and may checkpoint at each epoch's end)."""
    batch: int
    """Examples per step, all processes together (what the progress bar counts)."""


def epoch_order(n: int, seed: int, epoch: int, salt: int = 0) -> torch.Tensor:
    """The shuffle of one epoch depends only on (seed, epoch, salt), so a resumed run sees the same batches."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch + salt * 1_000_003))
