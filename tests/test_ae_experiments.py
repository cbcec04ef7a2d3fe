"""The autoencoder experiments and the swap task, at sizes that take seconds."""
from __future__ import annotations

import json

import numpy as np
import torch

from nnzoo.experiments import ae_codes, ae_regularisers

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _pngs(out, result):
    assert result["images"]
    for name in result["images"]:
        assert (out / name).read_bytes().startswith(PNG_MAGIC), name


def test_regularisers_experiment_measures_each_against_the_plain_one(tmp_path, monkeypatch):
    monkeypatch.setattr(ae_regularisers, "QUICK", dict(train=1024, epochs=2, test=300))
    res = ae_regularisers.run(tmp_path, quick=True, seed=0, progress=False)
    f = res["figures"]
    json.dumps(res)
    for v in ae_regularisers.VARIANTS:
        for k in ("jacobian_frobenius", "code_shift_per_input_shift", "psnr_from_noisy_db", "mean_activation"):
            assert np.isfinite(f[f"{v}_{k}"]), (v, k)
    # the penalties act from the first step: the contractive code moves less, the sparse code fires less
    assert f["contractive_jacobian_frobenius"] < f["plain_jacobian_frobenius"]
    assert f["sparse_mean_activation"] < f["plain_mean_activation"]
    _pngs(tmp_path, res)


def test_codes_experiment_draws_four_embeddings(tmp_path, monkeypatch):
    monkeypatch.setattr(ae_codes, "QUICK", dict(train=1024, epochs=1, test=300))
    res = ae_codes.run(tmp_path, quick=True, seed=0, progress=False)
    f = res["figures"]
    for key in ("pca", "autoencoder", "vae", "t_sne_of_a_30_d_code"):
        assert 0.1 <= f[f"knn5_accuracy_{key}"] <= 1.0  # ten classes: chance is about 0.1
    assert res["images"] == ["ae_codes.png"]
    _pngs(tmp_path, res)


def test_knn_accuracy_is_perfect_on_separated_clusters():
    z = np.concatenate([np.random.randn(50, 2), np.random.randn(50, 2) + 20])
    y = np.array([0] * 50 + [1] * 50)
    perm = np.random.default_rng(0).permutation(100)
    assert ae_codes.knn_accuracy(z[perm], y[perm]) == 1.0


def test_swap_report_judges_both_directions(monkeypatch):
    """The report with a stand-in judge that reads a digit's class from its mean brightness band."""
    from nnzoo.data.vision import load_digits
    from nnzoo.models.swap_autoencoder import SwapAutoencoder, SwapAutoencoderConfig
    from nnzoo.tasks import swap
    from nnzoo.tasks.swap import Task, TwoSources

    class Judge(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.one_hot((x.mean((1, 2, 3)) * 30).long().clamp(0, 9), 10).float()

    monkeypatch.setattr(swap, "mnist_judge", lambda: Judge())
    data = TwoSources(["a", "b"], [load_digits(), load_digits(seed=1)])
    model = SwapAutoencoder(SwapAutoencoderConfig(in_shape=(1, 8, 8), channels=[4, 8], code=4))
    figures, art = Task().test_report(model, data, torch.device("cpu"))
    for key in ("swap_a_to_b_class_kept_percent", "swap_b_to_a_class_kept_percent", "judge_accuracy_on_a_percent",
                "test_psnr_b_db"):
        assert 0 <= figures[key] <= 100, key
    assert art["grid:swaps"].shape[:2] == (6, 12)


def test_judge_is_trained_once_and_cached(tmp_path, monkeypatch):
    from nnzoo.tasks import judge
    monkeypatch.setattr(judge, "judge_dir", lambda: tmp_path / "judges" / "mnist-cnn")
    monkeypatch.setattr(judge, "JUDGE_OVERRIDES", ["epochs=1", "train_subset=512", "tensorboard=false",
                                                   "channels=[4,8]", "hidden=[16]"])
    m = judge.mnist_judge(verbose=False)
    stamp = (tmp_path / "judges" / "mnist-cnn" / "eval.json").stat().st_mtime_ns
    again = judge.mnist_judge(verbose=False)
    assert (tmp_path / "judges" / "mnist-cnn" / "eval.json").stat().st_mtime_ns == stamp  # not retrained
    x = torch.rand(5, 1, 28, 28)
    assert judge.judge_labels(m, x).shape == (5,) and torch.equal(judge.judge_labels(m, x), judge.judge_labels(again, x))
