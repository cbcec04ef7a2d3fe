"""Lecture claim: an overcomplete autoencoder (more code units than inputs) can learn the identity and so
learns nothing useful, unless something stops it. Three things that do, each measured against the same
network without them:

  sparse       beta * sum_j KL(rho || rho^_j): most units stay near zero on any one input
  contractive  lambda * ||J_f(x)||_F^2: the code barely moves when the input is nudged
  denoising    reconstruct x from a corrupted x~: reconstructions of noisy digits come out clean

All four are 784-1000-784 with a sigmoid code and output, binary cross-entropy, trained by Adam for the same
number of steps on the same MNIST digits; everything is measured on the same test digits. The penalties'
weights are the recipes' (mnist-sparse-ae, mnist-contractive-ae, mnist-denoising-ae).
"""
from __future__ import annotations

import pathlib

import numpy as np
import torch
from tqdm.auto import tqdm

from ..models.autoencoder import Autoencoder, AutoencoderConfig, contraction_sigmoid, corrupt
from ..tasks.reconstruct import psnr_db

CODE = 1000
VARIANTS = {
    "plain": dict(),
    "sparse": dict(sparsity=3.0, rho=0.05),
    "contractive": dict(contraction=0.1),
    "denoising": dict(noise="gaussian", noise_level=0.3),
}
FULL = dict(train=55000, epochs=5, test=2000)
QUICK = dict(train=10000, epochs=3, test=500)
NUDGE = 0.05
"""Standard deviation of the small Gaussian nudge for the code-shift measurement."""
NOISE = 0.3
"""Standard deviation of the Gaussian noise on the test digits for the denoising measurement."""


def build(name: str) -> Autoencoder:
    cfg = AutoencoderConfig(in_shape=(1, 28, 28), hidden=[], code=CODE, code_activation="sigmoid",
                            **VARIANTS[name])
    return Autoencoder(cfg, overcomplete_ok=True)


def train(model, x: torch.Tensor, epochs: int, seed: int, bar=None) -> None:
    """Adam 1e-3, batch 128, `epochs` seeded shuffles of x; any model with loss((x, y)) (ae-codes uses it too)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x) - 127, 128):
            loss = model.loss((x[order[i:i + 128]], None))["loss"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if bar is not None:
                bar.update(1)


@torch.no_grad()
def measure(model: Autoencoder, x: torch.Tensor, seed: int) -> tuple[dict, torch.Tensor]:
    model.eval()
    xf = x.flatten(1)
    h = model.encoder(xf)  # N, K
    jac = contraction_sigmoid(h, model.encoder[0].weight).sqrt()  # ||J_f(x)||_F per digit
    g = torch.Generator().manual_seed(seed)
    eps = NUDGE * torch.randn(xf.shape, generator=g)
    shift = (model.encoder(xf + eps) - h).norm(dim=1) / eps.norm(dim=1)
    torch.manual_seed(seed)
    noisy = corrupt(x, "gaussian", NOISE)
    denoised = model(noisy)
    figures = {"jacobian_frobenius": float(jac.mean()), "code_shift_per_input_shift": float(shift.mean()),
               "psnr_clean_db": float(psnr_db(model(x), x).mean()),
               "psnr_from_noisy_db": float(psnr_db(denoised, x).mean()),
               "mean_activation": float(h.mean()), "share_of_activations_below_0.1": float((h < 0.1).float().mean())}
    return figures, denoised


def mnist_subsets(size: dict):
    """MNIST and the first size["train"] training / size["test"] test digits (the split is already seeded)."""
    from ..data import load_images
    data = load_images("mnist", seed=0)
    return data, data.train_x[:size["train"]], data.test_x[:size["test"]]


def run(out: pathlib.Path, quick: bool = False, seed: int = 0, progress: bool = True) -> dict:
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    size = QUICK if quick else FULL
    _, x_train, x_test = mnist_subsets(size)
    figures, rows = {}, {}
    steps = size["epochs"] * (len(x_train) // 128)
    torch.manual_seed(seed)
    noisy = corrupt(x_test, "gaussian", NOISE)
    with tqdm(total=steps * len(VARIANTS), desc="regularised autoencoders", unit="step", disable=not progress) as bar:
        for name in VARIANTS:
            bar.set_postfix_str(name)
            torch.manual_seed(seed)
            model = build(name)
            train(model, x_train, size["epochs"], seed, bar)
            m, denoised = measure(model, x_test, seed)
            figures.update({f"{name}_{k}": round(v, 4) for k, v in m.items()})
            rows[name] = denoised[:12]
    figures.update({"noise_std_on_test_digits": NOISE, "input_nudge_std": NUDGE,
                    "noisy_input_psnr_db": round(float(psnr_db(noisy, x_test).mean()), 4),
                    "train_digits": len(x_train), "epochs": size["epochs"], "test_digits": len(x_test)})
    images = [_plot_bars(out / "ae_regularisers.png", figures), _plot_denoising(out / "ae_denoising.png",
                                                                               x_test[:12], noisy[:12], rows)]
    f = figures
    summary = (f"Four 784-{CODE}-784 sigmoid autoencoders, {size['epochs']} epochs on {len(x_train):,} MNIST digits. "
               f"Jacobian norm ||J_f||_F: plain {f['plain_jacobian_frobenius']:.2f}, contractive "
               f"{f['contractive_jacobian_frobenius']:.2f}; code shift per unit input shift: plain "
               f"{f['plain_code_shift_per_input_shift']:.3f}, contractive {f['contractive_code_shift_per_input_shift']:.3f}. "
               f"PSNR from digits with Gaussian noise (sigma {NOISE}; the noisy input itself "
               f"{f['noisy_input_psnr_db']:.1f} dB): plain {f['plain_psnr_from_noisy_db']:.1f} dB, denoising "
               f"{f['denoising_psnr_from_noisy_db']:.1f} dB. Mean code activation: plain {f['plain_mean_activation']:.3f}, "
               f"sparse {f['sparse_mean_activation']:.3f} (target 0.05).")
    return {"figures": figures, "images": images, "summary": summary}


def _plot_bars(path: pathlib.Path, f: dict) -> str:
    from matplotlib.figure import Figure
    metrics = [("jacobian_frobenius", "Jacobian norm ||J_f(x)||_F\n(lower: contracts)"),
               ("code_shift_per_input_shift", "code shift / input shift\n(nudge sigma 0.05)"),
               ("psnr_from_noisy_db", f"PSNR from noisy digits, dB\n(sigma {NOISE}; higher: denoises)"),
               ("mean_activation", "mean code activation\n(sparse target 0.05)")]
    fig = Figure(figsize=(11, 3.4))
    axes = fig.subplots(1, len(metrics))
    colors = ["#7f7f7f", "#1f77b4", "#d62728", "#2ca02c"]
    for ax, (key, title) in zip(axes, metrics):
        vals = [f[f"{v}_{key}"] for v in VARIANTS]
        ax.bar(list(VARIANTS), vals, color=colors)
        for i, v in enumerate(vals):
            ax.text(i, v, f"{v:.3g}", ha="center", va="bottom", fontsize=8)
        if key == "psnr_from_noisy_db":
            ax.axhline(f["noisy_input_psnr_db"], color="k", ls=":", lw=1)
            ax.text(3.4, f["noisy_input_psnr_db"], "noisy input", ha="right", va="bottom", fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelsize=8, rotation=30)
    fig.suptitle("Overcomplete autoencoders (1000 code units for 784 pixels), each measured against the plain one",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path.name


def _plot_denoising(path: pathlib.Path, clean, noisy, rows: dict) -> str:
    from matplotlib.figure import Figure
    grid = [("clean", clean), (f"noisy, sigma {NOISE}", noisy)] + [(k, v) for k, v in rows.items()]
    fig = Figure(figsize=(9, 0.8 * len(grid) + 0.5))
    axes = fig.subplots(len(grid), 12)
    for r, (name, imgs) in enumerate(grid):
        for c in range(12):
            ax = axes[r, c]
            ax.imshow(np.clip(imgs[c, 0].numpy(), 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle("Noisy test digits reconstructed by each autoencoder", fontsize=11)
    fig.subplots_adjust(left=0.16, right=0.99, top=0.92, bottom=0.01, wspace=0.05, hspace=0.05)
    fig.savefig(path, dpi=100)
    return path.name
