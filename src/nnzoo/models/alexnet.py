"""AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet Classification with Deep Convolutional Neural
Networks"), built from sec. 3.5 and fig. 2:

    layer  kernels            paper (two towers)          one-GPU (default)   output at 224x224
    conv1  11x11, stride 4    96                          64                  55x55, max pool 3x3/2 -> 27
    conv2  5x5                256, each tower's half      192                 27x27, max pool 3x3/2 -> 13
    conv3  3x3                384, across the towers      384                 13x13
    conv4  3x3                384, each tower's half      256                 13x13
    conv5  3x3                256, each tower's half      256                 13x13, max pool 3x3/2 -> 6
    fc6, fc7                  4096, 4096 (dropout 0.5)    4096, 4096
    fc8                       1000

Every layer is followed by a ReLU (sec. 3.1); the pools overlap (3x3 windows, stride 2, sec. 3.4); dropout
0.5 acts on the outputs of fc6 and fc7 (sec. 4.2).

The default is the one-GPU network (the widths above, Krizhevsky 2014's "One weird trick", and
torchvision's alexnet): no tower split, no response normalisation, an adaptive average pool to 6x6 before
fc6 (the identity at 224x224, so that other sizes pass). It has torchvision's 61,100,840 parameters and
0.71 G multiply-adds per image.

`two_tower=True` is the 2012 paper's network as it ran on two GPUs: 96, 256, 384, 384, 256 kernels, conv2,
conv4 and conv5 grouped in two (`groups=2`: each half of the kernels sees only its own tower's half of the
previous layer's maps), conv3 and the fully connected layers seeing both towers. It has 60,965,224
parameters (the paper's "60 million") and 0.72 G multiply-adds. `lrn=True` adds sec. 3.3's local response
normalisation after the ReLUs of conv1 and conv2 (before their pools), b = a / (k + alpha/n sum_j a_j^2)^beta
over n = 5 adjacent channels, k = 2, alpha = 1e-4, beta = 0.75; the paper's network is two_tower=true lrn=true.

Deviations from the paper:
- conv1 pads its input by 2 pixels (torchvision's): the paper's 224x224 with an 11x11 stride-4 kernel gives
  no whole 55x55 map ((224 - 11)/4 + 1 = 54.25); padding 2 gives 55 exactly.
- nn.LocalResponseNorm divides alpha by n, as Caffe's AlexNet does with the same alpha = 1e-4; the paper's
  equation does not, so its normalisation is 5x stronger than here (nn.LocalResponseNorm's alpha=5e-4).
- torchvision applies its dropout to the inputs of fc6 and fc7; here, as in the paper, to their outputs.
- `small_input` (28x28-sized images such as Fashion-MNIST): conv1 becomes 3x3 stride 1 (padding 1), so the
  network downsamples 8x, not 32x (28 -> 13 -> 6 -> 2 through the three pools), and the average pool goes to
  2x2, not 6x6, so fc6 reads 1,024 values, not 9,216 copies of a 2x2 map.

Shapes: B images, C channels, H x W pixels.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn as nn

from .. import config as C
from ..nn.conv import conv_out
from .classic import ImageClassifier, ImageNetKeys, check_input, fc_neck, scaled, smallest_side


@dataclass
class AlexNetConfig(ImageNetKeys):
    two_tower: bool = False
    """The 2012 paper's two-GPU network (96, 256, 384, 384, 256 kernels; conv2, conv4, conv5 in two groups)
    instead of the one-GPU network (64, 192, 384, 256, 256)."""
    lrn: bool = False
    """Local response normalisation after conv1 and conv2 (sec. 3.3: n=5, k=2, alpha=1e-4, beta=0.75)."""
    small_input: bool = False
    """For 28x28-sized images: a 3x3 stride-1 conv1 (8x downsampling in all, not 32x) and a 2x2 average pool."""
    width: float = C.positive(1.0)
    """Multiplies every layer's width, the fully connected ones too (1 is the paper's network)."""
    dropout: float = C.fraction(0.5, hi_open=True)
    """Dropout on the outputs of fc6 and fc7, in [0, 1) (sec. 4.2: 0.5)."""


# conv1 .. conv5: (kernels, kernel size, padding, groups), one-GPU and two-tower; the towers split where
# fig. 2 shows a layer reading only its own GPU's maps
ONE_GPU = ((64, 11, 2, 1), (192, 5, 2, 1), (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1))
TWO_TOWER = ((96, 11, 2, 1), (256, 5, 2, 2), (384, 3, 1, 1), (384, 3, 1, 2), (256, 3, 1, 2))
POOL_AFTER = (0, 1, 4)  # conv1, conv2, conv5 end in a 3x3 stride-2 max pool
HIDDEN = 4096


def feature_side(cfg: AlexNetConfig, side: int) -> int:
    """The side of conv5's pooled map, by O = (W - K + 2P)/S + 1 (224 -> 6, 28 with small_input -> 2)."""
    side = conv_out(side, 3, 1, 1) if cfg.small_input else conv_out(side, 11, 2, 4)  # conv1
    side = conv_out(side, 3, 0, 2)  # pool1
    side = conv_out(side, 5, 2)  # conv2 keeps the size, and so do conv3 .. conv5
    side = conv_out(side, 3, 0, 2)  # pool2
    return conv_out(side, 3, 0, 2)  # pool5


class AlexNet(ImageClassifier):
    def __init__(self, cfg: AlexNetConfig):
        super().__init__()
        self.cfg = cfg
        check_input("alexnet", cfg.in_shape,
                    smallest_side(lambda s: feature_side(cfg, s), 8 if cfg.small_input else 32), cfg.small_input)
        layout = TWO_TOWER if cfg.two_tower else ONE_GPU
        # a grouped layer's channels must split evenly between the towers
        divisor = 2 if cfg.two_tower else 1
        c = cfg.in_shape[0]
        blocks = []
        for i, (n, k, p, groups) in enumerate(layout):
            c_out = scaled(n, cfg.width, divisor)
            stride = 4 if i == 0 else 1
            if i == 0 and cfg.small_input:
                k, p, stride = 3, 1, 1  # the small stem keeps the 28x28 image's detail
            layers: list[nn.Module] = [nn.Conv2d(c, c_out, k, stride, p, groups=groups), nn.ReLU(inplace=True)]
            if cfg.lrn and i < 2:
                # b = a / (k + alpha/n sum_{j near i} a_j^2)^beta, n = 5 channels (sec. 3.3)
                layers.append(nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0))
            if i in POOL_AFTER:
                layers.append(nn.MaxPool2d(3, 2))
            blocks.append((f"conv{i + 1}", nn.Sequential(*layers)))
            c = c_out
        self.features = nn.Sequential(OrderedDict(blocks))  # B, 256, 6, 6 at 224 (2, 2 at 28 with small_input)
        grid = 2 if cfg.small_input else 6
        hidden = scaled(HIDDEN, cfg.width)
        # fc6 -> ReLU -> dropout -> fc7 -> ReLU -> dropout: the vector fc8 reads (B, 4096)
        self.neck = fc_neck(c, grid, hidden, cfg.dropout)
        self.classifier = nn.Linear(hidden, cfg.n_classes)


def tiny(base: type = AlexNetConfig) -> AlexNetConfig:
    """A seconds-fast config: 16x16 grey images (conv3 .. conv5 then see 3x3), channels / 16, 256 hidden."""
    return base(in_shape=(1, 16, 16), n_classes=10, small_input=True, width=1 / 16, dropout=0.0)


def example_batch(cfg: AlexNetConfig, n: int = 16):
    """Random images and labels for tests."""
    return torch.rand(n, *cfg.in_shape), torch.randint(0, cfg.n_classes, (n,))
