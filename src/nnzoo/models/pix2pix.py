"""Image-to-image translation with a conditional GAN (pix2pix, Isola et al. 2017) on a paired task made from
MNIST: the model is shown a damaged digit (its lower half masked, or only its edges) and draws the whole digit.

  generator      a U-Net: the encoder halves the image twice, the decoder doubles it back, and each decoder level
                 also reads the encoder level of the same size (skip connections carry the input's detail)
  discriminator  a PatchGAN: it scores every overlapping 16x16 patch of (input, output) as real or fake, so it
                 judges texture and sharpness locally and leaves the global layout to the L1 term
  loss           G: lambda |y - G(x)|_1 + gan_weight * (-log D(x, G(x)));  D: -log D(x, y) - log(1 - D(x, G(x)))

With gan_weight = 0 the model is the L1-only baseline the paper compares against: no discriminator is built.
The damage is done inside the model (`degrade`), so the data are plain digits and every run sees the same task.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from .gan import OptionalCritic, shared_fake


@dataclass
class Pix2PixConfig:
    in_shape: tuple = C.shape()
    """Image shape (C, H, W); H and W must be multiples of 4."""
    source: str = C.choice("lower-half-masked", lambda: SOURCES)
    """What the generator is given: lower-half-masked (the bottom half of the digit blanked out) or edges
    (the Sobel gradient magnitude: only the strokes' outlines)."""
    width: int = C.positive(32)
    """Channels of the first U-Net level (doubled at the next two) and of the PatchGAN's first layer."""
    l1_weight: float = C.nonneg(100.0)
    """lambda of the L1 term, >= 0 (100 in the paper)."""
    gan_weight: float = C.nonneg(1.0)
    """Weight of the conditional GAN term in G's loss; 0 trains the L1-only baseline (no discriminator)."""
    dropout: float = C.fraction(0.5, hi_open=True)
    """Dropout in the U-Net's bottleneck while training, pix2pix's only source of noise; in [0, 1) (0 turns
    it off)."""


# -- the paired task ---------------------------------------------------------------------------------------------
def mask_lower_half(x: torch.Tensor) -> torch.Tensor:
    out = x.clone()
    out[..., x.shape[-2] // 2:, :] = 0
    return out


def sobel_edges(x: torch.Tensor) -> torch.Tensor:
    """|grad x| by the Sobel filters, scaled to [0, 1] per image: B, C, H, W."""
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], device=x.device, dtype=x.dtype)
    k = torch.stack([kx, kx.t()])[:, None]  # 2, 1, 3, 3
    g = F.conv2d(x.reshape(-1, 1, *x.shape[-2:]), k, padding=1)
    mag = g.pow(2).sum(1, keepdim=True).sqrt().reshape(x.shape)
    return mag / mag.flatten(1).amax(1).clamp_min(1e-6)[:, None, None, None]


SOURCES = {"lower-half-masked": mask_lower_half, "edges": sobel_edges}


# -- networks ----------------------------------------------------------------------------------------------------
def down(c_in, c_out, norm=True):
    """Conv 4x4 stride 2 (halves H, W) -> batch norm -> LeakyReLU 0.2, as in the paper's encoder."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not norm),
                         nn.BatchNorm2d(c_out) if norm else nn.Identity(), nn.LeakyReLU(0.2, True))


def up(c_in, c_out):
    """Transposed conv 4x4 stride 2 (doubles H, W) -> batch norm -> ReLU."""
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True))


class UNet(nn.Module):
    """(C, H, W) -> e1 (w, H/2) -> e2 (2w, H/4) -> bottleneck (4w, H/4) -> d2 (w, H/2) -> (C, H, W);
    each decoder level reads [its input, the encoder level of the same size] stacked on channels."""

    def __init__(self, cfg: Pix2PixConfig):
        super().__init__()
        c, w = cfg.in_shape[0], cfg.width
        self.e1 = down(c, w, norm=False)
        self.e2 = down(w, 2 * w)
        self.mid = nn.Sequential(nn.Conv2d(2 * w, 4 * w, 3, 1, 1, bias=False), nn.BatchNorm2d(4 * w), nn.ReLU(True),
                                 nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity(),
                                 nn.Conv2d(4 * w, 2 * w, 3, 1, 1, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU(True))
        self.d2 = up(4 * w, w)  # reads [mid, e2]
        self.d1 = nn.Sequential(nn.ConvTranspose2d(2 * w, c, 4, 2, 1), nn.Tanh())  # reads [d2, e1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.e1(x)  # B, w, H/2, W/2
        e2 = self.e2(e1)  # B, 2w, H/4, W/4
        m = self.mid(e2)  # B, 2w, H/4, W/4
        d2 = self.d2(torch.cat([m, e2], 1))  # B, w, H/2, W/2
        return self.d1(torch.cat([d2, e1], 1))  # B, C, H, W in [-1, 1]


class PatchGAN(nn.Module):
    """(input, output) stacked -> a map of logits, one per 16x16 receptive field (H/4 x W/4 of them)."""

    def __init__(self, cfg: Pix2PixConfig):
        super().__init__()
        c, w = cfg.in_shape[0], cfg.width
        self.net = nn.Sequential(down(2 * c, w, norm=False), down(w, 2 * w),
                                 nn.Conv2d(2 * w, 1, 3, 1, 1))

    def forward(self, src: torch.Tensor, img: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([src, img], 1))  # B, 1, H/4, W/4


class Pix2Pix(OptionalCritic):
    def __init__(self, cfg: Pix2PixConfig):
        super().__init__()
        if cfg.source not in SOURCES:
            raise ValueError(f"unknown source {cfg.source!r}; choose one of {', '.join(SOURCES)}")
        if cfg.in_shape[1] % 4 or cfg.in_shape[2] % 4:
            raise ValueError(f"pix2pix needs image sides that are multiples of 4, got {cfg.in_shape[1:]}")
        self.cfg = cfg
        self.generator = UNet(cfg)
        self.critic = PatchGAN(cfg) if cfg.gan_weight > 0 else None

    def degrade(self, x: torch.Tensor) -> torch.Tensor:
        """The generator's input for clean images x in [0, 1]."""
        return SOURCES[self.cfg.source](x)

    def translate(self, src: torch.Tensor) -> torch.Tensor:
        """Damaged images in [0, 1] -> restored images in [0, 1]."""
        return (self.generator(src * 2 - 1) + 1) / 2

    def loss(self, batch, phase: str = "generator") -> dict:
        x = batch[0]
        src, real = self.degrade(x) * 2 - 1, x * 2 - 1
        fake = shared_fake(self, phase, x, lambda: self.generator(src))
        if phase == "critic":
            s_real, s_fake = self.critic(src, real), self.critic(src, fake.detach())
            # L_D = 1/2 [-log D(x, y) - log(1 - D(x, G(x)))], averaged over patches (the paper halves it)
            loss = 0.5 * (F.binary_cross_entropy_with_logits(s_real, torch.ones_like(s_real))
                          + F.binary_cross_entropy_with_logits(s_fake, torch.zeros_like(s_fake)))
            return {"loss": loss, "d_real": torch.sigmoid(s_real.detach().float()).mean(),
                    "d_fake": torch.sigmoid(s_fake.detach().float()).mean()}
        # |y - G(x)|_1 per pixel, on the [0, 1] scale
        l1 = (fake - real).abs().mean() / 2
        out = {"l1": l1.detach()}
        loss = self.cfg.l1_weight * l1
        if self.critic is not None:
            s_fake = self.critic(src, fake)
            adv = F.binary_cross_entropy_with_logits(s_fake, torch.ones_like(s_fake))
            # L_G = lambda L1 + gan_weight * (-log D(x, G(x)))
            loss = loss + self.cfg.gan_weight * adv
            out["adversarial"] = adv.detach()
        return {"loss": loss, **out}


def tiny() -> Pix2PixConfig:
    return Pix2PixConfig(in_shape=(1, 8, 8), width=4)


def example_batch(cfg: Pix2PixConfig, n: int = 16):
    return torch.rand(n, *cfg.in_shape), torch.randint(0, 10, (n,))
