"""AlphaGo's policy network (Silver et al. 2016, "Mastering the game of Go with deep neural networks and tree
search", Methods, "Neural network architecture"): the supervised-learning policy p_sigma(a | s).

The input is a 19 x 19 image of 48 feature planes (data/go.py computes them). The first hidden layer zero pads
the input to 23 x 23, convolves k = 192 filters of kernel size 5 x 5 with stride 1 and applies a rectifier;
hidden layers 2 to 12 each zero pad to 21 x 21, convolve k filters of 3 x 3 with stride 1 and apply a
rectifier; the final layer convolves 1 filter of kernel size 1 x 1 with stride 1, "with a different bias for
each position", and a softmax over the 361 points gives the move probabilities. 13 layers, and

  48*192*25 + 192  +  11 * (192*192*9 + 192)  +  192 + 361  =  3,882,793 parameters.

`layers=1` is the one-layer baseline: a single 5 x 5 convolution of the planes straight to one logit per point
(no bias) plus the bias per point, i.e. a linear softmax over each point's 5 x 5 neighbourhood of features.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from .base import Model

ILLEGAL = -1e4
"""The logit an illegal point gets when illegal points are masked: exp(-1e4) is 0 in every float type, and
unlike -inf it keeps every sum finite."""


@dataclass
class AlphaGoPolicyConfig:
    planes: int = C.positive(48)
    """Input feature planes (48: Extended Data Table 2; the task sets it to what its data hold)."""
    filters: int = C.positive(192)
    """k, the filters of every hidden layer (AlphaGo's match network: 192; the paper also tried 128, 256, 384)."""
    layers: int = C.positive(13)
    """Convolutional layers: a 5x5, then layers - 2 of 3x3, then the 1x1 output (13 in AlphaGo). 1: the
    one-layer baseline (one 5x5 convolution to the output)."""
    board: int = C.positive(19)
    """The board's side. 19 only: the output layer has a bias for each point of the 19x19 board."""
    mask_illegal: bool = True
    """Give illegal points (occupied, ko, suicide) probability 0, from the batch's legal mask; false: the
    softmax covers all 361 points, as the paper's network does (it learns to put ~0 on illegal points)."""

    @property
    def n_classes(self) -> int:
        """The moves the softmax is over: every point of the board (no pass)."""
        return self.board * self.board


class AlphaGoPolicy(Model):
    def __init__(self, cfg: AlphaGoPolicyConfig):
        super().__init__()
        if cfg.board != 19:
            raise ValueError(f"board={cfg.board}: AlphaGo's policy network plays 19x19 only (a bias per point of "
                             f"the 19x19 board); use board=19")
        self.cfg = cfg
        if cfg.layers == 1:
            convs = [nn.Conv2d(cfg.planes, 1, 5, padding=2, bias=False)]
        else:
            # layer 1: pad 19 -> 23, 5x5 conv: O = (19 - 5 + 2*2)/1 + 1 = 19
            convs = [nn.Conv2d(cfg.planes, cfg.filters, 5, padding=2)]
            # layers 2 .. L-1: pad 19 -> 21, 3x3 conv: O = (19 - 3 + 2*1)/1 + 1 = 19
            convs += [nn.Conv2d(cfg.filters, cfg.filters, 3, padding=1) for _ in range(cfg.layers - 2)]
            # layer L: one 1x1 filter; its bias is the per-point bias below, so the conv has none
            convs.append(nn.Conv2d(cfg.filters, 1, 1, bias=False))
        self.convs = nn.ModuleList(convs)
        self.point_bias = nn.Parameter(torch.zeros(cfg.board * cfg.board))
        """A different bias for each position (361)."""
        for i, conv in enumerate(self.convs):
            # He et al. 2015's normal init keeps the activations' scale through 12 rectified layers without
            # batch norm (PyTorch's default shrinks it by ~1/sqrt(3) a layer); the output layer is linear
            last = i == len(self.convs) - 1
            nn.init.kaiming_normal_(conv.weight, nonlinearity="linear" if last else "relu")
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)

    def forward(self, planes: torch.Tensor, legal: torch.Tensor | None = None) -> torch.Tensor:
        """planes B, P, 19, 19 -> move logits B, 361 (softmax gives p_sigma(a | s)); legal B, 361 bool masks
        illegal points when cfg.mask_illegal."""
        h = planes
        for conv in self.convs[:-1]:
            h = F.relu(conv(h))  # B, k, 19, 19
        # z_a = w . h_a + b_a: the 1x1 conv's output at point a plus that point's own bias
        logits = self.convs[-1](h).flatten(1) + self.point_bias  # B, 361
        if legal is not None and self.cfg.mask_illegal:
            logits = logits.masked_fill(~legal, ILLEGAL)
        return logits

    def loss(self, batch) -> dict:
        logits = self(batch["planes"], batch.get("legal"))
        # maximum likelihood of the expert's move a: L = -1/B sum_b log p_sigma(a_b | s_b)
        loss = F.cross_entropy(logits, batch["move"])
        return {"loss": loss, "logits": logits}


def tiny() -> AlphaGoPolicyConfig:
    return AlphaGoPolicyConfig(planes=6, filters=8, layers=3)


def example_batch(cfg: AlphaGoPolicyConfig, n: int = 16) -> dict:
    """Random binary planes, a legal mask with about 1 point in 10 illegal, and a legal move for each."""
    points = cfg.board * cfg.board
    planes = (torch.rand(n, cfg.planes, cfg.board, cfg.board) < 0.3).float()
    legal = torch.rand(n, points) > 0.1
    move = torch.multinomial(legal.float(), 1).squeeze(1)
    return {"planes": planes, "legal": legal, "move": move}
