"""Figures drawn from a run folder's files alone: numpy + matplotlib, never torch, never a model.

A run folder holds `config.json`, `metrics.jsonl`, `eval.json` and `artifacts.npz`; every file and every
key of `artifacts.npz` is optional. Each plotting function returns the PNG's path, or None (and writes
nothing) when the files lack what it needs. Figures are built with `matplotlib.figure.Figure` directly,
not pyplot, so no GUI backend is touched and nothing lingers in a global figure registry.
"""
from __future__ import annotations

import json
import math
import textwrap
import warnings
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator, PercentFormatter

__all__ = ["learning_curves", "confusion_matrix", "misclassified", "sentences", "filters", "feature_maps",
           "attention_maps", "story_attention", "image_grids", "code_table", "class_shares", "captions", "clip_labels",
           "plot_run", "PLOT_FILES", "SEQUENCE_PLOT_FILES"]

WIDTH_IN = 9.0  # at DPI 100: 900 px wide
DPI = 100
SPLIT_COLORS = {"train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c"}
OTHER_COLORS = ["#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"]
MAX_MISCLASSIFIED = 32
MAX_FILTERS = 64
MAX_CHANNELS = 16
MAX_EXTRA_PANELS = 4
PANEL_TITLES = {"loss": "Loss", "accuracy": "Accuracy", "lr": "Learning rate", "grad_norm": "Gradient norm",
                "ppl": "Perplexity", "perplexity": "Perplexity", "throughput": "Throughput",
                "d(x) and d(g(z))": "D(x) and D(G(z))", "fid_classifier": "Classifier-FID of samples (lower is better)",
                "fid_pixels": "Pixel-FID of samples (lower is better)"}


# ----------------------------------------------------------------------------------------------- reading
def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_metrics(run_dir: Path) -> list[dict]:
    """The well-formed, finite records of metrics.jsonl; torn or foreign lines are skipped."""
    path = run_dir / "metrics.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    records = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
            value = float(rec["value"])
            name = str(rec["name"])
        except (ValueError, KeyError, TypeError):
            continue
        if not math.isfinite(value):
            continue
        epoch = rec.get("epoch")
        step = rec.get("step")
        records.append({"split": str(rec.get("split") or "train"), "name": name, "value": value,
                        "epoch": float(epoch) if isinstance(epoch, (int, float)) else None,
                        "step": float(step) if isinstance(step, (int, float)) else None})
    return records


def _load_artifacts(run_dir: Path) -> dict[str, np.ndarray]:
    """Every readable array of artifacts.npz; pickled (object) arrays are never loaded."""
    path = run_dir / "artifacts.npz"
    out: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as z:
            for key in z.files:
                try:
                    out[key] = z[key]
                except (ValueError, OSError, zipfile.BadZipFile):
                    continue
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return {}
    return out


def _classes(art: dict, k: int) -> list[str]:
    names = art.get("classes")
    if names is not None and np.ndim(names) == 1 and len(names) == k:
        return [str(n) for n in names.tolist()]
    return [str(i) for i in range(k)]


def _run_label(run_dir: Path) -> str:
    cfg = _read_json(run_dir / "config.json")
    name = cfg.get("recipe") or run_dir.name
    parts = [str(cfg[k]) for k in ("model", "data") if isinstance(cfg.get(k), str)]
    return f"{name} ({', '.join(parts)})" if parts else str(name)


def _save(fig: Figure, out_png: Path) -> Path:
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=DPI, facecolor="white")
    return out_png


def _out(run_dir: Path, out_png, default: str) -> Path:
    return Path(out_png) if out_png is not None else Path(run_dir) / default


# ---------------------------------------------------------------------------------- learning curves
def _ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard-style debiased exponential moving average."""
    out = np.empty_like(values)
    acc, norm = 0.0, 0.0
    for i, v in enumerate(values):
        acc = weight * acc + (1 - weight) * v
        norm = weight * norm + (1 - weight)
        out[i] = acc / norm
    return out


def _panel_kind(name: str) -> str:
    low = name.lower()
    if low in ("d_real", "d_fake"):  # a GAN's discriminator on real and generated images, in one panel
        return "D(x) and D(G(z))"
    if "loss" in low:
        return "loss"
    if "acc" in low:
        return "accuracy"
    return name


def learning_curves(run_dir, out_png=None) -> Path | None:
    """Loss (train, val) and accuracy (val, train when logged) against epoch, plus one panel per other metric."""
    run_dir = Path(run_dir)
    records = _read_metrics(run_dir)
    if not records:
        return None
    use_epoch = all(r["epoch"] is not None for r in records)
    if not use_epoch and not all(r["step"] is not None for r in records):
        use_epoch = False
        for i, r in enumerate(records):
            r["step"] = r["step"] if r["step"] is not None else float(i)
    xkey, xlabel = ("epoch", "epoch") if use_epoch else ("step", "step")

    series: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for r in records:
        series[(r["split"], r["name"])].append((r[xkey], r["value"]))
    panels: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for split, name in series:
        panels[_panel_kind(name)].append((split, name))
    order = [k for k in ("loss", "accuracy") if k in panels]
    order += sorted(k for k in panels if k not in ("loss", "accuracy"))[:MAX_EXTRA_PANELS]

    ev = _read_json(run_dir / "eval.json")
    ncols = 1 if len(order) == 1 else 2
    nrows = math.ceil(len(order) / ncols)
    # Fixed margins in inches: constrained layout would cost about a second per figure on a small CPU.
    left, right, top, bottom, wgap, hgap, panel_h = 0.85, 0.25, 0.75, 0.55, 0.95, 0.9, 2.75
    height = top + bottom + nrows * panel_h + (nrows - 1) * hgap
    panel_w = (WIDTH_IN - left - right - (ncols - 1) * wgap) / ncols
    fig = Figure(figsize=(WIDTH_IN, height))
    fig.subplots_adjust(left=left / WIDTH_IN, right=1 - right / WIDTH_IN, top=1 - top / height,
                        bottom=bottom / height, wspace=wgap / panel_w, hspace=hgap / panel_h)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    split_rank = {"train": 0, "val": 1, "test": 2}

    for ax, kind in zip(axes, order):
        keys = sorted(panels[kind], key=lambda k: (split_rank.get(k[0], 9), k[0], k[1]))
        all_vals = []
        extra_color = iter(OTHER_COLORS * 4)
        used_splits: set[str] = set()
        for split, name in keys:
            pts = sorted(series[(split, name)])
            x = np.array([p[0] for p in pts], dtype=float)
            y = np.array([p[1] for p in pts], dtype=float)
            all_vals.append(y)
            # a second series of one split in a panel (a GAN's two losses) takes its own colour
            color = SPLIT_COLORS.get(split) if split not in used_splits else None
            color = color or next(extra_color)
            used_splits.add(split)
            label = f"{split} {name}"
            if split == "train" and len(y) > 20:
                ax.plot(x, y, color=color, alpha=0.25, lw=0.8, label=f"{label} (raw)")
                ax.plot(x, _ema(y, 0.9 if len(y) > 100 else 0.7), color=color, lw=1.8, label=f"{label} (smoothed)")
            elif len(y) == 1:
                ax.plot(x, y, color=color, marker="*", ms=12, ls="none", label=label)
            else:
                ax.plot(x, y, color=color, lw=1.8, marker="o" if len(y) <= 60 else None, ms=4, label=label)
        vals = np.concatenate(all_vals) if all_vals else np.array([])
        fraction = kind == "accuracy" and vals.size and vals.min() >= 0 and vals.max() <= 1.0

        # The held-out test result from eval.json, when the metrics file itself has none.
        logged_test = any(s == "test" for s, _ in keys)
        if kind == "loss" and not logged_test and isinstance(ev.get("test_loss"), (int, float)):
            ax.axhline(ev["test_loss"], color=SPLIT_COLORS["test"], ls="--", lw=1.2,
                       label=f"test loss {ev['test_loss']:.4g} (eval)")
        if kind == "accuracy" and not logged_test:
            acc = ev.get("test_accuracy") if fraction else ev.get("test_accuracy_percent")
            if isinstance(acc, (int, float)):
                shown = f"{acc:.2%}" if fraction else f"{acc:.2f}"
                ax.axhline(acc, color=SPLIT_COLORS["test"], ls="--", lw=1.2, label=f"test accuracy {shown} (eval)")
        if kind == "accuracy":
            val_key = next(((s, n) for s, n in keys if s == "val"), None)
            if val_key:
                pts = series[val_key]
                bx, by = max(pts, key=lambda p: p[1])
                best = f"{by:.2%}" if fraction else f"{by:.4g}"
                xs = [p[0] for p in pts]
                right_half = len(xs) > 1 and bx > (min(xs) + max(xs)) / 2
                ax.annotate(f"best val {best}\n@ {xlabel} {bx:g}", (bx, by), xytext=(-4 if right_half else 4, -26),
                            textcoords="offset points", ha="right" if right_half else "left", va="top",
                            fontsize=8, arrowprops=dict(arrowstyle="-", color="0.5", lw=0.8),
                            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.85))
            if fraction:
                ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
        ylabel = PANEL_TITLES.get(kind.lower(), kind.replace("_", " ")).lower()
        if kind == "loss" and vals.size and vals.min() > 0 and vals.max() / vals.min() > 30:
            ax.set_yscale("log")
            ylabel = "loss (log scale)"
        title = PANEL_TITLES.get(kind.lower(), kind.replace("_", " ").capitalize())
        ax.set_title(title, fontsize=12, loc="left", fontweight="bold")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if use_epoch:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, frameon=False)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    for ax in axes[len(order):]:
        ax.set_visible(False)
    fig.suptitle(f"Learning curves: {_run_label(run_dir)}", fontsize=13, y=1 - 0.3 / height, va="center")
    return _save(fig, _out(run_dir, out_png, "learning_curves.png"))


# ------------------------------------------------------------------------------------ mode coverage
def class_shares(run_dir, out_png=None) -> Path | None:
    """A generator's samples by the class the MNIST judge reads in them (eval.json `class_shares_percent`),
    against the 10 % of a perfectly even generator and the 5-15 % band: a collapsed GAN shows a few tall bars."""
    run_dir = Path(run_dir)
    shares = _read_json(run_dir / "eval.json").get("class_shares_percent")
    if not isinstance(shares, list) or not shares:
        return None
    k = len(shares)
    fig = Figure(figsize=(6.0, 3.2))
    ax = fig.add_axes((0.12, 0.16, 0.84, 0.68))
    inside = [5 <= v <= 15 for v in shares]
    ax.bar(range(k), shares, color=[SPLIT_COLORS["train"] if ok else OTHER_COLORS[0] for ok in inside])
    ax.axhspan(5, 15, color="0.85", zorder=0, label="5-15 %")
    ax.axhline(100 / k, color="0.3", ls="--", lw=1, label=f"{100 / k:.0f} % (even)")
    ax.set_xticks(range(k), [str(i) for i in range(k)])
    ax.set_xlabel("class read by nnzoo's MNIST classifier")
    ax.set_ylabel("% of samples")
    ax.legend(fontsize=8, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.suptitle(f"Mode coverage: {_run_label(run_dir)}", fontsize=11)
    return _save(fig, _out(run_dir, out_png, "class_shares.png"))


# ------------------------------------------------------------------------------------ confusion matrix
def confusion_matrix(run_dir, out_png=None) -> Path | None:
    """The test confusion matrix: rows = true class, columns = predicted, counts written in the cells."""
    run_dir = Path(run_dir)
    art = _load_artifacts(run_dir)
    cm = art.get("confusion")
    if cm is None or cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        return None
    cm = np.asarray(cm, dtype=np.int64)
    k = cm.shape[0]
    names = _classes(art, k)
    totals = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, totals, out=np.zeros(cm.shape, dtype=float), where=totals > 0)
    n = int(cm.sum())
    acc = np.trace(cm) / n if n else float("nan")

    # Correct predictions in blue (share of the class), errors in red (darker = more), so that the few
    # errors of a good classifier stand out instead of vanishing next to a diagonal of thousands.
    diag = np.eye(k, dtype=bool)
    off = np.where(~diag, frac, np.nan)
    off_max = np.nanmax(off) if k > 1 and np.nanmax(off) > 0 else 1.0
    side = 7.8 if k <= 20 else 8.6
    fig = Figure(figsize=(WIDTH_IN, side), layout="constrained")
    ax = fig.add_subplot()
    ax.set_facecolor("#f6f7f9")
    ax.imshow(np.where(diag, frac, np.nan), cmap="Blues", vmin=-0.2, vmax=1.25, interpolation="nearest")
    ax.imshow(np.where(cm > 0, off, np.nan), cmap="Reds", vmin=-0.3 * off_max, vmax=1.5 * off_max,
              interpolation="nearest")
    ax.set_xlim(-0.5, k - 0.5)
    ax.set_ylim(k - 0.5, -0.5)
    if k <= 20:
        size = 10 if k <= 10 else 7
        for i in range(k):
            for j in range(k):
                if cm[i, j] == 0 and i != j:
                    continue
                dark = frac[i, j] > 0.45 if i == j else off[i, j] > 0.75 * off_max
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=size,
                        fontweight="bold" if i == j else "normal", color="white" if dark else "#222222")
    if k <= 40:
        ax.set_xticks(np.arange(-0.5, k, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, k, 1), minor=True)
        ax.grid(which="minor", color="white", lw=1.5 if k <= 20 else 0.8)
        ax.tick_params(which="minor", length=0)
    if k <= 40:
        ticks = np.arange(k)
        ax.set_xticks(ticks)
        ax.set_yticks(ticks)
        long_names = max(len(s) for s in names) > 3
        ax.set_xticklabels(names, rotation=45 if long_names else 0, ha="right" if long_names else "center",
                           fontsize=9 if k <= 20 else 7)
        ax.set_yticklabels(names, fontsize=9 if k <= 20 else 7)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.suptitle(f"Confusion matrix (test set): {n:,} examples, accuracy {acc:.2%}, {n - int(np.trace(cm)):,} errors",
                 fontsize=13)
    ax.set_title("blue: correct, shade = share of the true class · red: errors, darker = more",
                 fontsize=9, color="0.35")
    return _save(fig, _out(run_dir, out_png, "confusion.png"))


# --------------------------------------------------------------------------------------- image canvases
# Grids of dozens of images are drawn as tiles on ONE axes whose data units are inches from the top left
# corner of the figure: creating an axes per image costs about 50 ms each (seconds per figure), a tile
# costs next to nothing.
class _Canvas:
    def __init__(self, height: float):
        self.height = height
        self.fig = Figure(figsize=(WIDTH_IN, height))
        self.ax = self.fig.add_axes((0, 0, 1, 1))
        self.ax.set_axis_off()
        self.ax.set_autoscale_on(False)

    def image(self, img: np.ndarray, x: float, y: float, w: float, h: float, frame: bool = True, **kw) -> None:
        kw.setdefault("interpolation", "nearest")
        self.ax.imshow(img, extent=(x, x + w, y + h, y), aspect="auto", **kw)
        if frame:
            self.ax.add_patch(Rectangle((x, y), w, h, fill=False, ec="0.72", lw=0.6))

    def text(self, x: float, y: float, s: str, **kw) -> None:
        self.ax.text(x, y, s, **kw)

    def title(self, s: str, size: float = 12) -> None:
        self.text(WIDTH_IN / 2, 0.3, s, ha="center", va="center", fontsize=size)

    def save(self, out_png: Path) -> Path:
        self.ax.set_xlim(0, WIDTH_IN)
        self.ax.set_ylim(self.height, 0)
        return _save(self.fig, out_png)


def _display(img: np.ndarray) -> tuple[np.ndarray, dict]:
    """A (C,H,W) image in [0, 1] as imshow wants it: RGB when C == 3, else grey from its first channel."""
    img = np.asarray(img, dtype=np.float32)
    if img.ndim == 3 and img.shape[0] == 3:
        return np.clip(img.transpose(1, 2, 0), 0, 1), {}
    if img.ndim == 3:
        img = img[0]
    return img, {"cmap": "gray", "vmin": 0.0, "vmax": 1.0}


def _grid_cells(n: int, ncols: int, aspect: float, label_h: float, gap: float, top: float = 0.6
                ) -> tuple[list[tuple[float, float, float, float]], float]:
    """Cells (x, y, w, h) in inches for n images in rows of ncols, and the figure's height."""
    margin, bottom = 0.12, 0.12
    cell_w = (WIDTH_IN - 2 * margin - gap * (ncols - 1)) / ncols
    cell_h = cell_w * aspect
    nrows = math.ceil(n / ncols)
    cells = []
    for i in range(n):
        r, c = divmod(i, ncols)
        cells.append((margin + c * (cell_w + gap), top + r * (label_h + cell_h + gap) + label_h, cell_w, cell_h))
    return cells, top + nrows * (label_h + cell_h) + (nrows - 1) * gap + bottom


# ----------------------------------------------------------------------------------------- misclassified
def misclassified(run_dir, out_png=None) -> Path | None:
    """Up to 32 wrongly classified test images, each titled 'true→pred (p)'."""
    run_dir = Path(run_dir)
    art = _load_artifacts(run_dir)
    imgs = art.get("mis_images")
    if imgs is None or imgs.ndim not in (3, 4) or imgs.shape[0] == 0:
        return None
    if imgs.ndim == 3:
        imgs = imgs[:, None]
    n = min(MAX_MISCLASSIFIED, imgs.shape[0])
    true, pred, prob = (art.get(k) for k in ("mis_true", "mis_pred", "mis_prob"))
    cm = art.get("confusion")
    k = None
    if cm is not None and np.ndim(cm) == 2:
        k = cm.shape[0]
    elif art.get("classes") is not None and np.ndim(art["classes"]) == 1:
        k = len(art["classes"])
    names = _classes(art, k) if k else None

    def label(idx_arr, i):
        if idx_arr is None or np.ndim(idx_arr) != 1 or i >= len(idx_arr):
            return "?"
        c = int(idx_arr[i])
        return names[c] if names and 0 <= c < len(names) else str(c)

    titles = []
    for i in range(n):
        t = f"{label(true, i)}→{label(pred, i)}"
        if prob is not None and np.ndim(prob) == 1 and i < len(prob):
            t = f"{t}{' ' if len(t) <= 8 else chr(10)}({float(prob[i]):.2f})"
        titles.append(t)
    longest = max(len(line) for t in titles for line in t.split("\n"))
    ncols = 8 if longest <= 12 else 6
    label_h = 0.42 if any("\n" in t for t in titles) else 0.26
    cells, height = _grid_cells(n, ncols, imgs.shape[2] / imgs.shape[3], label_h, gap=0.1)
    cv = _Canvas(height)
    for (x, y, w, h), img, t in zip(cells, imgs, titles):
        arr, kw = _display(img)
        cv.image(arr, x, y, w, h, **kw)
        cv.text(x + w / 2, y - 0.05, t, ha="center", va="bottom", fontsize=9 if ncols == 8 else 8,
                color="#b22222", linespacing=1.1)
    wrong = int(cm.sum() - np.trace(cm)) if cm is not None and np.ndim(cm) == 2 else None
    count = f"{n} of {wrong:,} errors" if wrong is not None and wrong >= n else f"{n} errors"
    cv.title(f"Misclassified test images ({count}); title: true→predicted (predicted probability)")
    return cv.save(_out(run_dir, out_png, "misclassified.png"))


# -------------------------------------------------------------------------------------------- sentences
def sentences(run_dir, out_png=None) -> Path | None:
    """A sentence classifier's test sentences in groups (the most confident of each class, the most confident
    mistakes), each with its predicted class and probability; green when right, red when wrong."""
    run_dir = Path(run_dir)
    art = _load_artifacts(run_dir)
    keys = ("shown_group", "shown_text", "shown_true", "shown_pred", "shown_prob")
    if any(art.get(k) is None or np.ndim(art[k]) != 1 for k in keys):
        return None
    group, text, true, pred, prob = (art[k] for k in keys)
    n = min(len(a) for a in (group, text, true, pred, prob))
    if n == 0:
        return None
    names = _classes(art, int(max(true[:n].max(), pred[:n].max())) + 1)
    rows = []  # (kind, text): a group's header, or one wrapped sentence
    for i in range(n):
        if i == 0 or group[i] != group[i - 1]:
            rows.append(("head", str(group[i])))
        lines = textwrap.wrap(" ".join(str(text[i]).split()), 105, max_lines=2, placeholder=" ...") or [""]
        ok = int(true[i]) == int(pred[i])
        rows.append(("ok" if ok else "bad", f"{names[int(pred[i])]} {float(prob[i]):.2f}  ·  " + lines[0]))
        rows += [("ok" if ok else "bad", "      " + line) for line in lines[1:]]
    line_h = 0.2
    cv = _Canvas(0.6 + line_h * (len(rows) + 1))
    y = 0.65
    for kind, s in rows:
        if kind == "head":
            y += 0.08
            cv.text(0.2, y, s, fontsize=10, fontweight="bold", va="top")
        else:
            cv.text(0.35, y, s, fontsize=8, va="top", color="#1a7f37" if kind == "ok" else "#b22222")
        y += line_h
    cv.title("Test sentences: predicted class and its probability (green: right, red: wrong)")
    return cv.save(_out(run_dir, out_png, "sentences.png"))


# ---------------------------------------------------------------------------------------------- filters
def filters(run_dir, out_png=None) -> Path | None:
    """The first layer's kernels (or an MLP's first weight rows as images), red > 0 > blue."""
    run_dir = Path(run_dir)
    w = _load_artifacts(run_dir).get("filters")
    if w is None or w.ndim not in (3, 4) or w.shape[0] == 0 or w.size == 0:
        return None
    w = np.nan_to_num(np.asarray(w, dtype=np.float32))
    if w.ndim == 3:
        w = w[:, None]
    o, c, kh, kw = w.shape
    n = min(MAX_FILTERS, o)
    ncols = min(n, 8 if (kh >= 10 or n <= 32) else 16)
    rgb = c == 3
    how = ("RGB, 0 = grey" if rgb else "red > 0 > blue, white = 0") + ", each scaled to its own max |w|"
    if c not in (1, 3):
        how += f", mean over {c} input channels"
    cells, height = _grid_cells(n, ncols, kh / kw, 0.0, gap=0.1, top=0.55)
    cv = _Canvas(height)
    for (x, y, cw, ch), f in zip(cells, w[:n]):
        m = float(np.abs(f).max()) or 1.0
        if rgb:
            cv.image(np.clip(0.5 + f.transpose(1, 2, 0) / (2 * m), 0, 1), x, y, cw, ch)
        else:
            cv.image(f.mean(axis=0), x, y, cw, ch, cmap="RdBu_r", vmin=-m, vmax=m)
    cv.title(f"First-layer filters: {n} of {o}, each {c}×{kh}×{kw} ({how})", size=11)
    return cv.save(_out(run_dir, out_png, "filters.png"))


# ----------------------------------------------------------------------------------------- feature maps
def _as_chw(a: np.ndarray) -> np.ndarray | None:
    a = np.asarray(a, dtype=np.float32)
    while a.ndim > 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3:
        return a
    if a.ndim == 2:
        return a[None]
    if a.ndim == 1:
        return a[:, None, None]
    return None


def feature_maps(run_dir, out_png=None) -> Path | None:
    """The input image, then one row per conv block with up to 16 of its most active channels."""
    run_dir = Path(run_dir)
    art = _load_artifacts(run_dir)
    layers = []
    i = 0
    while f"fmap_{i}" in art:
        a = _as_chw(art[f"fmap_{i}"])
        if a is not None and a.size:
            layers.append((i, np.nan_to_num(a)))
        i += 1
    if not layers:
        return None
    names = art.get("fmap_names")
    names = [str(s) for s in names.tolist()] if names is not None and np.ndim(names) == 1 else []
    inp = art.get("fmap_input")
    inp = _as_chw(inp) if inp is not None else None

    ncols = MAX_CHANNELS
    margin, gap, header_h, chan_h, row_gap, top, bottom = 0.12, 0.06, 0.3, 0.16, 0.15, 0.6, 0.1
    cell = (WIDTH_IN - 2 * margin - gap * (ncols - 1)) / ncols
    input_cell = 2 * cell + gap
    heights = ([header_h + input_cell] if inp is not None else []) + [header_h + chan_h + cell] * len(layers)
    cv = _Canvas(top + sum(heights) + row_gap * (len(heights) - 1) + bottom)

    def header(y_top, name, detail, x_detail=None):
        cv.text(margin, y_top + header_h * 0.55, name, ha="left", va="center", fontsize=10, fontweight="bold")
        cv.text(WIDTH_IN - margin if x_detail is None else x_detail, y_top + header_h * 0.55, detail,
                ha="right" if x_detail is None else "left", va="center", fontsize=9, color="0.35")

    y = top
    if inp is not None:
        header(y, "input", "×".join(map(str, inp.shape)), x_detail=margin + 0.55)
        arr, kw = _display(inp)
        cv.image(arr, margin, y + header_h, input_cell, input_cell * inp.shape[1] / inp.shape[2], **kw)
        y += header_h + input_cell + row_gap
    for key, a in layers:
        name = names[key] if key < len(names) else f"layer {key}"
        ch, h, w = a.shape
        activity = np.abs(a).reshape(ch, -1).mean(axis=1)
        pick = np.sort(np.argsort(-activity, kind="stable")[:ncols])
        shown = f"{len(pick)} most active of {ch} channels" if len(pick) < ch else f"all {ch} channels"
        header(y, name, f"{ch}×{h}×{w}, {shown}")
        cell_h = cell * min(h / w, 1.0)
        for j, c in enumerate(pick):
            x = margin + j * (cell + gap)
            m = a[c]
            lo, hi = float(m.min()), float(m.max())
            cv.image(m, x, y + header_h + chan_h, cell, cell_h, cmap="viridis", vmin=lo,
                     vmax=hi if hi > lo else lo + 1e-6)
            cv.text(x + cell / 2, y + header_h + chan_h - 0.02, f"c{c}", ha="center", va="bottom", fontsize=7,
                    color="0.35")
        y += header_h + chan_h + cell + row_gap
    cv.title("Feature maps: one test image through each block (each channel scaled to its own range)")
    return cv.save(_out(run_dir, out_png, "feature_maps.png"))


# ------------------------------------------------------------------------------------------- attention
MAX_ATTENTION_MAPS = 4


def attention_maps(run_dir, out_png=None) -> Path | None:
    """Heat maps of a translation's attention weights alpha_tj: one panel per test sentence, target words down
    the side, source words along the top; row t holds where the decoder looked while writing word t."""
    run_dir = Path(run_dir)
    art = _load_artifacts(run_dir)
    maps = []
    for k in range(MAX_ATTENTION_MAPS):
        a, src, out = art.get(f"attn_{k}"), art.get(f"attn_src_{k}"), art.get(f"attn_out_{k}")
        if a is None or src is None or out is None:
            break
        a = np.asarray(a, dtype=float)
        if a.ndim != 2 or a.shape != (len(out), len(src)) or a.size == 0:
            raise ValueError(f"attn_{k} is {a.shape}, not {len(out)} target x {len(src)} source words")
        maps.append((np.nan_to_num(a), [str(s) for s in src.tolist()], [str(s) for s in out.tolist()]))
    if not maps:
        return None
    ncols = 1 if len(maps) == 1 else 2
    nrows = math.ceil(len(maps) / ncols)
    # every panel as tall as the longest translation, so the cells are squares of one size across panels
    rows_max = max(a.shape[0] for a, _, _ in maps)
    cols_max = max(a.shape[1] for a, _, _ in maps)
    cell = min(0.22, (WIDTH_IN / ncols - 1.4) / cols_max)
    panel_h = rows_max * cell + 1.3
    fig = Figure(figsize=(WIDTH_IN, nrows * panel_h + 0.6))
    for i, (a, src, out) in enumerate(maps):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        ax.imshow(a, cmap="Greys", vmin=0.0, vmax=1.0, interpolation="nearest", aspect="equal")
        ax.set_xticks(np.arange(len(src)))
        ax.set_xticklabels(src, rotation=90, fontsize=7)
        ax.xaxis.tick_top()
        ax.set_yticks(np.arange(len(out)))
        ax.set_yticklabels(out, fontsize=7)
        ax.tick_params(length=0)
    fig.subplots_adjust(left=0.1, right=0.98, top=1 - 1.2 / (nrows * panel_h + 0.6), bottom=0.02, wspace=0.35,
                        hspace=0.5)
    fig.suptitle("Attention weights alpha_tj (black = 1): Spanish word written (rows) vs English word read "
                 "(columns)", fontsize=11)
    return _save(fig, _out(run_dir, out_png, "attention.png"))


# ------------------------------------------------------------------------------------- story attention
MAX_STORIES = 6


def story_attention(run_dir, out_png=None) -> Path | None:
    """A question-answering run's test stories, as Sukhbaatar et al. 2015 draw them: each sentence of the story
    with the weight the model gave it at each hop (MemN2N's attention; EntNet's gates times its output
    attention), darker = more; the supporting facts marked with *, the question, the true and predicted answer."""
    run_dir = Path(run_dir)
    art = _load_artifacts(run_dir)
    stories = []
    for k in range(MAX_STORIES):
        text, w = art.get(f"story_{k}"), art.get(f"story_weights_{k}")
        if text is None or w is None:
            break
        w = np.asarray(w, dtype=float)
        if w.ndim != 2 or w.shape[1] != len(text):
            raise ValueError(f"story_weights_{k} is {w.shape}, not hops x {len(text)} sentences")
        support = {int(i) for i in np.atleast_1d(art.get(f"story_support_{k}", np.zeros(0, dtype=int)))}
        head = (f"task {int(art.get(f'story_task_{k}', 0))}: {art.get(f'story_question_{k}', '')}  "
                f"true: {art.get(f'story_answer_{k}', '')}  predicted: {art.get(f'story_predicted_{k}', '')}")
        ok = str(art.get(f"story_answer_{k}", "")) == str(art.get(f"story_predicted_{k}", "?"))
        stories.append((head, ok, [str(t) for t in text], np.nan_to_num(w), support))
    if not stories:
        return None
    line_h, cell_w = 0.19, 0.42
    height = 0.9 + sum(line_h * (len(t) + 2.2) for _, _, t, _, _ in stories)
    cv = _Canvas(height)
    y = 0.7
    for head, ok, text, w, support in stories:
        cv.text(0.2, y, head, fontsize=9, fontweight="bold", va="top", color="#1a7f37" if ok else "#b22222")
        y += line_h * 1.2
        hops = w.shape[0]
        for h in range(hops):
            cv.text(0.3 + h * cell_w + cell_w / 2, y, f"hop {h + 1}" if hops > 1 else "weight", fontsize=7,
                    ha="center", va="top")
        y += line_h
        for i, sentence in enumerate(text):
            for h in range(hops):
                v = float(np.clip(w[h, i], 0, 1))
                x0 = 0.3 + h * cell_w
                cv.ax.add_patch(Rectangle((x0, y), cell_w - 0.03, line_h - 0.02, color=str(1 - 0.85 * v)))
                cv.text(x0 + cell_w / 2, y + line_h / 2, f"{v:.2f}", fontsize=6, ha="center", va="center",
                        color="white" if v > 0.5 else "black")
            mark = "* " if i in support else "   "
            cv.text(0.35 + hops * cell_w, y + line_h / 2, f"{mark}{sentence}", fontsize=8, va="center")
            y += line_h
        y += line_h
    cv.title("Test stories: weight of each sentence per hop (* = supporting fact)", size=11)
    return cv.save(_out(run_dir, out_png, "story_attention.png"))


# ---------------------------------------------------------------------------------- captions and clips
RIGHT, WRONG = "#1a7f37", "#b22222"
CAPTION_STRIDE = 4
"""A clip is drawn as every 4th frame (0, 4, 8, ... of 20): enough to see each digit move and bounce."""
LABEL_FRAMES = 24
"""At most this many frames of a clip in the per-frame labels strip (a longer clip shows every k-th)."""
CHAR_IN = 0.06
"""Width of a character of the captions' 8.5 pt text, in inches (DejaVu Sans bold, a little wide for plain)."""
ARROWS = {"up": "↑", "down": "↓", "left": "←", "right": "→"}
"""Direction labels drawn as arrows, so twenty of them fit under twenty frames; other labels as their names."""


def _frames(x: np.ndarray) -> np.ndarray:
    """Images (N, C, H, W) or clips (N, T, C, H, W) -> clips (N, T, C, H, W) (an image is a clip of one)."""
    x = np.nan_to_num(np.asarray(x, dtype=np.float32))
    return x[:, None] if x.ndim == 4 else x


def captions(run_dir, out_png=None) -> Path | None:
    """A captioning run's test images (or clips, as a strip of every CAPTION_STRIDE-th frame), each with its
    true caption and the beam's top captions and log-probabilities, as the lecture's slides print Show and
    Tell's: the right ones (the best caption is a true one) first, then the wrong ones."""
    run_dir = Path(run_dir)
    art = _load_artifacts(run_dir)
    keys = ("caption_inputs", "caption_top", "caption_logprobs", "caption_truth", "caption_right")
    if any(art.get(k) is None for k in keys):
        return None
    x, top, logp, truth, right = (art[k] for k in keys)
    if x.ndim not in (4, 5):
        raise ValueError(f"caption_inputs is {x.shape}, not N x C x H x W images or N x T x C x H x W clips")
    n = len(x)
    if n == 0:
        return None
    if top.ndim != 2 or len(top) != n or np.shape(logp) != top.shape or np.shape(truth) != (n,) \
            or np.shape(right) != (n,):
        raise ValueError(f"caption_top {top.shape}, caption_logprobs {np.shape(logp)}, caption_truth "
                         f"{np.shape(truth)} and caption_right {np.shape(right)} do not match {n} inputs")
    clips = x.ndim == 5
    x = _frames(x)
    shown = np.arange(0, x.shape[1], CAPTION_STRIDE) if clips else np.arange(1)
    index = art.get("caption_index")
    index = index if index is not None and np.shape(index) == (n,) else np.arange(n)
    blocks = []  # (ok, row of the arrays, [text lines as (words, what follows them)])
    for i in np.argsort(~right.astype(bool), kind="stable"):  # the right ones first, each kind in test order
        # a beam that found fewer captions pads its row with "" at log-probability NaN
        lines = [(f"{k + 1}) {c or '(no words)'}", f"  (logprob: {float(lp):.2f})")
                 for k, (c, lp) in enumerate(zip(top[i], logp[i])) if math.isfinite(float(lp))]
        blocks.append((bool(right[i]), int(i), [(f"#{int(index[i])}  true: {truth[i]}", ""), *lines]))

    margin, col_gap, gap, line_h, head_h, top_h = 0.15, 0.3, 0.18, 0.19, 0.32, 0.6
    cell = 0.8 if clips else 0.95
    frame_gap = 0.04
    label_h = 0.16 if clips else 0.0  # the frame numbers under a strip
    strip_w = len(shown) * cell + (len(shown) - 1) * frame_gap

    def room(ncols: int) -> int:
        """Characters a line may have beside its picture in a column of `ncols`."""
        return int(((WIDTH_IN - 2 * margin - (ncols - 1) * col_gap) / ncols - strip_w - 0.15) / CHAR_IN)

    longest = max(len(a) + len(b) for _, _, lines in blocks for a, b in lines)
    ncols = 2 if not clips and longest <= room(2) else 1  # two columns while every line fits in one
    col_w = (WIDTH_IN - 2 * margin - (ncols - 1) * col_gap) / ncols
    chars = room(ncols)

    def fit(words: str, tail: str) -> str:
        """The line, its words cut short (never the log-probability) when it is longer than the room."""
        cut = max(8, chars - len(tail) - 4)
        return (words if len(words) + len(tail) <= chars else words[:cut].rstrip() + " ...") + tail

    block_h = max(cell * x.shape[-2] / x.shape[-1] + label_h, line_h * max(len(b[2]) for b in blocks)) + gap
    kinds = [ok for ok in (True, False) if any(b[0] == ok for b in blocks)]
    rows = {ok: math.ceil(sum(b[0] == ok for b in blocks) / ncols) for ok in kinds}
    cv = _Canvas(top_h + sum(head_h + rows[ok] * block_h for ok in kinds) + 0.1)
    y = top_h
    for ok in kinds:
        mine = [b for b in blocks if b[0] == ok]
        what = "the best caption is a true one" if ok else "the best caption is none of the true ones"
        cv.text(margin, y + head_h / 2, f"{'Right' if ok else 'Wrong'} ({len(mine)}): {what}", fontsize=10,
                fontweight="bold", va="center", color=RIGHT if ok else WRONG)
        y += head_h
        for j, (_, i, lines) in enumerate(mine):
            r, c = divmod(j, ncols)
            x0, y0 = margin + c * (col_w + col_gap), y + r * block_h
            clip = x[i]
            h = cell * clip.shape[-2] / clip.shape[-1]
            for k, t in enumerate(shown):
                arr, kw = _display(np.clip(clip[t], 0, 1))
                cv.image(arr, x0 + k * (cell + frame_gap), y0, cell, h, **kw)
                if clips:
                    cv.text(x0 + k * (cell + frame_gap) + cell / 2, y0 + h + 0.02, f"t={t}", ha="center", va="top",
                            fontsize=7, color="0.4")
            tx = x0 + strip_w + 0.15
            cv.text(tx, y0, fit(*lines[0]), fontsize=8.5, fontweight="bold", va="top", color=RIGHT if ok else WRONG)
            for k, line in enumerate(lines[1:], 1):
                cv.text(tx, y0 + k * line_h, fit(*line), fontsize=8.5, va="top")
        y += rows[ok] * block_h
    what = f"clips (every {CAPTION_STRIDE}th frame)" if clips else "images"
    cv.title(f"Test {what} with the beam's top {top.shape[1]} captions and their log-probabilities", size=11)
    return cv.save(_out(run_dir, out_png, "captions.png"))


def clip_labels(run_dir, out_png=None) -> Path | None:
    """A video classifier's test clips frame by frame, with the true label of every frame and the model's
    beneath it: red where wrong; yellow where a bounce has turned the motion against the clip's first
    direction (the frames tasks/video.py's bounced-frame accuracy counts). A many-to-one model's one answer
    per clip shows under every frame."""
    run_dir = Path(run_dir)
    art = _load_artifacts(run_dir)
    x, true, pred = (art.get(k) for k in ("clip_inputs", "clip_frame_true", "clip_frame_pred"))
    if x is None or true is None or pred is None:
        return None
    if x.ndim not in (4, 5):
        raise ValueError(f"clip_inputs is {x.shape}, not N x T x C x H x W clips")
    if len(x) == 0:
        return None
    x = x[:, :, None] if x.ndim == 4 else x  # N, T, H, W: grey frames
    n, T = x.shape[:2]
    if np.shape(true) != (n, T) or np.shape(pred) != (n, T):
        raise ValueError(f"clip_frame_true {np.shape(true)} and clip_frame_pred {np.shape(pred)} are not "
                         f"{n} clips x {T} frames")
    true, pred = true.astype(np.int64), pred.astype(np.int64)
    names = _classes(art, int(max(true.max(), pred.max())) + 1)
    clip_true, clip_pred = art.get("clip_true"), art.get("clip_pred")
    whole = clip_true is not None and clip_pred is not None and np.shape(clip_true) == np.shape(clip_pred) == (n,)
    shown = np.arange(0, T, math.ceil(T / LABEL_FRAMES))

    def name_of(c: int) -> str:
        return names[c] if 0 <= c < len(names) else str(c)

    def mark(c: int) -> str:
        return ARROWS.get(name_of(c), name_of(c))

    margin, label_w, gap, head_h, row_h, block_gap, top_h = 0.12, 0.62, 0.03, 0.26, 0.2, 0.16, 0.7
    cell = (WIDTH_IN - 2 * margin - label_w - gap * (len(shown) - 1)) / len(shown)
    h = cell * x.shape[-2] / x.shape[-1]
    block_h = head_h + h + 2 * row_h + block_gap
    cv = _Canvas(top_h + n * block_h + 0.3)
    arrows = any(name in ARROWS for name in names)
    small = 11 if arrows else 6
    for i in range(n):
        y = top_h + i * block_h
        hits = int((true[i] == pred[i]).sum())
        head = f"test clip {i}: {hits} of {T} frames right"
        if whole:
            ok = int(clip_true[i]) == int(clip_pred[i])
            head += f" · clip label {name_of(int(clip_true[i]))}, the model's {name_of(int(clip_pred[i]))}"
        else:
            ok = hits == T
        cv.text(margin, y + head_h / 2, head, fontsize=9, fontweight="bold", va="center", color=RIGHT if ok else WRONG)
        cv.text(margin, y + head_h + h + row_h / 2, "true", fontsize=8, va="center")
        cv.text(margin, y + head_h + h + 1.5 * row_h, "model", fontsize=8, va="center")
        for k, t in enumerate(shown):
            x0 = margin + label_w + k * (cell + gap)
            arr, kw = _display(np.clip(np.nan_to_num(x[i, t].astype(np.float32)), 0, 1))
            cv.image(arr, x0, y + head_h, cell, h, **kw)
            ty = y + head_h + h
            if true[i, t] != true[i, 0]:  # after a bounce
                cv.ax.add_patch(Rectangle((x0, ty + 0.01), cell, 2 * row_h - 0.02, color="#fff1b8", lw=0))
            cv.text(x0 + cell / 2, ty + row_h / 2, mark(int(true[i, t])), ha="center", va="center", fontsize=small)
            wrong = pred[i, t] != true[i, t]
            cv.text(x0 + cell / 2, ty + 1.5 * row_h, mark(int(pred[i, t])), ha="center", va="center", fontsize=small,
                    color=WRONG if wrong else RIGHT, fontweight="bold" if wrong else "normal")
    legend = "  ".join(f"{ARROWS[s]} {s}" for s in names if s in ARROWS)
    every = f"every {shown[1] - shown[0]}th frame, " if len(shown) > 1 and shown[1] > 1 else ""
    cv.title(f"Test clips, {every}each frame's label: the true one and the model's\nred: wrong · yellow: moving "
             "against the clip's first direction" + (f" · {legend}" if legend else ""), size=10)
    return cv.save(_out(run_dir, out_png, "clip_labels.png"))


# ------------------------------------------------------------------------------------------ image grids
def image_grids(run_dir) -> list[Path]:
    """One PNG per `grid:NAME` array in artifacts.npz: rows x columns of images (R, N, C, H, W), each row
    labelled by `grid:NAME:rows` and the whole titled by `grid:NAME:title`. Reconstructions, samples,
    interpolations, the 2-D manifold and the like all come out of this one drawing."""
    run_dir = Path(run_dir)
    art = _load_artifacts(run_dir)
    written = []
    for key in sorted(k for k in art if k.startswith("grid:") and k.count(":") == 1):
        name = key.split(":", 1)[1]
        grid = np.asarray(art[key], dtype=np.float32)
        if grid.ndim == 4:
            grid = grid[:, :, None]
        if grid.ndim != 5 or 0 in grid.shape or not name.replace("_", "").isalnum():
            continue
        rows = art.get(f"{key}:rows")
        labels = [str(r) for r in rows] if rows is not None and np.ndim(rows) == 1 else []
        title = art.get(f"{key}:title")
        r, n, _, h, w = grid.shape
        label_w = min(3.0, max(1.0, 0.08 * max(map(len, labels)) + 0.2)) if any(labels) else 0.12
        gap = 0.04 if n > 12 else 0.08
        cell = min(1.0, (WIDTH_IN - label_w - 0.12 - gap * (n - 1)) / n)
        top = 0.6
        height = top + r * (cell * h / w + gap) + 0.12
        cv = _Canvas(height)
        for i in range(r):
            y = top + i * (cell * h / w + gap)
            if i < len(labels) and labels[i]:
                cv.text(label_w - 0.1, y + cell * h / w / 2, labels[i], ha="right", va="center", fontsize=9)
            for j in range(n):
                arr, kw = _display(np.clip(grid[i, j], 0, 1))
                cv.image(arr, label_w + j * (cell + gap), y, cell, cell * h / w, frame=n <= 16, **kw)
        cv.title(str(title) if title is not None else name.replace("_", " "), size=11)
        written.append(cv.save(run_dir / f"{name}.png"))
    return written


def code_table(run_dir, out_png=None) -> Path | None:
    """Each input's code as a heat map with its values written in, as the lecture tabulates the 8-3-8
    encoder's hidden units."""
    run_dir = Path(run_dir)
    art = _load_artifacts(run_dir)
    h = art.get("code_table")
    if h is None or np.ndim(h) != 2 or 0 in np.shape(h):
        return None
    h = np.asarray(h, dtype=np.float32)
    labels = art.get("code_table_labels")
    n, k = h.shape
    fig = Figure(figsize=(min(WIDTH_IN, 2.5 + 0.9 * k), 1.2 + 0.4 * n))
    ax = fig.add_axes((0.3, 0.06, 0.6, 0.8))
    ax.imshow(h, cmap="Greys", vmin=0, vmax=1, aspect="auto")
    for i in range(n):
        for j in range(k):
            ax.text(j, i, f"{h[i, j]:.2f}", ha="center", va="center", fontsize=10,
                    color="white" if h[i, j] > 0.5 else "black")
    ax.set_xticks(range(k), [f"h{j + 1}" for j in range(k)])
    ax.set_yticks(range(n), [str(x) for x in labels] if labels is not None and len(labels) == n else range(n))
    ax.tick_params(length=0)
    fig.suptitle("Hidden code of each input", fontsize=12)
    return _save(fig, _out(run_dir, out_png, "codes.png"))


# ------------------------------------------------------------------------------------------------ a run
PLOT_FILES = {
    "learning_curves.png": learning_curves,
    "confusion.png": confusion_matrix,
    "misclassified.png": misclassified,
    "sentences.png": sentences,
    "filters.png": filters,
    "feature_maps.png": feature_maps,
    "attention.png": attention_maps,
    "story_attention.png": story_attention,
    "codes.png": code_table,
    "class_shares.png": class_shares,
}
SEQUENCE_PLOT_FILES = {
    "captions.png": captions,
    "clip_labels.png": clip_labels,
}
"""The pictures of captioning and video runs (tasks/caption.py, tasks/video.py), drawn by plot_run as PLOT_FILES
are; kept apart from PLOT_FILES, the figures one classifier's run folder can hold all of at once (a video
classifier's run has its confusion.png from there and clip_labels.png from here)."""


def plot_run(run_dir) -> list[Path]:
    """Every figure the run folder's files allow, written into the folder; returns the paths written.

    Missing files or keys skip a figure silently. A figure whose data is present but malformed is skipped
    with a warning naming it, so one bad array never costs the rest of the report.
    """
    run_dir = Path(run_dir)
    written = []
    for fname, fn in {**PLOT_FILES, **SEQUENCE_PLOT_FILES}.items():
        try:
            path = fn(run_dir, run_dir / fname)
        except Exception as exc:  # noqa: BLE001 -- a broken figure must not sink the report
            warnings.warn(f"{run_dir / fname}: not drawn ({type(exc).__name__}: {exc})", stacklevel=2)
            continue
        if path is not None:
            written.append(path)
    try:
        written += image_grids(run_dir)
    except Exception as exc:  # noqa: BLE001
        warnings.warn(f"{run_dir}: image grids not drawn ({type(exc).__name__}: {exc})", stacklevel=2)
    return written
