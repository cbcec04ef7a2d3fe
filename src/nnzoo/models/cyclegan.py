"""CycleGAN (Zhu et al. 2017): unpaired translation between two image domains A and B.

Two generators, G: A -> B and F: B -> A, and a discriminator per domain. No pair (a, b) is ever shown; what
keeps a translation tied to its input is the cycle: F(G(a)) should give a back and G(F(b)) b.
  adversarial  least-squares GAN (Mao et al. 2017), as CycleGAN uses: D(b) -> 1, D(G(a)) -> 0; G wants D(G(a)) -> 1
  cycle        lambda (|F(G(a)) - a|_1 + |G(F(b)) - b|_1), lambda = 10
  identity     identity_weight * lambda (|G(b) - b|_1 + |F(a) - a|_1): a generator leaves an image that is
               already in its output domain alone (0.5 in the paper), which keeps ink and background in place
Generators: conv 7x7 -> a stride-2 conv down -> residual blocks -> a stride-2 transposed conv up -> conv 7x7,
instance norm throughout. Discriminators: a PatchGAN of 16x16 patches. nnzoo's recipe translates between MNIST
and scikit-learn's digits upsampled to 28x28 (two real handwriting styles). The paper's pool of 50 past fakes
for the discriminators is left out.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from .. import config as C
from .base import Model
from .gan import shared_fake


@dataclass
class CycleGANConfig:
    in_shape: tuple = C.shape()
    """Image shape (C, H, W) of both domains; H and W must be even."""
    width: int = C.positive(32)
    """Channels of the generators' first layer (doubled after the downsampling) and the critics' first layer."""
    blocks: int = C.nonneg(3)
    """Residual blocks in each generator, 0 or more (6 or 9 in the paper, for 128-256 pixel images)."""
    cycle_weight: float = C.nonneg(10.0)
    """lambda of the cycle-consistency L1 terms (>= 0)."""
    identity_weight: float = C.nonneg(0.5)
    """Identity loss weight, as a fraction of lambda (0 turns it off)."""


def norm(c: int) -> nn.Module:
    # every convolution feeding one has bias=False: the per-channel mean it subtracts removes a bias exactly,
    # so that bias would get a gradient of zero (the reference CycleGAN generator does the same)
    return nn.InstanceNorm2d(c, affine=True)


class ResBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False, padding_mode="reflect"), norm(c),
                                  nn.ReLU(True),
                                  nn.Conv2d(c, c, 3, 1, 1, bias=False, padding_mode="reflect"), norm(c))

    def forward(self, x):
        return x + self.body(x)


class Generator(nn.Module):
    """(C, H, W) -> (w, H, W) -> (2w, H/2, W/2) -> blocks -> (w, H, W) -> (C, H, W) in [-1, 1]."""

    def __init__(self, cfg: CycleGANConfig):
        super().__init__()
        c, w = cfg.in_shape[0], cfg.width
        self.net = nn.Sequential(
            nn.Conv2d(c, w, 7, 1, 3, bias=False, padding_mode="reflect"), norm(w), nn.ReLU(True),
            nn.Conv2d(w, 2 * w, 3, 2, 1, bias=False), norm(2 * w), nn.ReLU(True),
            *[ResBlock(2 * w) for _ in range(cfg.blocks)],
            nn.ConvTranspose2d(2 * w, w, 3, 2, 1, output_padding=1, bias=False), norm(w), nn.ReLU(True),
            nn.Conv2d(w, c, 7, 1, 3, padding_mode="reflect"), nn.Tanh())

    def forward(self, x):
        return self.net(x)


class PatchCritic(nn.Module):
    """(C, H, W) -> a map of scores, one per 16x16 patch (H/4 x W/4 of them)."""

    def __init__(self, cfg: CycleGANConfig):
        super().__init__()
        c, w = cfg.in_shape[0], cfg.width
        self.net = nn.Sequential(nn.Conv2d(c, w, 4, 2, 1), nn.LeakyReLU(0.2, True),
                                 nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), norm(2 * w), nn.LeakyReLU(0.2, True),
                                 nn.Conv2d(2 * w, 1, 3, 1, 1))

    def forward(self, x):
        return self.net(x)


def lsgan(score: torch.Tensor, target: float) -> torch.Tensor:
    # least squares: E[(D(x) - target)^2]
    return ((score - target) ** 2).mean()


class CycleGAN(Model):
    def __init__(self, cfg: CycleGANConfig):
        super().__init__()
        if cfg.in_shape[1] % 2 or cfg.in_shape[2] % 2:
            raise ValueError(f"CycleGAN needs even image sides, got {cfg.in_shape[1:]}")
        self.cfg = cfg
        self.g_ab, self.g_ba = Generator(cfg), Generator(cfg)  # G: A -> B and F: B -> A
        self.d_a, self.d_b = PatchCritic(cfg), PatchCritic(cfg)

    def players(self) -> dict:
        return {"critic": [*self.d_a.parameters(), *self.d_b.parameters()],
                "generator": [*self.g_ab.parameters(), *self.g_ba.parameters()]}

    def phases(self, step: int) -> list[str]:
        return ["critic", "generator"]

    def translate(self, x: torch.Tensor, to: int) -> torch.Tensor:
        """Images in [0, 1] of the other domain -> domain `to` (0: A, 1: B), in [0, 1]."""
        g = self.g_ba if to == 0 else self.g_ab
        return (g(x * 2 - 1) + 1) / 2

    def loss(self, batch, phase: str = "generator") -> dict:
        x, _, src = batch
        a, b = x[src == 0] * 2 - 1, x[src == 1] * 2 - 1  # the two halves, on tanh's scale
        fake_b, fake_a = shared_fake(self, phase, x, lambda: (self.g_ab(a), self.g_ba(b)))
        if phase == "critic":
            # L_D = 1/2 [(D(real) - 1)^2 + D(fake)^2] per domain
            loss_a = 0.5 * (lsgan(self.d_a(a), 1.0) + lsgan(self.d_a(fake_a.detach()), 0.0))
            loss_b = 0.5 * (lsgan(self.d_b(b), 1.0) + lsgan(self.d_b(fake_b.detach()), 0.0))
            return {"loss": loss_a + loss_b, "critic_a": loss_a.detach(), "critic_b": loss_b.detach()}
        adv = lsgan(self.d_b(fake_b), 1.0) + lsgan(self.d_a(fake_a), 1.0)
        # cycle: F(G(a)) ~ a and G(F(b)) ~ b
        cycle = (self.g_ba(fake_b) - a).abs().mean() + (self.g_ab(fake_a) - b).abs().mean()
        loss = adv + self.cfg.cycle_weight * cycle
        out = {"adversarial": adv.detach(), "cycle_l1": cycle.detach()}
        if self.cfg.identity_weight > 0:
            # identity: G(b) ~ b and F(a) ~ a
            ident = (self.g_ab(b) - b).abs().mean() + (self.g_ba(a) - a).abs().mean()
            loss = loss + self.cfg.identity_weight * self.cfg.cycle_weight * ident
            out["identity_l1"] = ident.detach()
        return {"loss": loss, **out}


def tiny() -> CycleGANConfig:
    return CycleGANConfig(in_shape=(1, 8, 8), width=4, blocks=1)


def example_batch(cfg: CycleGANConfig, n: int = 16):
    src = torch.arange(n) % 2
    return torch.rand(n, *cfg.in_shape), torch.randint(0, 10, (n,)), src
