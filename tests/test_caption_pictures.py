"""The pictures of captioning and video runs (report/plots.py: captions.png, clip_labels.png): drawn from
hand-made arrays (right ones green, wrong ones red, bounces yellow, nothing red where all is right), skipped
without their arrays, refused when malformed; and written by `nnzoo train` into tiny runs of
digit-scenes-caption, moving-digits-s2vt and moving-digits-classify on the stand-in data (tests/standin.py)."""
import numpy as np
import pytest
from PIL import Image

import standin
from nnzoo.report import plots

pytestmark = pytest.mark.usefixtures("one_thread")

GREEN, RED, YELLOW = (0x1a, 0x7f, 0x37), (0xb2, 0x22, 0x22), (0xff, 0xf1, 0xb8)
TINY = ["channels=[16,32]", "hidden=32", "batch_size=16", "epochs=1", "time_limit=0", "tensorboard=false",
        "val_size=8", "test_size=12"]


def pixels(path) -> np.ndarray:
    """The PNG as H, W, 3 uint8, after checking it is a whole PNG file."""
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def count(img: np.ndarray, rgb) -> int:
    """Pixels within 12 levels of a colour (text is anti-aliased: its cores keep the colour)."""
    return int((np.abs(img.astype(int) - np.array(rgb)).max(-1) <= 12).sum())


def grey_area(img: np.ndarray) -> int:
    """Pixels of middle grey: the test arrays' noise images (text is black or coloured, the page white)."""
    return int(((img.std(-1) == 0) & (img[..., 0] > 40) & (img[..., 0] < 215)).sum())


def assert_picture(path, min_h=300):
    """A non-trivial figure: 900 px wide, tall enough to hold examples, with many distinct colours (images and
    text, not a blank page)."""
    img = pixels(path)
    h, w, _ = img.shape
    assert w == 900 and min_h <= h <= 3000, (path.name, w, h)
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50 and img.std() > 20, path.name
    return img


def caption_arrays(n=12, clips=False, rng=None):
    rng = rng or np.random.default_rng(0)
    shape = (n, 20, 1, 64, 64) if clips else (n, 1, 64, 64)
    top = np.array([[f"a small {i % 10} above a large 3", f"a {i % 10}", "a large 8"] for i in range(n)])
    return {"caption_inputs": rng.random(shape, dtype=np.float32), "caption_top": top,
            "caption_logprobs": -np.sort(rng.random((n, 3)) * 9, axis=1) - 0.1, "caption_truth": top[:, 0],
            "caption_right": np.arange(n) % 2 == 0, "caption_index": np.arange(n) * 3}


def clip_arrays(n=3, wrong=True, bounce=True):
    rng = np.random.default_rng(1)
    true = np.zeros((n, 20), np.int64)
    if bounce:
        true[:, 9:] = 1  # up, then down after the bounce
    pred = true.copy()
    if wrong:
        pred[0, 9] = 0
    return {"clip_inputs": rng.random((n, 20, 1, 64, 64), dtype=np.float32), "clip_frame_true": true,
            "clip_frame_pred": pred, "clip_true": true[:, 0], "clip_pred": pred[:, 1],
            "classes": np.array(["up", "down", "left", "right"])}


def run_with(tmp_path, **arrays):
    tmp_path.mkdir(parents=True, exist_ok=True)
    np.savez(tmp_path / "artifacts.npz", **arrays)
    return tmp_path


# --------------------------------------------------------------------------------------- hand-made arrays
def test_captions_of_images_right_and_wrong(tmp_path):
    run = run_with(tmp_path, **caption_arrays())
    img = assert_picture(plots.captions(run))
    assert count(img, GREEN) > 200 and count(img, RED) > 200  # the right ones' lines, the wrong ones'
    only_right = run_with(tmp_path / "right", **{**caption_arrays(), "caption_right": np.ones(12, bool)})
    img = assert_picture(plots.captions(only_right))
    assert count(img, RED) == 0 and count(img, GREEN) > 200


def test_captions_of_clips_are_frame_strips(tmp_path):
    strips = assert_picture(plots.captions(run_with(tmp_path / "clips", **caption_arrays(clips=True))))
    images = pixels(plots.captions(run_with(tmp_path / "images", **caption_arrays())))
    # five frames (0, 4, ..., 16) per clip, one image per scene: the noise frames' grey covers far more
    assert grey_area(strips) > 2.5 * grey_area(images)
    assert count(strips, GREEN) > 0 and count(strips, RED) > 0


def test_a_beam_with_fewer_captions_and_colour_inputs(tmp_path):
    a = caption_arrays(n=4)
    a["caption_top"][:, 2] = ""
    a["caption_logprobs"][:, 2] = np.nan  # how tasks/caption.py pads a beam that found two
    a["caption_inputs"] = np.random.default_rng(2).random((4, 3, 64, 64), dtype=np.float32)
    assert_picture(plots.captions(run_with(tmp_path, **a)), min_h=200)


def test_clip_labels_mark_wrong_frames_and_bounces(tmp_path):
    img = assert_picture(plots.clip_labels(run_with(tmp_path / "a", **clip_arrays())))
    assert count(img, RED) > 0 and count(img, YELLOW) > 1000
    clean = assert_picture(plots.clip_labels(run_with(tmp_path / "b", **clip_arrays(wrong=False, bounce=False))))
    assert count(clean, RED) == 0 and count(clean, YELLOW) == 0 and count(clean, GREEN) > 0


def test_missing_arrays_draw_nothing_and_malformed_ones_are_named(tmp_path):
    run = run_with(tmp_path, confusion=np.eye(3, dtype=np.int64))
    assert plots.captions(run) is None and plots.clip_labels(run) is None
    assert not (run / "captions.png").exists() and not (run / "clip_labels.png").exists()
    bad = run_with(tmp_path / "bad", **{**caption_arrays(), "caption_logprobs": np.zeros((12, 2))})
    with pytest.raises(ValueError, match="caption_logprobs"):
        plots.captions(bad)
    with pytest.warns(UserWarning, match="captions.png: not drawn"):
        assert "captions.png" not in {p.name for p in plots.plot_run(bad)}
    bad = run_with(tmp_path / "bad2", **{**clip_arrays(), "clip_frame_pred": np.zeros((3, 19), np.int64)})
    with pytest.raises(ValueError, match="3 clips x 20 frames"):
        plots.clip_labels(bad)


# ----------------------------------------------------------------------------------------- trained runs
@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """Stand-in MNIST only, under a fresh NNZOO_DATA (the encoder's MNIST judge is trained there on first use)."""
    with standin.data_folder(tmp_path_factory.mktemp("caption-pictures-data")) as root:
        yield root


train = standin.train_run


def test_caption_runs_write_their_pictures(data_root, tmp_path_factory):
    scenes = train(tmp_path_factory, "digit-scenes-caption", *TINY, "embed=16", "train_subset=64")
    art = np.load(scenes / "artifacts.npz")
    assert len(art["caption_inputs"]) == 12  # the test set: 12 scenes, right and wrong ones, all pictured
    assert_picture(scenes / "captions.png")


def test_s2vt_run_writes_its_clips(data_root, tmp_path_factory):
    clips = train(tmp_path_factory, "moving-digits-s2vt", *TINY, "features=16", "embed=16", "train_subset=16")
    assert_picture(clips / "captions.png")
    assert not (clips / "clip_labels.png").exists()


def test_classify_run_writes_its_confusion_matrix_and_frame_labels(data_root, tmp_path_factory):
    run = train(tmp_path_factory, "moving-digits-classify", *TINY, "features=16", "train_subset=16")
    assert_picture(run / "clip_labels.png")
    assert_picture(run / "confusion.png")
    assert not (run / "captions.png").exists()
