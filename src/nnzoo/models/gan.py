"""Generative adversarial networks: a generator G(z) against a discriminator (critic) D(x), in one model.

One file covers the lecture's family, each a config of the same two networks and two losses:
  GAN       (Goodfellow et al. 2014)  MLPs, non-saturating generator loss -log D(G(z))
  DCGAN     (Radford et al. 2016)     no fully connected hidden layers: fractional-strided convolutions up,
                                      strided ones down, batch norm, ReLU in G with tanh out, LeakyReLU in D
  cGAN      (Mirza & Osindero 2014)   G and D both see the class: one-hot beside z, one-hot maps beside x
  WGAN      (Arjovsky et al. 2017)    critic scores, not probabilities; weights clipped to [-c, c]; n_critic
  WGAN-GP   (Gulrajani et al. 2017)   a gradient penalty on interpolates instead of clipping; no batch norm
                                      in the critic (the penalty is per sample)

The training loop sees two players, `critic` and `generator` (players(), phases(step), loss(batch, phase)):
the critic updates on every batch, the generator after every n_critic-th. Images live in [0, 1] outside the
model and in [-1, 1] inside (tanh's range).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from .base import Model

CRITIC_NORMS = ("batch", "layer", "none")


@dataclass
class GANConfig:
    in_shape: tuple = C.shape()
    """Image shape (C, H, W); for arch=dcgan H and W must be multiples of 4."""
    n_classes: int = C.positive(10)
    """Classes in the data (used when conditional)."""
    arch: str = C.choice("dcgan", lambda: ARCHS)
    """mlp (Goodfellow et al.'s fully connected networks) or dcgan (convolutional, Radford et al.)."""
    latent: int = C.positive(100)
    """Size of the noise vector z ~ N(0, I) the generator starts from."""
    hidden: list = C.ints([256, 512, 1024])
    """mlp: the generator's hidden widths; the discriminator uses the first two, reversed (512, 256)."""
    width: int = C.positive(32)
    """dcgan: channels of the critic's first layer (doubled at the next); also the generator's unless
    generator_width is set."""
    generator_width: int = C.nonneg(0)
    """dcgan: channels of the generator's last hidden layer (doubled per level towards z); 0: width."""
    depth: int = C.nonneg(0)
    """dcgan: extra 3x3 stride-1 convolutions at the H/4 x W/4 level, in the generator (after the projection of
    z) and in the critic (before its score). Without them the critic's score is a linear function of features
    that each see a 10x10 patch, and the generator has one non-linearity between z and the image's layout;
    with them both can reason about the digit as a whole. 0: Radford et al.'s plain pair."""
    conditional: bool = False
    """Give both networks the class: G(z, y), D(x, y); sampling then takes a class (cGAN)."""
    objective: str = C.choice("nonsaturating", lambda: OBJECTIVES)
    """nonsaturating (D classifies real vs fake; G maximises log D(G(z))) or wasserstein (a critic estimates
    E[D(x)] - E[D(G(z))], the earth mover's distance, which G lowers)."""
    n_critic: int = C.positive(1)
    """Critic updates per generator update, at least 1 (WGAN: 5)."""
    clip: float = C.nonneg(0.0)
    """WGAN: clip every critic weight to [-clip, clip] after each critic update (0.01 in the paper; 0: off)."""
    gp_weight: float = C.nonneg(0.0)
    """WGAN-GP: weight lambda of the gradient penalty (10 in the paper; 0: off)."""
    critic_norm: str = C.choice("batch", CRITIC_NORMS)
    """Normalisation inside the critic: batch, layer (per sample, for the gradient penalty) or none."""
    dropout: float = C.fraction(0.0, hi_open=True)
    """Dropout after each of the critic's hidden layers, in [0, 1) (slows it down so G can keep up; 0 turns
    it off)."""
    ema: float = C.fraction(0.999, hi_open=True)
    """Sample from an exponential moving average of the generator's weights (Yazıcı et al. 2019), updated after
    every generator step: w_ema <- d w_ema + (1 - d) w with d = min(ema, (1 + t) / (10 + t)) at update t, so
    the first updates are not swamped by the random initial weights. It smooths out the oscillation of the
    two-player game at no training cost; in [0, 1), 0 samples from the trained weights themselves."""


def shared_fake(model: nn.Module, phase: str, key: torch.Tensor, make):
    """The generator's output for one batch, made once per training step: the critic phase keeps it (its own
    loss reads it detached, so the generator's graph survives) and the generator phase that follows on the same
    batch reuses it, as a hand-written GAN loop does, instead of running the generator a second time."""
    cached = getattr(model, "_fake_cache", None)
    model._fake_cache = None
    if phase != "critic" and cached is not None and cached[0] is key:
        return cached[1]
    fake = make()
    if phase == "critic" and model.training and torch.is_grad_enabled():
        model._fake_cache = (key, fake)
    return fake


class OptionalCritic(Model):
    """A generator trained on its own loss, with a critic only when an adversarial term is asked for (pix2pix's
    L1 baseline, SRResNet): one player, or two taking turns."""
    generator: nn.Module
    critic: nn.Module | None

    def players(self) -> dict:
        if self.critic is None:
            return {"generator": self.generator.parameters()}
        return {"critic": self.critic.parameters(), "generator": self.generator.parameters()}

    def phases(self, step: int) -> list[str]:
        return ["generator"] if self.critic is None else ["critic", "generator"]


def init_dcgan(m: nn.Module) -> None:
    """Radford et al.: every weight from N(0, 0.02); batch-norm scales from N(1, 0.02)."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def critic_norm(kind: str, channels: int) -> nn.Module:
    # layer norm over (C, H, W) of each sample is GroupNorm with one group
    return {"batch": lambda: nn.BatchNorm2d(channels), "layer": lambda: nn.GroupNorm(1, channels),
            "none": nn.Identity}[kind]()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, *cond) -> torch.Tensor:
    """Gulrajani et al.: E[(||grad_x^ D(x^)||_2 - 1)^2] at x^ = eps x + (1 - eps) G(z), one eps ~ U(0, 1) per
    sample; the norm runs over every non-batch dimension (C, H, W together)."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    # x^ = eps x + (1 - eps) x~
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    score = critic(x_hat, *cond)
    # create_graph: the penalty itself is differentiated when the critic's weights update
    (grad,) = torch.autograd.grad(score.sum(), x_hat, create_graph=True)
    # (||grad||_2 - 1)^2, the norm over all non-batch dimensions
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


class MLPGenerator(nn.Module):
    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.shape = tuple(cfg.in_shape)
        width = cfg.latent + (cfg.n_classes if cfg.conditional else 0)
        layers: list[nn.Module] = []
        for n in cfg.hidden:
            layers += [nn.Linear(width, n), nn.LeakyReLU(0.2)]
            width = n
        out = self.shape[0] * self.shape[1] * self.shape[2]
        layers += [nn.Linear(width, out), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # B, latent (+ classes) -> B, C, H, W
        return self.net(z).view(-1, *self.shape)


class MLPCritic(nn.Module):
    def __init__(self, cfg: GANConfig):
        super().__init__()
        c, h, w = cfg.in_shape
        width = c * h * w + (cfg.n_classes if cfg.conditional else 0)
        layers: list[nn.Module] = []
        for n in list(reversed(cfg.hidden[:2])):
            layers += [nn.Linear(width, n), nn.LeakyReLU(0.2)]
            if cfg.dropout > 0:
                layers.append(nn.Dropout(cfg.dropout))
            width = n
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = x.flatten(1)
        if cond is not None:
            h = torch.cat([h, cond], 1)
        return self.net(h).squeeze(1)  # B


class DCGenerator(nn.Module):
    """z -> (4w, H/4, W/4) -> (2w, H/2, W/2) -> (C, H, W): a transposed convolution projects z (a 1x1 map) to
    H/4 x W/4, then two fractional-strided convolutions (kernel 4, stride 2, padding 1) double the size:
    O = (I - 1) S - 2P + K = 2I."""

    def __init__(self, cfg: GANConfig):
        super().__init__()
        c, h, w = cfg.in_shape
        if h % 4 or w % 4:
            raise ValueError(f"dcgan needs image sides that are multiples of 4, got {h}x{w}; use arch=mlp")
        zdim = cfg.latent + (cfg.n_classes if cfg.conditional else 0)
        k = cfg.generator_width or cfg.width
        deep = []
        for _ in range(cfg.depth):  # same-size convolutions at H/4 x W/4: B, 4k, H/4, W/4 -> B, 4k, H/4, W/4
            deep += [nn.Conv2d(4 * k, 4 * k, 3, 1, 1, bias=False), nn.BatchNorm2d(4 * k), nn.ReLU(True)]
        self.net = nn.Sequential(
            nn.ConvTranspose2d(zdim, 4 * k, (h // 4, w // 4), 1, 0, bias=False), nn.BatchNorm2d(4 * k), nn.ReLU(True),
            *deep,
            nn.ConvTranspose2d(4 * k, 2 * k, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * k), nn.ReLU(True),
            nn.ConvTranspose2d(2 * k, c, 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])  # B, zdim -> B, C, H, W


class DCCritic(nn.Module):
    """(C, H, W) -> (2w, H/2, W/2) -> (4w, H/4, W/4) -> one score: strided convolutions instead of pooling, no
    norm on the first layer (Radford et al.), and a last convolution that covers the whole H/4 x W/4 map
    in place of a fully connected layer."""

    def __init__(self, cfg: GANConfig):
        super().__init__()
        c, h, w = cfg.in_shape
        c_in = c + (cfg.n_classes if cfg.conditional else 0)
        k = cfg.width
        # no module at all without dropout, so the weights' names stay those of runs trained before it existed
        drop = [nn.Dropout(cfg.dropout)] if cfg.dropout > 0 else []
        deep = []
        for _ in range(cfg.depth):  # B, 4k, H/4, W/4 -> B, 4k, H/4, W/4
            deep += [nn.Conv2d(4 * k, 4 * k, 3, 1, 1, bias=cfg.critic_norm == "none"),
                     critic_norm(cfg.critic_norm, 4 * k), nn.LeakyReLU(0.2, True), *drop]
        self.net = nn.Sequential(
            nn.Conv2d(c_in, 2 * k, 4, 2, 1), nn.LeakyReLU(0.2, True), *drop,
            nn.Conv2d(2 * k, 4 * k, 4, 2, 1, bias=cfg.critic_norm == "none"), critic_norm(cfg.critic_norm, 4 * k),
            nn.LeakyReLU(0.2, True), *drop, *deep,
            nn.Conv2d(4 * k, 1, (h // 4, w // 4)))

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if cond is not None:  # the class as constant one-hot maps beside the image: B, C + classes, H, W
            x = torch.cat([x, cond[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
        return self.net(x).flatten()  # B


ARCHS = {"mlp": (MLPGenerator, MLPCritic), "dcgan": (DCGenerator, DCCritic)}
OBJECTIVES = ("nonsaturating", "wasserstein")


class GAN(Model):
    def __init__(self, cfg: GANConfig):
        super().__init__()
        if cfg.arch not in ARCHS:
            raise ValueError(f"unknown arch {cfg.arch!r}; choose one of {', '.join(ARCHS)}")
        if cfg.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {cfg.objective!r}; choose one of {', '.join(OBJECTIVES)}")
        if cfg.critic_norm not in CRITIC_NORMS:
            raise ValueError(f"unknown critic_norm {cfg.critic_norm!r}; choose batch, layer or none")
        self.cfg = cfg
        gen, crit = ARCHS[cfg.arch]
        self.generator = gen(cfg)
        self.critic = crit(cfg)
        if cfg.arch == "dcgan":
            self.apply(init_dcgan)
        self.generator_ema = None
        if cfg.ema > 0:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
            self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))

    # -- the two players -------------------------------------------------------------------------------------
    def players(self) -> dict:
        return {"critic": self.critic.parameters(), "generator": self.generator.parameters()}

    def phases(self, step: int) -> list[str]:
        # the critic learns from every batch; the generator after every n_critic-th
        return ["critic"] + (["generator"] if (step + 1) % max(1, self.cfg.n_critic) == 0 else [])

    def after_step(self, phase) -> None:
        if phase == "generator" and self.generator_ema is not None:
            with torch.no_grad():
                t = int(self.ema_updates)
                d = min(self.cfg.ema, (1 + t) / (10 + t))
                self.ema_updates += 1
                for avg, w in zip(self.generator_ema.parameters(), self.generator.parameters()):
                    # w_ema <- d w_ema + (1 - d) w
                    avg.lerp_(w, 1 - d)
                for avg, b in zip(self.generator_ema.buffers(), self.generator.buffers()):
                    avg.copy_(b)  # batch-norm statistics: the live generator's
        if phase == "critic" and self.cfg.clip > 0:
            # WGAN keeps the critic K-Lipschitz by clipping every weight to [-c, c]
            with torch.no_grad():
                for p in self.critic.parameters():
                    p.clamp_(-self.cfg.clip, self.cfg.clip)

    # -- sampling --------------------------------------------------------------------------------------------
    def one_hot(self, y: torch.Tensor | None) -> torch.Tensor | None:
        return F.one_hot(y, self.cfg.n_classes).float() if self.cfg.conditional and y is not None else None

    def noise(self, n: int, device) -> torch.Tensor:
        return torch.randn(n, self.cfg.latent, device=device)

    def generate_raw(self, z: torch.Tensor, y: torch.Tensor | None = None, net: nn.Module | None = None):
        """G(z[, y]) in [-1, 1]: B, C, H, W."""
        cond = self.one_hot(y)
        return (net or self.generator)(z if cond is None else torch.cat([z, cond], 1))

    @torch.no_grad()
    def generate(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [0, 1] from noise z (B, latent) and, for a conditional model, classes y (B); drawn by the
        averaged generator when there is one."""
        if self.cfg.conditional and y is None:
            raise ValueError("a conditional generator needs a class for every sample")
        net = self.generator_ema if self.generator_ema is not None else self.generator
        return (self.generate_raw(z, y, net).float() + 1) / 2

    @torch.no_grad()
    def score(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """D(x) for images in [0, 1]: a probability (nonsaturating) or a critic score (wasserstein). -> B."""
        s = self.critic(x * 2 - 1, self.one_hot(y)).float()
        return torch.sigmoid(s) if self.cfg.objective == "nonsaturating" else s

    # -- losses ----------------------------------------------------------------------------------------------
    def loss(self, batch, phase: str = "critic") -> dict:
        x, y = batch
        real = x * 2 - 1  # [0, 1] -> tanh's [-1, 1]
        cond = self.one_hot(y)
        # fake samples carry the batch's classes, so a conditional critic sees real and fake of the same mix
        fake = shared_fake(self, phase, x, lambda: self.generate_raw(self.noise(len(x), x.device), y))
        if phase == "critic":
            fake = fake.detach()  # the critic's update leaves G alone
            s_real, s_fake = self.critic(real, cond), self.critic(fake, cond)
            if self.cfg.objective == "nonsaturating":
                # L_D = -[log D(x) + log(1 - D(G(z)))], with D = sigmoid(score)
                loss = (F.binary_cross_entropy_with_logits(s_real, torch.ones_like(s_real))
                        + F.binary_cross_entropy_with_logits(s_fake, torch.zeros_like(s_fake)))
                out = {"d_real": torch.sigmoid(s_real.detach().float()).mean(),
                       "d_fake": torch.sigmoid(s_fake.detach().float()).mean()}
            else:
                # L_critic = E[D(G(z))] - E[D(x)]: minimising it maximises the Wasserstein estimate
                wdist = s_real.mean() - s_fake.mean()
                loss = -wdist
                out = {"wasserstein_estimate": wdist.detach().float(), "d_real": s_real.detach().float().mean(),
                       "d_fake": s_fake.detach().float().mean()}
            if self.cfg.gp_weight > 0:
                gp = gradient_penalty(self.critic, real, fake, cond)
                # L = L_critic + lambda E[(||grad D(x^)|| - 1)^2]
                loss = loss + self.cfg.gp_weight * gp
                out["gradient_penalty"] = gp.detach().float()
            return {"loss": loss, **out}
        if phase != "generator":
            raise ValueError(f"unknown phase {phase!r}; a GAN has critic and generator")
        s_fake = self.critic(fake, cond)
        if self.cfg.objective == "nonsaturating":
            # non-saturating L_G = -log D(G(z)): strong gradients while D still rejects the samples
            loss = F.binary_cross_entropy_with_logits(s_fake, torch.ones_like(s_fake))
        else:
            # L_G = -E[D(G(z))]
            loss = -s_fake.mean()
        return {"loss": loss}


def tiny() -> GANConfig:
    return GANConfig(in_shape=(1, 8, 8), latent=8, hidden=[16, 32], width=4)


def example_batch(cfg: GANConfig, n: int = 16):
    return torch.rand(n, *cfg.in_shape), torch.randint(0, cfg.n_classes, (n,))
