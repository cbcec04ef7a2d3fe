"""data.captions: digit scenes, moving digits and emoji, each caption checked against the picture it belongs to.

The digit sets are drawn from made-up "MNIST" splits whose digits say where they came from: training digits
are classes 0-4 drawn at brightness 0.5, validation ones 0-4 at 0.25, test ones 5-9 at 1.0, and each class
is one square of its own size, so a scene's pixels can be rebuilt from its layout alone.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import standin
from nnzoo.data import captions as C
from nnzoo.data import store
from nnzoo.data.store import DataError
from nnzoo.data.translation import BOS, EOS, PAD
from nnzoo.data.vision import ImageSplits

BRIGHT = {"train": 0.5, "val": 0.25, "test": 1.0}
CAPTION = re.compile(r"^[a-z0-9]+( [a-z0-9]+)*$")


def square(label: int, value: float) -> torch.Tensor:
    """A 28x28 digit: a square of side 10 + label (odd labels off centre), brightness `value`."""
    img = torch.zeros(1, 28, 28)
    lo = 9 - label // 2
    img[0, lo:lo + 10 + label, lo:lo + 10 + label] = value
    return img


def fake_mnist(n: int = 40) -> ImageSplits:
    def split(name, first):
        y = torch.arange(n) % 5 + first
        return torch.stack([square(int(k), BRIGHT[name]) for k in y]), y
    tr, val, te = split("train", 0), split("val", 0), split("test", 5)
    return ImageSplits("fake", *tr, *val, *te, [str(i) for i in range(10)])


@pytest.fixture(scope="module")
def mnist():
    return fake_mnist()


@pytest.fixture(scope="module")
def scenes(mnist):
    return C.digit_scenes(mnist, sizes=(300, 40, 120), seed=3)


@pytest.fixture(scope="module")
def clips(mnist):
    return C.moving_digits(mnist, sizes=(60, 10, 30), seed=5, frames=20)


def words(tokens: torch.Tensor, vocab: list[str]) -> str:
    return " ".join(vocab[i] for i in tokens.tolist() if i not in (PAD, BOS, EOS))


# ------------------------------------------------------------------------------------------------ digit-scenes

def test_scene_shapes_tokens_and_statistics(scenes):
    for split, n in zip(C.SPLITS, (300, 40, 120)):
        x = scenes.x[split]
        assert x.shape == (n, 1, 64, 64) and x.dtype == torch.float32
        assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
        tok = scenes.tokens(split)
        assert tok.dtype == torch.int64 and tok.shape[0] == n
        assert (tok[:, 0] == BOS).all() and ((tok == EOS).sum(1) == 1).all()
        # the fake test digits 5-9 never occur in training captions: <unk> (real MNIST has all ten in train)
        known = set(scenes.vocab)
        assert [words(t, scenes.vocab) for t in tok] == [" ".join(w if w in known else "<unk>" for w in c[0].split())
                                                        for c in scenes.captions[split]]
    assert scenes.vocab[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    about = scenes.about
    assert about["examples"] == {"train": 300, "val": 40, "test": 120}
    assert about["vocab_size"] == len(scenes.vocab)
    lengths = [len(c[0].split()) for s in C.SPLITS for c in scenes.captions[s]]
    assert about["caption_words"]["min"] == min(lengths) == 3  # "a large 7"
    assert about["caption_words"]["max"] == max(lengths) == 14  # three digits with their sizes
    assert sum(about["digits_per_scene"]["train"].values()) == 300


def test_test_scenes_hold_only_test_digits(scenes):
    # classes and brightness both tell a digit's split: test 5-9 at 1.0, train / val 0-4 at 0.5 / 0.25
    for split in C.SPLITS:
        lay = scenes.layout[split]
        classes = set(lay[:, :, 0][lay[:, :, 0] >= 0].tolist())
        assert classes <= ({5, 6, 7, 8, 9} if split == "test" else {0, 1, 2, 3, 4})
        said = {int(w) for caps in scenes.captions[split] for c in caps for w in c.split() if w.isdigit()}
        assert said == classes
        assert float(scenes.x[split].max()) == pytest.approx(BRIGHT[split])


def parse(caption: str) -> tuple[list[tuple[str | None, int]], str]:
    """A caption -> its [(size word or None, digit)] in the order written, and its relation words."""
    objs = re.findall(r"an? (?:(small|large) )?(\d)", caption)
    rest = re.sub(r"an? (?:(?:small|large) )?\d", "#", caption)
    return [(s or None, int(d)) for s, d in objs], rest


def test_every_caption_is_true_of_its_scene(scenes):
    side = 64
    for split in C.SPLITS:
        for img, lay, caps in zip(scenes.x[split][:, 0].numpy(), scenes.layout[split].numpy(), scenes.captions[split]):
            boxes = [r for r in lay if r[0] >= 0]
            inside = np.zeros((side, side), bool)
            for d, top, left, px in boxes:
                assert 0 <= top and top + px <= side and 0 <= left and left + px <= side
                assert not inside[top:top + px, left:left + px].any()  # digits never overlap
                inside[top:top + px, left:left + px] = True
                ys, xs = np.nonzero(img[top:top + px, left:left + px])
                extent = max(ys.max() - ys.min(), xs.max() - xs.min()) + 1  # the square, drawn at this size
                assert extent == (10 + d if px == 28 else pytest.approx((10 + d) * 16 / 28, abs=2))
            assert not img[~inside].any()  # nothing drawn outside the digits' boxes
            mid = [(top + px / 2, left + px / 2) for _, top, left, px in boxes]
            assert len(caps) == (2 if len(boxes) == 1 else 4) and len(set(caps)) == len(caps)
            for c in caps:
                assert CAPTION.match(c)
                objs, rel = parse(c)
                named = [(None if s is None else {"small": 16, "large": 28}[s], d) for s, d in objs]
                forwards = rel in ("# to the left of #", "# above #", "# # and # from left to right",
                                   "# # and # from top to bottom", "#")
                order = boxes if forwards else boxes[::-1]
                assert [d for _, d in named] == [int(b[0]) for b in order]
                assert all(s is None or s == int(b[3]) for (s, _), b in zip(named, order))
                if len(boxes) == 1:
                    continue
                # the relation holds between box centres, and clearly: along the axis the boxes are apart,
                # across it the centres differ by at most half as much
                axis = 1 if ("left" in rel or "right" in rel) else 0
                for a, b, (ta, la, pa), (tb, lb, pb) in zip(mid, mid[1:], [r[1:] for r in boxes], [r[1:] for r in boxes[1:]]):
                    assert (la + pa <= lb) if axis == 1 else (ta + pa <= tb)
                    assert abs(b[1 - axis] - a[1 - axis]) <= 0.5 * (b[axis] - a[axis])


def test_scenes_are_deterministic_by_seed_and_split(mnist, scenes):
    again = C.digit_scenes(mnist, sizes=(300, 40, 120), seed=3)
    other = C.digit_scenes(mnist, sizes=(300, 40, 120), seed=4)
    assert all(torch.equal(scenes.x[s], again.x[s]) and scenes.captions[s] == again.captions[s] for s in C.SPLITS)
    assert not torch.equal(scenes.x["train"], other.x["train"])
    # each split its own stream: a bigger test split leaves training as it was
    more = C.digit_scenes(mnist, sizes=(300, 40, 200), seed=3)
    assert torch.equal(more.x["train"], scenes.x["train"]) and more.captions["val"] == scenes.captions["val"]


def test_scene_sizes_and_digits_vary(scenes):
    lay = scenes.layout["train"]
    present = lay[:, :, 0] >= 0
    assert set(present.sum(1).tolist()) == {1, 2, 3}
    assert set(lay[:, :, 3][present].tolist()) == {16, 28}
    relations = {parse(c[0])[1] for c in scenes.captions["train"]}
    assert relations == {"#", "# to the left of #", "# above #", "# # and # from left to right",
                         "# # and # from top to bottom"}  # canonical: always in reading order


def test_scenes_refuse_bad_digits(mnist):
    small = ImageSplits("tiny", *[torch.zeros(4, 1, 8, 8), torch.zeros(4, dtype=torch.int64)] * 3)
    with pytest.raises(DataError, match="28x28"):
        C.digit_scenes(small, sizes=(4, 1, 1))
    with pytest.raises(DataError, match="three counts"):
        C.digit_scenes(mnist, sizes=(4, 1))


# ----------------------------------------------------------------------------------------------- moving-digits

def render(lay: np.ndarray, value: float) -> np.ndarray:
    """The frames a clip's layout (T, 2, 3) describes, from the fake digits' squares."""
    out = np.zeros((lay.shape[0], 64, 64), np.float32)
    for t, row in enumerate(lay):
        for d, top, left in row:
            if d >= 0:
                patch = square(int(d), value)[0].numpy()
                out[t, top:top + 28, left:left + 28] = np.maximum(out[t, top:top + 28, left:left + 28], patch)
    return out


def test_clip_shapes_labels_and_pixels(clips):
    for split, n in zip(C.SPLITS, (60, 10, 30)):
        x = clips.x[split]
        assert x.shape == (n, 20, 1, 64, 64) and x.dtype == torch.float32
        assert float(x.min()) >= 0 and float(x.max()) == pytest.approx(BRIGHT[split])
        fl, cl = clips.frame_labels[split], clips.clip_labels[split]
        assert fl.shape == (n, 20) and fl.dtype == torch.int64 and cl.shape == (n,) and cl.dtype == torch.int64
        assert torch.equal(cl, fl[:, 0]) and set(fl.unique().tolist()) <= {0, 1, 2, 3}
        for clip, lay in zip(x[:, :, 0].numpy(), clips.layout[split].numpy()):
            np.testing.assert_allclose(clip, render(lay, BRIGHT[split]))
        classes = set(clips.layout[split][..., 0].unique().tolist()) - {-1}
        assert classes <= ({5, 6, 7, 8, 9} if split == "test" else {0, 1, 2, 3, 4})
    assert clips.label_names == ["up", "down", "left", "right"]


def test_clip_captions_and_frame_labels_follow_the_motion(clips):
    for split in C.SPLITS:
        for caps, lay, fl, cl in zip(clips.captions[split], clips.layout[split].numpy(),
                                     clips.frame_labels[split].numpy(), clips.clip_labels[split].numpy()):
            digits = [int(d) for d in lay[0, :, 0] if d >= 0]
            assert digits == sorted(set(digits))  # two different digits, named in increasing order
            tracks = lay[:, :len(digits), 1:]
            assert caps[0] == C.motion_caption(digits, tracks)
            assert caps[0].startswith(f"the {digits[0]} moves {C.DIRECTIONS[cl]}")
            if len(digits) == 2:
                a, b = caps[0].split(" and ")
                assert caps == [caps[0], f"{b} and {a}"]
            step = np.diff(tracks[:, 0], axis=0)  # (T - 1, 2) the first digit's moves
            assert (np.count_nonzero(step, axis=1) == 1).all()  # always along one axis, never standing still
            way = np.where(step[:, 0] != 0, np.where(step[:, 0] < 0, 0, 1), np.where(step[:, 1] < 0, 2, 3))
            assert (fl[:-1] == way).all() and fl[-1] == way[-1]


def test_reversed_clip_is_captioned_with_opposite_directions(clips):
    flip = {"up": "down", "down": "up", "left": "right", "right": "left"}
    for split in C.SPLITS:
        for caps, lay in zip(clips.captions[split], clips.layout[split].numpy()):
            digits = [int(d) for d in lay[0, :, 0] if d >= 0]
            back = C.motion_caption(digits, lay[::-1, :len(digits), 1:])
            assert back == " ".join(flip.get(w, w) for w in caps[0].split())
    # so the mean frame, the same for a clip and its reverse, cannot tell the two captions apart
    x = clips.x["train"][0]
    assert torch.allclose(x.mean(0), x.flip(0).mean(0))


def test_frame_labels_change_at_a_bounce(clips):
    room = 64 - 28
    changes = 0
    for split in C.SPLITS:
        for lay, fl in zip(clips.layout[split].numpy(), clips.frame_labels[split].numpy()):
            for t in np.flatnonzero(fl[1:] != fl[:-1]) + 1:
                changes += 1
                assert C.OPPOSITE[fl[t - 1]] == fl[t]  # a bounce reverses the motion
                coord = lay[t, 0, 1 + (fl[t] >= 2)]  # row for up / down, column for left / right
                if t < len(fl) - 1:
                    speed = abs(int(lay[t + 1, 0, 1 + (fl[t] >= 2)]) - int(coord))
                    assert coord in (0, speed * (room // speed))  # at the frame's edge
            runs = np.diff(np.flatnonzero(np.diff(np.r_[-1, fl[:-1], -1]) != 0))
            assert runs[0] >= C.MIN_RUN and runs[-1] >= C.MIN_RUN
    assert changes > 0
    bounced = sum(int((clips.frame_labels[s][:, 1:] != clips.frame_labels[s][:, :-1]).any(1).sum()) for s in C.SPLITS)
    assert 0 < bounced < 100 and sum(clips.about["clips_with_a_bounce"].values()) == bounced


def test_clips_are_deterministic_by_seed(mnist, clips):
    again = C.moving_digits(mnist, sizes=(60, 10, 30), seed=5, frames=20)
    other = C.moving_digits(mnist, sizes=(60, 10, 30), seed=6, frames=20)
    for s in C.SPLITS:
        assert torch.equal(again.x[s], clips.x[s]) and torch.equal(again.frame_labels[s], clips.frame_labels[s])
        assert again.captions[s] == clips.captions[s]
    assert other.captions["train"] != clips.captions["train"]


# ------------------------------------------------------------------------------------------------------- emoji

@pytest.fixture
def emoji_data(tmp_path, monkeypatch):
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path))
    standin.write_emoji(tmp_path)
    return tmp_path


def tone_free(caption: str) -> str:
    return re.sub(r"( (light|medium light|medium|medium dark|dark) skin tone)+$", "", caption)


def test_emoji_images_and_captions(emoji_data):
    from PIL import Image
    e = C.load_emoji()
    caps = {c[0] for s in C.SPLITS for c in e.captions[s]}
    assert sum(len(e.captions[s]) for s in C.SPLITS) == 6 + 5 * 6 + 6 * 6 + 1 + 8  # every drawn image, once
    assert {"keycap", "cote divoire flag", "jack o lantern", "grapes", "waving hand sign medium skin tone",
            "handshake light skin tone medium light skin tone", "handshake medium skin tone dark skin tone",
            "woman cook dark skin tone"} <= caps
    assert not any("twemoji" in c for c in caps)  # has_img_twitter false: left out
    assert all(CAPTION.match(c) for c in caps)
    for s in C.SPLITS:
        x = e.x[s]
        assert x.shape == (len(e.captions[s]), 3, 64, 64) and x.dtype == torch.float32
        assert float(x.min()) >= 0 and float(x.max()) <= 1
        assert (x[:, :, 0, 0] == 1).all()  # the transparent ground composited on white
    # the soft rim (alpha 128) of the first image: alpha * colour + (1 - alpha) * white
    folder = emoji_data / "emoji" / "node_modules" / "emoji-datasource-twitter" / "img" / "twitter" / "64"
    a = np.asarray(Image.open(folder / f"{0x1F900:x}.png"), dtype=np.float64) / 255
    want = a[..., :3] * a[..., 3:] + 1 - a[..., 3:]
    got = e.x["train"][e.captions["train"].index(["grapes"])].permute(1, 2, 0).double().numpy()
    assert np.abs(got - want).max() < 1e-6 and ((a[..., 3] > 0) & (a[..., 3] < 1)).any()


def test_emoji_holds_out_unseen_combinations_of_seen_parts(emoji_data):
    e = C.load_emoji(seed=0)
    train = {c[0] for c in e.captions["train"]}
    kinds = {"skin tone": 0, "gender": 0}
    for s in ("val", "test"):
        assert e.captions[s]
        for (c,) in e.captions[s]:
            assert c not in train  # an unseen combination ...
            assert all(w in e.vocab for w in c.split())  # ... of words all seen
            if tone_free(c) in train and tone_free(c) != c:
                kinds["skin tone"] += s == "test"  # a tone of an emoji trained in other tones
            else:
                assert C.gender_swapped(tone_free(c)) in train  # the other gender of an emoji trained on
                kinds["gender"] += s == "test"
    assert kinds["skin tone"] >= 8 and kinds["gender"] >= 1
    assert kinds == e.about["held_out"]["test"]
    # one tone per toned emoji to test, another to val
    test_bases = [tone_free(c) for (c,) in e.captions["test"]]
    assert test_bases.count("waving hand sign") == 1
    assert not {c for (c,) in e.captions["val"]} & {c for (c,) in e.captions["test"]}


def test_emoji_split_is_deterministic_by_seed(emoji_data):
    a, b = C.load_emoji(seed=0), C.load_emoji(seed=0)
    assert a.captions == b.captions and all(torch.equal(a.x[s], b.x[s]) for s in C.SPLITS)
    others = [C.load_emoji(seed=k).captions["test"] for k in (1, 2, 3)]
    assert any(o != a.captions["test"] for o in others)


def test_missing_emoji_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path))
    assert not store.is_installed("emoji")
    with pytest.raises(DataError, match="nnzoo data install emoji") as err:
        C.load_emoji()
    assert "emoji-datasource-twitter@16.0.0" in str(err.value)
    assert store.commands("emoji") == [["npm", "install", "--prefix", str(tmp_path / "emoji"), "--ignore-scripts",
                                        "--no-audit", "--no-fund", "--loglevel=error",
                                        "emoji-datasource-twitter@16.0.0"]]
    standin.write_emoji(tmp_path)
    assert store.is_installed("emoji") and store.emoji_dir() == tmp_path / "emoji" / "node_modules" / "emoji-datasource-twitter"
    assert store.commands("digit-scenes") == store.commands("moving-digits") == store.commands("mnist")


def test_emoji_caption_text():
    assert C.emoji_caption("KEYCAP: *") == "keycap"
    assert C.emoji_caption("St. Barthélemy Flag") == "st barthelemy flag"
    assert C.emoji_caption("COUPLE WITH HEART: WOMAN, MAN") == "couple with heart woman man"
    assert C.tone_words("1F3FD-1F3FD") == "medium skin tone"
    assert C.tone_words("1f3fb-1F3FF") == "light skin tone dark skin tone"
    with pytest.raises(DataError, match="skin tone"):
        C.tone_words("1F9B0")
    assert C.gender_swapped("kiss man man") == "kiss woman woman"


@pytest.mark.skipif(not store.is_installed("emoji"), reason="needs the emoji set: nnzoo data install emoji")
def test_real_emoji_when_installed():
    e = C.load_emoji()
    assert sum(e.about["examples"].values()) == 3786
    train = {c[0] for c in e.captions["train"]}
    assert not any(c[0] in train for s in ("val", "test") for c in e.captions[s])
