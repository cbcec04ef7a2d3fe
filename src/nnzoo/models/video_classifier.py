"""Video classification with an LSTM over frame features: the lectures' synchronised many-to-many and
many-to-one scenarios, one config flag (`mode`).

Each frame goes through the same CNN (models.captioner's ImageEncoder: a conv stack, flattened, then a linear
map), and a one-way LSTM reads the features in order:

    f_t = W_f CNN(frame_t),   h_t = LSTM(f_t, h_{t-1})
    sync:         p(y_t | frames_<=t) = softmax(W_o h_t)    a label for every frame, e.g. where the digit moves now
    many-to-one:  p(y | clip)         = softmax(W_o h_T)    one label for the whole clip, read at its end

The LSTM runs forwards only, so a synchronised label at frame t reads frames 0..t and nothing after (in eval
mode; in training mode batch normalisation's statistics pool every frame of the batch).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from ..nn.recurrent import Recurrent
from .base import Model
from .s2vt import ClipKeys, clip_features, frame_encoder, moving_quadrant_clips

MODES = ("sync", "many-to-one")


@dataclass
class VideoClassifierConfig(ClipKeys):
    n_classes: int = C.positive(4)
    """Label classes (set from the data: up, down, left, right for moving digits)."""
    mode: str = C.choice("sync", MODES)
    """sync: a label per frame from the frames so far (batch key frame_labels); many-to-one: one label per
    clip from its last state (batch key clip_labels)."""
    hidden: int = C.positive(128)
    """LSTM units per layer."""
    layers: int = C.positive(1)
    """Stacked LSTM layers."""
    dropout: float = C.fraction(0.2, hi_open=True)
    """Dropout on the flattened feature maps, between stacked layers and before the output layer, in [0, 1)."""
    fast: bool = True
    """Run the LSTM on PyTorch's fused kernel (same numbers, faster); False steps through the equations."""


class VideoClassifier(Model):
    def __init__(self, cfg: VideoClassifierConfig):
        super().__init__()
        if cfg.mode not in MODES:
            raise ValueError(f"unknown mode {cfg.mode!r}; choose one of {', '.join(MODES)}")
        self.cfg = cfg
        self.encoder = frame_encoder(cfg, cfg.dropout)
        self.rnn = Recurrent("lstm", cfg.features, cfg.hidden, cfg.layers,
                             dropout=cfg.dropout if cfg.layers > 1 else 0.0, fast=cfg.fast)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden, cfg.n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Clips B, T, C, S, S -> logits B, T, classes (sync) or B, classes (many-to-one)."""
        f = clip_features(self.encoder, self.cfg, x)  # B, T, F
        h, _ = self.rnn(f.transpose(0, 1))  # T, B, H, time first as the cells run
        if self.cfg.mode == "sync":
            return self.head(self.drop(h)).transpose(0, 1)  # B, T, classes: one label per frame
        return self.head(self.drop(h[-1]))  # B, classes: the last state has read the whole clip

    def loss(self, batch) -> dict:
        logits = self(batch["x"])
        target = batch["frame_labels" if self.cfg.mode == "sync" else "clip_labels"]  # B, T or B
        # L = -1/N sum_n log p(y_n | frames), over every frame (sync) or every clip (many-to-one)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1))
        accuracy = (logits.argmax(-1) == target).float().mean()
        return {"loss": loss, "accuracy": accuracy.detach()}


def tiny() -> VideoClassifierConfig:
    # hidden=32: at 16 the many-to-one model sometimes sat at chance (ln 2) for 100 Adam steps before
    # finding the turn, which only the middle frame shows
    return VideoClassifierConfig(image_size=8, frames=3, channels=[4, 8], kernel=3, features=8, hidden=32,
                                 dropout=0.0)


def example_batch(cfg: VideoClassifierConfig, n: int = 16):
    """Clips of a lit quadrant moving one quadrant a frame (models.s2vt's), labelled per frame by the quadrant
    lit (mod n_classes) and per clip by the way it turns (0 clockwise, 1 anticlockwise; needs the order)."""
    x, _, direction, lit = moving_quadrant_clips(n, cfg.frames, cfg.in_channels, cfg.image_size)
    return {"x": x, "frame_labels": lit % cfg.n_classes, "clip_labels": direction % cfg.n_classes}
