"""Atomic checkpoints: weights as safetensors, the rest of the state with torch.save.

Layout: RUN/checkpoints/step-00001234/{model.safetensors, state.pt} and RUN/checkpoints/latest (the name of
the newest complete one). A checkpoint folder is written under a temporary name and renamed when complete,
and `latest` is replaced atomically, so a crash at any moment leaves the previous checkpoint readable.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import UserError

KEEP = 2


WRAPPERS = (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module under DDP / DataParallel wrappers, so saved keys carry no `module.` prefix."""
    while isinstance(model, WRAPPERS):
        model = model.module
    return model


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save(run_dir: Path, model: torch.nn.Module, state: dict, step: int) -> Path:
    ckdir = Path(run_dir) / "checkpoints"
    ckdir.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:08d}"
    tmp = Path(tempfile.mkdtemp(dir=ckdir, prefix=f".{name}."))
    weights = {k: v.detach().contiguous().cpu() for k, v in unwrap(model).state_dict().items()}
    save_file(weights, str(tmp / "model.safetensors"))
    torch.save(state, tmp / "state.pt")
    final = ckdir / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    atomic_write_text(ckdir / "latest", name + "\n")
    for old in sorted(p for p in ckdir.glob("step-*") if p.is_dir())[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest(run_dir: Path) -> Path:
    ckdir = Path(run_dir) / "checkpoints"
    pointer = ckdir / "latest"
    if not pointer.exists():
        raise UserError(f"no checkpoint in {run_dir}; train it first: nnzoo train RECIPE --out {run_dir}")
    path = ckdir / pointer.read_text().strip()
    if not path.is_dir():
        raise UserError(f"checkpoint {path} named by {pointer} is missing; delete {pointer} to fall back")
    return path


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    f = Path(path) / "model.safetensors"
    try:
        return load_file(str(f), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise UserError(f"checkpoint {f} is corrupt or truncated ({str(e).splitlines()[0]}); retrain or "
                        "restore it from a backup") from None


def load_state(path: Path) -> dict:
    f = Path(path) / "state.pt"
    try:
        # weights_only: the state holds tensors, numbers and dicts only; no pickled code is ever run
        return torch.load(f, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises RuntimeError, EOFError, UnpicklingError, zipfile errors ...
        raise UserError(f"checkpoint state {f} is corrupt or truncated ({type(e).__name__}); retrain or "
                        "restore it from a backup") from None


def load_into(model: torch.nn.Module, path: Path) -> None:
    """Load weights, explaining a checkpoint from another model in one line."""
    weights = load_weights(path)
    target = unwrap(model)
    own = target.state_dict()
    missing = [k for k in own if k not in weights]
    extra = [k for k in weights if k not in own]
    shape = [k for k in own if k in weights and own[k].shape != weights[k].shape]
    if missing or extra or shape:
        what = (f"missing {missing[:3]}" if missing else f"unexpected {extra[:3]}" if extra
                else f"shape of {shape[0]} is {tuple(weights[shape[0]].shape)}, model wants {tuple(own[shape[0]].shape)}")
        raise UserError(f"checkpoint {path} does not fit this model ({what}); it comes from another model or "
                        "config")
    target.load_state_dict(weights)
