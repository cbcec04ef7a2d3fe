"""One encoder, one decoder per source: the "deepfake" autoencoder.

Both sources go through the same encoder, so the code has to describe what they share (here: which digit,
its slant and weight); each decoder learns to draw its own source's style from that code. Encoding an image
of source A and decoding it with B's decoder then draws the same content in B's style.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from .autoencoder import prototype_images, reconstruction_loss
from .base import Model
from .conv_autoencoder import ConvAutoencoder, ConvAutoencoderConfig


@dataclass
class SwapAutoencoderConfig:
    in_shape: tuple = C.shape()
    """Input image shape (C, H, W), the same for both sources. Set from the data."""
    channels: list = C.ints([32, 64])
    """Channels of the stride-2 convolutions of the shared encoder (mirrored by each decoder)."""
    code: int = C.positive(32)
    """Width of the shared code."""
    sources: int = C.positive(2)
    """Number of sources, each with its own decoder. Set from the data."""
    encoder_pool: int = C.positive(2)
    """The encoder reads each image average-pooled by this factor and enlarged back (28x28 -> 14x14 -> 28x28):
    the coarser shape both sources share, so a code means the same digit whichever source it came from, and
    each decoder alone supplies its source's fine style. 1: the encoder reads the full image (then it can,
    and on MNIST + digits28 does, give the two sources codes of their own, and swaps lose the digit)."""
    warp: float = C.nonneg(0.0)
    """The deepfake's random warp: in training the encoder reads each image through a random affine map (each
    entry of the 2x3 matrix moved by up to +-warp from the identity, in the image's [-1, 1] coordinates) while
    the decoder must draw the image unwarped, so a decoder learns to draw its source's clean digit from a
    code that is a little off, as a swapped code is. 0: off."""


class SwapAutoencoder(Model):
    def __init__(self, cfg: SwapAutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        conv = ConvAutoencoderConfig(in_shape=cfg.in_shape, channels=list(cfg.channels), code=cfg.code)
        halves = [ConvAutoencoder(conv) for _ in range(cfg.sources)]
        self.encoder = halves[0].encoder
        self.decoders = nn.ModuleList(h.decoder for h in halves)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        k = self.cfg.encoder_pool
        if k > 1:
            # the deepfake's trick of a degraded input, done deterministically: only the coarse shape goes in
            coarse = F.avg_pool2d(x, k, ceil_mode=True)  # B, C, H/k, W/k
            x = F.interpolate(coarse, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.encoder(x)  # B, code

    def warped(self, x: torch.Tensor) -> torch.Tensor:
        """x through a random affine map per image (B, C, H, W), drawn from torch's generator (seeded by the run)."""
        theta = torch.eye(2, 3, device=x.device, dtype=x.dtype).expand(len(x), 2, 3)
        # A = I + U(-w, w) entry by entry: rotation, scale, shear and a shift of up to w half-widths
        theta = theta + (torch.rand(len(x), 2, 3, device=x.device, dtype=x.dtype) * 2 - 1) * self.cfg.warp
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")

    def decode(self, code: torch.Tensor, source: int = 0) -> torch.Tensor:
        return self.decoders[source](code)  # B, C, H, W

    def forward(self, x: torch.Tensor, source: int = 0) -> torch.Tensor:
        """Encode, then draw with `source`'s decoder (another source's than x's: a swap)."""
        return self.decode(self.encode(x), source)

    def loss(self, batch) -> dict:
        x, _, src = batch  # src: B, which source each image came from
        code = self.encode(self.warped(x) if self.training and self.cfg.warp > 0 else x)
        out, total = {}, 0.0
        for s, dec in enumerate(self.decoders):
            mine = src == s
            if mine.any():
                # each decoder reconstructs only its own source's images
                rec = reconstruction_loss(dec(code[mine]), x[mine], "bce")
                out[f"reconstruction_{s}"] = rec
                total = total + rec * mine.float().mean()
        out["loss"] = total
        return out


def tiny() -> SwapAutoencoderConfig:
    return SwapAutoencoderConfig(in_shape=(1, 8, 8), channels=[4, 8], code=4)


def example_batch(cfg: SwapAutoencoderConfig, n: int = 16):
    """Images, labels and the source of each (half from each), as a batch of the swap task."""
    x, y = prototype_images(cfg.in_shape, n)
    return x, y, torch.arange(n) % cfg.sources
