"""Images and clips with sentences that describe them: the captioning and video-to-text data sets.

No COCO, Flickr or MSVD can be had offline, so the sets are of two honest kinds:

- `digit-scenes` (`digit_scenes`): 64x64 canvases holding one to three real MNIST digits, each small (16 px) or
  large (28 px), placed without overlap in a row or a column; the captions come from a small grammar and are
  true by construction ("a small 3 to the left of a large 8"). Training scenes use MNIST's training digits,
  validation scenes its validation digits, test scenes only its test digits.
- `moving-digits` (`moving_digits`): clips of one or two MNIST digits moving at constant speed up, down, left or
  right and bouncing off the frame's edges, with a caption ("the 4 moves up and the 9 moves left") and the
  first digit's direction at every frame (video classification).
- `emoji` (`load_emoji`): the npm package emoji-datasource-twitter's 64x64 Twemoji PNGs with their Unicode
  names, split so that every validation and test image is an unseen combination: a skin tone held out of an
  emoji whose other tones are trained on, or the other gender of a man / woman emoji seen in training.

Every loader returns a `CaptionSet`; ids follow data.translation (PAD, BOS, EOS, UNK = 0..3).
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .store import DataError, emoji_dir, is_installed, missing
from .translation import encode, vocabulary

SPLITS = ("train", "val", "test")
CAPTION_DATASETS = ("digit-scenes", "moving-digits", "emoji")


@dataclass
class CaptionSet:
    name: str
    """"digit-scenes", "moving-digits" or "emoji"."""
    x: dict[str, torch.Tensor]
    """Split -> images (N, C, H, W), or clips (N, T, C, H, W) for moving-digits; float32 in [0, 1]."""
    captions: dict[str, list[list[str]]]
    """Split -> per example all its true captions (lower case, single spaces, no punctuation); the first is
    the canonical one, fixed by a rule, which `tokens` encodes."""
    vocab: list[str]
    """Words of the training captions, index = id, the four specials first (translation.vocabulary)."""
    frame_labels: dict[str, torch.Tensor] | None = None
    """moving-digits: split -> (N, T) int64, the first digit's direction of motion at each frame."""
    clip_labels: dict[str, torch.Tensor] | None = None
    """moving-digits: split -> (N,) int64, the first digit's initial direction (the one its caption names)."""
    label_names: list[str] = field(default_factory=list)
    """Names of the frame / clip label classes."""
    about: dict = field(default_factory=dict)
    """Statistics for docs and describe(): examples per split, vocabulary size, caption length in words,
    captions per example, and what each set holds out."""
    layout: dict[str, torch.Tensor] | None = None
    """Where everything was drawn, so a caption can be checked against its picture. digit-scenes: split ->
    (N, 3, 4) int64 rows (digit, top, left, size in px) in caption order, -1 for an absent digit;
    moving-digits: split -> (N, T, 2, 3) int64 (digit, top, left) of each digit at each frame, -1 absent."""

    def tokens(self, split: str) -> torch.Tensor:
        """(N, L) int64 ids of each example's canonical caption: BOS w_1 .. w_n EOS, right-padded with PAD."""
        table = {w: i for i, w in enumerate(self.vocab)}
        return encode([c[0].split() for c in self.captions[split]], table, bos=True)


def _finish(name: str, x: dict, captions: dict, **extra) -> CaptionSet:
    """Vocabulary from the training captions (every one of them, not only the canonical) and the statistics."""
    vocab = vocabulary([c.split() for caps in captions["train"] for c in caps], min_count=1)
    known = set(vocab)
    lengths = [len(caps[0].split()) for s in SPLITS for caps in captions[s]]
    per = [len(caps) for s in SPLITS for caps in captions[s]]
    unknown = Counter(w for s in ("val", "test") for caps in captions[s] for w in caps[0].split() if w not in known)
    about = {"examples": {s: len(captions[s]) for s in SPLITS}, "vocab_size": len(vocab),
             "caption_words": {"min": min(lengths, default=0), "max": max(lengths, default=0),
                               "mean": round(float(np.mean(lengths)), 2) if lengths else 0.0},
             "captions_per_example": {"min": min(per, default=0), "max": max(per, default=0),
                                      "mean": round(float(np.mean(per)), 2) if per else 0.0},
             "unknown_words_in_val_test": sum(unknown.values()),
             **extra.pop("about", {})}
    return CaptionSet(name, x, captions, vocab, about=about, **extra)


def _article(word: str) -> str:
    """"an 8", "a 5", "a small 8": the digits are read as English words, and only "eight" opens with a vowel."""
    return "an" if word == "8" else "a"


# ---------------------------------------------------------------------------------------------------------
# digit-scenes

SIZES = {16: "small", 28: "large"}
"""Patch side in px -> the word for it. The 28 px patch is MNIST's own frame (a ~20 px digit inside);
the 16 px one is the same shrunk (~11 px), so the two sizes differ at a glance."""
DOMINANCE = 0.5
"""Neighbours in a row may be offset across the row by at most this share of their distance along it (and
the same for a column): a pair drawn nearly diagonally would make "left of" and "above" both arguable."""
RELATIONS = {0: ("to the left of", "to the right of", "from left to right", "from right to left"),
             1: ("above", "below", "from top to bottom", "from bottom to top")}
"""Axis (0 a row, 1 a column) -> the pair relation forwards and backwards, and the three-digit ending."""


def _scene_layouts(rng: np.random.Generator, n: int, side: int) -> dict[str, np.ndarray]:
    """Sizes and places of n scenes' digits: count (n,), axis (n,), px / along / across (n, 3), slot j the
    j-th digit along the axis. Drawn in rounds over the scenes still pending (vectorised rejection):
    sizes that do not fit in a row are redrawn, and so are offsets across the row above DOMINANCE."""
    count = rng.integers(1, 4, n)
    axis = rng.integers(0, 2, n)
    px = np.zeros((n, 3), np.int64)
    along = np.zeros((n, 3), np.int64)
    across = np.zeros((n, 3), np.int64)
    slot = np.arange(3)
    pending = np.arange(n)
    while pending.size:
        m, k = pending.size, count[pending]
        live = slot[None] < k[:, None]  # (m, 3) which slots hold a digit
        p = np.where(live, rng.choice(list(SIZES), (m, 3)), 0)
        free = side - p.sum(1)  # px left over along the axis, shared among the k + 1 gaps
        # k cut points in [0, free], sorted: a_j = cut_j + (sizes before j), so a_{j+1} - a_j >= px_j
        # (no overlap) and the last digit ends at cut + sum(px) <= side; dead slots sort last (u = 1)
        u = np.sort(np.where(live, rng.random((m, 3)), 1.0), axis=1)
        cut = np.minimum(np.floor(u * (np.maximum(free, 0) + 1)[:, None]), np.maximum(free, 0)[:, None])
        a = cut.astype(np.int64) + np.cumsum(p, 1) - p
        c = np.where(live, np.floor(rng.random((m, 3)) * (side - p + 1)), 0).astype(np.int64)
        # |across-centre gap| <= DOMINANCE * along-centre gap, for each neighbouring pair present
        mid_a, mid_c = a + p / 2, c + p / 2
        near = np.abs(np.diff(mid_c, axis=1)) <= DOMINANCE * np.diff(mid_a, axis=1)
        ok = (free >= 0) & np.all(near | ~live[:, 1:], axis=1)
        done = pending[ok]
        px[done], along[done], across[done] = p[ok], a[ok], c[ok]
        pending = pending[~ok]
    return {"count": count, "axis": axis, "px": px, "along": along, "across": across}


def scene_captions(digits: list[int], sizes: list[int], axis: int) -> list[str]:
    """All true captions of a scene whose digits, in order along `axis` (0: left to right, 1: top to bottom),
    are `digits` of patch sizes `sizes`. Canonical first: sizes named, digits in reading order; then the
    same read backwards, then both without the sizes."""
    named = [f"a {SIZES[s]} {d}" for d, s in zip(digits, sizes)]
    bare = [f"{_article(str(d))} {d}" for d in digits]
    fwd, back, fwd3, back3 = RELATIONS[axis]
    if len(digits) == 1:
        return [named[0], bare[0]]

    def say(o: list[str]) -> tuple[str, str]:
        if len(o) == 2:
            return f"{o[0]} {fwd} {o[1]}", f"{o[1]} {back} {o[0]}"
        return f"{o[0]} {o[1]} and {o[2]} {fwd3}", f"{o[2]} {o[1]} and {o[0]} {back3}"
    return [*say(named), *say(bare)]


def _shrunk(x: torch.Tensor) -> dict[int, np.ndarray]:
    """(N, 1, 28, 28) digits -> {px: (N, px, px) float32} for each patch size (area averaging: no aliasing)."""
    return {s: (x if s == x.shape[-1] else F.interpolate(x, size=(s, s), mode="area"))[:, 0].numpy()
            for s in SIZES}


def digit_scenes(mnist, sizes=(20000, 1000, 1000), seed=0, side=64) -> CaptionSet:
    """Scenes of one to three real digits with their true captions; `mnist` an ImageSplits of 28x28 digits
    (train / val scenes draw from its train / val digits, test scenes from its test digits only)."""
    if len(sizes) != 3 or min(sizes) < 0:
        raise DataError(f"digit-scenes sizes must be three counts (train, val, test), got {sizes}")
    if side < 3 * min(SIZES) or side < max(SIZES):
        raise DataError(f"digit-scenes side {side} cannot hold three small digits in a row; give side >= "
                        f"{max(3 * min(SIZES), max(SIZES))}")
    x, captions, layout = {}, {}, {}
    for i, split in enumerate(SPLITS):
        images, labels = mnist.split(split)
        if images.shape[1:] != (1, 28, 28):
            raise DataError(f"digit-scenes needs 28x28 grey digits, got {tuple(images.shape[1:])}; use mnist")
        n = sizes[i]
        if n and not len(images):
            raise DataError(f"digit-scenes: the digit set's {split} split is empty")
        # a stream per split, so changing the test size leaves the training scenes as they were
        rng = np.random.default_rng([seed, i])
        lay = _scene_layouts(rng, n, side)
        pick = rng.integers(0, max(len(images), 1), (n, 3))
        digit = labels.numpy()[pick] if n else np.zeros((0, 3), np.int64)
        patches = _shrunk(images)
        canvas = np.zeros((n, side, side), np.float32)
        top = np.where(lay["axis"][:, None] == 1, lay["along"], lay["across"])
        left = np.where(lay["axis"][:, None] == 1, lay["across"], lay["along"])
        for j in range(3):
            for s, patch in patches.items():
                sel = np.flatnonzero((lay["count"] > j) & (lay["px"][:, j] == s))
                r = np.arange(s)
                # patches never overlap, so each pixel is written by one digit at most: plain assignment
                canvas[sel[:, None, None], top[sel, j][:, None, None] + r[None, :, None],
                       left[sel, j][:, None, None] + r[None, None, :]] = patch[pick[sel, j]]
        live = np.arange(3)[None] < lay["count"][:, None]
        rows = np.stack([digit, top, left, lay["px"]], axis=2)
        layout[split] = torch.from_numpy(np.where(live[..., None], rows, -1).astype(np.int64))
        x[split] = torch.from_numpy(canvas).unsqueeze(1)
        captions[split] = [scene_captions(digit[e, :k].tolist(), lay["px"][e, :k].tolist(), int(lay["axis"][e]))
                           for e, k in enumerate(lay["count"])]
    counts = {s: {str(k): int((layout[s][:, :, 0] >= 0).sum(1).eq(k).sum()) for k in (1, 2, 3)} for s in SPLITS}
    return _finish("digit-scenes", x, captions, layout=layout, about={"digits_per_scene": counts, "side": side})


# ---------------------------------------------------------------------------------------------------------
# moving-digits

DIRECTIONS = ["up", "down", "left", "right"]
OPPOSITE = [1, 0, 3, 2]
"""Index of each direction's opposite: a clip played backwards moves every digit the other way."""
AXIS_SIGN = [(0, -1), (0, 1), (1, -1), (1, 1)]
"""Direction -> (coordinate it changes: 0 the row, 1 the column; sign)."""
SPEEDS = (1, 2, 3, 4)
"""Pixels a frame. Each divides 36 (= 64 - 28, the room a 28 px digit has), and a start is a multiple of the
speed, so a digit touches the edge exactly at a frame and bounces there: the direction a frame is labelled
with is always the way the digit really moves from it. A track with a single bounce is refused and redrawn
(see _tracks), which in 20 frames leaves: 1 px never bounces; 3 and 4 px bounce twice; 2 px travels 38 px
in 19 moves against 36 px of room, so it always bounces exactly once and is always redrawn: no clip of the
default 20 frames moves at 2 px (kept in the tuple so that the sets drawn stay as they were)."""
MIN_RUN = 3
"""A digit keeps its first direction for at least this many moves, and its last one too: a caption naming a
direction the digit held for one frame (then the other way for the rest) would not be what a person says."""
DIGIT_PX = 28


def _tracks(rng: np.random.Generator, n: int, frames: int, room: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions (n, frames, 2, 2) (top, left) of two digits per clip and their directions (n, frames, 2).
    A digit whose direction changes an odd number of times before the last step is redrawn: then the motion
    into the last frame is the initial one, so the clip played backwards starts the opposite way and its
    caption names the opposite directions (mean-pooled frames cannot tell a clip from its reverse). So is
    one whose first or last run of moves is shorter than MIN_RUN (or the clip, if that is shorter)."""
    pos = np.zeros((n, frames, 2, 2), np.int64)
    dirs = np.zeros((n, frames, 2), np.int64)
    pending = np.arange(n * 2)  # (clip, digit) pairs flattened
    while pending.size:
        m = pending.size
        d = rng.integers(0, 4, m)
        speed = np.asarray(SPEEDS)[rng.integers(0, len(SPEEDS), m)]
        coord = np.array([AXIS_SIGN[k][0] for k in d])
        v = speed * np.array([AXIS_SIGN[k][1] for k in d])
        far = speed * (room // speed)  # the far edge's lattice point: a bounce lands exactly on it
        p = speed * rng.integers(0, room // speed + 1, m)  # along the motion, on the speed's lattice
        q = rng.integers(0, room + 1, m)  # across it, anywhere
        path = np.zeros((m, frames), np.int64)
        vel = np.zeros((m, frames), np.int64)
        for t in range(frames):
            # at an edge and heading out of the frame: bounce, v <- -v
            out = ((p >= far) & (v > 0)) | ((p <= 0) & (v < 0))
            v = np.where(out, -v, v)
            path[:, t], vel[:, t] = p, v
            p = p + v
        # direction of frame t: the move from frame t to t + 1; the last frame keeps the move into it
        vel[:, -1] = vel[:, -2]
        step = np.sign(vel[:, :-1])  # (m, frames - 1) the moves
        flips = (np.diff(step, axis=1) != 0).sum(1)
        changed = step != step[:, :1]
        first = np.where(changed.any(1), changed.argmax(1), frames - 1)  # length of the first run of moves
        changed = step[:, ::-1] != step[:, -1:]
        last = np.where(changed.any(1), changed.argmax(1), frames - 1)
        ok = (flips % 2 == 0) & (np.minimum(first, last) >= min(MIN_RUN, frames - 1))
        c, j = np.divmod(pending[ok], 2)
        cd, sign = coord[ok][:, None], np.sign(vel[ok])
        # vertical movers have their path in the row and q in the column; horizontal ones the other way
        pos[c, :, j, 0] = np.where(cd == 0, path[ok], q[ok][:, None])
        pos[c, :, j, 1] = np.where(cd == 0, q[ok][:, None], path[ok])
        dirs[c, :, j] = np.where(cd == 0, np.where(sign < 0, 0, 1), np.where(sign < 0, 2, 3))
        pending = pending[~ok]
    return pos, dirs


def motion_caption(digits: list[int], tracks: np.ndarray | torch.Tensor) -> str:
    """What a clip shows, worked out from its positions alone: `tracks` (T, D, 2) (top, left) of D digits
    named `digits` (in caption order); each digit's direction is its first move."""
    tracks = np.asarray(tracks)
    parts = []
    for j, d in enumerate(digits):
        dr, dc = tracks[1, j] - tracks[0, j]
        way = (0 if dr < 0 else 1) if dr else (2 if dc < 0 else 3)
        parts.append(f"the {d} moves {DIRECTIONS[way]}")
    return " and ".join(parts)


def moving_digits(mnist, sizes=(2000, 200, 200), seed=0, frames=20, side=64) -> CaptionSet:
    """Clips (N, frames, 1, side, side) of one or two 28 px MNIST digits moving and bouncing, captioned with
    each digit's initial direction; the digits are named in increasing order ("the 4 ... and the 9 ..."),
    and the first named is the one frame_labels / clip_labels follow. Two digits in a clip always differ, so
    "the 4" picks out one of them. float32 clips take side * side * frames * 4 bytes each (327 KB here)."""
    if len(sizes) != 3 or min(sizes) < 0:
        raise DataError(f"moving-digits sizes must be three counts (train, val, test), got {sizes}")
    if frames < 2 or side < DIGIT_PX + max(SPEEDS):
        raise DataError(f"moving-digits needs frames >= 2 and side >= {DIGIT_PX + max(SPEEDS)}, got frames={frames}, "
                        f"side={side}")
    room = side - DIGIT_PX
    x, captions, frame_labels, clip_labels, layout = {}, {}, {}, {}, {}
    for i, split in enumerate(SPLITS):
        images, labels = mnist.split(split)
        if images.shape[1:] != (1, DIGIT_PX, DIGIT_PX):
            raise DataError(f"moving-digits needs 28x28 grey digits, got {tuple(images.shape[1:])}; use mnist")
        y = labels.numpy()
        n = sizes[i]
        if n and len(np.unique(y)) < 2:
            raise DataError(f"moving-digits: the digit set's {split} split needs at least two classes")
        rng = np.random.default_rng([seed, i])
        count = rng.integers(1, 3, n)
        pick = rng.integers(0, len(y), (n, 2))
        clash = (count == 2) & (y[pick[:, 0]] == y[pick[:, 1]])
        while clash.any():  # a second digit of the first one's class is redrawn
            pick[clash, 1] = rng.integers(0, len(y), int(clash.sum()))
            clash = (count == 2) & (y[pick[:, 0]] == y[pick[:, 1]])
        swap = (count == 2) & (y[pick[:, 1]] < y[pick[:, 0]])  # name them in increasing order
        pick[swap] = pick[swap][:, ::-1]
        pos, dirs = _tracks(rng, n, frames, room)
        pos[:, :, 1] = np.where(count[:, None, None] == 2, pos[:, :, 1], -1)
        digit = np.where(np.arange(2)[None] < count[:, None], y[pick], -1)
        src = images[:, 0].numpy()
        clip = np.zeros((n, frames, side, side), np.float32)
        r = np.arange(DIGIT_PX)
        for j in range(2):
            sel = np.flatnonzero(count > j)
            patch = src[pick[sel, j]]
            for t in range(frames):
                rows = pos[sel, t, j, 0][:, None, None] + r[None, :, None]
                cols = pos[sel, t, j, 1][:, None, None] + r[None, None, :]
                where = (sel[:, None, None], t, rows, cols)
                # digits may cross each other (as in Moving MNIST): the brighter pixel wins
                clip[where] = np.maximum(clip[where], patch)
        x[split] = torch.from_numpy(clip).unsqueeze(2)
        frame_labels[split] = torch.from_numpy(dirs[:, :, 0].copy())
        clip_labels[split] = torch.from_numpy(dirs[:, 0, 0].copy())
        layout[split] = torch.from_numpy(np.concatenate(
            [np.broadcast_to(digit[:, None, :, None], (n, frames, 2, 1)), np.where(digit[:, None, :, None] >= 0, pos, -1)],
            axis=3).astype(np.int64))
        caps = []
        for e in range(n):
            said = [f"the {digit[e, j]} moves {DIRECTIONS[dirs[e, 0, j]]}" for j in range(count[e])]
            caps.append([" and ".join(said)] + ([" and ".join(said[::-1])] if len(said) == 2 else []))
        captions[split] = caps
    bounced = {s: int((frame_labels[s][:, 1:] != frame_labels[s][:, :-1]).any(1).sum()) for s in SPLITS}
    return _finish("moving-digits", x, captions, frame_labels=frame_labels, clip_labels=clip_labels,
                   label_names=list(DIRECTIONS), layout=layout,
                   about={"frames": frames, "side": side, "clips_with_a_bounce": bounced})


# ---------------------------------------------------------------------------------------------------------
# emoji

SKIN_TONES = {"1F3FB": "light skin tone", "1F3FC": "medium light skin tone", "1F3FD": "medium skin tone",
              "1F3FE": "medium dark skin tone", "1F3FF": "dark skin tone"}
"""emoji.json's skin_variations keys -> their Unicode names (Fitzpatrick types 1-2 .. 6), punctuation dropped."""
GENDER_SWAP = {"man": "woman", "woman": "man", "men": "women", "women": "men"}
GENDER_SHARE = 0.2
"""Of the man / woman pairs ("man cook" and "woman cook"), the share with one member (all its skin tones)
held out, half of them to validation, half to test; the other member stays in training. Of the real set's
96 pairs that is 19, about 120 images."""
EMOJI_SIDE = 64


def emoji_caption(name: str) -> str:
    """A Unicode name as a caption: accents dropped (Åland -> aland), lower case, apostrophes removed,
    other punctuation a word break ("KEYCAP: *" -> "keycap", "JACK-O-LANTERN" -> "jack o lantern")."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", re.sub(r"['’]", "", plain)).split())


def tone_words(key: str) -> str:
    """"1F3FB" -> "light skin tone"; "1F3FB-1F3FD" (two people) -> "light skin tone medium skin tone"; two
    equal tones are named once, as Unicode names them ("kiss: man, man, light skin tone")."""
    tones = list(dict.fromkeys(key.upper().split("-")))
    if any(t not in SKIN_TONES for t in tones):
        raise DataError(f"emoji.json has a skin variation {key!r} that is not a skin tone; reinstall: "
                        "nnzoo data install emoji")
    return " ".join(SKIN_TONES[t] for t in tones)


def gender_swapped(caption: str) -> str:
    return " ".join(GENDER_SWAP.get(w, w) for w in caption.split())


def _emoji_entries(meta: list[dict]) -> list[tuple[str, str, str | None, str]]:
    """(caption, base caption, skin tone key or None, image file) of every image Twemoji draws."""
    out = []
    for e in meta:
        base = emoji_caption(e["name"])
        if e.get("has_img_twitter"):
            out.append((base, base, None, e["image"]))
        for key, v in sorted((e.get("skin_variations") or {}).items()):
            if v.get("has_img_twitter"):
                out.append((f"{base} {tone_words(key)}", base, key, v["image"]))
    return out


def emoji_splits(entries: list[tuple[str, str, str | None, str]], seed: int) -> tuple[list[str], dict]:
    """Each entry's split and how many of each held-out kind went where. Decided per base caption (two
    entries may share a name): a share of man / woman pairs lose one member to val / test; every other
    base with skin tones loses one tone to test and another to val. Whatever the rules send out whose
    caption training holds anyway goes back to train, so no held-out caption was ever trained on."""
    rng = np.random.default_rng(seed)
    bases = sorted({b for _, b, _, _ in entries})
    names = set(bases)
    pairs = sorted({tuple(sorted((b, gender_swapped(b)))) for b in bases
                    if gender_swapped(b) != b and gender_swapped(b) in names})
    n_held = min(len(pairs), max(2, round(GENDER_SHARE * len(pairs)))) if len(pairs) >= 2 else 0
    gender_out = {}
    for i, k in enumerate(rng.permutation(len(pairs))[:n_held]):
        gender_out[pairs[k][rng.integers(2)]] = "test" if i % 2 == 0 else "val"
    tones = {}
    for _, b, key, _ in entries:
        if key is not None:
            tones.setdefault(b, set()).add(key)
    tone_out = {}
    for b in sorted(tones):
        if b in gender_out or len(tones[b]) < 2:
            continue
        test_key, val_key = rng.choice(sorted(tones[b]), 2, replace=False)
        tone_out[(b, test_key)], tone_out[(b, val_key)] = "test", "val"
    split = [gender_out.get(b) or tone_out.get((b, key), "train") for _, b, key, _ in entries]
    seen = {c for (c, _, _, _), s in zip(entries, split) if s == "train"}
    split = [s if s == "train" or c not in seen else "train" for (c, _, _, _), s in zip(entries, split)]
    held = {s: {"skin tone": sum(1 for (_, b, _, _), t in zip(entries, split) if t == s and b not in gender_out),
                "gender": sum(1 for (_, b, _, _), t in zip(entries, split) if t == s and b in gender_out)}
            for s in ("val", "test")}
    return split, {"held_out": held, "gender_pairs": len(pairs), "gender_pairs_held_out": n_held}


def _read_emoji(path) -> np.ndarray:
    """A 64x64 PNG (RGBA or palette) composited on white -> (3, 64, 64) float32 in [0, 1]."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            a = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
        raise DataError(f"cannot read emoji image {path}: {e}; reinstall: nnzoo data install emoji") from None
    if a.shape[:2] != (EMOJI_SIDE, EMOJI_SIDE):
        raise DataError(f"emoji image {path} is {a.shape[1]}x{a.shape[0]}, not {EMOJI_SIDE}x{EMOJI_SIDE}; "
                        "reinstall: nnzoo data install emoji")
    # out = alpha * colour + (1 - alpha) * white
    rgb = a[..., :3] * a[..., 3:] + (1.0 - a[..., 3:])
    return rgb.transpose(2, 0, 1)


def load_emoji(seed=0) -> CaptionSet:
    """The Twemoji set of emoji-datasource-twitter@16.0.0 (3,786 images at 64x64, each with its Unicode
    name as its one caption); validation and test hold unseen combinations only (emoji_splits)."""
    if not is_installed("emoji"):
        raise missing("emoji")
    root = emoji_dir()
    try:
        meta = json.loads((root / "emoji.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read {root / 'emoji.json'}: {e}; reinstall: nnzoo data install emoji") from None
    entries = _emoji_entries(meta)
    if not entries:
        raise DataError(f"{root / 'emoji.json'} lists no Twemoji image; reinstall: nnzoo data install emoji")
    split, held = emoji_splits(entries, seed)
    folder = root / "img" / "twitter" / str(EMOJI_SIDE)
    x, captions = {}, {}
    for s in SPLITS:
        rows = [e for e, t in zip(entries, split) if t == s]
        x[s] = torch.from_numpy(np.stack([_read_emoji(folder / f) for _, _, _, f in rows]) if rows
                                else np.zeros((0, 3, EMOJI_SIDE, EMOJI_SIDE), np.float32))
        captions[s] = [[c] for c, _, _, _ in rows]
    return _finish("emoji", x, captions, about=held)
