"""Reports from run folders alone: plots from files, and a static HTML page. No torch, no model."""
import html as htmlmod
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from nnzoo.report import plots
from nnzoo.report.html import write_report
from nnzoo.report.plots import PLOT_FILES, plot_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_run(run, artifacts=True, metrics=True, k=10, rng=None):
    rng = rng or np.random.default_rng(0)
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.json").write_text(json.dumps({"recipe": "mnist-cnn", "model": "cnn", "data": "mnist",
                                                 "model_config": {}, "train": {"epochs": 3}}))
    if metrics:
        lines = []
        for step in range(0, 300, 10):
            lines.append({"step": step, "epoch": step / 100, "split": "train", "name": "loss",
                          "value": 2.3 * np.exp(-step / 50) + 0.05, "time": step * 0.1})
            if step and step % 100 == 0:
                e = step / 100
                lines += [{"step": step, "epoch": e, "split": "val", "name": "loss", "value": 0.1 / e, "time": 1.0},
                          {"step": step, "epoch": e, "split": "val", "name": "accuracy", "value": 0.9 + e / 40,
                           "time": 1.0},
                          {"step": step, "epoch": e, "split": "train", "name": "lr", "value": 1e-3 / e, "time": 1.0}]
        text = "\n".join(json.dumps(r) for r in lines) + "\n{torn line\n"
        (run / "metrics.jsonl").write_text(text)
    figures = {"test_accuracy": 0.97, "test_accuracy_percent": 97.0, "test_loss": 0.09}
    if artifacts:  # with the pictures' data, a generator's class histogram too
        figures["class_shares_percent"] = [10.0] * 10
    (run / "eval.json").write_text(json.dumps(figures))
    if artifacts:
        cm = rng.integers(0, 5, (k, k)) + np.diag(rng.integers(50, 100, k))
        np.savez(run / "artifacts.npz", confusion=cm.astype(np.int64),
                 classes=np.array([f"c{i}" for i in range(k)]),
                 mis_images=rng.random((5, 1, 28, 28), dtype=np.float32), mis_true=rng.integers(0, k, 5),
                 mis_pred=rng.integers(0, k, 5), mis_prob=rng.random(5),
                 filters=rng.normal(size=(6, 1, 5, 5)).astype(np.float32),
                 fmap_input=rng.random((1, 28, 28), dtype=np.float32), fmap_names=np.array(["block1", "block2"]),
                 fmap_0=rng.random((4, 14, 14), dtype=np.float32), fmap_1=rng.random((20, 7, 7), dtype=np.float32),
                 # a sentence classifier's shown test sentences (sentences.png)
                 shown_group=np.array(["most confident: c0", "most confident: c0", "most confident mistakes"]),
                 shown_text=np.array(["a gripping, funny film", "warm " * 40, "dull and ''witty''"]),
                 shown_true=np.array([0, 0, 1]), shown_pred=np.array([0, 0, 0]), shown_prob=np.array([0.99, 0.9, 0.8]),
                 # a translation's attention over one sentence (attention.png): 3 target x 4 source words
                 attn_0=rng.dirichlet(np.ones(4), size=3), attn_src_0=np.array(["god", "saw", "light", "<eos>"]),
                 attn_out_0=np.array(["dios", "vio", "luz"]),
                 story_0=np.array(["mary moved to the bathroom", "john went to the hallway"]),
                 story_weights_0=np.array([[0.9, 0.1], [0.7, 0.3]]), story_support_0=np.array([0]),
                 story_question_0=np.array("where is mary?"), story_answer_0=np.array("bathroom"),
                 story_predicted_0=np.array("bathroom"), story_task_0=np.array(1),
                 # an 8-3-8 encoder's code table (codes.png) and a grid of images (reconstructions.png)
                 code_table=rng.random((8, 3)), code_table_labels=np.array([f"input {i}" for i in range(8)]),
                 **{"grid:reconstructions": rng.random((3, 12, 1, 28, 28)),
                    "grid:reconstructions:rows": np.array(["input", "model", "PCA"]),
                    "grid:reconstructions:title": np.array("Test digits and their reconstructions")})
    return run


def assert_png(path, min_w=400, max_w=1400):
    assert path.is_file()
    assert path.read_bytes()[:8] == PNG_MAGIC
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        w, h = im.size
    assert min_w <= w <= max_w, (path.name, w, h)
    assert 150 <= h <= 3000, (path.name, w, h)


def test_plot_run_writes_every_png(tmp_path):
    run = write_run(tmp_path / "run")
    written = plot_run(run)
    assert sorted(p.name for p in written) == sorted([*PLOT_FILES, "reconstructions.png"])
    for p in written:
        assert p.parent == run
        assert_png(p)


def test_plot_run_without_artifacts_draws_only_the_curves(tmp_path):
    run = write_run(tmp_path / "run", artifacts=False)
    written = plot_run(run)
    assert [p.name for p in written] == ["learning_curves.png"]
    assert sorted(p.name for p in run.glob("*.png")) == ["learning_curves.png"]


def test_empty_run_folder_draws_nothing(tmp_path):
    run = tmp_path / "empty"
    run.mkdir()
    assert plot_run(run) == []
    assert list(run.iterdir()) == []
    for fn in PLOT_FILES.values():
        assert fn(run, run / "x.png") is None
    assert plot_run(tmp_path / "does-not-exist") == []


def test_missing_keys_skip_their_figures_only(tmp_path):
    run = write_run(tmp_path / "run")
    art = dict(np.load(run / "artifacts.npz"))
    for key in ["filters", "mis_images", "fmap_0", "fmap_1", "classes", "mis_prob", "shown_text", "attn_0", "story_0",
                "code_table", "grid:reconstructions"]:
        art.pop(key)
    np.savez(run / "artifacts.npz", **art)
    (run / "metrics.jsonl").unlink()
    (run / "eval.json").write_text(json.dumps({"test_accuracy": 0.97}))  # no class histogram either
    names = sorted(p.name for p in plot_run(run))
    assert names == ["confusion.png"]
    assert not (run / "filters.png").exists() and not (run / "feature_maps.png").exists()


def test_partial_artifacts_still_draw(tmp_path):
    """Misclassified images without labels, feature maps without names or input, filters as (O,H,W)."""
    run = tmp_path / "run"
    run.mkdir()
    rng = np.random.default_rng(1)
    np.savez(run / "artifacts.npz", mis_images=rng.random((3, 28, 28), dtype=np.float32),
             filters=rng.normal(size=(3, 28, 28)).astype(np.float32),
             fmap_0=rng.random((40, 5, 5), dtype=np.float32))
    names = sorted(p.name for p in plot_run(run))
    assert names == ["feature_maps.png", "filters.png", "misclassified.png"]
    for name in names:
        assert_png(run / name)


def test_corrupt_files_do_not_crash(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "artifacts.npz").write_bytes(b"not a zip file")
    (run / "metrics.jsonl").write_text("garbage\n{\"name\": \"loss\"}\n")
    (run / "eval.json").write_text("{")
    (run / "config.json").write_text("[1, 2]")
    assert plot_run(run) == []


def test_rgb_images_and_filters(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    rng = np.random.default_rng(2)
    np.savez(run / "artifacts.npz", mis_images=rng.random((4, 3, 32, 32), dtype=np.float32),
             mis_true=np.arange(4), mis_pred=np.arange(1, 5), filters=rng.normal(size=(8, 3, 3, 3)),
             fmap_input=rng.random((3, 32, 32), dtype=np.float32), fmap_0=rng.random((8, 16, 16)))
    assert sorted(p.name for p in plot_run(run)) == ["feature_maps.png", "filters.png", "misclassified.png"]


def test_many_classes_confusion(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    cm = np.random.default_rng(3).integers(0, 3, (100, 100)) + np.eye(100, dtype=np.int64) * 50
    np.savez(run / "artifacts.npz", confusion=cm)
    assert_png(plots.confusion_matrix(run, run / "cm.png"))


def test_plots_never_import_torch(tmp_path):
    run = write_run(tmp_path / "run")
    code = ("import sys; from nnzoo.report.plots import plot_run; from nnzoo.report.html import write_report; "
            f"plot_run({str(run)!r}); assert 'torch' not in sys.modules, 'report imported torch'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture
def report_dir(tmp_path):
    out = tmp_path / "report"
    run = write_run(out / "mnist-cnn")
    plots.confusion_matrix(run, run / "confusion.png")
    plots.filters(run, out / "figs" / "filters.png")
    images = ["mnist-cnn/confusion.png", "figs/filters.png"]
    sections = [
        {"title": "MNIST <script>alert(1)</script> CNN", "summary": "Conv & pool.\n\nSecond <b>paragraph</b>.",
         "rows": [{"metric": "test accuracy", "value": "99.3 %", "reference": "≥ 99 %", "status": "pass"},
                  {"metric": "loss < 0.1", "value": "0.2", "reference": "", "status": "fail"},
                  {"metric": "params", "value": "421,642", "reference": "", "status": "info"}],
         "images": images},
        {"title": "Broken recipe", "summary": "", "rows": [{"metric": "hidden", "value": "1", "reference": "",
                                                            "status": "pass"}],
         "images": [], "error": "DataError: data set 'cifar10' is not installed & <oops>"},
    ]
    meta = {"machine": "test box", "time": "now", "total wall time": "1 s", "nnzoo version": "0.1.0",
            "command": "nnzoo tour --out <dir>"}
    return out, write_report(out, "Tour <script>x</script>", sections, meta), images


def test_write_report_html(report_dir):
    out, path, images = report_dir
    assert path == out / "report.html"
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    # Every title is there, escaped: no tag the caller wrote survives as markup.
    assert "<script" not in page.lower()
    assert "<b>paragraph</b>" not in page
    assert htmlmod.escape("MNIST <script>alert(1)</script> CNN") in page
    assert htmlmod.escape("Tour <script>x</script>") in page
    assert "Broken recipe" in page
    assert htmlmod.escape("is not installed & <oops>", quote=True) in page
    assert htmlmod.escape("nnzoo tour --out <dir>") in page
    assert "test box" in page and "Contents" in page
    # The failed section shows its error instead of its rows.
    assert "hidden" not in page
    # Every image is a relative path to a file that exists, and no URL leaves the folder.
    srcs = re.findall(r'<img[^>]*\bsrc="([^"]+)"', page)
    assert srcs == images
    for src in srcs:
        assert not src.startswith(("/", "http:", "https:", "file:"))
        assert (out / src).is_file()
    assert "http://" not in page and "https://" not in page
    # Pass and fail are marked.
    assert "✓ pass" in page and "✗ fail" in page


def test_write_report_missing_image_and_no_meta(tmp_path):
    path = write_report(tmp_path, "t", [{"title": "A", "summary": "s", "rows": [], "images": ["nope.png"]}])
    page = path.read_text(encoding="utf-8")
    assert "<img" not in page and "image not found: nope.png" in page
    assert 'class="meta"' not in page


def test_figures_are_not_kept_alive(tmp_path):
    import gc
    import warnings

    from matplotlib.figure import Figure

    def alive():
        gc.collect()
        with warnings.catch_warnings():  # isinstance on every live object touches deprecated torch aliases
            warnings.simplefilter("ignore", FutureWarning)
            return {id(o) for o in gc.get_objects() if isinstance(o, Figure)}
    before = alive()  # figures other tests of this session may still hold are not this test's business
    run = write_run(tmp_path / "run", metrics=False)
    for _ in range(3):
        for name, fn in plots.PLOT_FILES.items():
            fn(run, run / name)
    assert not alive() - before
