"""Lecture figure: MNIST test digits placed by their 2-D codes, coloured by class, four ways side by side.

  PCA          the top two principal components (linear; the classes overlap heavily)
  autoencoder  a deep ReLU autoencoder 784-512-256-2 (non-linear: separates more of them)
  VAE          the mean of q(z|x) of a VAE with a 2-D latent (the prior keeps the cloud round and filled)
  t-SNE        t-SNE of the 30-D code of a 784-512-256-30 autoencoder (a 2-D picture of a richer code)

None of the four sees a label. How well the classes separate is measured by the 5-nearest-neighbour
accuracy of each 2-D embedding (half the test digits classify the other half), printed beside each panel.
"""
from __future__ import annotations

import pathlib

import numpy as np
import torch
from tqdm.auto import tqdm

from ..models.autoencoder import Autoencoder, AutoencoderConfig
from ..models.vae import VAE, VAEConfig
from .ae_regularisers import mnist_subsets, train

FULL = dict(train=55000, epochs=8, test=5000)
QUICK = dict(train=5000, epochs=3, test=1000)
HIDDEN = [512, 256]
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf"]


def knn_accuracy(z: np.ndarray, y: np.ndarray, k: int = 5) -> float:
    """Accuracy of a k-NN classifier fitted on the first half of the points and scored on the second."""
    from sklearn.neighbors import KNeighborsClassifier
    half = len(z) // 2
    return float(KNeighborsClassifier(k).fit(z[:half], y[:half]).score(z[half:], y[half:]))


def run(out: pathlib.Path, quick: bool = False, seed: int = 0, progress: bool = True) -> dict:
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    size = QUICK if quick else FULL
    data, x_train, x_test = mnist_subsets(size)
    y = data.test_y[:size["test"]].numpy()
    steps = size["epochs"] * (len(x_train) // 128)
    codes = {}
    codes["PCA"] = PCA(2, random_state=seed).fit(x_train.flatten(1).numpy()).transform(x_test.flatten(1).numpy())
    with tqdm(total=3 * steps, desc="2-D codes", unit="step", disable=not progress) as bar:
        torch.manual_seed(seed)
        ae2 = Autoencoder(AutoencoderConfig(hidden=HIDDEN, code=2))
        train(ae2, x_train, size["epochs"], seed, bar)
        torch.manual_seed(seed)
        vae = VAE(VAEConfig(hidden=HIDDEN, latent=2))
        train(vae, x_train, size["epochs"], seed, bar)
        torch.manual_seed(seed)
        ae30 = Autoencoder(AutoencoderConfig(hidden=HIDDEN, code=30))
        train(ae30, x_train, size["epochs"], seed, bar)
    with torch.no_grad():
        ae2.eval(), vae.eval(), ae30.eval()
        codes["autoencoder"] = ae2.encode(x_test).numpy()
        codes["VAE"] = vae.encode(x_test)[0].numpy()
        code30 = ae30.encode(x_test).numpy()
    codes["t-SNE of a 30-D code"] = TSNE(2, init="pca", random_state=seed, perplexity=30).fit_transform(code30)
    figures = {f"knn5_accuracy_{_key(name)}": round(knn_accuracy(z, y), 4) for name, z in codes.items()}
    figures["knn5_accuracy_30d_code"] = round(knn_accuracy(code30, y), 4)
    figures.update({"train_digits": len(x_train), "epochs": size["epochs"], "test_digits": len(x_test)})
    image = _plot(out / "ae_codes.png", codes, y, figures)
    f = figures
    summary = (f"{len(x_test):,} MNIST test digits placed by 2-D codes learnt without labels. 5-NN accuracy "
               f"in each picture: PCA {f['knn5_accuracy_pca']:.1%}, autoencoder {f['knn5_accuracy_autoencoder']:.1%}, "
               f"VAE {f['knn5_accuracy_vae']:.1%}, t-SNE of a 30-D code {f['knn5_accuracy_t_sne_of_a_30_d_code']:.1%} "
               f"(the 30-D code itself: {f['knn5_accuracy_30d_code']:.1%}).")
    return {"figures": figures, "images": [image], "summary": summary}


def _key(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower())


def _plot(path: pathlib.Path, codes: dict, y: np.ndarray, f: dict) -> str:
    from matplotlib.figure import Figure
    fig = Figure(figsize=(13, 3.9))
    axes = fig.subplots(1, len(codes))
    for ax, (name, z) in zip(axes, codes.items()):
        for c in range(10):
            pts = z[y == c]
            ax.scatter(pts[:, 0], pts[:, 1], s=2, color=COLORS[c], label=str(c), rasterized=True)
        ax.set_title(f"{name}\n5-NN accuracy {f['knn5_accuracy_' + _key(name)]:.1%}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[-1].legend(markerscale=5, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), title="digit")
    fig.suptitle("MNIST test digits by their 2-D codes (no labels used in training)", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path.name
