"""Multilayer perceptron: affine layers and a non-linearity, trained by backprop on cross-entropy."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from ..nn.conv import ACTIVATIONS, activation
from .base import Model


@dataclass
class MLPConfig:
    in_shape: tuple = C.ints((1, 28, 28))
    """Input image shape (C, H, W); flattened to C*H*W features (any shape flattens: xor's points are (2,))."""
    n_classes: int = C.positive(10)
    """Number of output classes."""
    hidden: list = C.ints([512, 512])
    """Width of each hidden layer; [] gives a single-layer perceptron (logistic regression)."""
    activation: str = C.choice("relu", ACTIVATIONS)
    """Non-linearity after each hidden layer: sigmoid, tanh, relu, leaky-relu or gelu."""
    dropout: float = C.fraction(0.2, hi_open=True)
    """Dropout probability after each hidden activation, in [0, 1) (0 turns it off)."""


class MLP(Model):
    def __init__(self, cfg: MLPConfig):
        super().__init__()
        self.cfg = cfg
        width = 1
        for d in cfg.in_shape:
            width *= int(d)
        layers: list[nn.Module] = [nn.Flatten()]
        for h in cfg.hidden:
            layers += [nn.Linear(width, h), activation(cfg.activation)]
            if cfg.dropout > 0:
                layers.append(nn.Dropout(cfg.dropout))
            width = h
        layers.append(nn.Linear(width, cfg.n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # B, n_classes (logits)

    def loss(self, batch) -> dict:
        x, y = batch
        logits = self(x)
        # L = -1/B sum_b log softmax(z_b)[y_b]
        loss = F.cross_entropy(logits, y)
        return {"loss": loss, "logits": logits}

    def hidden_layers(self) -> list[nn.Linear]:
        return [m for m in self.net if isinstance(m, nn.Linear)][:-1]


def tiny() -> MLPConfig:
    return MLPConfig(in_shape=(1, 8, 8), hidden=[16], dropout=0.0)


def example_batch(cfg: MLPConfig, n: int = 16):
    """Random images and labels for tests."""
    return torch.rand(n, *cfg.in_shape), torch.randint(0, cfg.n_classes, (n,))
