"""GoogLeNet (Szegedy et al. 2015, "Going Deeper with Convolutions"), built from the paper's table 1:

    type          patch/stride  output      #1x1  #3x3 reduce  #3x3  #5x5 reduce  #5x5  pool proj
    convolution   7x7/2         112x112x64
    max pool      3x3/2         56x56x64
    convolution   3x3/1         56x56x192         64           192
    max pool      3x3/2         28x28x192
    inception 3a                28x28x256   64    96           128   16           32    32
    inception 3b                28x28x480   128   128          192   32           96    64
    max pool      3x3/2         14x14x480
    inception 4a                14x14x512   192   96           208   16           48    64
    inception 4b                14x14x512   160   112          224   24           64    64
    inception 4c                14x14x512   128   128          256   24           64    64
    inception 4d                14x14x528   112   144          288   32           64    64
    inception 4e                14x14x832   256   160          320   32           128   128
    max pool      3x3/2         7x7x832
    inception 5a                7x7x832     256   160          320   32           128   128
    inception 5b                7x7x1024    384   192          384   48           128   128
    avg pool      7x7/1         1x1x1024
    dropout (40%), linear, softmax

An inception block (fig. 2b) runs four branches on the same input and stacks their outputs along the
channels: a 1x1 convolution; a 1x1 reduction then a 3x3; a 1x1 reduction then the "5x5"; a 3x3 stride-1 max
pool then a 1x1 projection. Every convolution is followed by a ReLU. The auxiliary classifiers (sec. 5,
`aux_classifiers`) sit on 4a and 4d: average pool to 4x4, a 1x1 convolution to 128 channels, a 1024-unit
fully connected layer, 70% dropout, a linear layer; in training their losses are added with weight 0.3, at
inference they are not used.

Deviations from the paper, all as torchvision has them, so that the default network has torchvision's
6,624,904 parameters (13,004,888 with the auxiliary heads):
- The "5x5" branch convolves with 3x3 kernels (torchvision's GoogLeNet does, a slip kept for its published
  weights); 5x5 kernels would give 7,005,832 parameters. The multiply-adds, 1.50 G (5x5: 1.58 G), match the
  paper's budget of "1.5 billion multiply-adds".
- Batch normalisation between each convolution and its ReLU (the convolutions have no bias), and no local
  response normalisation after the first pool and before the second.
- The auxiliary heads average-pool adaptively to 4x4 (on the 14x14 map: 4x4 windows, some overlapping by a
  pixel, where the paper's 5x5 stride-3 pool has 5x5 ones; both give 4x4), so that smaller maps pass too;
  their 1x1 convolution is batch-normed as well.

`small_input` (28x28-sized images such as Fashion-MNIST): the stem's 7x7 stride-2 convolution becomes 3x3
stride 1, so the network downsamples 16x instead of 32x and a 28x28 image reaches inception 3 at 7x7, 4 at
4x4 and 5 at 2x2 (224: 28, 14, 7); the four max pools stay.

Shapes: B images, C channels, H x W pixels.
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
class GoogLeNetConfig(ImageNetKeys):
    aux_classifiers: bool = False
    """The two auxiliary classifiers on inception 4a and 4d, whose losses (weight 0.3) train the lower layers."""
    small_input: bool = False
    """A stem for 28x28-sized images: a 3x3 stride-1 first convolution instead of 7x7 stride 2 (16x
    downsampling in all, not 32x)."""
    width: float = C.positive(1.0)
    """Multiplies every layer's channels (1 is the paper's network)."""
    dropout: float = C.fraction(0.4, hi_open=True)
    """Dropout before the classifier, in [0, 1) (table 1: 40%; torchvision's is 20%)."""


AUX_WEIGHT = 0.3  # sec. 5: "their loss is added to the total loss of the network with a discount weight 0.3"
AUX_DROPOUT = 0.7  # sec. 5: "a dropout layer with 70% ratio of dropped outputs"

# table 1: name -> (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)
INCEPTIONS = {
    "inception3a": (64, 96, 128, 16, 32, 32),
    "inception3b": (128, 128, 192, 32, 96, 64),
    "inception4a": (192, 96, 208, 16, 48, 64),
    "inception4b": (160, 112, 224, 24, 64, 64),
    "inception4c": (128, 128, 256, 24, 64, 64),
    "inception4d": (112, 144, 288, 32, 64, 64),
    "inception4e": (256, 160, 320, 32, 128, 128),
    "inception5a": (256, 160, 320, 32, 128, 128),
    "inception5b": (384, 192, 384, 48, 128, 128),
}
POOL_AFTER = ("inception3b", "inception4e")  # table 1's 3x3/2 max pools between the inception groups
AUX_ON = ("inception4a", "inception4d")


def conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, padding: int = 0) -> nn.Sequential:
    """conv (no bias) -> batch-norm -> ReLU."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, padding, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class Inception(nn.Module):
    """Fig. 2b: four branches on the same input (B, c_in, H, W), stacked: B, n1 + n3 + n5 + proj, H, W."""

    def __init__(self, c_in: int, n1: int, r3: int, n3: int, r5: int, n5: int, proj: int):
        super().__init__()
        self.branch1 = conv_bn(c_in, n1, 1)
        self.branch3 = nn.Sequential(conv_bn(c_in, r3, 1), conv_bn(r3, n3, 3, padding=1))
        # the "5x5" branch: 3x3 kernels, as torchvision's (see the module docstring)
        self.branch5 = nn.Sequential(conv_bn(c_in, r5, 1), conv_bn(r5, n5, 3, padding=1))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv_bn(c_in, proj, 1))
        self.out_channels = n1 + n3 + n5 + proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], 1)


class AuxHead(nn.Module):
    """Sec. 5: average pool to 4x4 -> 1x1 conv, 128 -> FC 1024 -> 70% dropout -> linear to the classes."""

    def __init__(self, c_in: int, n_classes: int, width: float):
        super().__init__()
        c, hidden = scaled(128, width), scaled(1024, width)
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.conv = conv_bn(c_in, c, 1)
        self.fc = nn.Linear(c * 4 * 4, hidden)
        self.drop = nn.Dropout(AUX_DROPOUT)
        self.out = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(self.pool(x)).flatten(1)  # B, 128 * 16
        return self.out(self.drop(F.relu(self.fc(h))))  # B, n_classes


def feature_side(cfg: GoogLeNetConfig, side: int) -> int:
    """The side of inception 5b's map, by O = (W - K + 2P)/S + 1 (224 -> 7, 28 with small_input -> 2)."""
    side = conv_out(side, 3, 1, 1) if cfg.small_input else conv_out(side, 7, 3, 2)
    for _ in range(4):  # the four 3x3 stride-2 max pools (padding 1); inception blocks keep the size
        side = conv_out(side, 3, 1, 2)
    return side


class GoogLeNet(ImageClassifier):
    def __init__(self, cfg: GoogLeNetConfig):
        super().__init__()
        self.cfg = cfg
        check_input("googlenet", cfg.in_shape,
                    smallest_side(lambda s: feature_side(cfg, s), 16 if cfg.small_input else 32), cfg.small_input)
        w = cfg.width
        c1, r2, c2 = scaled(64, w), scaled(64, w), scaled(192, w)
        first = (conv_bn(cfg.in_shape[0], c1, 3, 1, 1) if cfg.small_input else
                 conv_bn(cfg.in_shape[0], c1, 7, 2, 3))
        layers = [("conv1", nn.Sequential(first, nn.MaxPool2d(3, 2, 1))),  # B, 64, H/4, W/4
                  ("conv2", nn.Sequential(conv_bn(c1, r2, 1), conv_bn(r2, c2, 3, padding=1),
                                          nn.MaxPool2d(3, 2, 1)))]  # B, 192, H/8, W/8
        c = c2
        self.aux = nn.ModuleDict()
        for name, widths in INCEPTIONS.items():
            block = Inception(c, *(scaled(n, w) for n in widths))
            c = block.out_channels
            layers.append((name, block))
            if name in POOL_AFTER:
                layers.append((f"pool{name[-2]}", nn.MaxPool2d(3, 2, 1)))
            if cfg.aux_classifiers and name in AUX_ON:
                self.aux[name] = AuxHead(c, cfg.n_classes, w)
        self.features = nn.Sequential(OrderedDict(layers))  # B, 1024, H/32, W/32 (H/16 with small_input)
        # table 1's 7x7 average pool, as a global one so that other sizes pass
        self.neck = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(cfg.dropout))  # B, 1024
        self.classifier = nn.Linear(c, cfg.n_classes)

    def loss(self, batch) -> dict:
        if not (self.training and len(self.aux)):
            return super().loss(batch)
        x, y = batch
        aux_logits = []
        h = x
        for name, block in self.features.named_children():
            h = block(h)
            if name in self.aux:
                aux_logits.append(self.aux[name](h))
        logits = self.classifier(self.neck(h))
        main = F.cross_entropy(logits, y)
        aux = sum(F.cross_entropy(a, y) for a in aux_logits)
        # L = L_main + 0.3 (L_aux1 + L_aux2)
        return {"loss": main + AUX_WEIGHT * aux, "main_loss": main, "aux_loss": aux, "logits": logits}


def tiny(base: type = GoogLeNetConfig) -> GoogLeNetConfig:
    """A seconds-fast config: 32x32 grey images (inception 5 then sees 2x2), channels / 16, with the
    auxiliary heads (so every-model tests train them too)."""
    return base(in_shape=(1, 32, 32), n_classes=10, aux_classifiers=True, small_input=True,
                           width=1 / 16, dropout=0.0)


def example_batch(cfg: GoogLeNetConfig, n: int = 16):
    """Random images and labels for tests."""
    return torch.rand(n, *cfg.in_shape), torch.randint(0, cfg.n_classes, (n,))
