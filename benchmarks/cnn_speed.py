"""CNN speed: images per second of the classic CNNs' small-input variants (28x28 grey images, 10 classes, as
the fashion-* recipes build them) on this CPU, at batch 128, for a training step (forward + backward + SGD
update) and for inference (eval mode, no gradients), in three forms side by side in one run. Each network
has its fashion-* recipe's options (VGG-11 batch-normed, GoogLeNet with its auxiliary heads, which train but do
not infer) at the width --width gives (default 1, the papers' channels; the recipes train at 0.5):

    fp32            plain float32, contiguous (N, C, H, W) tensors: what `precision=fp32` trains with
    bf16            the same under torch.autocast(bfloat16): what `precision=auto` picks on a CPU with bf16
                    units (AVX512-BF16 or AMX); elsewhere skipped (it would be emulated and far slower)
                    unless --bf16 on
    channels_last   float32 with the model's weights and the images in channels-last memory format
                    (N, H, W, C strides), which oneDNN's convolutions prefer on some CPUs

    python benchmarks/cnn_speed.py [--models resnet18 vgg11] [--seconds 5] [--threads 2] [--json]

The cells are timed in rounds (each round times every form of a model once, for --seconds / ROUNDS), so
drift on a shared machine hits all forms alike; a cell's figure is the batch size over its median step time.
Each form of a model is its own copy of the same initial weights (deep-copied), with its own optimizer.
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time

import torch

from nnzoo import registry
from nnzoo.models.classic import macs, param_count
from nnzoo.train.device import cpu_has_bf16

MODELS = ("alexnet", "vgg11", "vgg16", "vgg19", "googlenet", "resnet18", "resnet34", "resnet50")
FORMS = ("fp32", "bf16", "channels_last")
MODES = ("train", "inference")
IN_SHAPE = (1, 28, 28)  # Fashion-MNIST
N_CLASSES = 10
ROUNDS = 3
"""Alternations of the forms per model; each cell gets --seconds / ROUNDS per round."""
WARMUP_STEPS = 2
"""Untimed steps per cell before its first timed round: oneDNN picks its kernels on the first call."""


def recipe_options(name: str) -> dict:
    """The model options of the fashion-* recipe that trains this network (VGG-11's batch norm, GoogLeNet's
    auxiliary heads), less its width; {} where no recipe does: the builder's defaults."""
    for r in registry.RECIPES.values():
        if r.model == name and r.data == "fashion-mnist":
            return {k: v for k, v in r.model_config.items() if k not in ("width", "small_input")}
    return {}


def build(name: str, width: float) -> torch.nn.Module:
    """The small-input network with its fashion-* recipe's options at `width` (the classify task sets
    in_shape and n_classes from the data, as here)."""
    return registry.create_model(name, in_shape=IN_SHAPE, n_classes=N_CLASSES, small_input=True, width=width,
                                 **recipe_options(name))


class Cell:
    """One (form, mode) of one model: its own model copy, optimizer and inputs; `step()` runs one batch."""

    def __init__(self, base: torch.nn.Module, form: str, mode: str, x: torch.Tensor, y: torch.Tensor):
        self.model = copy.deepcopy(base)
        self.bf16 = form == "bf16"
        if form == "channels_last":
            self.model = self.model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        self.x, self.y, self.mode = x, y, mode
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.model.train(mode == "train")
        self.times: list[float] = []

    def step(self) -> float:
        t0 = time.perf_counter()
        if self.mode == "train":
            self.opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                loss = self.model.loss((self.x, self.y))["loss"]
            loss.backward()
            self.opt.step()
        else:
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                self.model(self.x)
        return time.perf_counter() - t0

    def run_for(self, seconds: float) -> None:
        """Time steps until `seconds` have passed (at least one step)."""
        end = time.perf_counter() + seconds
        while True:
            self.times.append(self.step())
            if time.perf_counter() >= end:
                return


def measure(name: str, forms: list[str], batch: int, seconds: float, width: float, say) -> dict:
    torch.manual_seed(0)
    base = build(name, width)
    x = torch.rand(batch, *IN_SHAPE)
    y = torch.randint(0, N_CLASSES, (batch,))
    cells = {(f, m): Cell(base, f, m, x, y) for f in forms for m in MODES}
    for cell in cells.values():
        for _ in range(WARMUP_STEPS):
            cell.step()
    for r in range(ROUNDS):
        say(f"{name}: round {r + 1}/{ROUNDS}")
        for cell in cells.values():
            cell.run_for(seconds / ROUNDS)
    with torch.device("meta"):
        meta = build(name, width)
    return {
        "options": recipe_options(name), "parameters": param_count(meta), "macs_per_image": macs(meta, IN_SHAPE),
        "images_per_s": {m: {f: round(batch / statistics.median(cells[f, m].times), 1) for f in forms}
                         for m in MODES},
        "steps_timed": {m: {f: len(cells[f, m].times) for f in forms} for m in MODES},
    }


def table(result: dict) -> str:
    forms = result["forms"]
    head = ["model", "options", "params", "MMACs/img"] + [f"{m} {f}" for m in MODES for f in forms]
    rows = [head]
    for name, r in result["models"].items():
        options = ",".join(f"{k}={v}" for k, v in r["options"].items()) or "-"
        rows.append([name, options, f"{r['parameters'] / 1e6:.2f} M", f"{r['macs_per_image'] / 1e6:.0f}"]
                    + [f"{r['images_per_s'][m][f]:.0f}" for m in MODES for f in forms])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS, metavar="NAME",
                   help=f"networks to time (default all: {' '.join(MODELS)})")
    p.add_argument("--seconds", type=float, default=6.0, help="timed seconds per cell (model x form x mode)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--batch", type=int, default=128, help="images per step (the recipes' 128)")
    p.add_argument("--width", type=float, default=1.0,
                   help="the builders' width multiplier (default 1, the papers'; the fashion-* recipes: 0.5)")
    p.add_argument("--bf16", choices=("auto", "on", "off"), default="auto",
                   help="auto: time bf16 autocast where the CPU has bf16 units; on: time it anyway (emulated)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = p.parse_args()
    if args.seconds <= 0 or args.threads < 1 or args.batch < 1:
        p.error("--seconds, --threads and --batch must be positive")
    torch.set_num_threads(args.threads)
    units = cpu_has_bf16()
    time_bf16 = args.bf16 == "on" or (args.bf16 == "auto" and units)
    forms = [f for f in FORMS if f != "bf16" or time_bf16]
    bf16_note = ("timed; this CPU has bf16 units" if units and time_bf16 else
                 "timed although this CPU has no bf16 units (AVX512-BF16 / AMX): emulated" if time_bf16 else
                 "not timed (--bf16 off)" if units else
                 "not timed: this CPU has no bf16 units (AVX512-BF16 / AMX), so precision=auto trains in fp32 "
                 "here and bf16 would be emulated; --bf16 on times it anyway")
    def say(msg: str) -> None:  # progress on stderr, so that --json's stdout is one object
        print(f"cnn_speed: {msg}", file=sys.stderr, flush=True)

    start = time.perf_counter()
    result = {"benchmark": "cnn_speed", "batch": args.batch, "in_shape": list(IN_SHAPE), "width": args.width,
              "threads": torch.get_num_threads(), "seconds_per_cell": args.seconds, "forms": forms,
              "bf16": bf16_note, "torch": torch.__version__,
              "cpu_capability": torch.backends.cpu.get_cpu_capability(), "models": {}}
    for name in args.models:
        result["models"][name] = measure(name, forms, args.batch, args.seconds, args.width, say)
        say(f"{name}: done ({time.perf_counter() - start:.0f} s)")
    result["wall_s"] = round(time.perf_counter() - start, 1)
    if args.json:
        print(json.dumps(result))
        return
    print(f"images/s, batch {args.batch} of {'x'.join(map(str, IN_SHAPE))} images, {result['threads']} threads, "
          f"torch {torch.__version__} ({result['cpu_capability']}), width {args.width:g}; median step of "
          f"~{args.seconds:g} s per cell")
    print(table(result))
    print(f"bf16: {bf16_note}")


if __name__ == "__main__":
    main()
