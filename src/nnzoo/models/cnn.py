"""Convolutional networks: a plain conv/pool stack, LeNet-5, and a small ResNet.

Shapes are inferred with the lecture's output-size formula O = (W - K + 2P)/S + 1 (`nnzoo.nn.conv.conv_out`)
rather than by a dummy forward pass, so the arithmetic is visible and checked by tests against real layers.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from ..nn.conv import ACTIVATIONS, activation, conv_out
from .base import Model


@dataclass
class CNNConfig:
    in_shape: tuple = C.shape()
    """Input image shape (C, H, W)."""
    n_classes: int = C.positive(10)
    """Number of output classes."""
    arch: str = C.choice("plain", lambda: ARCHS)
    """plain (the conv/pool stack below), lenet5 (LeCun et al. 1998) or resnet (a small ResNet)."""
    channels: list = C.ints([16, 32])
    """plain / resnet: output channels of each conv block (resnet: of each stage)."""
    kernel: int = C.positive(5)
    """plain: kernel size K of every convolution."""
    stride: int = C.positive(1)
    """plain: stride S of every convolution."""
    padding: int = C.nonneg(2)
    """plain: zero padding P of every convolution (K=5, P=2 keeps the size: O = (W - 5 + 4)/1 + 1 = W)."""
    pool: int = C.positive(2)
    """plain: max-pool window and stride after each conv (1 turns pooling off)."""
    batchnorm: bool = True
    """Batch normalisation after each convolution (lets a higher learning rate train stably)."""
    activation: str = C.choice("relu", ACTIVATIONS)
    """Non-linearity: sigmoid, tanh, relu, leaky-relu or gelu."""
    hidden: list = C.ints([128])
    """Width of the fully connected layers between the conv stack and the classifier."""
    dropout: float = C.fraction(0.25, hi_open=True)
    """Dropout before each fully connected layer, in [0, 1) (0 turns it off)."""


class ConvBlock(nn.Module):
    """conv -> max-pool -> batch-norm -> activation. Pooling before the norm and non-linearity gives the
    same result for ReLU (both commute with max) at a quarter of the element-wise work."""

    def __init__(self, c_in, c_out, k, s, p, pool, bn, act):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, stride=s, padding=p, bias=not bn)
        self.pool = nn.MaxPool2d(pool) if pool > 1 else nn.Identity()
        self.norm = nn.BatchNorm2d(c_out) if bn else nn.Identity()
        self.act = activation(act)

    def forward(self, x):
        return self.act(self.norm(self.pool(self.conv(x))))


class ResidualBlock(nn.Module):
    """y = relu(x' + F(x)), F = conv-bn-relu-conv-bn; x' is x, or a strided 1x1 projection when the shape changes."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.skip = nn.Identity() if stride == 1 and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.skip(x) + self.bn2(self.conv2(h)))


def plain_stack(cfg: CNNConfig):
    c, h, w = cfg.in_shape
    blocks = []
    for c_out in cfg.channels:
        blocks.append(ConvBlock(c, c_out, cfg.kernel, cfg.stride, cfg.padding, cfg.pool, cfg.batchnorm,
                                cfg.activation))
        # O = (W - K + 2P)/S + 1, then the pool: O' = (O - pool)/pool + 1
        h, w = conv_out(h, cfg.kernel, cfg.padding, cfg.stride), conv_out(w, cfg.kernel, cfg.padding, cfg.stride)
        if cfg.pool > 1:
            h, w = conv_out(h, cfg.pool, 0, cfg.pool), conv_out(w, cfg.pool, 0, cfg.pool)
        c = c_out
    return blocks, (c, h, w)


def lenet5(cfg: CNNConfig):
    """LeNet-5: C1 6@5x5 (pad 2 on 28x28, as on the 32x32 original), S2 pool, C3 16@5x5, S4 pool; 120-84 FC."""
    c, h, w = cfg.in_shape
    blocks = [ConvBlock(c, 6, 5, 1, 2, 2, cfg.batchnorm, cfg.activation),
              ConvBlock(6, 16, 5, 1, 0, 2, cfg.batchnorm, cfg.activation)]
    h, w = conv_out(h, 5, 2), conv_out(w, 5, 2)
    h, w = conv_out(h, 2, 0, 2), conv_out(w, 2, 0, 2)
    h, w = conv_out(h, 5, 0), conv_out(w, 5, 0)
    h, w = conv_out(h, 2, 0, 2), conv_out(w, 2, 0, 2)
    return blocks, (16, h, w)


def resnet(cfg: CNNConfig):
    """A stem conv, then one residual block per stage; every stage after the first halves H and W."""
    c, h, w = cfg.in_shape
    stem = cfg.channels[0]
    blocks: list[nn.Module] = [ConvBlock(c, stem, 3, 1, 1, 1, True, "relu")]
    c = stem
    for i, c_out in enumerate(cfg.channels):
        s = 1 if i == 0 else 2
        blocks.append(ResidualBlock(c, c_out, s))
        h, w = conv_out(h, 3, 1, s), conv_out(w, 3, 1, s)
        c = c_out
    return blocks, (c, h, w)


ARCHS = {"plain": plain_stack, "lenet5": lenet5, "resnet": resnet}


class CNN(Model):
    def __init__(self, cfg: CNNConfig):
        super().__init__()
        if cfg.arch not in ARCHS:
            raise ValueError(f"unknown arch {cfg.arch!r}; choose one of {', '.join(ARCHS)}")
        self.cfg = cfg
        blocks, (c, h, w) = ARCHS[cfg.arch](cfg)
        self.features = nn.Sequential(*blocks)
        self.feature_shape = (c, h, w)
        head: list[nn.Module] = [nn.Flatten()]
        width = c * h * w
        if cfg.arch == "resnet":  # global average pooling instead of a large flatten
            head = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            width = c
        hidden = [120, 84] if cfg.arch == "lenet5" else cfg.hidden
        for n in hidden:
            if cfg.dropout > 0:
                head.append(nn.Dropout(cfg.dropout))
            head += [nn.Linear(width, n), activation(cfg.activation)]
            width = n
        if cfg.dropout > 0:
            head.append(nn.Dropout(cfg.dropout))
        head.append(nn.Linear(width, cfg.n_classes))
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # B, n_classes (logits)

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer: what the final classification layer reads (after its activation, and after
        dropout, which is the identity in eval mode), e.g. as a learnt feature vector of each image."""
        return self.head[:-1](self.features(x))  # B, hidden[-1] (plain), 84 (lenet5), channels[-1] (resnet)

    def loss(self, batch) -> dict:
        x, y = batch
        logits = self(x)
        # L = -1/B sum_b log softmax(z_b)[y_b]
        loss = F.cross_entropy(logits, y)
        return {"loss": loss, "logits": logits}

    def feature_maps(self, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        """Activations after each conv block, for pictures."""
        out = []
        for i, block in enumerate(self.features):
            x = block(x)
            out.append((f"block{i + 1} {type(block).__name__}", x))
        return out

    def first_filters(self) -> torch.Tensor:
        first = self.features[0]
        return first.conv.weight.detach()  # O, C, K, K


def tiny() -> CNNConfig:
    return CNNConfig(in_shape=(1, 8, 8), channels=[4, 8], kernel=3, padding=1, hidden=[16], dropout=0.0)


def example_batch(cfg: CNNConfig, n: int = 16):
    """Random images and labels for tests."""
    return torch.rand(n, *cfg.in_shape), torch.randint(0, cfg.n_classes, (n,))
