"""The test report of a trained model, written into its run folder: eval.json (figures) and artifacts.npz
(the arrays its pictures are drawn from). eval.json is written last: its presence marks a finished run."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from . import checkpoint


def evaluate(run_dir: Path, recipe_name: str, mcfg, tcfg, task, model, write: bool = True) -> dict:
    """Figures of the run's latest checkpoint (already loaded into `model`) on its task's test split."""
    run_dir = Path(run_dir)
    data = task.load(tcfg)
    shape = getattr(mcfg, "in_shape", None)
    if shape is not None and tuple(data.shape) != tuple(shape):
        raise UserError(f"the run was trained on {tuple(shape)} inputs but data {tcfg.data!r} has {data.shape}")
    figures, art = task.test_report(model, data, torch.device("cpu"))
    state = checkpoint.load_state(checkpoint.latest(run_dir))
    out = {"recipe": recipe_name, "data": tcfg.data, "step": int(state["step"]),
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
