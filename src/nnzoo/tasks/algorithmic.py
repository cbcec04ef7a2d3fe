"""Algorithmic sequence tasks of Graves, Wayne & Danihelka 2014 ("Neural Turing Machines", section 4), generated
on the fly: the data name picks one.

  copy                random vectors of `bits` bits (length min_len..max_len), then a delimiter on an extra
                      input channel; the answer is the same vectors, in order, after the delimiter (4.1)
  repeat-copy         the vectors, then a delimiter with the number of repeats n on a second extra channel
                      (scaled to mean 0, variance 1 over the trained range); the answer is the sequence n
                      times, then an end marker on an extra output channel (4.2)
  associative-recall  items of 3 vectors, each after a delimiter; then a query delimiter, one of the items
                      (not the last), the query delimiter again; the answer is the item that followed it (4.3)

The stream has no end and no state: the batch of step k is drawn from a generator seeded by (seed, stage,
k), so a resumed run sees the very batches a straight one does. One size per batch (as pytorch-ntm does): a
batch pads nothing, and its steps are as many as its sequences need. The sizes and the curriculum are model
keys (models/ntm.py: SequenceKeys), which config.json keeps.

Scored: binary cross-entropy per answer bit (the loss) and the wrong bits per sequence with the outputs
thresholded at 0.5 (Graves et al.'s and pytorch-ntm's "cost per sequence"), on fixed test sequences at the
trained size and beyond it (copy: lengths 20, 40, 80, 120). The pictures: input, target, output and every
head's weighting over time (Graves et al. figures 4-6), as image grids in artifacts.npz and from
`nnzoo sample RUN --length L` as one PNG.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from ..train.stream import Epoch
from .base import SampleRequest, Task as BaseTask

VAL_SEQUENCES = 128
"""Fixed sequences at the longest trained size behind each epoch's validation figures."""
TEST_SEQUENCES = 100
"""Fixed sequences per test size."""
EVAL_BATCH = 50
VAL_SEED, TEST_SEED, SAMPLE_SEED = 7_001, 7_002, 7_003
"""The held-out sequences' own seeds, apart from every training seed: every run is scored on the same ones."""
MAX_BOXES = 16
"""The pictures cut time into at most this many boxes (report/plots.py draws a grid cell at most an inch
wide, so one box per time step would be too narrow for long sequences)."""
MAX_SLOTS_SHOWN = 64


def stream_seed(*parts: int) -> int:
    """One 63-bit seed from several integers (seed, stage, step): distinct tuples, unrelated streams."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1, np.uint64)[0] >> np.uint64(1))


def random_bits(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randint(0, 2, shape, generator=gen).float()


def longest(lo: int, hi: int, curriculum: int, step: int) -> int:
    """The longest size drawn at a step: hi, or with a curriculum lo at step 0 widening linearly to hi."""
    if curriculum <= 0:
        return hi
    return lo + math.ceil((hi - lo) * min(1.0, (step + 1) / curriculum))


def uniform_int(gen: torch.Generator, lo: int, hi: int) -> int:
    return int(torch.randint(lo, hi + 1, (1,), generator=gen))


class Copy:
    name, prefix = "copy", "copy"
    what = "vectors"

    def dims(self, keys) -> tuple[int, int]:
        return keys.bits + 1, keys.bits  # the delimiter channel in; the bits out

    def draw(self, keys, gen, step: int):
        return uniform_int(gen, keys.min_len, longest(keys.min_len, keys.max_len, keys.curriculum, step))

    def largest(self, keys):
        return keys.max_len

    def tests(self, keys) -> list[tuple[str, int]]:
        return [(f"len{n}", n) for n in (20, 40, 80, 120)]

    def sample_size(self, keys, length: int):
        return length

    def make(self, n: int, L: int, keys, gen):
        b = keys.bits
        seq = random_bits(gen, n, L, b)  # n, L, bits
        T = 2 * L + 1
        x, y, mask = torch.zeros(n, T, b + 1), torch.zeros(n, T, b), torch.zeros(n, T)
        x[:, :L, :b] = seq
        x[:, L, b] = 1.0  # the delimiter: now give it back
        y[:, L + 1:] = seq
        mask[:, L + 1:] = 1.0
        return x, y, mask


class RepeatCopy(Copy):
    name, prefix = "repeat-copy", "repeat_copy"

    def dims(self, keys):
        return keys.bits + 2, keys.bits + 1  # delimiter and repeat channels in; the bits and an end marker out

    def draw(self, keys, gen, step: int):
        L = super().draw(keys, gen, step)
        return L, uniform_int(gen, keys.min_repeats, keys.max_repeats)

    def largest(self, keys):
        return keys.max_len, keys.max_repeats

    def tests(self, keys):
        # Graves et al. figure 10: the trained length and repeats, then twice the repeats, then twice the length
        L, n = keys.max_len, keys.max_repeats
        return [(f"len{L}_rep{n}", (L, n)), (f"len{L}_rep{2 * n}", (L, 2 * n)), (f"len{2 * L}_rep{n}", (2 * L, n))]

    def sample_size(self, keys, length: int):
        return length, keys.max_repeats

    def make(self, n: int, size, keys, gen):
        L, reps = size
        b = keys.bits
        seq = random_bits(gen, n, L, b)  # n, L, bits
        T = L + 1 + reps * L + 1
        x, y, mask = torch.zeros(n, T, b + 2), torch.zeros(n, T, b + 1), torch.zeros(n, T)
        x[:, :L, :b] = seq
        x[:, L, b] = 1.0
        lo, hi = keys.min_repeats, keys.max_repeats
        # the repeat count scaled by the mean and standard deviation of the trained uniform range
        mean, std = (lo + hi) / 2, math.sqrt(((hi - lo + 1) ** 2 - 1) / 12) or 1.0
        x[:, L, b + 1] = (reps - mean) / std
        y[:, L + 1:L + 1 + reps * L, :b] = seq.repeat(1, reps, 1)
        y[:, -1, b] = 1.0  # the end marker
        mask[:, L + 1:] = 1.0
        return x, y, mask


class Recall(Copy):
    name, prefix = "associative-recall", "recall"
    what = "items"
    ITEM = 3
    """Vectors per item (Graves et al.: 3)."""

    def dims(self, keys):
        return keys.bits + 2, keys.bits  # item and query delimiter channels in

    def tests(self, keys):
        # the trained number of items, twice and three times as many (Graves et al. figure 12 goes to 15)
        return [(f"items{k}", k) for k in (keys.max_len, 2 * keys.max_len, 3 * keys.max_len)]

    def make(self, n: int, K: int, keys, gen):
        b, V = keys.bits, self.ITEM
        items = random_bits(gen, n, K, V, b)  # n, K, 3, bits
        q = torch.randint(0, K - 1, (n,), generator=gen)  # the query: any item but the last
        rows = torch.arange(n)
        T = K * (V + 1) + 1 + V + 1 + V
        x, y, mask = torch.zeros(n, T, b + 2), torch.zeros(n, T, b), torch.zeros(n, T)
        body = torch.zeros(n, K, V + 1, b + 2)
        body[:, :, 0, b] = 1.0  # each item's delimiter
        body[:, :, 1:, :b] = items
        x[:, :K * (V + 1)] = body.flatten(1, 2)
        start = K * (V + 1)
        x[:, start, b + 1] = 1.0  # the query delimiter, the query, the query delimiter
        x[:, start + 1:start + 1 + V, :b] = items[rows, q]
        x[:, start + 1 + V, b + 1] = 1.0
        y[:, -V:] = items[rows, q + 1]
        mask[:, -V:] = 1.0
        return x, y, mask


KINDS = {k.name: k for k in (Copy(), RepeatCopy(), Recall())}


def kind_of(name: str):
    if name not in KINDS:
        raise UserError(f"data {name!r} is not an algorithmic task; choose one of {', '.join(KINDS)}, "
                        f"e.g. data=copy")
    return KINDS[name]


@dataclass
class Stream:
    kind: object
    """One of KINDS."""
    keys: object = None
    """The model config's SequenceKeys (set by Task.adapt)."""


def size_text(kind, size) -> str:
    if isinstance(size, tuple):
        return f"length {size[0]}, {size[1]} repeats"
    return f"{size} {kind.what}" if kind.what == "items" else f"length {size}"


@torch.no_grad()
def score(model, kind, keys, size, n: int, seed: int, device) -> dict:
    """Mean loss, wrong bits per sequence and share of perfect sequences of n fixed sequences of one size."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    bce = scored = wrong = perfect = 0.0
    for i in range(0, n, EVAL_BATCH):
        x, y, mask = kind.make(min(EVAL_BATCH, n - i), size, keys, gen)
        logits = model(x.to(device))[0].float().cpu()
        per_bit = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none").sum(-1)
        bce += float((per_bit * mask).sum())
        scored += float(mask.sum()) * y.size(-1)
        per_seq = (((logits > 0).float() != y).float().sum(-1) * mask).sum(1)  # B
        wrong += float(per_seq.sum())
        perfect += float((per_seq == 0).sum())
    return {"loss": bce / max(1.0, scored), "bits_per_seq": wrong / n, "perfect": perfect / n}


# ----------------------------------------------------------------------------------------------- pictures
def heads_window(trace: dict, threshold: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(write, read) weightings of one sequence, each (heads, T, slots), rolled so the first write's slot is
    row 1 (the memory is a ring, so the rows stay neighbours), and cut to the rows any head weighted above
    `threshold` (at most MAX_SLOTS_SHOWN)."""
    write = trace["write"][0].float().numpy().transpose(1, 0, 2)  # W, T, N
    read = trace["read"][0].float().numpy().transpose(1, 0, 2)  # R, T, N
    N = write.shape[-1]
    first = int(write[0, 0].argmax())
    roll = 1 - first
    write, read = np.roll(write, roll, -1), np.roll(read, roll, -1)
    used = np.nonzero(np.maximum(write.max((0, 1)), read.max((0, 1))) > threshold)[0]
    shown = min(N, MAX_SLOTS_SHOWN, int(used.max()) + 2 if len(used) else N)
    return write[..., :shown], read[..., :shown]


def boxes(a: np.ndarray, per_box: int) -> np.ndarray:
    """(rows, T) -> (boxes, 1, rows, per_box): time cut into boxes of per_box steps (the last zero-padded)."""
    rows, T = a.shape
    n = -(-T // per_box)
    padded = np.zeros((rows, n * per_box), dtype=np.float32)
    padded[:, :T] = a
    return padded.reshape(rows, n, per_box).transpose(1, 0, 2)[:, None]


def picture_arrays(name: str, x, y, mask, probs, trace) -> dict:
    """artifacts.npz's `grid:` arrays for one sequence: input, target and output (channels x time) and, for a
    model with heads, every head's weighting (slots x time), each row of boxes one signal."""
    x, y, mask, probs = (t[0].float().numpy() for t in (x, y, mask, probs))
    T = x.shape[0]
    per_box = max(1, -(-T // MAX_BOXES))
    C = max(x.shape[1], y.shape[1])

    def rows_of(a):  # T, channels -> C, T (channels padded to the input's)
        out = np.zeros((C, T), dtype=np.float32)
        out[:a.shape[1]] = a.T
        return out

    art = {f"grid:{name}": np.stack([boxes(rows_of(x), per_box), boxes(rows_of(y * mask[:, None]), per_box),
                                     boxes(rows_of(probs * mask[:, None]), per_box)]),
           f"grid:{name}:rows": np.array(["input", "target", "output"]),
           f"grid:{name}:title": np.array(f"{name.replace('_', ' ')}: channels (down) over time (across, "
                                          f"{per_box} steps a box); white = 1")}
    if trace:
        write, read = heads_window(trace)
        heads = [*write, *read]
        art[f"grid:{name}_heads"] = np.stack([boxes(h.T, per_box) for h in heads])
        art[f"grid:{name}_heads:rows"] = np.array([f"write head {i + 1}" for i in range(len(write))]
                                                  + [f"read head {i + 1}" for i in range(len(read))])
        art[f"grid:{name}_heads:title"] = np.array(
            f"{name.replace('_', ' ')}: head weightings, memory slots (down, from the first write) over time "
            f"(across, {per_box} steps a box)")
    return art


def draw_sequence(path: Path, title: str, panels: list[tuple[str, np.ndarray]]) -> Path:
    """One PNG of stacked heat maps sharing the time axis: panels of (label, array rows x T) in [0, 1]."""
    from matplotlib.figure import Figure
    heights = [max(2.0, min(24.0, a.shape[0])) for _, a in panels]
    fig = Figure(figsize=(10, 1.2 + 0.16 * sum(heights) + 0.35 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, gridspec_kw={"height_ratios": heights}, squeeze=False)[:, 0]
    for ax, (label, a) in zip(axes, panels):
        ax.imshow(a, cmap="Greys_r", vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
        ax.set_yticks([])
    axes[-1].set_xlabel("time step")
    fig.suptitle(title, fontsize=11)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, facecolor="white")
    return path


@torch.no_grad()
def run_one(model, kind, keys, size, seed: int):
    """One sequence of a size through the model: (x, y, mask, output probabilities, trace), batch of 1."""
    model.eval()
    x, y, mask = kind.make(1, size, keys, torch.Generator().manual_seed(seed))
    logits, trace = model(x, record=True)
    return x, y, mask, torch.sigmoid(logits.float()), trace


def sequence_panels(x, y, mask, probs, trace, who: str = "") -> list[tuple[str, np.ndarray]]:
    """The panels of `draw_sequence` for one run: input, target, output and (with heads) their weightings."""
    who = f"{who} " if who else ""
    m = mask[0].numpy()[None]
    panels = [("input", x[0].numpy().T), ("target", y[0].numpy().T * m), (f"{who}output", probs[0].numpy().T * m)]
    if trace:
        write, read = heads_window(trace)
        panels += [(f"{who}write {i + 1}", w.T) for i, w in enumerate(write)]
        panels += [(f"{who}read {i + 1}", r.T) for i, r in enumerate(read)]
    return panels


# --------------------------------------------------------------------------------------------------- task
class Task(BaseTask):
    kind = "algorithmic task"
    unit = "sequence"
    verbs = ("sample",)
    hints = {"predict": "run one sequence through the model with: nnzoo sample {run} --length 30"}

    def load(self, tcfg):
        return Stream(kind_of(tcfg.data))

    def adapt(self, mcfg, data):
        k = data.kind
        if mcfg.min_len > mcfg.max_len:
            raise UserError(f"min_len={mcfg.min_len} is above max_len={mcfg.max_len}; give min_len <= max_len")
        if mcfg.min_repeats > mcfg.max_repeats:
            raise UserError(f"min_repeats={mcfg.min_repeats} is above max_repeats={mcfg.max_repeats}; give "
                            f"min_repeats <= max_repeats")
        if k.name == "associative-recall" and mcfg.min_len < 2:
            raise UserError(f"min_len={mcfg.min_len}: associative recall needs at least 2 items (one to ask "
                            f"about, one to answer); give min_len=2")
        in_dim, out_dim = k.dims(mcfg)
        data.keys = dataclasses.replace(mcfg, in_dim=in_dim, out_dim=out_dim)
        return data.keys

    def epoch(self, data, tcfg, world: int) -> Epoch:
        return Epoch(steps=max(1, data.keys.epoch_sequences // tcfg.batch_size), batch=tcfg.batch_size)

    def train_batches(self, data, model, tcfg, start, rank, world, device, salt=0):
        """Step k's batch from its own generator, seeded by (seed, salt, k): no state to save."""
        step = start
        while True:
            gen = torch.Generator().manual_seed(stream_seed(tcfg.seed, salt, step))
            size = data.kind.draw(data.keys, gen, step)
            x, y, mask = data.kind.make(tcfg.batch_size, size, data.keys, gen)
            yield tuple(t[rank::world].to(device) for t in (x, y, mask))
            step += 1

    def evaluate(self, model, data, split, device, amp_dtype=None) -> dict:
        """The loss and wrong bits per sequence of VAL_SEQUENCES fixed sequences at the longest trained size."""
        s = score(model, data.kind, data.keys, data.kind.largest(data.keys), VAL_SEQUENCES, VAL_SEED, device)
        return {"loss": s["loss"], "error_bits_per_seq": s["bits_per_seq"]}

    def test_report(self, model, data, device) -> tuple[dict, dict]:
        kind, keys = data.kind, model.cfg  # `nnzoo eval` loads the data without adapting: the run's keys
        figures: dict = {"test_sequences_per_size": TEST_SEQUENCES,
                         "trained_sizes": f"{kind.what} {keys.min_len}..{keys.max_len}"
                         + (f", repeats {keys.min_repeats}..{keys.max_repeats}" if kind is KINDS["repeat-copy"]
                            else ""),
                         "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad)}
        arrays: dict = {}
        for i, (label, size) in enumerate(kind.tests(keys)):
            s = score(model, kind, keys, size, TEST_SEQUENCES, stream_seed(TEST_SEED, i), device)
            figures[f"{kind.prefix}_error_bits_per_seq_{label}"] = round(s["bits_per_seq"], 4)
            figures[f"{kind.prefix}_perfect_sequences_percent_{label}"] = round(100 * s["perfect"], 1)
            figures[f"{kind.prefix}_loss_per_bit_{label}"] = round(s["loss"], 5)
            if i < 2:  # the trained size and the first beyond it
                arrays.update(picture_arrays(f"{kind.prefix}_{label}",
                                             *run_one(model, kind, keys, size, stream_seed(SAMPLE_SEED, i))))
        return figures, arrays

    def sample(self, model, doc: dict, request: SampleRequest) -> tuple[dict, str]:
        """One sequence of request.length (vectors, or items for associative recall) through the model: input,
        target, output and the heads' weightings as one PNG."""
        kind, keys, L = kind_of(doc.get("data", "")), model.cfg, request.length
        if L < 1:
            raise UserError(f"--length must be 1 or more {kind.what}, got {L}; e.g. --length 30")
        if kind.name == "associative-recall" and L < 2:
            raise UserError(f"--length {L}: associative recall needs at least 2 items; e.g. --length 6")
        size = kind.sample_size(keys, L)
        x, y, mask, probs, trace = run_one(model, kind, keys, size, request.seed)
        wrong = int((((probs > 0.5).float() != y).float().sum(-1) * mask).sum())
        total = int(mask.sum()) * y.size(-1)
        out = Path(request.out) if request.out else Path(request.run_dir) / f"sample-{kind.name}-len{L}.png"
        draw_sequence(out, f"{doc.get('recipe', kind.name)}: {kind.name}, {size_text(kind, size)}: "
                           f"{wrong} of {total} answer bits wrong", sequence_panels(x, y, mask, probs, trace))
        res = {"task": kind.name, "length": L, "size": list(size) if isinstance(size, tuple) else size,
               "error_bits": wrong, "answer_bits": total, "png": str(out)}
        return res, f"{kind.name}, {size_text(kind, size)}: {wrong} of {total} answer bits wrong -> {out}"
