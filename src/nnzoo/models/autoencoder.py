"""Fully connected autoencoder: x -> code -> x^, trained to reproduce its input.

One file for the lecture's MLP variants, since they differ only in the loss:
  undercomplete      code smaller than the input; nothing else stops it copying
  linear             no non-linearity and squared error: it learns the top-k principal subspace (= PCA)
  sparse             + beta * sum_j KL(rho || rho^_j) on the mean activation of each code unit
  contractive        + lambda * ||J_f(x)||_F^2, the encoder's Jacobian, so codes ignore small input changes
  denoising          reconstruct the clean x from a corrupted x~ (Gaussian, masking, salt-and-pepper)
  deep, pretrained   784-1000-500-250-30 with greedy layer-wise pretraining (pretrain_epochs > 0)

The loss is summed over pixels and averaged over the batch (so reconstruction reads per image, in the units
Hinton & Salakhutdinov and Ng's notes use), and every part is returned by name for the engine to log.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from ..errors import UserError
from ..nn.conv import ACTIVATIONS
from ..nn.conv import activation as make_activation
from .base import Model, Stage

NOISES = ("none", "gaussian", "mask", "salt-pepper")
RECON_LOSSES = ("bce", "mse")
OUTPUTS = ("sigmoid", "linear")


@dataclass
class AutoencoderConfig:
    in_shape: tuple = C.shape()
    """Input image shape (C, H, W); flattened to C*H*W features. Set from the data."""
    hidden: list = C.ints([256])
    """Widths of the encoder's hidden layers; the decoder mirrors them. [] joins input and code directly."""
    code: int = C.positive(32)
    """Width of the code (bottleneck) layer."""
    activation: str = C.choice("relu", (*ACTIVATIONS, "linear"))
    """Non-linearity of the hidden layers: sigmoid, tanh, relu, leaky-relu, gelu, or linear (none)."""
    code_activation: str = C.choice("linear", ("linear", "sigmoid"))
    """Non-linearity on the code: linear (none) or sigmoid (needed for the sparsity and closed-form
    contraction penalties, which read the code as firing rates in (0, 1))."""
    output: str = C.choice("sigmoid", OUTPUTS)
    """Output non-linearity: sigmoid (pixels in [0, 1]) or linear."""
    recon_loss: str = C.choice("bce", RECON_LOSSES)
    """Reconstruction loss per image: bce (binary cross-entropy, pixels as probabilities) or mse (squared
    error summed over pixels; the linear = PCA claim needs mse)."""
    sparsity: float = C.nonneg(0.0)
    """beta: weight of the sparsity penalty sum_j KL(rho || rho^_j) (0 turns it off)."""
    rho: float = C.between(0.05, 0.0, 1.0, lo_open=True, hi_open=True)
    """The target mean activation of each code unit for the sparsity penalty, in (0, 1)."""
    contraction: float = C.nonneg(0.0)
    """lambda: weight of the contractive penalty ||J_f(x)||_F^2 (0 turns it off)."""
    noise: str = C.choice("none", NOISES)
    """Corruption of training inputs for a denoising autoencoder: none, gaussian, mask or salt-pepper."""
    noise_level: float = C.fraction(0.3)
    """Gaussian: the noise's standard deviation; mask: the share of pixels set to 0; salt-pepper: the share
    of pixels set to 0 or 1 (half each). In [0, 1]: pixels lie in [0, 1]."""
    pretrain_epochs: int = C.nonneg(0)
    """Greedy layer-wise pretraining: epochs of training each encoder layer as a shallow autoencoder of the
    codes below it before the end-to-end run (0: none; train from random weights)."""


def layer_activation(name: str) -> nn.Module:
    return nn.Identity() if name == "linear" else make_activation(name)


# ------------------------------------------------------------------------------------ the loss terms
def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    """Per image, averaged over the batch: binary cross-entropy in nats (bce), or squared error (mse)."""
    if kind == "bce":
        # -sum_i [x_i log x^_i + (1 - x_i) log(1 - x^_i)]
        per_pixel = F.binary_cross_entropy(x_hat.float(), x.float(), reduction="none")
    else:
        # sum_i (x^_i - x_i)^2
        per_pixel = (x_hat.float() - x.float()) ** 2
    return per_pixel.flatten(1).sum(1).mean()


def corrupt(x: torch.Tensor, kind: str, level: float) -> torch.Tensor:
    """x~ ~ q(x~ | x): the denoising autoencoder's corruption of images in [0, 1]."""
    if kind == "none" or level <= 0:
        return x
    if kind == "gaussian":
        # x~ = clip(x + sigma * eps, 0, 1), eps ~ N(0, I)
        return (x + level * torch.randn_like(x)).clamp(0.0, 1.0)
    if kind == "mask":
        # x~_i = 0 with probability nu, else x_i
        return x * (torch.rand_like(x) >= level)
    if kind == "salt-pepper":
        # x~_i = 0 or 1 (a coin decides) with probability nu, else x_i
        hit = torch.rand_like(x) < level
        return torch.where(hit, (torch.rand_like(x) < 0.5).to(x.dtype), x)
    raise UserError(f"unknown noise {kind!r}; choose one of {', '.join(NOISES)}")


def kl_sparsity(code: torch.Tensor, rho: float) -> torch.Tensor:
    """sum_j KL(rho || rho^_j) over code units, rho^_j = the unit's mean activation over the batch. code: B, K."""
    rho_hat = code.mean(0).clamp(1e-6, 1 - 1e-6)  # K
    # KL(rho || rho^) = rho log(rho / rho^) + (1 - rho) log((1 - rho) / (1 - rho^))
    kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
    return kl.sum()


def contraction_sigmoid(h: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """||J_f(x)||_F^2 of one sigmoid layer h = sigma(W x + b), in closed form, per example.

    dh_j/dx_i = h_j (1 - h_j) W_ji, so ||J||_F^2 = sum_j (h_j (1 - h_j))^2 sum_i W_ji^2.  h: B, K; W: K, D -> B.
    """
    return (h * (1 - h)) ** 2 @ (weight ** 2).sum(1)


def contraction_autograd(encode, x: torch.Tensor) -> torch.Tensor:
    """||J_f(x)||_F^2 for any encoder f, by autograd, averaged over the batch. x: B, D.

    One backward pass per code unit k gives row k of every example's Jacobian at once (examples do not
    interact in an encoder without batch statistics); create_graph keeps it differentiable for training.
    """
    x = x.detach().requires_grad_(True)
    code = encode(x)  # B, K
    total = x.new_zeros(())
    for k in range(code.shape[1]):
        (row,) = torch.autograd.grad(code[:, k].sum(), x, create_graph=True)  # B, D: dh_k / dx
        total = total + (row ** 2).sum()
    return total / x.shape[0]


# ------------------------------------------------------------------------------------------- the model
class Autoencoder(Model):
    def __init__(self, cfg: AutoencoderConfig, overcomplete_ok: bool = False):
        """overcomplete_ok: build a plain autoencoder with code >= inputs anyway (the baseline the
        regularisers are measured against in experiment ae-regularisers); users are told to regularise."""
        super().__init__()
        self.cfg = cfg
        self.in_features = 1
        for d in cfg.in_shape:
            self.in_features *= int(d)
        if cfg.noise not in NOISES:
            raise UserError(f"unknown noise {cfg.noise!r}; choose one of {', '.join(NOISES)}")
        if cfg.recon_loss not in RECON_LOSSES:
            raise UserError(f"unknown recon_loss {cfg.recon_loss!r}; choose bce or mse")
        if cfg.output not in OUTPUTS:
            raise UserError(f"unknown output {cfg.output!r}; choose sigmoid or linear")
        if cfg.recon_loss == "bce" and cfg.output != "sigmoid":
            raise UserError("recon_loss=bce needs output=sigmoid (pixels as probabilities); or use recon_loss=mse")
        if cfg.sparsity > 0 and cfg.code_activation != "sigmoid":
            raise UserError("the sparsity penalty reads code units as firing rates in (0, 1): "
                            "set code_activation=sigmoid")
        if cfg.code >= self.in_features and not self.regularised and not overcomplete_ok:
            raise UserError(f"code={cfg.code} is not smaller than the {self.in_features} inputs: a plain "
                            "autoencoder would learn to copy its input; use a smaller code, or a regularised "
                            "variant (sparsity=3, contraction=0.1 or noise=gaussian; recipes mnist-sparse-ae, "
                            "mnist-contractive-ae, mnist-denoising-ae)")
        widths = [self.in_features, *cfg.hidden, cfg.code]
        enc: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            last = i == len(widths) - 2
            enc += [nn.Linear(a, b), layer_activation(cfg.code_activation if last else cfg.activation)]
        dec: list[nn.Module] = []
        back = widths[::-1]
        for i, (a, b) in enumerate(zip(back[:-1], back[1:])):
            last = i == len(back) - 2
            dec += [nn.Linear(a, b), layer_activation(cfg.output if last else cfg.activation)]
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    @property
    def regularised(self) -> bool:
        c = self.cfg
        return c.sparsity > 0 or c.contraction > 0 or (c.noise != "none" and c.noise_level > 0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))  # B, code

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.decoder(code).view(-1, *self.cfg.in_shape)  # B, C, H, W

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def reconstruction_loss(self, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return reconstruction_loss(x_hat, x, self.cfg.recon_loss)

    def contraction(self, x_flat: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """||J_f(x)||_F^2: closed form for a single sigmoid layer, autograd for any other encoder."""
        if len(self.encoder) == 2 and self.cfg.code_activation == "sigmoid":
            return contraction_sigmoid(code, self.encoder[0].weight).mean()
        return contraction_autograd(self.encoder, x_flat)

    def loss(self, batch) -> dict:
        x = batch[0]  # B, C, H, W in [0, 1]; labels unused
        x_in = corrupt(x, self.cfg.noise, self.cfg.noise_level) if self.training else x
        x_flat = x_in.flatten(1)
        code = self.encoder(x_flat)
        x_hat = self.decode(code)
        out = {"reconstruction": self.reconstruction_loss(x_hat, x)}  # against the CLEAN input
        loss = out["reconstruction"]
        if self.cfg.sparsity > 0:
            out["sparsity"] = kl_sparsity(code.float(), self.cfg.rho)
            loss = loss + self.cfg.sparsity * out["sparsity"]
        if self.cfg.contraction > 0:
            out["contraction"] = self.contraction(x_flat, code)
            loss = loss + self.cfg.contraction * out["contraction"]
        out["loss"] = loss
        return out

    # ------------------------------------------------------------------- greedy layer-wise pretraining
    def layer_pairs(self) -> list[tuple[nn.Linear, nn.Module, nn.Linear, nn.Module]]:
        """(encoder layer l, its activation, the decoder layer that inverts it, that one's activation) per l."""
        enc = [m for m in self.encoder if isinstance(m, nn.Linear)]
        dec = [m for m in self.decoder if isinstance(m, nn.Linear)][::-1]  # dec[l] inverts enc[l]
        enc_act = [m for m in self.encoder if not isinstance(m, nn.Linear)]
        dec_act = [m for m in self.decoder if not isinstance(m, nn.Linear)][::-1]
        return list(zip(enc, enc_act, dec, dec_act))

    def layer_loss(self, layer: int, batch, phase=None) -> dict:
        """Pretraining of layer l as a shallow autoencoder of the activations below it (x itself for l = 0),
        which are fixed while it trains. The bottom layer reconstructs pixels with the output's loss; upper
        layers reconstruct the (0, 1) or real-valued activations below them with squared error."""
        pairs = self.layer_pairs()
        with torch.no_grad():
            h = batch[0].flatten(1)  # B, D; labels unused
            for e, act, _, _ in pairs[:layer]:
                h = act(e(h))
        e, act, d, d_act = pairs[layer]
        rec = d_act(d(act(e(h))))
        pixel = layer == 0 and self.cfg.recon_loss == "bce"
        # L = 1/B sum_b BCE(h^_b, h_b) (pixels) or ||h^_b - h_b||^2 (activations)
        loss = (F.binary_cross_entropy(rec.float(), h.float(), reduction="sum") if pixel
                else F.mse_loss(rec.float(), h.float(), reduction="sum")) / len(h)
        return {"loss": loss}

    def stages(self) -> list[Stage]:
        """Stacked autoencoders (Bengio et al. 2007): encoder layer l and its mirror in the decoder are trained
        as a shallow autoencoder of the activations of layers < l, for pretrain_epochs, then the next pair on
        top; both keep what they learnt, so end-to-end fine-tuning (the main stage) starts from a network whose
        every layer already reconstructs its input. Each stage is Adam at the run's lr, constant, unclipped.

        Hinton & Salakhutdinov (2006) pretrained with RBMs; autoencoder stacking is the variant the lecture
        draws and reaches the same end (see BENCHMARKS.md for the with / without comparison).
        """
        if not self.cfg.pretrain_epochs:
            return []
        own = {"optimizer": "adam", "betas": [0.9, 0.999], "weight_decay": 0.0, "schedule": "constant",
               "warmup": 0.0, "grad_clip": 0.0, "time_limit": 0.0}
        return [Stage(f"pretrain-layer{l + 1}", self.cfg.pretrain_epochs,
                      {f"layer{l + 1}": [*e.parameters(), *d.parameters()]}, partial(self.layer_loss, l), own,
                      salt=l + 1)
                for l, (e, _, d, _) in enumerate(self.layer_pairs())]


def tiny() -> AutoencoderConfig:
    return AutoencoderConfig(in_shape=(1, 8, 8), hidden=[16], code=4)


def prototype_images(shape, n: int, k: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """n binary images, each one of k fixed random patterns, and which: data an autoencoder can learn in a
    few steps (random noise images cannot be compressed, so a falling loss would prove nothing)."""
    protos = (torch.rand(k, *shape, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    y = torch.arange(n) % k
    return protos[y], y


def example_batch(cfg: AutoencoderConfig, n: int = 16):
    """Images made of 4 binary patterns (and their index as a label) for tests."""
    return prototype_images(cfg.in_shape, n)
