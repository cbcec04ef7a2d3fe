"""nnzoo's own MNIST classifier, used as a judge of generated or translated digits.

Autoencoder swaps and GAN samples are scored by what a good MNIST classifier reads in them. We cannot
download a pretrained network, so the judge is trained here, once, by nnzoo's own `mnist-cnn` recipe for 2
epochs (about 99.2 % test accuracy, a minute or two on 2 CPU cores), and kept as a run folder under the data
folder: `<data>/judges/mnist-cnn`. Delete that folder to retrain it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import torch

JUDGE_EPOCHS = 2
JUDGE_OVERRIDES = [f"epochs={JUDGE_EPOCHS}", "tensorboard=false"]


def judge_dir() -> Path:
    from ..data import data_root
    return data_root() / "judges" / "mnist-cnn"


def mnist_judge(verbose: bool = True) -> torch.nn.Module:
    """The cached judge (in eval mode, on CPU), training it first if it is not there yet."""
    from .. import registry, runs
    from ..config import parse_overrides
    from ..train import checkpoint
    folder = judge_dir()
    done = folder / "eval.json"
    if not done.exists():
        recipe = registry.get_recipe("mnist-cnn")
        mcfg, tcfg = registry.resolve(recipe, parse_overrides(JUDGE_OVERRIDES))
        tmp = folder.with_name(folder.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        from ..train.loop import fit
        if verbose:
            print(f"nnzoo: training the MNIST judge once ({JUDGE_EPOCHS} epochs of mnist-cnn) into {folder}")
        fit(tmp, recipe, mcfg, tcfg, verbose=verbose)
        runs.evaluate_run(tmp)
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)  # complete or absent: a crash leaves only the .tmp folder, retrained next time
    _, _, _, model = runs.load_run(folder)
    checkpoint.unwrap(model).eval()
    return model


@torch.no_grad()
def judge_labels(model: torch.nn.Module, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """The judge's predicted class of each image (N, 1, 28, 28) in [0, 1]."""
    return torch.cat([model(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)]) if len(x) else \
        torch.zeros(0, dtype=torch.long)


@torch.no_grad()
def judge_features(model: torch.nn.Module, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """The judge's last hidden layer (N, 128) for images (N, 1, 28, 28): the features classifier-FID compares."""
    def feats(xb):
        return model.head[:-1](model.features(xb))  # every head layer but the class scores
    return torch.cat([feats(x[i:i + batch]) for i in range(0, len(x), batch)])


@torch.no_grad()
def judge_probs(model: torch.nn.Module, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """The judge's class probabilities (N, 10)."""
    return torch.cat([model(x[i:i + batch]).softmax(1) for i in range(0, len(x), batch)])
