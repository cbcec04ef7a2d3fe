"""Lecture claim (Karpathy, Johnson and Fei-Fei 2015, "Visualizing and understanding recurrent networks"): a
character LSTM trained on source code grows cells that keep interpretable state nobody asked for: whether the
text is inside a string, how deeply brackets are nested, how far a line has run, the indentation.

The experiment reads a trained `pycode-lstm` run (`--run RUN_DIR`) or trains a small one itself on the same data
(CPython's standard library) through nnzoo's engine. It then feeds held-out modules (the test split) through
the per-step cells with `return_gates=True` and, from Python's own tokenizer, labels every character with:

* `in_string`: inside a string literal (quotes included);
* `bracket_depth`: how many ( [ { are open outside strings and comments;
* `in_comment`: inside a # comment;
* `line_position`: characters since the last newline;
* `indentation`: leading spaces of the current line.

For every feature it reports the cell unit (c_t of any layer) whose activation correlates best with it, and
the same search over an untrained LSTM of the same shape as the control: hundreds of units give some
correlation by chance, so a unit "tracks" a feature only when its |r| is at least FOUND_R and at least
FOUND_RATIO times the control's. Pictures: the held-out snippet coloured by each best unit (red high, blue
low), the gates and cells of a few units over the snippet, and the gates' saturation (Karpathy's Fig. 3).
"""
from __future__ import annotations

import io
import pathlib
import sysconfig
import tokenize

import numpy as np
import torch

from . import torch_threads
from ..errors import UserError

FEATURES = ("in_string", "bracket_depth", "in_comment", "line_position", "indentation")
FOUND_R = 0.5
"""|Pearson r| a unit must reach to count as tracking a feature..."""
FOUND_RATIO = 1.5
"""...and how many times the untrained control's best |r| it must be."""
TRAIN_MINUTES = 10.0
"""Training budget when no --run is given (full mode)."""
ANALYSED_CHARS = {False: 40_000, True: 8_000}
"""Held-out characters fed through the cells (full, quick)."""
SNIPPET_CHARS = 640
CHUNK = 1000
"""Characters per forward pass while analysing; the state carries across chunks."""


# ---- labels from Python's tokenizer ----

def code_features(src: str) -> dict[str, np.ndarray] | None:
    """One value per character of `src` for each feature; None if the tokenizer rejects the text."""
    n = len(src)
    line_start = np.zeros(n + 1, dtype=np.int64)
    starts = [0] + [i + 1 for i, ch in enumerate(src) if ch == "\n"]
    offsets = np.array(starts)  # offset of each line's first character, line numbers from 1

    def off(pos):
        row, col = pos
        return int(offsets[row - 1]) + col

    in_string, in_comment = np.zeros(n), np.zeros(n)
    depth_change = np.zeros(n + 1)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type == tokenize.ENDMARKER:
                break
            a, b = off(tok.start), off(tok.end)
            if tok.type == tokenize.STRING:
                in_string[a:b] = 1
            elif tok.type == tokenize.COMMENT:
                in_comment[a:b] = 1
            elif tok.type == tokenize.OP and tok.string in "([{":
                depth_change[a] += 1  # open from the bracket itself on
            elif tok.type == tokenize.OP and tok.string in ")]}":
                depth_change[a + 1] -= 1  # the closing bracket still counts as inside
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    line_of = np.searchsorted(offsets, np.arange(n), side="right") - 1
    line_start[:n] = offsets[line_of]
    lead = np.array([len(line) - len(line.lstrip(" ")) for line in src.split("\n")])
    return {"in_string": in_string, "bracket_depth": np.cumsum(depth_change)[:n], "in_comment": in_comment,
            "line_position": (np.arange(n) - line_start[:n]).astype(float), "indentation": lead[line_of].astype(float)}


def held_out_code(files: list[str], limit: int) -> tuple[str, dict[str, np.ndarray]]:
    """Whole held-out modules, joined until `limit` characters, with their labels."""
    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    texts, labels = [], {k: [] for k in FEATURES}
    total = 0
    for name in files:
        try:
            src = (root / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        feats = code_features(src) if src.endswith("\n") else None
        if feats is None or not src.strip():
            continue
        texts.append(src)
        for k in FEATURES:
            labels[k].append(feats[k])
        total += len(src)
        if total >= limit:
            break
    text = "".join(texts)[:limit]
    return text, {k: np.concatenate(v)[:limit] for k, v in labels.items()}


# ---- activations and correlations ----

@torch.no_grad()
def activations(model, ids: torch.Tensor) -> dict[str, np.ndarray]:
    """Every gate and cell state of every layer at every character: name -> (T, L*H), state carried."""
    model.eval()
    state, parts = None, []
    for i in range(0, len(ids), CHUNK):
        x = model.embed(ids[i:i + CHUNK].unsqueeze(1))  # T, 1, E
        _, state, gates = model.rnn(x, state, return_gates=True)
        parts.append(gates)
    layers = model.rnn.num_layers
    return {g: torch.cat([torch.cat([p[f"{g}_l{l}"][:, 0] for l in range(layers)], dim=1) for p in parts]).numpy()
            for g in ("i", "f", "o", "c")}


def correlations(acts: np.ndarray, feats: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Pearson r between each unit's activation (T, U) and each feature (T): feature -> (U,)."""
    a = (acts - acts.mean(0)) / (acts.std(0) + 1e-8)
    out = {}
    for k, v in feats.items():
        z = (v - v.mean()) / (v.std() + 1e-8)
        # r = mean_t (a_t - mean a)(v_t - mean v) / (std a std v)
        out[k] = a.T @ z / len(z)
    return out


def unit_name(u: int, hidden: int) -> str:
    return f"layer {u // hidden} unit {u % hidden}"


# ---- the model ----

def _train_own(out: pathlib.Path, quick: bool, seed: int, progress: bool):
    from .. import registry
    from ..config import parse_overrides
    from ..runs import load_run, train
    recipe = registry.get_recipe("pycode-lstm")
    settings = (["hidden=64", "layers=1", "epochs=1", "train_subset=1500", "time_limit=0"] if quick else
                ["hidden=256", "layers=2", f"time_limit={TRAIN_MINUTES}"])
    mcfg, tcfg = registry.resolve(recipe, parse_overrides(settings + [f"seed={seed}", "tensorboard=false"]))
    run_dir = out / "pycode-lstm"
    if not (run_dir / "checkpoints").exists():
        train(run_dir, recipe, mcfg, tcfg, verbose=progress)
    return run_dir, load_run(run_dir)


def _model_from(run_dir: pathlib.Path):
    from ..runs import load_run, read_config
    doc = read_config(run_dir)
    if doc.get("model") != "char-lm" or doc.get("model_config", {}).get("cell") != "lstm":
        raise UserError(f"{run_dir} is a {doc.get('recipe')} run with no LSTM cells; lstm-gates reads a "
                        "character LSTM run (e.g. nnzoo train pycode-lstm)")
    if doc.get("data") != "pycode" and not all(f.endswith(".py") for f in doc.get("files", {}).get("train", [""])):
        raise UserError(f"{run_dir} was trained on {doc.get('data')!r}, not Python code; lstm-gates labels "
                        "Python code: give a pycode-lstm run")
    return load_run(run_dir)


# ---- pictures ----

def _plot_text(path, snippet: str, values: dict[str, np.ndarray], titles: dict[str, str]):
    import matplotlib.pyplot as plt
    lines = snippet.split("\n")
    width = max(len(l) for l in lines) + 1
    fig, axes = plt.subplots(len(values), 1, figsize=(min(16, 0.11 * width + 1), 0.2 * len(lines) * len(values) + 1),
                             squeeze=False)
    cmap = plt.get_cmap("coolwarm")
    for ax, (k, v) in zip(axes[:, 0], values.items()):
        grid = np.full((len(lines), width), np.nan)
        t = 0
        for r, line in enumerate(lines):
            for c in range(len(line) + 1):  # + the newline
                if t < len(v):
                    grid[r, c] = v[t]
                t += 1
        # each unit on its own scale (cells run far outside [-1, 1]): red above its mean over the snippet,
        # blue below
        centred = grid - np.nanmean(grid)
        ax.imshow(centred / (np.nanmax(np.abs(centred)) + 1e-8), cmap=cmap, vmin=-1, vmax=1, aspect="auto",
                  interpolation="nearest")
        for r, line in enumerate(lines):
            for c, ch in enumerate(line):
                if not ch.isspace():
                    ax.text(c, r, ch, ha="center", va="center", fontsize=6.5, family="monospace")
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(titles[k], fontsize=9, loc="left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_gates(path, snippet: str, acts: dict[str, np.ndarray], units: list[int], names: list[str]):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(4, 1, figsize=(14, 7), sharex=True)
    n = len(snippet)
    for ax, (g, label, lo) in zip(axes, [("i", "input gate i_t", 0), ("f", "forget gate f_t", 0),
                                         ("o", "output gate o_t", 0), ("c", "tanh(cell c_t)", -1)]):
        a = acts[g][:n, units].T
        ax.imshow(np.tanh(a) if g == "c" else a, aspect="auto", cmap="viridis" if lo == 0 else "coolwarm",
                  vmin=lo, vmax=1, interpolation="nearest")
        ax.set_yticks(range(len(units)), names, fontsize=6)
        ax.set_ylabel(label, fontsize=8)
    shown = [c if c.strip() else ("⏎" if c == "\n" else "·") for c in snippet[:n]]
    axes[-1].set_xticks(range(0, n, max(1, n // 80)), [shown[i] for i in range(0, n, max(1, n // 80))],
                        fontsize=6, family="monospace")
    fig.suptitle("Gates and cells of the units that track the labelled features, over held-out code")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_saturation(path, acts: dict[str, np.ndarray]):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, g, label in zip(axes, "ifo", ("input gate", "forget gate", "output gate")):
        a = acts[g]
        ax.scatter((a < 0.1).mean(0), (a > 0.9).mean(0), s=6, alpha=0.6)
        ax.plot([0, 1], [1, 0], color="grey", lw=0.6, ls=":")
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="fraction of time left-saturated (< 0.1)",
               ylabel="fraction right-saturated (> 0.9)", title=label)
    fig.suptitle("Gate saturation per unit (Karpathy et al. 2015, Fig. 3): forget gates that stay open remember")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---- the experiment ----

def run(out: pathlib.Path, quick: bool = False, seed: int = 0, progress: bool = True,
        run_dir: str | None = None) -> dict:
    with torch_threads(1):
        return _run(pathlib.Path(out), quick, seed, progress, run_dir)


def _run(out: pathlib.Path, quick: bool, seed: int, progress: bool, run_dir: str | None) -> dict:
    import matplotlib
    matplotlib.use("Agg")
    from .. import registry
    from ..data.text import encode_fast, load_pycode
    from ..runs import read_config

    out.mkdir(parents=True, exist_ok=True)
    if run_dir:
        source = pathlib.Path(run_dir)
        _, mcfg, _, model = _model_from(source)
    else:
        source, (_, mcfg, _, model) = _train_own(out, quick, seed, progress)
    doc = read_config(source)
    vocab = doc["vocab"]
    # held-out standard-library modules: the run's own test split, or pycode's for a run on other code
    test_files = doc["files"]["test"] if doc.get("data") == "pycode" else load_pycode().files["test"]
    text, feats = held_out_code(test_files, ANALYSED_CHARS[quick])
    ids = encode_fast(text, vocab)
    acts = activations(model, ids)
    r = correlations(acts["c"], feats)
    torch.manual_seed(seed + 1)
    control = correlations(activations(registry.create_model("char-lm", mcfg), ids)["c"], feats)

    H = mcfg.hidden
    figures = {"model": str(source), "analysed_characters": len(text),
               "units_searched": int(acts["c"].shape[1])}
    best = {}
    for k in FEATURES:
        u = int(np.abs(r[k]).argmax())
        ours, chance = float(abs(r[k][u])), float(np.abs(control[k]).max())
        best[k] = u
        figures[f"{k}_best_cell_unit"] = unit_name(u, H)
        figures[f"{k}_best_cell_abs_correlation"] = round(ours, 3)
        figures[f"{k}_untrained_control_best_abs_correlation"] = round(chance, 3)
        figures[f"{k}_unit_found"] = bool(ours >= FOUND_R and ours >= FOUND_RATIO * chance)
    for g, name in (("f", "forget"), ("i", "input"), ("o", "output")):
        figures[f"{name}_gate_right_saturated_percent"] = round(100 * float((acts[g] > 0.9).mean()), 1)
        figures[f"{name}_gate_left_saturated_percent"] = round(100 * float((acts[g] < 0.1).mean()), 1)

    start = max(0, text.find("\ndef ") + 1)  # a snippet that opens at a function
    snippet = text[start:start + SNIPPET_CHARS].rsplit("\n", 1)[0] + "\n"
    sl = slice(start, start + len(snippet))
    titles = {k: f"{k}: {unit_name(best[k], H)}, r = {r[k][best[k]]:+.2f} (untrained best |r| "
                 f"{figures[k + '_untrained_control_best_abs_correlation']:.2f})" for k in FEATURES}
    _plot_text(out / "lstm_gates_text.png", snippet, {k: acts["c"][sl, best[k]] for k in FEATURES}, titles)
    units = list(dict.fromkeys(best.values()))
    _plot_gates(out / "lstm_gates_heatmap.png", snippet, {g: a[sl] for g, a in acts.items()}, units,
                [f"{unit_name(u, H)}" for u in units])
    _plot_saturation(out / "lstm_gate_saturation.png", acts)

    found = [k for k in FEATURES if figures[f"{k}_unit_found"]]
    summary = (f"Over {len(text):,} characters of held-out standard-library code, "
               + (f"cells tracking {', '.join(found)} were found (|r| >= {FOUND_R} and >= {FOUND_RATIO}x an "
                  "untrained LSTM's best)" if found else "no cell passed the bar (|r| >= "
                  f"{FOUND_R} and {FOUND_RATIO}x an untrained LSTM's best); train longer or give --run")
               + "; best |r|: " + ", ".join(f"{k} {figures[k + '_best_cell_abs_correlation']:.2f}" for k in FEATURES)
               + ".")
    return {"figures": figures,
            "images": ["lstm_gates_text.png", "lstm_gates_heatmap.png", "lstm_gate_saturation.png"],
            "summary": summary}
