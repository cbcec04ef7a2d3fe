"""nnzoo's own MNIST classifier, used as a judge of generated or translated digits.

Autoencoder swaps and GAN samples are scored by what a good MNIST classifier reads in them. We cannot
download a pretrained network, so the judge is trained here, once, by nnzoo's own `mnist-cnn` recipe for 2
epochs (about 99.2 % test accuracy, a minute or two on 2 CPU cores), and kept as a run folder under the data
folder: `<data>/judges/mnist-cnn`. Delete that folder to retrain it. Building it is atomic and safe from any
context (train/cache.py); the tasks that read it build it in `Task.prepare`, before training starts, so a
machine without MNIST hears so before the first step, not after the last. It is built from the recipe module
and the classify task directly, not through the registry, so the tasks that read it stay below the registry.
"""
from __future__ import annotations

from pathlib import Path

import torch

JUDGE_RECIPE = "mnist-cnn"
JUDGE_EPOCHS = 2
JUDGE_OVERRIDES = [f"epochs={JUDGE_EPOCHS}", "tensorboard=false"]
JUDGE_SHAPE = (1, 28, 28)  # the images it reads: MNIST's


def judge_dir() -> Path:
    from ..data import data_root
    return data_root() / "judges" / JUDGE_RECIPE


def _recipe():
    from ..recipes.classify import RECIPES
    return next(r for r in RECIPES if r.name == JUDGE_RECIPE)


def _build(run_dir: Path, verbose: bool) -> None:
    """Train the judge into run_dir and write its test report: the recipe mnist-cnn, JUDGE_EPOCHS epochs."""
    from ..config import parse_overrides
    from ..models.cnn import CNN, CNNConfig
    from ..train.config import resolve
    from ..train.evaluate import evaluate
    from ..train.loop import fit
    from .classify import Task
    recipe = _recipe()
    mcfg, tcfg = resolve(recipe, CNNConfig, parse_overrides(JUDGE_OVERRIDES))
    task = Task()
    fit(run_dir, recipe, mcfg, tcfg, task=task, build=CNN, verbose=verbose, distributed=False,
        announce=f"nnzoo: training the MNIST judge once ({JUDGE_EPOCHS} epochs of {JUDGE_RECIPE}) into {judge_dir()}")
    evaluate(run_dir, recipe.name, mcfg, tcfg, task, load_judge(run_dir))


def ensure_judge(verbose: bool = True) -> Path:
    """The judge's run folder, trained first if this data folder has none yet."""
    from ..data import DataError
    from ..train.cache import cached_run
    try:
        return cached_run(judge_dir(), lambda run_dir: _build(run_dir, verbose))
    except DataError as e:
        # the same kind (missing or corrupt), so the tour and the CLI treat it as they would MNIST's own
        raise type(e)(f"nnzoo's MNIST judge, which scores these images, is trained on MNIST: {e}") from None


def prepare_judge(shape, verbose: bool = True) -> None:
    """Called by a task's prepare(): build the judge now if images of this shape will be judged."""
    if tuple(shape) == JUDGE_SHAPE:
        ensure_judge(verbose)


def load_judge(run_dir: Path) -> torch.nn.Module:
    """The classifier of a judge's run folder, on CPU, in eval mode."""
    import json

    from .. import config as C
    from ..models.cnn import CNN, CNNConfig
    from ..train import checkpoint
    source = Path(run_dir) / "config.json"
    model = CNN(C.from_dict(CNNConfig, json.loads(source.read_text())["model_config"], str(source)))
    checkpoint.load_into(model, checkpoint.latest(run_dir))
    return model.eval()


def mnist_judge(verbose: bool = True) -> torch.nn.Module:
    """The cached judge (in eval mode, on CPU), training it first if it is not there yet."""
    return load_judge(ensure_judge(verbose))


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
