"""Very deep convolutional networks (Simonyan & Zisserman 2015, "Very Deep Convolutional Networks for
Large-Scale Image Recognition"), built from the paper's table 1:

    config   A (11 layers)   B (13)        D (16)            E (19)
    block 1  conv3-64        conv3-64 x2   conv3-64 x2       conv3-64 x2
    block 2  conv3-128       conv3-128 x2  conv3-128 x2      conv3-128 x2
    block 3  conv3-256 x2    conv3-256 x2  conv3-256 x3      conv3-256 x4
    block 4  conv3-512 x2    conv3-512 x2  conv3-512 x3      conv3-512 x4
    block 5  conv3-512 x2    conv3-512 x2  conv3-512 x3      conv3-512 x4
    each block ends in a 2x2 max pool, stride 2; then FC-4096, FC-4096, FC-1000, softmax

Every convolution is 3x3, stride 1, padding 1 (the size is kept), followed by a ReLU; the pools halve the
size, 224 -> 7 after block 5. Dropout 0.5 follows the first two fully connected layers (sec. 3.1). Before the
first one an adaptive average pool to 7x7, as torchvision has (the identity at 224x224), lets other sizes
through. With the defaults the parameter counts are torchvision's: 132,863,336 (A, vgg11), 138,357,544
(D, vgg16), 143,667,240 (E, vgg19). Config C (1x1 convolutions in blocks 3-5) is not built.

Deviations from the paper:
- `batch_norm` (not in the paper, which trained deeper configs from shallower ones instead): batch
  normalisation between each convolution and its ReLU; the convolutions then have no bias (the norm would
  subtract it again), unlike torchvision's vgg*_bn, whose counts therefore differ by the biases.
- The pools round up (ceil mode), so an odd-sized map keeps its last row and column; at 224x224 every map
  is even and this is table 1 exactly.
- `small_input` (28x28-sized images such as Fashion-MNIST): block 5 has no pool, so the network downsamples
  16x, 28 -> 14 -> 7 -> 4 -> 2 (the conv stack stays table 1's); the average pool then goes to 1x1, not 7x7, so
  the first fully connected layer reads 512 values, not 25,088 (most of them copies of the same 2x2 map).

Shapes: B images, C channels, H x W pixels.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn as nn

from .. import config as C
from .classic import ImageClassifier, ImageNetKeys, check_input, fc_neck, scaled, smallest_side


@dataclass
class VGGConfig(ImageNetKeys):
    depth: int = C.choice(11, lambda: CONVS)
    """Weight layers, as in table 1: 11 (config A), 13 (B), 16 (D) or 19 (E)."""
    batch_norm: bool = False
    """Batch normalisation after every convolution (bias-free convolutions then); not in the paper."""
    small_input: bool = False
    """For 28x28-sized images: no pool after block 5 (16x downsampling, not 32x) and a 1x1 average pool."""
    width: float = C.positive(1.0)
    """Multiplies every layer's width, the fully connected ones too (1 is the paper's network)."""
    dropout: float = C.fraction(0.5, hi_open=True)
    """Dropout after each of the two hidden fully connected layers, in [0, 1) (sec. 3.1: 0.5)."""


@dataclass
class VGG16Config(VGGConfig):
    depth: int = C.choice(16, lambda: CONVS)
    """Weight layers, as in table 1: 11 (config A), 13 (B), 16 (D) or 19 (E)."""


@dataclass
class VGG19Config(VGGConfig):
    depth: int = C.choice(19, lambda: CONVS)
    """Weight layers, as in table 1: 11 (config A), 13 (B), 16 (D) or 19 (E)."""


# table 1: depth -> convolutions in blocks 1 .. 5 (the three fully connected layers make up the depth)
CONVS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
WIDTHS = (64, 128, 256, 512, 512)
HIDDEN = 4096


def pooled_blocks(cfg: VGGConfig) -> int:
    """How many blocks end in a max pool: all five, or four with small_input."""
    return 4 if cfg.small_input else 5


def feature_side(cfg: VGGConfig, side: int) -> int:
    """The side of block 5's map: 3x3 padding-1 convolutions keep it, each 2x2 ceil-mode pool halves it
    rounding up (224 -> 7; 28 with small_input -> 2)."""
    for _ in range(pooled_blocks(cfg)):
        side = -(-side // 2)
    return side


def conv_block(c_in: int, c_out: int, n: int, bn: bool, pool: bool) -> nn.Sequential:
    """n x (conv3x3 [-> batch-norm] -> ReLU), then a 2x2 max pool, stride 2."""
    layers: list[nn.Module] = []
    for i in range(n):
        layers.append(nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, 1, 1, bias=not bn))
        if bn:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.ReLU(inplace=True))
    if pool:
        layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
    return nn.Sequential(*layers)


class VGG(ImageClassifier):
    def __init__(self, cfg: VGGConfig):
        super().__init__()
        self.cfg = cfg
        pools = pooled_blocks(cfg)
        check_input(f"vgg{cfg.depth}", cfg.in_shape, smallest_side(lambda s: feature_side(cfg, s), 2 ** pools),
                    cfg.small_input)
        c = cfg.in_shape[0]
        blocks = []
        for i, (width, n) in enumerate(zip(WIDTHS, CONVS[cfg.depth])):
            c_out = scaled(width, cfg.width)
            blocks.append((f"block{i + 1}", conv_block(c, c_out, n, cfg.batch_norm, pool=i < pools)))
            c = c_out
        self.features = nn.Sequential(OrderedDict(blocks))  # B, 512, H/32, W/32 (H/16 with small_input)
        grid = 1 if cfg.small_input else 7
        hidden = scaled(HIDDEN, cfg.width)
        # FC-4096 -> ReLU -> dropout -> FC-4096 -> ReLU -> dropout: the vector the last layer reads (B, 4096)
        self.neck = fc_neck(c, grid, hidden, cfg.dropout)
        self.classifier = nn.Linear(hidden, cfg.n_classes)


def tiny(base: type = VGGConfig) -> VGGConfig:
    """A seconds-fast config: 32x32 grey images (block 5 then sees 2x2, so every tap of its 3x3 kernels reads
    a pixel), channels 4 .. 32, 256 hidden units, batch-normed (so the batch-norm branch is what every-model
    tests see). `base` picks the depth through its default."""
    return base(in_shape=(1, 32, 32), n_classes=10, small_input=True, width=1 / 16, batch_norm=True, dropout=0.0)


def example_batch(cfg: VGGConfig, n: int = 16):
    """Random images and labels for tests."""
    return torch.rand(n, *cfg.in_shape), torch.randint(0, cfg.n_classes, (n,))
