"""cnn-features: the penultimate layer, the pieces, and the experiment end to end on a tiny mnist-cnn run over
stand-in MNIST, with and without Fashion-MNIST."""
import json

import numpy as np
import pytest
import torch

import standin
from nnzoo.experiments import cnn_features as cf
from nnzoo.models.cnn import CNN, CNNConfig
from test_cli import one_error_line

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURES = ("knn10_accuracy_features", "knn10_accuracy_pixels", "linear_probe_accuracy", "cnn_softmax_accuracy",
           "fashion_linear_accuracy_on_mnist_features", "fashion_linear_accuracy_on_pixels", "fashion_cnn_accuracy",
           "tsne_trustworthiness_k10", "tsne_knn10_accuracy", "knn10_metric_features", "knn10_metric_pixels",
           "tsne_seconds", "tsne_library", "tsne_points", "feature_cnn", "feature_dim", "gallery_digits",
           "test_digits", "fashion_train_images", "fashion_test_images", "fashion_cnn", "threads")
FASHION = FIGURES[4:7]
TINY = dict(gallery=300, val=100, test=200, fashion_train=300, fashion_test=100, tsne=100)
TINY_CNN = ["channels=[4,8]", "hidden=[16]", "batch_size=64", "tensorboard=false"]


@pytest.mark.parametrize("cfg, width", [(dict(hidden=[32, 16]), 16), (dict(arch="lenet5"), 84),
                                        (dict(arch="resnet", channels=[4, 8], hidden=[]), 8)])
def test_penultimate_is_what_the_classifier_reads(cfg, width):
    torch.manual_seed(0)
    model = CNN(CNNConfig(in_shape=(1, 28, 28), channels=cfg.pop("channels", [4, 8]), **cfg)).eval()
    x = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        h = model.penultimate(x)
        assert h.shape == (5, width)
        torch.testing.assert_close(model.head[-1](h), model(x))
    f = cf.penultimate_features(model, x, batch=2)
    assert f.shape == (5, width) and f.dtype == np.float32


def test_metric_choice_and_knn():
    """Classes told apart by direction alone, the gallery's class 0 short and class 1 long, the queries' the other
    way round: euclidean neighbours go by length and get nearly every query wrong, cosine ones get every query right."""
    rng = np.random.default_rng(0)
    d = np.array([[1.0, 0.0], [0.6, 0.8]])

    def points(short_class):
        y = np.repeat([0, 1], 50)
        r = np.where(y == short_class, rng.uniform(0.5, 1, 100), rng.uniform(10, 20, 100))
        return d[y] * r[:, None], y
    (g, gy), (q, qy) = points(0), points(1)
    assert cf.knn_score(g, gy, q, qy, "euclidean") < 0.1 and cf.knn_score(g, gy, q, qy, "cosine") == 1.0
    assert cf.pick_metric(g, gy, q, qy) == "cosine" and cf.pick_metric(g, gy, g, gy) == "euclidean"  # tie


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    """A tiny mnist-cnn run on stand-in MNIST, in a data folder of its own (no judge, no Fashion-MNIST)."""
    from nnzoo.cli import main
    root = tmp_path_factory.mktemp("cnn-features")
    with standin.data_folder(root / "data"):
        run = root / "run"
        assert main(["train", "mnist-cnn", "--out", str(run), "--quiet", "epochs=1", *TINY_CNN]) == 0
        yield run


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(cf, "QUICK", TINY)


def _check(out, res):
    f = res["figures"]
    assert list(f) == list(FIGURES)
    json.dumps(res)
    assert res["images"] == ["cnn_features_tsne.png", "cnn_features_accuracy.png"]
    for name in res["images"]:
        assert (out / name).read_bytes().startswith(PNG_MAGIC), name
    assert f["feature_dim"] == 16 and f["test_digits"] == 200 and f["gallery_digits"] == 400  # 300 + 100 val
    assert f["tsne_points"] == 100 and f["tsne_library"] == cf.TSNE_LIBRARY
    for k in FIGURES[:4] + FIGURES[7:9]:
        assert 0.0 <= f[k] <= 1.0, k
    assert {f["knn10_metric_features"], f["knn10_metric_pixels"]} <= {"euclidean", "cosine"}


def test_experiment_without_fashion_mnist_says_how_to_install_it(mnist_run, tiny, nnzoo_cli, tmp_path, monkeypatch):
    monkeypatch.setattr(cf, "_load_fashion", lambda: None)
    code, out, err = nnzoo_cli("experiment", "cnn-features", "--quick", "--quiet", "--json", "--run", mnist_run,
                               "--out", tmp_path / "x")
    assert code == 0, err
    printed = json.loads(out)
    res = json.loads((tmp_path / "x" / "figures.json").read_text())
    assert printed == {"experiment": "cnn-features", "out": str(tmp_path / "x"), **res["figures"]}
    _check(tmp_path / "x", res)
    assert all(res["figures"][k] is None for k in FASHION) and res["figures"]["fashion_cnn"] is None
    assert "nnzoo data install fashion-mnist" in res["summary"]
    assert f"--run {mnist_run}" in res["figures"]["feature_cnn"]


def test_experiment_with_fashion_trains_its_own_cnn(mnist_run, tiny, tmp_path, monkeypatch):
    """A stand-in Fashion-MNIST (.npz of random images): the three transfer figures are measured."""
    rng = np.random.default_rng(0)
    npz = tmp_path / "fashion.npz"
    np.savez(npz, x_train=rng.integers(0, 256, (640, 28, 28), dtype=np.uint8), y_train=rng.integers(0, 10, 640),
             x_test=rng.integers(0, 256, (120, 28, 28), dtype=np.uint8), y_test=rng.integers(0, 10, 120))
    monkeypatch.setattr(cf, "FASHION_DATA", str(npz))
    monkeypatch.setitem(cf.FASHION_CNN_OVERRIDES, True, [f"data={npz}", "epochs=1", *TINY_CNN])
    res = cf.run(tmp_path / "y", quick=True, seed=0, progress=False, run_dir=str(mnist_run))
    _check(tmp_path / "y", res)
    f = res["figures"]
    assert all(0.0 <= f[k] <= 1.0 for k in FASHION)
    assert f["fashion_train_images"] == 300 and f["fashion_test_images"] == 100
    assert "Fashion-MNIST (100 test images)" in res["summary"]


def test_runs_of_another_recipe_or_data_set_are_refused(mnist_run, nnzoo_cli, tmp_path):
    cfg = json.loads((mnist_run / "config.json").read_text())
    mlp = tmp_path / "mlp"
    mlp.mkdir()
    (mlp / "config.json").write_text(json.dumps({"recipe": "mnist-mlp", "model": "mlp", "model_config": {},
                                                 "train": {}, "data": "mnist"}))
    one_error_line(*nnzoo_cli("experiment", "cnn-features", "--run", mlp, "--out", tmp_path / "a"),
                   "mnist-mlp run", "mnist-cnn run")
    fashion = tmp_path / "fashion"
    fashion.mkdir()
    (fashion / "config.json").write_text(json.dumps({**cfg, "data": "fashion-mnist"}))
    one_error_line(*nnzoo_cli("experiment", "cnn-features", "--run", fashion, "--out", tmp_path / "b"),
                   "trained on 'fashion-mnist', not MNIST")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # refused before anything is written
