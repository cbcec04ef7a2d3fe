"""What the classic ImageNet CNNs (alexnet.py, vgg.py, googlenet.py, resnet.py) share: the classifier's
loss and feature hooks, the input-size check, channel scaling, and counting parameters and multiply-adds.

Each network is `features` (the convolutional stages, an nn.Sequential of named blocks: B, C, h, w), `neck`
(pooling, flattening and any hidden fully connected layers: B, D, the feature vector) and `classifier` (the
last linear layer: B, n_classes).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from .. import config as C
from .base import Model


@dataclass
class ImageNetKeys:
    """The keys every classic ImageNet network starts with."""
    in_shape: tuple = C.shape((3, 224, 224))
    """Input image shape (C, H, W); ImageNet's 3x224x224 by default."""
    n_classes: int = C.positive(1000)
    """Number of output classes."""


def scaled(channels: int, width: float, divisor: int = 1) -> int:
    """A layer's width times the `width` multiplier, rounded to a multiple of `divisor` (a grouped
    convolution needs channels its groups divide) and never below it."""
    return max(divisor, round(channels * width / divisor) * divisor)


def smallest_side(side_after: Callable[[int], int], total_stride: int) -> int:
    """The smallest image side a network takes: every window must fit (`side_after(side)`, the side of its
    last feature map by the output-size formula, raises ValueError where one does not) and the side must be at
    least the product of the network's strides. Below that product the last strided layer reads a map smaller
    than its stride, mostly zero padding, and its kernel's outer taps never see a pixel."""
    side = total_stride
    while True:
        try:
            side_after(side)
            return side
        except ValueError:
            side += 1


def check_input(name: str, in_shape, smallest: int, small_input: bool) -> None:
    """ValueError naming the smallest size unless both image sides reach it."""
    _, h, w = in_shape
    if min(h, w) >= smallest:
        return
    fix = ("use larger images" if small_input else
           "use larger images, or small_input=true (the stem for 28x28-sized images)")
    raise ValueError(f"{name} needs images of at least {smallest}x{smallest} (in_shape), got {h}x{w}; {fix}")


class ImageClassifier(Model):
    """forward = classifier(neck(features(x))); subclasses build the three parts."""

    features: nn.Sequential
    neck: nn.Module
    classifier: nn.Linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.penultimate(x))  # B, n_classes (logits)

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """The feature vector the final linear layer reads (after dropout, the identity in eval mode)."""
        return self.neck(self.features(x))  # B, D

    def loss(self, batch) -> dict:
        x, y = batch
        logits = self(x)
        # L = -1/B sum_b log softmax(z_b)[y_b]
        return {"loss": F.cross_entropy(logits, y), "logits": logits}

    def feature_maps(self, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        """Activations after each named block of `features`, for pictures."""
        out = []
        for name, block in self.features.named_children():
            x = block(x)
            out.append((name, x))
        return out

    def first_filters(self) -> torch.Tensor:
        first = next(m for m in self.features.modules() if isinstance(m, nn.Conv2d))
        return first.weight.detach()  # O, C/groups, K, K


def fc_neck(c: int, grid: int, hidden: int, dropout: float) -> nn.Sequential:
    """AlexNet's and VGG's two fully connected layers (fc6, fc7: FC -> ReLU -> dropout, twice) over the last
    feature map pooled to grid x grid: B, c, H, W -> B, hidden, the vector the classifier reads."""
    return nn.Sequential(
        nn.AdaptiveAvgPool2d(grid), nn.Flatten(),  # B, c * grid * grid
        nn.Linear(c * grid * grid, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
        nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout))


def param_count(model: nn.Module) -> int:
    """Number of trainable weights (batch-norm scales and shifts included, running statistics not)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@torch.no_grad()
def macs(model: nn.Module, input_shape) -> int:
    """Multiply-accumulates of one forward pass on one image of `input_shape` (C, H, W), in eval mode:
    torch's FLOP counter counts 2 FLOPs per multiply-add of the convolutions and matrix products (pooling,
    normalisation and activations are left out, as in the published figures). Works on the meta device, so a
    network can be counted without allocating its weights."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, *input_shape, device=device))
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2
