"""The captioning and video tasks end to end from an empty data folder of stand-ins (tests/standin.py): tiny runs
of digit-scenes-caption, emoji-caption, moving-digits-s2vt and moving-digits-classify train and report the
issue's figures; `nnzoo caption` prints captions best first with their log-probabilities for an image, a GIF and
a folder of frames; every bad input is one line and exit code 2. The scorers are checked on cases worked by hand."""
import json
import os
import re
import shutil

import numpy as np
import pytest
from PIL import Image

import standin
from nnzoo.tasks import caption as cap

pytestmark = pytest.mark.usefixtures("one_thread")

LINE = re.compile(r"^(\d)\) ([a-z0-9 ]*) \(logprob: (-?\d+\.\d\d)\)$")
TINY_CAPTIONER = ["channels=[16,32]", "embed=32", "hidden=64", "batch_size=32", "epochs=2", "time_limit=0",
                  "tensorboard=false", "lr=3e-3"]
TINY_CLIPS = ["channels=[16,32]", "features=32", "hidden=32", "batch_size=16", "epochs=1", "time_limit=0",
              "tensorboard=false", "train_subset=48", "val_size=8", "test_size=16"]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """Stand-in MNIST and emoji only, under a fresh NNZOO_DATA (the judge is trained there on first use)."""
    with standin.data_folder(tmp_path_factory.mktemp("caption-data"), standin.write_emoji) as root:
        yield root


train = standin.train_run


@pytest.fixture(scope="module")
def scenes(data_root, tmp_path_factory):
    return train(tmp_path_factory, "digit-scenes-caption", *TINY_CAPTIONER, "train_subset=256", "val_size=32",
                 "test_size=40")


@pytest.fixture(scope="module")
def clips(data_root, tmp_path_factory):
    return train(tmp_path_factory, "moving-digits-s2vt", *TINY_CLIPS)


@pytest.fixture(scope="module")
def classified(data_root, tmp_path_factory):
    return train(tmp_path_factory, "moving-digits-classify", *TINY_CLIPS)


def evaluated(nnzoo_cli, run) -> dict:
    code, out, err = nnzoo_cli("eval", run, "--json")
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1])  # after what a training in this test printed


def one_error_line(result, *needles):
    code, out, err = result
    lines = [line for line in err.strip().splitlines() if line]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("nnzoo: error: "), err
    for n in needles:
        assert n in lines[0], lines[0]


def captions_printed(out: str, top: int) -> list[tuple[str, float]]:
    rows = [LINE.match(line) for line in out.strip().splitlines()]
    assert len(rows) == top and all(rows), out
    assert [int(r[1]) for r in rows] == list(range(1, top + 1))
    found = [(r[2], float(r[3])) for r in rows]
    assert all(lp <= 0 for _, lp in found) and [lp for _, lp in found] == sorted((lp for _, lp in found), reverse=True)
    return found


def save_png(a: np.ndarray, path, mode=None):
    """(C, H, W) in [0, 1] -> an 8-bit PNG (grey for one channel)."""
    img = (np.clip(a, 0, 1) * 255).round().astype(np.uint8)
    Image.fromarray(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)).convert(mode or
                                                                                       ("L" if img.shape[0] == 1 else "RGB")).save(path)
    return path


def frames_of(run, k=0) -> np.ndarray:
    return np.load(run / "artifacts.npz")["caption_inputs"][k]


# ------------------------------------------------------------------------------------------ the scorers
def test_bleu_reads_every_reference_and_is_a_fraction():
    refs = [["a small 3 above a large 8", "a large 8 below a small 3"], ["a large 7", "a 7"]]
    assert cap.corpus_bleu(["a large 8 below a small 3", "a large 7"], refs)[0] == pytest.approx(1.0)
    # one reference only: the second way of saying it no longer counts
    assert cap.corpus_bleu(["a large 8 below a small 3", "a large 7"], [r[:1] for r in refs])[0] < 0.5
    score, signature = cap.corpus_bleu(["a small 3 above a large 9", "a large 7"], refs, order=1)
    assert score == pytest.approx(9 / 10) and "tok:13a" in signature


def test_the_other_scene_has_another_caption():
    canonical = ["a 1", "a 2", "a 1", "a 1", "a 3", "a 2"]
    other = cap.other_examples(canonical)
    assert all(j != i and canonical[j] != canonical[i] for i, j in enumerate(other))
    assert cap.other_examples(["a 1", "a 1"]) == [-1, -1]


def test_cider_of_captions_equal_to_their_references_is_ten():
    # two captions of disjoint words, each its own reference: every n-gram's document frequency is 1, so each
    # n-gram order's tf-idf vectors agree exactly (cosine 1), the lengths agree (no penalty) and CIDEr-D = 10 x 1
    hyps = ["a small 3 above a large 8", "two digits: 5 left of 1"]
    assert cap.cider_score(hyps, [[h] for h in hyps]) == pytest.approx(10.0)
    assert 0 < cap.cider_score(["a small 3 above a large 1", "two digits: 5 left of 1"], [[h] for h in hyps]) < 10


@pytest.mark.skipif(shutil.which("java") is None, reason="METEOR's jar needs Java")
def test_meteor_of_the_coco_scorer_ranks_captions():
    refs = [["the 1 moves left and the 6 moves down", "the 6 moves down and the 1 moves left"], ["the 4 moves up"]]
    right = cap.coco_scores(["the 6 moves down and the 1 moves left", "the 4 moves up"], refs)
    jar = cap._meteor[shutil.which("java")]
    wrong, note = cap.meteor_score(["the 1 moves down and the 6 moves up", "the 4 moves up"], refs)
    assert cap._meteor[shutil.which("java")] is jar  # one jar per process: starting it takes seconds
    assert right["test_meteor"] == pytest.approx(1.0) and "meteor_note" not in right and note == ""
    assert 0.3 < wrong < right["test_meteor"]


def test_without_java_or_with_a_broken_one_meteor_is_left_out_with_a_note(tmp_path, monkeypatch):
    refs, hyps = [["the 4 moves up"]], ["the 4 moves up"]
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    out = cap.coco_scores(hyps, refs)
    assert "test_meteor" not in out and "no java" in out["meteor_note"] and "test_cider" in out
    monkeypatch.undo()
    fake = tmp_path / "java"  # a java that dies at once, as one out of memory would
    fake.write_text("#!/bin/sh\necho 'Error: could not reserve enough space for object heap' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    out = cap.coco_scores(hyps, refs)
    assert "test_meteor" not in out and "its jar failed" in out["meteor_note"] and "test_cider" in out
    assert "could not reserve enough space" in out["meteor_note"]  # its stderr, read while it ran, says why
    assert str(fake) not in cap._meteor  # a dead jar is not kept: the next call starts another


def test_directions_read_off_and_reversed():
    c = "the 4 moves up and the 9 moves left"
    assert cap.directions(c) == {"4": "up", "9": "left"}
    assert cap.reversed_caption(c) == "the 4 moves down and the 9 moves right"


# -------------------------------------------------------------------------------------------- the runs
def test_caption_run_reports_bleu_exact_match_and_ranks(scenes, nnzoo_cli):
    f = evaluated(nnzoo_cli, scenes)
    for k in ("test_bleu1", "test_bleu2", "test_bleu3", "test_bleu4", "test_bleu4_beam3", "test_bleu4_greedy"):
        assert 0.0 <= f[k] <= 1.0, k
    assert f["test_bleu4_beam3"] == f["test_bleu4"] and f["test_bleu1"] >= f["test_bleu4"]
    for k in ("test_exact_match_beam3_percent", "test_exact_match_greedy_percent", "test_rank_true_over_other_percent",
              "val_exact_match_greedy_percent"):
        assert 0.0 <= f[k] <= 100.0, k
    assert f["test_examples"] == 40 and f["test_rank_pairs"] == 40 and f["test_references_per_example"] > 1
    assert f["val_perplexity"] == pytest.approx(np.exp(f["val_loss"]), rel=1e-6)
    assert f["test_cider"] >= 0.0 and "CIDEr-D" in f["coco_scorer"]
    assert (0.0 <= f["test_meteor"] <= 1.0) if shutil.which("java") else "meteor_note" in f
    doc = json.loads((scenes / "config.json").read_text())
    assert doc["vocab"][:4] == ["<pad>", "<bos>", "<eos>", "<unk>"] and "mnist-cnn" in doc["encoder_start"]
    art = np.load(scenes / "artifacts.npz")
    assert art["caption_inputs"].shape[1:] == (1, 64, 64) and art["caption_top"].shape[1] == 3
    lp = art["caption_logprobs"]
    assert (np.diff(lp, axis=1) <= 1e-9).all() and len(art["caption_truth"]) == len(lp)


def test_caption_of_an_image_best_first(scenes, nnzoo_cli, tmp_path):
    png = save_png(frames_of(scenes), tmp_path / "scene.png")
    code, out, err = nnzoo_cli("caption", scenes, png, "--top", "3")
    assert code == 0, err
    captions_printed(out, 3)
    code, out, _ = nnzoo_cli("caption", scenes, png, "--beam", "4", "--top", "2", "--json")
    res = json.loads(out)
    assert res["decoding"] == "beam 4" and len(res["captions"]) == 2 and res["notes"] == []
    code, out, _ = nnzoo_cli("caption", scenes, png, "--beam", "1", "--top", "1")
    assert code == 0 and len(captions_printed(out, 1)) == 1
    # twice the size, in faintly blue RGB: resized and converted, said on stderr
    g = np.asarray(Image.open(png).resize((128, 128), Image.Resampling.NEAREST)).astype(np.int16)
    Image.fromarray(np.stack([g, g, np.clip(g + 2, 0, 255)], -1).astype(np.uint8)).save(tmp_path / "big.png")
    code, out, err = nnzoo_cli("caption", scenes, tmp_path / "big.png")
    assert code == 0 and "resized from 128x128 to 64x64" in err and "converted to grey" in err
    captions_printed(out, 3)
    # what the model reads: close to the original image (resampling moves edge pixels; an untrained model's
    # captions are near-ties, so its words are not compared)
    from nnzoo.runs import load_run
    from nnzoo.tasks.caption import read_input
    mcfg = load_run(scenes)[1]
    (x, _), (x_big, notes) = read_input(png, mcfg), read_input(tmp_path / "big.png", mcfg)
    assert x.shape == x_big.shape and (x - x_big).abs().mean() < 0.01 and notes


def test_bad_image_inputs_are_one_line(scenes, nnzoo_cli, tmp_path):
    png = save_png(frames_of(scenes), tmp_path / "scene.png")
    one_error_line(nnzoo_cli("caption", scenes, tmp_path / "nope.png"), "no such file")
    (tmp_path / "junk.png").write_bytes(b"not a picture")
    one_error_line(nnzoo_cli("caption", scenes, tmp_path / "junk.png"), "cannot read")
    Image.new("L", (64, 48)).save(tmp_path / "wide.png")
    one_error_line(nnzoo_cli("caption", scenes, tmp_path / "wide.png"), "64x48", "square")
    one_error_line(nnzoo_cli("caption", scenes, tmp_path), "is a folder")
    frames = [Image.new("L", (64, 64), v) for v in (0, 80, 160)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    one_error_line(nnzoo_cli("caption", scenes, tmp_path / "anim.gif"), "animation of 3 frames")
    one_error_line(nnzoo_cli("caption", scenes, png, "--beam", "0"), "--beam must be 1")
    one_error_line(nnzoo_cli("caption", scenes, png, "--beam", "2", "--top", "3"), "--top 3")


def test_missing_mnist_is_the_install_line(nnzoo_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path / "empty"))
    one_error_line(nnzoo_cli("train", "digit-scenes-caption", "--out", tmp_path / "r"), "nnzoo data install mnist")
    assert not (tmp_path / "r").exists()


def test_a_model_of_images_on_clips_is_told(data_root, nnzoo_cli, tmp_path):
    one_error_line(nnzoo_cli("train", "digit-scenes-caption", "data=moving-digits", "train_subset=4", "val_size=2",
                             "test_size=2", "--out", tmp_path / "r"), "holds clips", "s2vt")


def test_emoji_run_and_a_transparent_png(data_root, nnzoo_cli, tmp_path_factory):
    run = train(tmp_path_factory, "emoji-caption", *TINY_CAPTIONER, "channels=[8,16]")
    f = evaluated(nnzoo_cli, run)
    assert 0.0 <= f["test_exact_match_beam3_percent"] <= 100.0 and 0.0 <= f["test_bleu4_beam3"] <= 1.0
    png = next((data_root / "emoji").rglob("*.png"))  # RGBA on a transparent ground
    code, out, err = nnzoo_cli("caption", run, png, "--top", "2")
    assert code == 0 and err == "" and len(captions_printed(out, 2)) == 2


def test_s2vt_run_reports_the_directions(clips, nnzoo_cli):
    f = evaluated(nnzoo_cli, clips)
    for k in ("test_exact_match_beam3_percent", "test_direction_accuracy_percent", "test_directions_all_right_percent",
              "test_exact_match_reversed_clips_beam3_percent", "test_same_caption_reversed_percent"):
        assert 0.0 <= f[k] <= 100.0, k
    assert 0.0 <= f["test_bleu4_beam3"] <= 1.0 and f["test_examples"] == 16


def test_s2vt_captions_a_gif_and_a_folder_alike(clips, nnzoo_cli, tmp_path):
    clip = frames_of(clips)  # T, 1, 64, 64
    frames = [Image.fromarray((f[0] * 255).round().astype(np.uint8)) for f in clip]
    frames[0].save(tmp_path / "clip.gif", save_all=True, append_images=frames[1:], duration=80)
    (tmp_path / "frames").mkdir()
    for t, f in enumerate(frames):
        f.save(tmp_path / "frames" / f"frame{t:02d}.png")
    code, out, err = nnzoo_cli("caption", clips, tmp_path / "clip.gif", "--json")
    assert code == 0, err
    assert json.loads(out)["notes"] == []  # a GIF's frames come as RGB, but grey ones are not "converted"
    from_gif = json.loads(out)["captions"]
    code, out, err = nnzoo_cli("caption", clips, tmp_path / "frames", "--json")
    assert code == 0, err
    from_folder = json.loads(out)["captions"]
    assert len(from_gif) == 3 and [c["caption"] for c in from_gif] == [c["caption"] for c in from_folder]
    code, out, _ = nnzoo_cli("caption", clips, tmp_path / "frames")
    captions_printed(out, 3)
    (tmp_path / "big").mkdir()
    for t, f in enumerate(frames):
        f.resize((128, 128)).save(tmp_path / "big" / f"frame{t:02d}.png")
    code, out, err = nnzoo_cli("caption", clips, tmp_path / "big", "--json")
    assert code == 0 and json.loads(out)["notes"] == ["frames in big: resized from 128x128 to 64x64"]


def test_bad_clip_inputs_are_one_line(clips, nnzoo_cli, tmp_path):
    frames = [Image.new("L", (64, 64), v) for v in range(0, 250, 50)]
    frames[0].save(tmp_path / "short.gif", save_all=True, append_images=frames[1:])
    one_error_line(nnzoo_cli("caption", clips, tmp_path / "short.gif"), "has 5 frames", "20")
    (tmp_path / "empty").mkdir()
    one_error_line(nnzoo_cli("caption", clips, tmp_path / "empty"), "holds no image files")
    (tmp_path / "few").mkdir()
    for t in range(19):
        frames[t % 5].save(tmp_path / "few" / f"f{t:02d}.png")
    one_error_line(nnzoo_cli("caption", clips, tmp_path / "few"), "19 frame images", "20")
    one_error_line(nnzoo_cli("caption", clips, tmp_path / "few" / "f00.png"), "single image", "20 frames")


def test_classify_run_reports_frame_and_clip_accuracy_and_refuses_to_caption(classified, nnzoo_cli, tmp_path):
    f = evaluated(nnzoo_cli, classified)
    for k in ("test_frame_accuracy_percent", "test_clip_accuracy_percent", "test_bounced_frame_accuracy_percent"):
        assert 0.0 <= f[k] <= 100.0, k
    assert f["mode"] == "sync" and f["clip_answer"] == "frame 1's label" and f["test_frames"] == 16 * 20
    art = np.load(classified / "artifacts.npz")
    assert art["confusion"].shape == (4, 4) and art["confusion"].sum() == 16 * 20
    one_error_line(nnzoo_cli("caption", classified, tmp_path / "x.png"), "moving-digits-classify run",
                   "writes no captions")


def test_many_to_one_answers_once_per_clip(data_root, nnzoo_cli, tmp_path_factory):
    run = train(tmp_path_factory, "moving-digits-classify", *TINY_CLIPS, "mode=many-to-one")
    f = evaluated(nnzoo_cli, run)
    assert f["mode"] == "many-to-one" and f["clip_answer"] == "its own"
    art = np.load(run / "artifacts.npz")
    # one answer per clip, counted at every frame
    assert (art["clip_frame_pred"] == art["clip_pred"][:, None]).all()
