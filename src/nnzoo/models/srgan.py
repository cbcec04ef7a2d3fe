"""Single-image super-resolution (Ledig et al. 2017): a 7x7 digit in, the 28x28 digit out (4x per side).

  SRResNet  residual blocks at low resolution, then two sub-pixel convolutions (conv to 4C channels, then
            PixelShuffle(2) rearranges them into a map twice as wide and tall), trained on pixel MSE
  SRGAN     the same generator, trained on a content loss in a classifier's feature space plus
            adversarial_weight * (-log D(G(x))). The paper's content loss uses VGG-19 features; nnzoo cannot
            download VGG, so it uses its own MNIST classifier's convolutional features (tasks/judge.py),
            attached by the task before training

Which one a run trains is its config: adversarial_weight = 0 and feature_weight = 0 is SRResNet (no critic is
built). The low-resolution input is made inside the model (`degrade`: antialiased bicubic downsampling), so the
data are plain digits; `baseline` is bicubic upsampling, the figure both are compared with.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from .gan import DCCritic, GANConfig, OptionalCritic, shared_fake

SCALES = (2, 4, 8)


@dataclass
class SRConfig:
    in_shape: tuple = C.shape()
    """High-resolution image shape (C, H, W); H and W must be multiples of `scale`."""
    scale: int = C.choice(4, SCALES)
    """Upscaling factor per side: 4 (7x7 -> 28x28, the paper's), 2 (14x14 -> 28x28) or 8."""
    channels: int = C.positive(32)
    """Feature maps in the residual trunk (64 in the paper)."""
    blocks: int = C.nonneg(4)
    """Residual blocks in the trunk, 0 or more (16 in the paper)."""
    pixel_weight: float = C.nonneg(1.0)
    """Weight of the pixel MSE (SRResNet's whole loss); >= 0."""
    feature_weight: float = C.nonneg(0.0)
    """Weight of the MSE between the classifier's feature maps of G(x) and of the real image (SRGAN's content
    loss); needs the MNIST judge."""
    adversarial_weight: float = C.nonneg(0.0)
    """Weight of -log D(G(x)) (1e-3 in the paper); 0 builds no discriminator."""
    critic_width: int = C.positive(32)
    """Channels of the discriminator's first layer (a DCGAN-style critic on the 28x28 image)."""


class ResidualBlock(nn.Module):
    """x + BN(conv(PReLU(BN(conv(x))))): the SRResNet block."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.PReLU(c),
                                  nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.body(x)


class SRResNet(nn.Module):
    """(C, H/s, W/s) -> conv 9x9 -> blocks (+ long skip) -> log2(s) x [conv -> PixelShuffle(2) -> PReLU] ->
    conv 9x9 -> (C, H, W)."""

    def __init__(self, cfg: SRConfig):
        super().__init__()
        c, n = cfg.in_shape[0], cfg.channels
        self.head = nn.Sequential(nn.Conv2d(c, n, 9, 1, 4), nn.PReLU(n))
        self.trunk = nn.Sequential(*[ResidualBlock(n) for _ in range(cfg.blocks)],
                                   nn.Conv2d(n, n, 3, 1, 1, bias=False), nn.BatchNorm2d(n))
        ups: list[nn.Module] = []
        for _ in range(cfg.scale.bit_length() - 1):
            # sub-pixel convolution: (4n, h, w) -> PixelShuffle(2) -> (n, 2h, 2w)
            ups += [nn.Conv2d(n, 4 * n, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(n)]
        self.up = nn.Sequential(*ups)
        self.tail = nn.Conv2d(n, c, 9, 1, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)  # B, n, H/s, W/s
        h = h + self.trunk(h)  # the long skip: the trunk learns a correction
        return self.tail(self.up(h))  # B, C, H, W, on the [-1, 1] scale (not squashed)


class SRGAN(OptionalCritic):
    def __init__(self, cfg: SRConfig):
        super().__init__()
        c, h, w = cfg.in_shape
        if cfg.scale not in SCALES or h % cfg.scale or w % cfg.scale:
            raise ValueError(f"scale={cfg.scale} must be 2, 4 or 8 and divide the image sides {h}x{w}")
        self.cfg = cfg
        self.generator = SRResNet(cfg)
        self.critic = None
        if cfg.adversarial_weight > 0:
            self.critic = DCCritic(GANConfig(in_shape=tuple(cfg.in_shape), width=cfg.critic_width))
        self._features = []  # the frozen classifier for the content loss: held in a list, so never saved

    def attach_features(self, net: nn.Module) -> None:
        for p in net.parameters():
            p.requires_grad_(False)
        self._features = [net.eval()]

    def degrade(self, x: torch.Tensor) -> torch.Tensor:
        """High-resolution images in [0, 1] -> the low-resolution input (antialiased bicubic, as in the paper)."""
        h, w = x.shape[-2] // self.cfg.scale, x.shape[-1] // self.cfg.scale
        return F.interpolate(x, size=(h, w), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)

    def baseline(self, lr: torch.Tensor) -> torch.Tensor:
        """Bicubic upsampling, the figure to beat."""
        h, w = lr.shape[-2] * self.cfg.scale, lr.shape[-1] * self.cfg.scale
        return F.interpolate(lr, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)

    def translate(self, lr: torch.Tensor) -> torch.Tensor:
        """Low-resolution images in [0, 1] -> super-resolved images in [0, 1]."""
        return ((self.generator(lr * 2 - 1) + 1) / 2).clamp(0, 1)

    def loss(self, batch, phase: str = "generator") -> dict:
        x = batch[0]
        lr, real = self.degrade(x) * 2 - 1, x * 2 - 1
        fake = shared_fake(self, phase, x, lambda: self.generator(lr))
        if phase == "critic":
            s_real, s_fake = self.critic(real), self.critic(fake.detach())
            loss = (F.binary_cross_entropy_with_logits(s_real, torch.ones_like(s_real))
                    + F.binary_cross_entropy_with_logits(s_fake, torch.zeros_like(s_fake)))
            return {"loss": loss, "d_real": torch.sigmoid(s_real.detach().float()).mean(),
                    "d_fake": torch.sigmoid(s_fake.detach().float()).mean()}
        # pixel MSE on the [0, 1] scale
        mse = ((fake - real) ** 2).mean() / 4
        loss = self.cfg.pixel_weight * mse
        out = {"pixel_mse": mse.detach()}
        if self.cfg.feature_weight > 0:
            if not self._features:
                raise RuntimeError("the feature loss needs the classifier: the task attaches it before training")
            net = self._features[0]
            # content loss: MSE between the classifier's feature maps phi(G(x)) and phi(y), images in [0, 1]
            feat = F.mse_loss(net.features(((fake + 1) / 2).clamp(0, 1)), net.features(x))
            loss = loss + self.cfg.feature_weight * feat
            out["feature_mse"] = feat.detach()
        if self.critic is not None:
            s_fake = self.critic(fake)
            adv = F.binary_cross_entropy_with_logits(s_fake, torch.ones_like(s_fake))
            # L_G = content + adversarial_weight * (-log D(G(x)))
            loss = loss + self.cfg.adversarial_weight * adv
            out["adversarial"] = adv.detach()
        return {"loss": loss, **out}


def tiny() -> SRConfig:
    return SRConfig(in_shape=(1, 8, 8), scale=2, channels=4, blocks=1, adversarial_weight=1e-3, critic_width=4)


def example_batch(cfg: SRConfig, n: int = 16):
    return torch.rand(n, *cfg.in_shape), torch.randint(0, 10, (n,))
