"""Residual networks (He, Zhang, Ren & Sun 2016, "Deep Residual Learning for Image Recognition"), built from
the paper's table 1 (ImageNet, 224x224 input):

    layer    output   18-layer            34-layer            50-layer
    conv1    112x112  7x7, 64, stride 2
    conv2_x  56x56    3x3 max pool, stride 2, then
                      [3x3 64, 3x3 64]x2  [3x3 64, 3x3 64]x3  [1x1 64, 3x3 64, 1x1 256]x3
    conv3_x  28x28    [3x3 128]x2 ...x2   ... x4              [1x1 128, 3x3 128, 1x1 512]x4
    conv4_x  14x14    [3x3 256]x2 ...x2   ... x6              [1x1 256, 3x3 256, 1x1 1024]x6
    conv5_x  7x7      [3x3 512]x2 ...x2   ... x3              [1x1 512, 3x3 512, 1x1 2048]x3
             1x1      average pool, 1000-d fc, softmax
    (101 and 152 layers: bottlenecks x [3, 4, 23, 3] and x [3, 8, 36, 3], also built here.)

A block computes y = relu(x' + F(x)): F is the block's convolutions, each followed by batch normalisation
(sec. 3.4: "right after each convolution and before activation", so the convolutions have no bias), x' is x,
or where the shape changes (the first block of conv3_x .. conv5_x, stride 2) a 1x1 convolution with the
stride and batch normalisation: the paper's projection shortcut, option B of sec. 3.3. With the defaults the
parameter counts are torchvision's: 11,689,512 (18), 21,797,672 (34), 25,557,032 (50).

Deviations from the paper:
- A bottleneck downsamples in its 3x3 convolution, not in its first 1x1 (the paper: "conv3_1, conv4_1 and
  conv5_1 with a stride of 2"), as torchvision's ResNet-50 does ("v1.5"). The weights are the same; the 3x3
  then works at the higher resolution: 4.1 G multiply-adds per image instead of the paper's 3.8 G, and the
  published 25.6 M / 4.1 G figures are for this form.
- `small_input` (28x28-sized images such as Fashion-MNIST): the 7x7 stride-2 stem convolution becomes a
  3x3 stride-1 one, so the network downsamples 16x instead of 32x and a 28x28 image leaves a 2x2 map at
  conv5_x (224 leaves 7x7). The max pool stays: without it conv2_x would run at 28x28 and cost about 4x the
  multiply-adds of the whole network with it (the CIFAR ResNets of sec. 4.2 drop it, but they are 16-64
  channels wide; the widths here stay 64 .. 512).

Shapes: B images, C channels, H x W pixels; the stages halve H and W as listed above.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from ..nn.conv import conv_out
from .classic import ImageClassifier, ImageNetKeys, check_input, scaled, smallest_side


@dataclass
class ResNetConfig(ImageNetKeys):
    depth: int = C.choice(18, lambda: STAGES)
    """Layers, as in table 1: 18 or 34 (basic blocks), 50, 101 or 152 (bottleneck blocks)."""
    small_input: bool = False
    """A stem for 28x28-sized images: a 3x3 stride-1 first convolution instead of 7x7 stride 2 (16x
    downsampling in all, not 32x)."""
    width: float = C.positive(1.0)
    """Multiplies every layer's channels (0.25: 16 .. 128 instead of 64 .. 512); 1 is the paper's network."""


@dataclass
class ResNet34Config(ResNetConfig):
    depth: int = C.choice(34, lambda: STAGES)
    """Layers, as in table 1: 18 or 34 (basic blocks), 50, 101 or 152 (bottleneck blocks)."""


@dataclass
class ResNet50Config(ResNetConfig):
    depth: int = C.choice(50, lambda: STAGES)
    """Layers, as in table 1: 18 or 34 (basic blocks), 50, 101 or 152 (bottleneck blocks)."""


def shortcut(c_in: int, c_out: int, stride: int) -> nn.Module:
    """x' = x where the shape is kept; else option B: a strided 1x1 projection, batch-normalised."""
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))


class BasicBlock(nn.Module):
    """F(x) = bn(conv3x3(relu(bn(conv3x3(x))))), the 18- and 34-layer block; the first conv carries the stride."""
    expansion = 1

    def __init__(self, c_in: int, c_mid: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_mid, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_mid)
        self.conv2 = nn.Conv2d(c_mid, c_mid, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_mid)
        self.shortcut = shortcut(c_in, c_mid, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        # y = relu(x' + F(x))
        return F.relu(self.shortcut(x) + self.bn2(self.conv2(h)))


class Bottleneck(nn.Module):
    """F(x) = 1x1 (reduce to c_mid) -> 3x3 (c_mid, the stride) -> 1x1 (expand to 4 c_mid), each batch-normed,
    ReLU between: the 50/101/152-layer block (fig. 5 right)."""
    expansion = 4

    def __init__(self, c_in: int, c_mid: int, stride: int):
        super().__init__()
        c_out = c_mid * self.expansion
        self.conv1 = nn.Conv2d(c_in, c_mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_mid)
        self.conv2 = nn.Conv2d(c_mid, c_mid, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_mid)
        self.conv3 = nn.Conv2d(c_mid, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.shortcut = shortcut(c_in, c_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        # y = relu(x' + F(x))
        return F.relu(self.shortcut(x) + self.bn3(self.conv3(h)))


# table 1: depth -> (block, blocks in conv2_x .. conv5_x)
STAGES = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)), 50: (Bottleneck, (3, 4, 6, 3)),
          101: (Bottleneck, (3, 4, 23, 3)), 152: (Bottleneck, (3, 8, 36, 3))}
WIDTHS = (64, 128, 256, 512)  # c_mid of conv2_x .. conv5_x; the stem has 64
STRIDES = (1, 2, 2, 2)  # conv2_x follows the max pool, so it keeps the size


def feature_side(cfg: ResNetConfig, side: int) -> int:
    """The side of conv5_x's map, by O = (W - K + 2P)/S + 1 (224 -> 7, 28 with small_input -> 2)."""
    side = conv_out(side, 3, 1, 1) if cfg.small_input else conv_out(side, 7, 3, 2)
    side = conv_out(side, 3, 1, 2)  # the max pool
    for s in STRIDES:
        side = conv_out(side, 3, 1, s)  # each stage's first 3x3 (the 1x1 shortcut gives the same size)
    return side


class ResNet(ImageClassifier):
    def __init__(self, cfg: ResNetConfig):
        super().__init__()
        self.cfg = cfg
        stride = 16 if cfg.small_input else 32
        check_input(f"resnet{cfg.depth}", cfg.in_shape, smallest_side(lambda s: feature_side(cfg, s), stride),
                    cfg.small_input)
        block, counts = STAGES[cfg.depth]
        c = scaled(64, cfg.width)
        stem = (nn.Conv2d(cfg.in_shape[0], c, 3, 1, 1, bias=False) if cfg.small_input else
                nn.Conv2d(cfg.in_shape[0], c, 7, 2, 3, bias=False))
        layers = [("conv1", nn.Sequential(stem, nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                                          nn.MaxPool2d(3, 2, 1)))]
        for i, (width, n, s) in enumerate(zip(WIDTHS, counts, STRIDES)):
            c_mid = scaled(width, cfg.width)
            blocks = []
            for j in range(n):
                # only a stage's first block changes the size (stride s) and the channels
                blocks.append(block(c, c_mid, s if j == 0 else 1))
                c = c_mid * block.expansion
            layers.append((f"conv{i + 2}_x", nn.Sequential(*blocks)))
        self.features = nn.Sequential(OrderedDict(layers))  # B, c, H/32, W/32 (H/16 with small_input)
        self.neck = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())  # B, c (512, or 2048 for bottlenecks)
        self.classifier = nn.Linear(c, cfg.n_classes)


def tiny(base: type = ResNetConfig) -> ResNetConfig:
    """A seconds-fast config: 32x32 grey images (conv5_x then sees 2x2), channels 4 .. 32. `base` picks the
    depth through its default (ResNet50Config for the bottleneck network)."""
    return base(in_shape=(1, 32, 32), n_classes=10, small_input=True, width=1 / 16)


def example_batch(cfg: ResNetConfig, n: int = 16):
    """Random images and labels for tests."""
    return torch.rand(n, *cfg.in_shape), torch.randint(0, cfg.n_classes, (n,))
