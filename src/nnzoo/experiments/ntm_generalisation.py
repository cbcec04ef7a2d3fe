"""Lecture claim: a Neural Turing Machine trained to copy sequences of at most 20 vectors has learned the
algorithm (write each vector to the next slot, then read the slots back in order), so it copies sequences of
40, 80 and 120 vectors it has never seen; an LSTM with as many weights, trained on the same sequences as long,
has only learned lengths up to 20 (Graves, Wayne & Danihelka 2014, figures 4 and 5).

Both are nnzoo's recipes, `ntm-copy` (128 memory slots, enough for 120 vectors) and `lstm-copy`, trained on
the same stream of copy sequences of lengths 1-20 and tested on the same fixed sequences of each length
(tasks/algorithmic.py). The pictures show one test sequence of 40 and one of 120 vectors: the target, both
outputs, and where the NTM's heads wrote and read.
"""
from __future__ import annotations

import pathlib
import shutil

import torch

from . import torch_threads

RECIPES = {"ntm": "ntm-copy", "lstm": "lstm-copy"}
"""figure-key name -> recipe."""
LENGTHS = (20, 40, 80, 120)
"""The copy task's test lengths (tasks/algorithmic.py: Copy.tests)."""
SHOWN = (40, 120)
"""Lengths of the sequences pictured."""
QUICK = ["epochs=2", "epoch_sequences=480"]
"""The tour's version: 960 sequences each, far too few to learn the copy: it shows the figures' shape only."""


def run(out: pathlib.Path, quick: bool = False, seed: int = 0, progress: bool = True) -> dict:
    # one thread: a step is one sequence step of a batch of 16, too small to split (see experiments/__init__.py)
    with torch_threads(1):
        return _run(pathlib.Path(out), quick, seed, progress)


def train(name: str, run_dir: pathlib.Path, quick: bool, seed: int, progress: bool) -> tuple[dict, object]:
    """(eval.json's figures, the trained model) of one recipe trained into run_dir."""
    from .. import registry, runs
    from ..config import parse_overrides
    recipe = registry.get_recipe(name)
    if (run_dir / "config.json").exists():  # this experiment's own run from an earlier call: start afresh
        shutil.rmtree(run_dir)
    overrides = [f"seed={seed}", "tensorboard=false"] + (QUICK if quick else [])
    mcfg, tcfg = registry.resolve(recipe, parse_overrides(overrides))
    res = runs.train(run_dir, recipe, mcfg, tcfg, verbose=progress, distributed=False)
    figures = runs.evaluate_run(run_dir)
    figures["train_sequences"] = res.step * tcfg.batch_size
    return figures, runs.load_run(run_dir)[3]


def _plot_errors(path: pathlib.Path, errors: dict, sequences: int) -> None:
    from matplotlib.figure import Figure
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    names = {"ntm": "NTM (LSTM controller + 128 x 20 memory)", "lstm": "LSTM, as many weights"}
    for who, colour in (("ntm", "#1f77b4"), ("lstm", "#d62728")):
        ax.plot(LENGTHS, [errors[who][n] for n in LENGTHS], marker="o", color=colour, label=names[who])
    ax.axvspan(0, 20, color="0.9", label="trained lengths (1-20)")
    ax.set_xlim(0, LENGTHS[-1] + 5)
    ax.set_xlabel("sequence length (vectors of 8 bits)")
    ax.set_ylabel("wrong bits per sequence (of 8 x length)")
    ax.set_title(f"Copying longer sequences than trained on ({sequences:,} training sequences each)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9)
    fig.savefig(path, dpi=110, facecolor="white")


def _run(out: pathlib.Path, quick: bool, seed: int, progress: bool) -> dict:
    from ..tasks.algorithmic import KINDS, SAMPLE_SEED, draw_sequence, run_one, sequence_panels, stream_seed
    out.mkdir(parents=True, exist_ok=True)
    figures, models, errors = {}, {}, {}
    for who, name in RECIPES.items():
        rep, models[who] = train(name, out / name, quick, seed, progress)
        errors[who] = {n: rep[f"copy_error_bits_per_seq_len{n}"] for n in LENGTHS}
        for n in LENGTHS:
            figures[f"{who}_copy_error_bits_per_seq_len{n}"] = errors[who][n]
            figures[f"{who}_copy_perfect_sequences_percent_len{n}"] = rep[f"copy_perfect_sequences_percent_len{n}"]
        figures[f"{who}_parameters"] = rep["parameters"]
        figures[f"{who}_train_sequences"] = rep["train_sequences"]
        figures[f"{who}_train_wall_seconds"] = rep["train_wall_seconds"]
    figures["test_sequences_per_length"] = rep["test_sequences_per_size"]

    images = ["ntm_generalisation_errors.png"]
    _plot_errors(out / images[0], errors, figures["ntm_train_sequences"])
    copy = KINDS["copy"]
    for i, n in enumerate(SHOWN):
        seq_seed = stream_seed(SAMPLE_SEED, 100 + i)
        x, y, mask, p_ntm, trace = run_one(models["ntm"], copy, models["ntm"].cfg, n, seq_seed)
        p_lstm = run_one(models["lstm"], copy, models["lstm"].cfg, n, seq_seed)[3]
        with torch.no_grad():
            wrong = {who: int((((p > 0.5).float() != y).float().sum(-1) * mask).sum())
                     for who, p in (("ntm", p_ntm), ("lstm", p_lstm))}
        panels = sequence_panels(x, y, mask, p_ntm, trace, "NTM")
        m = mask[0].numpy()[None]
        panels.insert(3, ("LSTM output", p_lstm[0].numpy().T * m))
        images.append(f"ntm_generalisation_len{n}.png")
        draw_sequence(out / images[-1], f"Copy of {n} vectors (trained on 1-20): NTM {wrong['ntm']}, LSTM "
                                        f"{wrong['lstm']} of {8 * n} bits wrong; heads' slots from the first write",
                      panels)

    def row(who):
        return " / ".join(f"{errors[who][n]:g}" for n in LENGTHS)

    return {
        "figures": figures,
        "images": images,
        "summary": (f"Trained on copies of 1-20 vectors ({figures['ntm_train_sequences']:,} sequences each), "
                    f"wrong bits per sequence at lengths {', '.join(map(str, LENGTHS))}: NTM "
                    f"{row('ntm')}, LSTM "
                    f"{row('lstm')} (of 8 bits per vector"
                    + (", quick: far too short to learn the copy)." if quick else ").")),
    }
