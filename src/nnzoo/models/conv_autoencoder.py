"""Convolutional autoencoder: strided convolutions down to a code, transposed convolutions back up.

Weights are shared across positions, so at the same code size it has far fewer parameters than the MLP
autoencoder and keeps strokes sharper (BENCHMARKS.md draws the two side by side).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from .. import config as C
from ..errors import UserError
from ..nn.conv import conv_out
from .autoencoder import RECON_LOSSES, prototype_images, reconstruction_loss
from .base import Model


@dataclass
class ConvAutoencoderConfig:
    in_shape: tuple = C.shape()
    """Input image shape (C, H, W). Set from the data."""
    channels: list = C.ints([32, 64])
    """Channels of each stride-2 3x3 convolution; each halves the image (28 -> 14 -> 7)."""
    code: int = C.positive(32)
    """Width of the code: a linear layer maps the last feature map to it and back."""
    recon_loss: str = C.choice("bce", RECON_LOSSES)
    """bce (binary cross-entropy per image, sigmoid output) or mse (squared error, sigmoid output)."""


class ConvAutoencoder(Model):
    def __init__(self, cfg: ConvAutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        c, h, w = (int(d) for d in cfg.in_shape)
        sizes = [(h, w)]
        down: list[nn.Module] = []
        ch = c
        for out in cfg.channels:
            # O = (W - 3 + 2) / 2 + 1: 28 -> 14 -> 7
            sizes.append((conv_out(sizes[-1][0], 3, 1, 2), conv_out(sizes[-1][1], 3, 1, 2)))
            # no bias: the batch norm after it subtracts the mean, bias included
            down += [nn.Conv2d(ch, out, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU()]
            ch = out
        self.feature_shape = (ch, *sizes[-1])
        flat = ch * sizes[-1][0] * sizes[-1][1]
        self.encoder = nn.Sequential(*down, nn.Flatten(), nn.Linear(flat, cfg.code))
        up: list[nn.Module] = [nn.Linear(cfg.code, flat), nn.ReLU(), nn.Unflatten(1, self.feature_shape)]
        chans = [*cfg.channels[::-1][1:], c]
        for i, out in enumerate(chans):
            th, tw = sizes[-2 - i]
            hh, ww = sizes[-1 - i]
            # a transposed convolution's output: (I - 1) S - 2P + K + output_padding, chosen to land on the
            # size the matching convolution started from (7 -> 14 -> 28)
            pad = (th - ((hh - 1) * 2 - 2 + 3), tw - ((ww - 1) * 2 - 2 + 3))
            last = i == len(chans) - 1
            up.append(nn.ConvTranspose2d(ch, out, 3, stride=2, padding=1, output_padding=pad, bias=last))
            if not last:
                up += [nn.BatchNorm2d(out), nn.ReLU()]
            ch = out
        up.append(nn.Sigmoid())
        self.decoder = nn.Sequential(*up)
        if cfg.recon_loss not in RECON_LOSSES:
            raise UserError(f"unknown recon_loss {cfg.recon_loss!r}; choose bce or mse")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # B, code

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.decoder(code)  # B, C, H, W

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def loss(self, batch) -> dict:
        x = batch[0]
        rec = reconstruction_loss(self(x), x, self.cfg.recon_loss)
        return {"loss": rec, "reconstruction": rec}


def tiny() -> ConvAutoencoderConfig:
    return ConvAutoencoderConfig(in_shape=(1, 8, 8), channels=[4, 8], code=4)


def example_batch(cfg: ConvAutoencoderConfig, n: int = 16):
    return prototype_images(cfg.in_shape, n)
