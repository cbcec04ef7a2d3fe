"""Run folders: naming them, reading them back, and evaluating a trained run on its test split."""
from __future__ import annotations

import json
import time
from pathlib import Path

from . import config as C
from . import registry
from .errors import UserError
from .train import checkpoint
from .train.config import TrainConfig
from .train.evaluate import evaluate


def new_run_dir(name: str, root: Path = Path("runs")) -> Path:
    base = root / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, i = base, 1
    while path.exists():
        path, i = Path(f"{base}-{i}"), i + 1
    return path


# the keys every config.json nnzoo writes holds, with their JSON types: the rest of nnzoo reads them unchecked
REQUIRED = {"recipe": str, "model": str, "model_config": dict, "train": dict}
NOT_OURS = "it is not a run folder written by nnzoo; give the folder `nnzoo train` wrote, or retrain the run"


def _json_kind(v) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number",
            type(None): "null"}.get(type(v), type(v).__name__)


def read_config(run_dir: Path) -> dict:
    """config.json of a run folder, checked: the file is untrusted (edited, copied, from elsewhere)."""
    run_dir = Path(run_dir)
    f = run_dir / "config.json"
    if not run_dir.is_dir():
        if run_dir.exists():
            raise UserError(f"{run_dir} is a file, not a run folder; give the folder `nnzoo train` wrote")
        raise UserError(f"run folder {run_dir} does not exist; train one with: nnzoo train RECIPE --out {run_dir}")
    if not f.exists():
        raise UserError(f"{run_dir} is not a run folder (no config.json); give the folder `nnzoo train` wrote")
    try:
        doc = json.loads(f.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise UserError(f"{f} is not UTF-8 text (byte {e.start}); {NOT_OURS}") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{f} is corrupt ({e.msg} at line {e.lineno}); retrain the run") from None
    except (OSError, RecursionError) as e:
        raise UserError(f"cannot read {f} ({type(e).__name__}); {NOT_OURS}") from None
    if not isinstance(doc, dict):
        raise UserError(f"{f} holds a JSON {_json_kind(doc)}, not an object; {NOT_OURS}")
    for key, kind in REQUIRED.items():
        if key not in doc:
            raise UserError(f"{f} has no {key!r} key; {NOT_OURS}")
        if not isinstance(doc[key], kind):
            raise UserError(f"{f}: {key!r} is a JSON {_json_kind(doc[key])}, not "
                            f"{'a string' if kind is str else 'an object'}; {NOT_OURS}")
    for key, table in (("recipe", registry.RECIPES), ("model", registry.MODELS)):
        if doc[key] not in table:
            raise UserError(f"{f}: {key} {doc[key]!r} is not one nnzoo knows; {NOT_OURS}")
    # every value too, so each command that reads a run refuses a corrupt one the same way, before any
    # check of its own
    registry.model_config(doc["model"], doc["model_config"], str(f))
    C.from_dict(TrainConfig, doc["train"], str(f))
    return doc


def load_run(run_dir: Path):
    """(recipe, model config, train config, model with the latest weights on CPU) from files alone."""
    doc = read_config(run_dir)
    source = str(Path(run_dir) / "config.json")
    recipe = registry.get_recipe(doc["recipe"])
    mcfg = registry.model_config(doc["model"], doc["model_config"], source)
    tcfg = C.from_dict(TrainConfig, doc["train"], source)
    model = registry.create_model(doc["model"], mcfg)
    checkpoint.load_into(model, checkpoint.latest(run_dir))
    model.eval()
    return recipe, mcfg, tcfg, model


def train(run_dir: Path, recipe, mcfg, tcfg: TrainConfig, **options):
    """Train a recipe into run_dir: `train.loop.fit` with the recipe's task and model found by their names."""
    from .train.loop import fit
    return fit(run_dir, recipe, mcfg, tcfg, task=registry.get_task(recipe.task),
               build=lambda cfg: registry.create_model(recipe.model, cfg), **options)


def evaluate_run(run_dir: Path, write: bool = True) -> dict:
    """Test metrics of a run's latest checkpoint; also writes eval.json and artifacts.npz for the pictures."""
    recipe, mcfg, tcfg, model = load_run(run_dir)
    return evaluate(Path(run_dir), recipe.name, mcfg, tcfg, registry.get_task(recipe.task), model, write)
