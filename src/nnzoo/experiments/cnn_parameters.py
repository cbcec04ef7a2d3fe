"""Lecture claim: sharing weights is what makes convolutional networks affordable. Counted from real layers,
built on the meta device (shapes and counts, no memory):

  one layer     a 200x200 grey image fully connected to 40,000 hidden units needs 40,000 x 40,000 = 1.6
                billion weights (nn.Linear); 100 feature maps of 5x5 kernels need 100 x 5 x 5 = 2,500
                (nn.Conv2d(1, 100, 5)), shared over every position of the image, and give ~96 times as many
                hidden units (100 maps of 196x196)
  the networks  every classic builder (models/alexnet.py, vgg.py, googlenet.py, resnet.py) at ImageNet's
                3x224x224: depth (the longest chain of convolutions and linear layers from image to logits,
                the papers' way of counting: GoogLeNet's 22, ResNet-50's 50), how many weight layers there are
                in all, parameters, multiply-adds per image (models.classic.macs), and the ImageNet top-5 error
                each paper reports, with the setting it was measured in (ensembles, crops, validation or test
                set are not alike: the `paper_top5_setting_*` figures say which)
  ours          with `--run RUNS`: each architecture's Fashion-MNIST test accuracy and training images per
                second, read from fashion-* run folders (eval.json: test_accuracy_percent; step x batch_size
                / train_wall_seconds, validation passes included). RUNS is a run folder, a folder holding run
                folders (e.g. runs/), or several of either joined by commas; the newest evaluated run of each
                architecture is read. Without --run those figures are None ("not measured").

Nothing is trained: the experiment takes seconds, and its quick version is the same thing.
"""
from __future__ import annotations

import copy
import functools
import json
import pathlib
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

from ..errors import UserError
from ..models.classic import macs, param_count
from ..recipes import Recipe

IMAGE_SIDE = 200
"""The lecture's grey image: 200x200 pixels."""
HIDDEN_UNITS = 40_000
"""...fully connected to as many hidden units as it has pixels."""
MAPS, KERNEL = 100, 5
"""...against 100 feature maps of 5x5 kernels."""
IMAGENET = (3, 224, 224)
NAMES = ("alexnet", "vgg11", "vgg16", "vgg19", "googlenet", "resnet18", "resnet34", "resnet50")
LABELS = {"alexnet": "AlexNet", "vgg11": "VGG-11", "vgg16": "VGG-16", "vgg19": "VGG-19", "googlenet": "GoogLeNet",
          "resnet18": "ResNet-18", "resnet34": "ResNet-34", "resnet50": "ResNet-50"}
DATA = "fashion-mnist"

# ImageNet top-5 error (%) as each paper reports it for the network the builder makes, and where: the papers'
# headline figures mix ensembles, many crops and the test server, so each value carries its setting.
# AlexNet: Krizhevsky et al. 2012, table 2 (ILSVRC-2012). VGG: Simonyan & Zisserman 2015, tables 3, 5 and 7.
# GoogLeNet: Szegedy et al. 2015, tables 3 and 5. ResNet: He et al. 2016, tables 2, 3, 4 and 5.
PAPER_TOP5 = {
    "alexnet": (15.3, "ILSVRC-2012 test set, the winning entry: 7 CNNs averaged, 2 of them pre-trained on the "
                      "Fall 2011 release (table 2); 5 CNNs 16.4 % (the figure lectures quote), one CNN 18.2 % "
                      "(validation)"),
    "vgg11": (10.4, "configuration A, one network, single-scale testing, validation set (table 3)"),
    "vgg16": (7.3, "ILSVRC-2014 submission: an ensemble of 7 networks, test set (table 7); configuration D alone, "
                   "multi-crop and dense testing, 7.2 % on the validation set (table 5)"),
    "vgg19": (7.1, "configuration E alone, multi-crop and dense testing, validation set (table 5); 7.0 % on the "
                   "test set (table 7)"),
    "googlenet": (6.67, "ILSVRC-2014 winning entry: 7 models, 144 crops each, test set (table 3); one model, one "
                        "crop 10.07 % (validation, table 5)"),
    "resnet18": (None, "no top-5 figure in the paper: top-1 27.88 %, 10-crop testing, validation set (table 2)"),
    "resnet34": (7.46, "option B shortcuts, one model, 10-crop testing, validation set (table 3); 5.71 % with "
                       "multi-scale fully convolutional testing (table 4)"),
    "resnet50": (5.25, "one model, multi-scale fully convolutional testing, validation set (table 4); 10-crop "
                       "6.71 % (table 3); the ILSVRC-2015 winning ensemble of six depths 3.57 % on the test set "
                       "(table 5); ResNet-152 alone 4.49 % (table 4)"),
}


# ---- (a) one layer on a 200x200 image ----

def one_layer_counts() -> dict:
    """The lecture's arithmetic, counted from real layers on the meta device (no 6.4 GB weight matrix)."""
    pixels = IMAGE_SIDE * IMAGE_SIDE
    with torch.device("meta"):
        # y = W x, W: 40,000 x 40,000 (biases would add 40,000 more; left out on both sides)
        fc = nn.Linear(pixels, HIDDEN_UNITS, bias=False)
        # each map m: y_m = w_m * x (a 5x5 kernel slid over the image), w: 100 x 1 x 5 x 5
        conv = nn.Conv2d(1, MAPS, KERNEL, bias=False)
        maps = conv(torch.empty(1, 1, IMAGE_SIDE, IMAGE_SIDE))  # 1, 100, 196, 196
    fc_params, conv_params = param_count(fc), param_count(conv)
    return {"fc_parameters_200x200_to_40000": fc_params,
            "conv_parameters_100_maps_5x5": conv_params,
            "fc_over_conv_parameters": fc_params // conv_params,
            "fc_hidden_units_200x200_to_40000": HIDDEN_UNITS,
            "conv_hidden_units_100_maps_5x5": maps[0].numel(),
            # each conv weight is used at every one of the 196 x 196 positions: MACs = weights x positions
            "fc_macs_200x200_to_40000": macs(fc, (pixels,)),
            "conv_macs_100_maps_5x5": macs(conv, (1, IMAGE_SIDE, IMAGE_SIDE))}


# ---- (b) the networks ----

WEIGHT_OPS = (F.conv2d, F.linear)
"""The operations that make a layer count towards depth (batch normalisation's scale and shift do not, as in
the papers)."""


class _LongestChain(TorchFunctionMode):
    """Follows every tensor through a forward pass: a tensor's depth is the most weight layers (convolutions,
    linear layers) on any path from the input to it. Torch functions a module calls are seen one level deep (a
    mode is switched off while its own handler runs), so F.conv2d counts once, whatever it calls inside."""

    def __init__(self):
        super().__init__()
        self.depth: dict[int, int] = {}
        self.alive: list[torch.Tensor] = []  # keeps every tensor seen alive, so that no id() is reused

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        d = max((self.depth.get(id(t), 0) for t in inputs), default=0) + (func in WEIGHT_OPS)
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self.depth[id(t)] = d
                self.alive.append(t)
        return out


def depth(model: nn.Module, input_shape) -> int:
    """Weight layers on the longest path from image to logits, in eval mode (GoogLeNet's auxiliary heads,
    which sit beside that path in training only, are not on it): AlexNet 8, VGG-16 16, GoogLeNet 22,
    ResNet-50 50 (a projection shortcut is one layer beside two or three)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), _LongestChain() as chain:
            logits = model(torch.zeros(1, *input_shape, device=device))
    finally:
        model.train(was_training)
    return chain.depth[id(logits)]


def weight_layers(model: nn.Module) -> int:
    """Every convolution and linear layer, also those off the longest path (shortcuts, parallel branches)."""
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())


def imagenet_rows() -> dict[str, dict]:
    """Each builder at its defaults (ImageNet: 3x224x224, 1,000 classes), built on the meta device."""
    return copy.deepcopy(_imagenet_rows())


@functools.lru_cache(maxsize=1)
def _imagenet_rows() -> dict[str, dict]:
    """Counted once per process: the figures depend on the builders alone."""
    from .. import registry
    rows = {}
    for name in NAMES:
        with torch.device("meta"):
            model = registry.create_model(name)
        top5, setting = PAPER_TOP5[name]
        rows[name] = {"depth": depth(model, IMAGENET), "weight_layers": weight_layers(model),
                      "parameters": param_count(model), "macs": macs(model, IMAGENET),
                      "paper_top5_error_percent": top5, "paper_top5_setting": setting}
    return rows


def fashion_recipes() -> dict[str, Recipe]:
    """Architecture -> its Fashion-MNIST recipe (the classify recipes on fashion-mnist with that model)."""
    from .. import registry
    return {r.model: r for r in registry.RECIPES.values()
            if r.task == "classify" and r.data == DATA and r.model in NAMES}


def fashion_shapes() -> dict[str, dict]:
    """Parameters and multiply-adds of each Fashion-MNIST recipe's network, as it trains (28x28 grey, 10
    classes, the recipe's small_input stem and width)."""
    from .. import registry
    out = {}
    for name, recipe in fashion_recipes().items():
        mcfg, _ = registry.resolve(recipe, {})
        with torch.device("meta"):
            model = registry.create_model(name, mcfg, in_shape=(1, 28, 28), n_classes=10)
        out[name] = {"recipe": recipe.name, "width": mcfg.width,
                     "parameters": param_count(model), "macs": macs(model, (1, 28, 28))}
    return out


# ---- (c) our runs ----

def _run_folders(spec: str) -> list[pathlib.Path]:
    """The run folders named by --run: each comma-separated path is a run folder or a folder of them."""
    folders = []
    for part in (p.strip() for p in spec.split(",")):
        path = pathlib.Path(part)
        if not part or not path.is_dir():
            raise UserError(f"--run {part!r}: no such folder; give a fashion-* run folder, a folder of run "
                            f"folders (e.g. runs/), or several joined by commas")
        folders += [path] if (path / "config.json").exists() else sorted(
            p for p in path.iterdir() if (p / "config.json").exists())
    return folders


def measured_runs(spec: str) -> tuple[dict[str, dict], list[str]]:
    """(architecture -> its newest evaluated Fashion-MNIST run's figures, notes on folders passed over)."""
    from ..runs import read_config
    found, notes = {}, []
    for folder in _run_folders(spec):
        doc = read_config(folder)
        if doc["model"] not in NAMES or doc.get("data") != DATA:
            notes.append(f"{folder}: a {doc['recipe']} run on {doc.get('data')!r}, not a classic CNN on {DATA}")
            continue
        ev = folder / "eval.json"
        if not ev.exists():
            notes.append(f"{folder}: not evaluated yet (run: nnzoo eval {folder})")
            continue
        try:
            figures = json.loads(ev.read_text(encoding="utf-8"))
            steps, accuracy = int(figures["step"]), float(figures["test_accuracy_percent"])
        except (ValueError, KeyError, TypeError):
            notes.append(f"{folder}: eval.json is corrupt or lacks step / test_accuracy_percent (run: nnzoo eval "
                         f"{folder})")
            continue
        when = ev.stat().st_mtime
        name = doc["model"]
        if name in found and found[name]["_when"] >= when:
            continue
        batch = doc["train"].get("batch_size", 128)
        wall = float(figures.get("train_wall_seconds") or 0.0)
        found[name] = {"_when": when, "run": str(folder), "recipe": doc["recipe"],
                       "test_accuracy_percent": accuracy,
                       "train_images_per_second": round(steps * batch / wall, 1) if wall > 0 else None,
                       "train_minutes": round(wall / 60, 1), "width": doc["model_config"].get("width", 1.0),
                       "epochs": _epochs(folder)}
    for row in found.values():
        row.pop("_when")
    if not found:
        raise UserError(f"--run {spec}: no evaluated run of {', '.join(NAMES)} on {DATA} there"
                        + (f" ({'; '.join(notes[:3])})" if notes else "")
                        + "; train one with: nnzoo train fashion-resnet18, then nnzoo eval RUN")
    return found, notes


def _epochs(folder: pathlib.Path) -> float | None:
    """Epochs the run trained, from the last record of its metrics.jsonl (None if it has none)."""
    if not (folder / "metrics.jsonl").exists():
        return None
    last = None
    with open(folder / "metrics.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                last = line
    return round(float(json.loads(last)["epoch"]), 2) if last else None


# ---- the experiment ----

def run(out: pathlib.Path, quick: bool = False, seed: int = 0, progress: bool = True,
        run_dir: str | None = None) -> dict:
    """quick and seed change nothing: no training, no randomness; every figure is a count."""
    out = pathlib.Path(out)
    say = (lambda msg: print(f"cnn-parameters: {msg}", file=sys.stderr, flush=True)) if progress else (lambda m: None)
    runs, notes = measured_runs(run_dir) if run_dir else ({}, [])  # before anything is written
    out.mkdir(parents=True, exist_ok=True)
    say("one layer on a 200x200 image")
    figures = one_layer_counts()
    say("the eight builders at 3x224x224, on the meta device")
    rows = imagenet_rows()
    shapes = fashion_shapes()
    for name, row in rows.items():
        for key in ("depth", "weight_layers", "parameters", "macs", "paper_top5_error_percent",
                    "paper_top5_setting"):
            figures[f"{key}_{name}"] = row[key]
    for name in (n for n in NAMES if n in shapes or n in runs):  # the architectures trained on Fashion-MNIST
        shape, measured = shapes.get(name), runs.get(name, {})
        # None where no fashion-* recipe trains this architecture (a run of one's own may)
        for key in ("recipe", "width", "parameters", "macs"):
            figures[f"fashion_{key}_{name}"] = shape[key] if shape else None
        figures[f"fashion_test_accuracy_percent_{name}"] = measured.get("test_accuracy_percent")
        figures[f"fashion_train_images_per_second_{name}"] = measured.get("train_images_per_second")
        figures[f"fashion_run_{name}"] = measured.get("run")
    figures["fashion_runs_read"] = len(runs)
    figures["fashion_runs_passed_over"] = notes
    images = [_plot(out / "cnn_parameters.png", figures, rows, shapes, runs)]
    return {"figures": figures, "images": images, "summary": _summary(figures, rows, shapes, runs)}


def _n(x: float) -> str:
    """1.6e9 -> '1.6 G', 2500 -> '2,500'."""
    for size, unit in ((1e9, "G"), (1e6, "M")):
        if x >= size:
            return f"{x / size:.3g} {unit}"
    return f"{x:,.0f}"


def table(rows: dict, shapes: dict, runs: dict) -> str:
    """The per-architecture table, as text (docs/classic-cnns.md carries a copy)."""
    head = ("network", "depth", "weight layers", "parameters", "MACs/image", "paper top-5 %",
            "Fashion params", "Fashion MACs", "Fashion test %", "train img/s")
    lines = [head]
    for name, r in rows.items():
        s, m = shapes.get(name), runs.get(name)
        lines.append((LABELS[name], str(r["depth"]), str(r["weight_layers"]), _n(r["parameters"]), _n(r["macs"]),
                      "-" if r["paper_top5_error_percent"] is None else f"{r['paper_top5_error_percent']:g}",
                      _n(s["parameters"]) if s else "-", _n(s["macs"]) if s else "-",
                      f"{m['test_accuracy_percent']:.2f}" if m and m["test_accuracy_percent"] is not None else
                      "not measured",
                      f"{m['train_images_per_second']:.0f}" if m and m["train_images_per_second"] else "not measured"))
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    text = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in lines]
    return "\n".join([text[0], "-" * len(text[0])] + text[1:])


def _summary(f: dict, rows: dict, shapes: dict, runs: dict) -> str:
    s = (f"One layer on a {IMAGE_SIDE}x{IMAGE_SIDE} grey image: fully connected to {HIDDEN_UNITS:,} hidden units "
         f"it has {f['fc_parameters_200x200_to_40000']:,} weights; {MAPS} feature maps of {KERNEL}x{KERNEL} kernels "
         f"have {f['conv_parameters_100_maps_5x5']:,} ({f['fc_over_conv_parameters']:,} times fewer) and give "
         f"{f['conv_hidden_units_100_maps_5x5']:,} hidden units, each weight reused at "
         f"{f['conv_hidden_units_100_maps_5x5'] // MAPS:,} positions. At 3x224x224: ")
    s += "; ".join(f"{LABELS[n]} {r['depth']} layers deep, {_n(r['parameters'])} parameters, {_n(r['macs'])} "
                   f"multiply-adds per image" for n, r in rows.items())
    a, r = rows["alexnet"], rows["resnet50"]
    s += (f". From AlexNet to ResNet-50 the parameters fall {a['parameters'] / r['parameters']:.1f}x while the "
          f"multiply-adds grow {r['macs'] / a['macs']:.1f}x and depth {r['depth'] / a['depth']:.2g}x; the papers' "
          f"top-5 error falls from {a['paper_top5_error_percent']:g} % to {r['paper_top5_error_percent']:g} % "
          "(measured in unlike settings: see paper_top5_setting_*). ")
    if runs:
        s += "Fashion-MNIST, our runs: " + "; ".join(
            f"{LABELS[n]} (width {m['width']:g}) {m['test_accuracy_percent']:.2f} % test accuracy at "
            + ("unknown" if m["train_images_per_second"] is None else f"{m['train_images_per_second']:.0f}")
            + f" training images/s, {'?' if m['epochs'] is None else format(m['epochs'], 'g')} epochs in "
            f"{m['train_minutes']:g} min" for n, m in runs.items()) + ". "
    else:
        s += ("Fashion-MNIST accuracy and images/s: not measured (give --run with fashion-* run folders, "
              "e.g. --run runs/).")
    return s


# where each point's label sits (points, alignment), so that neighbours' labels do not overlap
LABEL_AT = {"vgg11": (-9, 0, "right"), "vgg16": (0, -18, "center"), "vgg19": (0, 18, "left"),
            "resnet34": (-9, 0, "right"), "resnet50": (9, 6, "left")}


def _plot(path: pathlib.Path, f: dict, rows: dict, shapes: dict, runs: dict) -> str:
    from matplotlib.figure import Figure
    fig = Figure(figsize=(15, 4.8))
    ax1, ax2, ax3 = fig.subplots(1, 3, gridspec_kw=dict(width_ratios=[2, 4, 3]))

    bars = [(f"fully connected\n{IMAGE_SIDE}x{IMAGE_SIDE} -> {HIDDEN_UNITS:,}", f["fc_parameters_200x200_to_40000"]),
            (f"{MAPS} maps of\n{KERNEL}x{KERNEL} kernels", f["conv_parameters_100_maps_5x5"])]
    ax1.bar(range(2), [b[1] for b in bars], color=["#d62728", "#1f77b4"])
    ax1.set_yscale("log")
    for i, (_, v) in enumerate(bars):
        ax1.text(i, v * 1.3, f"{v:,}", ha="center", va="bottom", fontsize=9)
    ax1.set_ylim(1e2, 1e11)
    ax1.set_xticks(range(2), [b[0] for b in bars], fontsize=8)
    ax1.set_ylabel("weights (log scale)")
    ax1.set_title(f"one layer on a {IMAGE_SIDE}x{IMAGE_SIDE} grey image", fontsize=10)

    colors = {"alexnet": "#8c564b", "vgg": "#d62728", "googlenet": "#2ca02c", "resnet": "#1f77b4"}
    for name, r in rows.items():
        family = next(k for k in colors if name.startswith(k))
        ax2.scatter(r["macs"] / 1e9, r["parameters"] / 1e6, s=30 + 4 * r["depth"], color=colors[family])
        top5 = r["paper_top5_error_percent"]
        dx, dy, ha = LABEL_AT.get(name, (7, 0, "left"))
        ax2.annotate(f"{LABELS[name]} ({r['depth']})" + ("" if top5 is None else f"\ntop-5 {top5:g} %"),
                     (r["macs"] / 1e9, r["parameters"] / 1e6), textcoords="offset points", xytext=(dx, dy),
                     ha=ha, va="center", fontsize=7)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlim(0.4, 60)
    ax2.set_ylim(4, 400)
    ax2.set_xlabel("multiply-adds per 3x224x224 image (G, log scale)")
    ax2.set_ylabel("parameters (M, log scale)")
    ax2.set_title("ImageNet builders: (depth), the paper's top-5 error (settings differ)", fontsize=10)

    names = [n for n in NAMES if n in shapes]
    acc = [runs.get(n, {}).get("test_accuracy_percent") for n in names]
    if any(a is not None for a in acc):
        for n in names:
            m = runs.get(n)
            if m and m["test_accuracy_percent"] is not None and m["train_images_per_second"]:
                ax3.scatter(m["train_images_per_second"], m["test_accuracy_percent"], color="#1f77b4")
                ax3.annotate(f"{LABELS[n]} (w {m['width']:g})", (m["train_images_per_second"],
                                                                 m["test_accuracy_percent"]),
                             textcoords="offset points", xytext=(5, 2), fontsize=8)
        ax3.set_xlabel("training images per second (our runs)")
        ax3.set_ylabel("Fashion-MNIST test accuracy (%)")
        ax3.set_title("our Fashion-MNIST runs", fontsize=10)
    else:
        ax3.bar(range(len(names)), [shapes[n]["macs"] / 1e6 for n in names], color="#999999")
        ax3.set_xticks(range(len(names)), [f"{LABELS[n]}\nw {shapes[n]['width']:g}" for n in names], fontsize=8)
        ax3.set_ylabel("multiply-adds per 28x28 image (M)")
        ax3.set_title("the fashion-* recipes' networks\naccuracy, images/s: not measured (--run RUNS)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path.name
