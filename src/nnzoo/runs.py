"""Run folders: naming them, reading them back, and evaluating a trained run on its test split."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from . import config as C
from . import registry
from .errors import UserError
from .train import checkpoint
from .train.config import TrainConfig


def new_run_dir(name: str, root: Path = Path("runs")) -> Path:
    base = root / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, i = base, 1
    while path.exists():
        path, i = Path(f"{base}-{i}"), i + 1
    return path


def read_config(run_dir: Path) -> dict:
    run_dir = Path(run_dir)
    f = run_dir / "config.json"
    if not run_dir.is_dir():
        raise UserError(f"run folder {run_dir} does not exist; train one with: nnzoo train RECIPE --out {run_dir}")
    if not f.exists():
        raise UserError(f"{run_dir} is not a run folder (no config.json); give the folder `nnzoo train` wrote")
    try:
        return json.loads(f.read_text())
    except json.JSONDecodeError as e:
        raise UserError(f"{f} is corrupt ({e.msg} at line {e.lineno}); retrain the run") from None


def load_run(run_dir: Path):
    """(recipe, model config, train config, model with the latest weights on CPU) from files alone."""
    doc = read_config(run_dir)
    recipe = registry.get_recipe(doc.get("recipe", "?"))
    mcfg = registry.model_config(doc["model"], doc["model_config"])
    tcfg = C.from_dict(TrainConfig, doc["train"])
    model = registry.create_model(doc["model"], mcfg)
    checkpoint.load_into(model, checkpoint.latest(run_dir))
    model.eval()
    return recipe, mcfg, tcfg, model


def evaluate_run(run_dir: Path, write: bool = True) -> dict:
    """Test metrics of a run's latest checkpoint; also writes eval.json and artifacts.npz for the pictures."""
    run_dir = Path(run_dir)
    recipe, mcfg, tcfg, model = load_run(run_dir)
    task = registry.get_task(recipe.task)
    data = task.load(tcfg)
    shape = getattr(mcfg, "in_shape", None)
    if shape is not None and tuple(data.shape) != tuple(shape):
        raise UserError(f"the run was trained on {tuple(shape)} inputs but data {tcfg.data!r} has {data.shape}")
    figures, art = task.test_report(model, data, torch.device("cpu"))
    state = checkpoint.load_state(checkpoint.latest(run_dir))
    out = {"recipe": recipe.name, "data": tcfg.data, "step": int(state["step"]),
           "train_wall_seconds": round(float(state["elapsed"]), 1),
           # the autocast precision and device training ran with (runs from before nnzoo recorded it: absent)
           **{f"train_{k}": state[k] for k in ("device", "precision") if k in state}, **figures}
    out.update({f"val_{k}": v for k, v in state.get("val", {}).items()})
    if write:
        checkpoint.atomic_write_text(run_dir / "eval.json", json.dumps(out, indent=2) + "\n")
        with open(run_dir / ".artifacts.npz.tmp", "wb") as f:
            np.savez_compressed(f, **art)
        (run_dir / ".artifacts.npz.tmp").replace(run_dir / "artifacts.npz")
    return out
