"""Variational autoencoder (Kingma & Welling 2014) with a Bernoulli decoder, on binarized images.

The encoder gives q(z|x) = N(mu, diag sigma^2); the decoder gives p(x|z) = Bernoulli(logits); the prior
is p(z) = N(0, I). Training maximises the ELBO

    log p(x) >= E_q[log p(x|z)] - KL(q(z|x) || p(z)),

with one reparameterised sample z = mu + sigma * eps, so the gradient flows through mu and sigma.
Inputs are binarized afresh every time they are seen (dynamic binarization: x_i ~ Bernoulli(pixel_i)).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from ..nn.conv import ACTIVATIONS
from ..nn.conv import activation as make_activation
from .base import Model


@dataclass
class VAEConfig:
    in_shape: tuple = C.shape()
    """Input image shape (C, H, W); flattened. Set from the data."""
    hidden: list = C.ints([512, 256])
    """Widths of the encoder's hidden layers; the decoder mirrors them."""
    latent: int = C.positive(32)
    """Dimension of z."""
    activation: str = C.choice("relu", ACTIVATIONS)
    """Non-linearity of the hidden layers: sigmoid, tanh, relu, leaky-relu or gelu."""
    nll_samples: int = C.positive(200)
    """Importance samples per test image for the NLL estimate in `nnzoo eval` (more give a tighter, lower
    estimate; Burda et al. use 5,000)."""


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag e^logvar) || N(0, I)) per example. mu, logvar: B, Z -> B."""
    # KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)
    return 0.5 * (mu ** 2 + logvar.exp() - logvar - 1).sum(1)


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x|z) = sum_i [x_i log p_i + (1 - x_i) log(1 - p_i)], p = sigmoid(logits). B, D -> B."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag e^logvar), summed over the last dimension."""
    # log N = -1/2 sum_j [log 2 pi + logvar_j + (z_j - mu_j)^2 / sigma_j^2]
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu) ** 2 / logvar.exp()).sum(-1)


def binarize(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """x_i ~ Bernoulli(pixel_i): grey levels read as the probability that a pixel is on."""
    return (torch.rand(x.shape, generator=generator, device=x.device) < x).to(x.dtype)


class VAE(Model):
    binary_inputs = True
    """Scored on binarized images: evaluation binarizes each split once with a fixed seed."""

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        self.cfg = cfg
        d = 1
        for s in cfg.in_shape:
            d *= int(s)
        self.in_features = d
        widths = [d, *cfg.hidden]
        enc: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            enc += [nn.Linear(a, b), make_activation(cfg.activation)]
        self.encoder = nn.Sequential(*enc)
        # one head for mu and one for log sigma^2: log-variance is unconstrained, so no positivity trick
        self.to_mu = nn.Linear(widths[-1], cfg.latent)
        self.to_logvar = nn.Linear(widths[-1], cfg.latent)
        back = [cfg.latent, *cfg.hidden[::-1]]
        dec: list[nn.Module] = []
        for a, b in zip(back[:-1], back[1:]):
            dec += [nn.Linear(a, b), make_activation(cfg.activation)]
        dec.append(nn.Linear(back[-1], d))  # Bernoulli logits
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x.flatten(1))
        return self.to_mu(h), self.to_logvar(h)  # B, Z each

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # ..., D

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Mean image p(x|z) for pictures. z: B, Z -> B, C, H, W."""
        return torch.sigmoid(self.decode_logits(z)).view(-1, *self.cfg.in_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu, _ = self.encode(x)
        return self.decode(mu)

    def elbo_parts(self, xb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(-log p(x|z) with one sample, KL) per example, for binary x: B, D."""
        mu, logvar = self.encode(xb)
        # z = mu + sigma * eps, eps ~ N(0, I): the reparameterisation trick
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        rec = -bernoulli_log_likelihood(self.decode_logits(z).float(), xb.float())
        return rec, kl_standard_normal(mu.float(), logvar.float())

    def loss(self, batch) -> dict:
        x = batch[0].flatten(1)
        xb = binarize(x) if self.training else x  # evaluation passes already-binarized images
        rec, kl = self.elbo_parts(xb)
        # -ELBO = -E_q[log p(x|z)] + KL(q(z|x) || p(z)), in nats per image
        return {"loss": (rec + kl).mean(), "reconstruction": rec.mean(), "kl": kl.mean()}

    @torch.no_grad()
    def importance_nll(self, xb: torch.Tensor, k: int = 200, chunk: int = 50) -> torch.Tensor:
        """-log p(x) estimated with k importance samples from q (Burda et al. 2016). xb: B, D binary -> B.

        log p(x) ~ log 1/k sum_s p(x|z_s) p(z_s) / q(z_s|x),  z_s ~ q(z|x); tighter than the ELBO, and
        exact as k -> infinity.
        """
        mu, logvar = self.encode(xb)
        std = (0.5 * logvar).exp()
        logw = []
        for s in range(0, k, chunk):
            n = min(chunk, k - s)
            z = mu + std * torch.randn(n, *mu.shape, device=mu.device, dtype=mu.dtype)  # n, B, Z
            log_px = bernoulli_log_likelihood(self.decode_logits(z).flatten(0, 1).float(),
                                              xb.float().repeat(n, 1)).view(n, -1)  # n, B
            log_pz = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z))
            log_q = gaussian_log_density(z, mu, logvar)
            logw.append(log_px + log_pz - log_q)
        logw = torch.cat(logw)  # k, B
        return -(torch.logsumexp(logw, 0) - math.log(k))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean images of z ~ N(0, I). -> n, C, H, W."""
        z = torch.randn(n, self.cfg.latent, generator=generator)
        return self.decode(z.to(next(self.parameters()).device))


def tiny() -> VAEConfig:
    return VAEConfig(in_shape=(1, 8, 8), hidden=[16], latent=2)


def example_batch(cfg: VAEConfig, n: int = 16):
    from .autoencoder import prototype_images
    return prototype_images(cfg.in_shape, n)
