"""Lecture-claim experiments: the claims hold, the pictures get written, and a seed fixes every number."""
from __future__ import annotations

import json

import pytest
import torch

from nnzoo.data import DataError, ImageSplits
from nnzoo.experiments import vanishing_gradients as vg
from nnzoo.experiments import xor

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_result(result: dict, out) -> None:
    assert set(result) == {"figures", "images", "summary"}
    assert result["summary"] and isinstance(result["summary"], str)
    for key, value in result["figures"].items():
        # plain Python numbers only, so the report can json.dump them
        assert type(value) in (int, float), (key, type(value))
    json.dumps(result)
    assert result["images"]
    for name in result["images"]:
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000, name


# ---- XOR ----

@pytest.fixture(scope="module")
def xor_runs(tmp_path_factory):
    a, b = tmp_path_factory.mktemp("xor_a"), tmp_path_factory.mktemp("xor_b")
    return (a, xor.run(a, seed=0, progress=False)), (b, xor.run(b, seed=0, progress=False))


def test_xor_claim_holds(xor_runs):
    (out, result), _ = xor_runs
    f = result["figures"]
    assert f["perceptron_accuracy"] <= 0.75
    assert f["linear_best_possible_accuracy"] == 0.75
    # gradient descent on cross-entropy drives the linear model to w = 0: P = 0.5 everywhere
    assert f["logistic_regression_max_abs_prob_minus_half"] < 1e-3
    assert f["hidden2_accuracy"] == 1.0
    assert 0 < f["hidden2_restarts_solved_fraction"] <= 1
    assert f["hidden2_restarts"] == xor.RESTARTS
    _check_result(result, out)
    assert result["images"] == ["xor_decision_regions.png"]


def test_xor_same_seed_same_figures(xor_runs):
    (_, a), (_, b) = xor_runs
    assert a["figures"] == b["figures"]


def test_xor_perceptron_never_fits_xor():
    for seed in range(5):
        assert xor.accuracy(xor.train_perceptron(seed)) <= 0.75


def test_xor_restarts_match_single_runs():
    # Training the restarts stacked must give what each would give alone.
    stacked = xor.train_hidden2([3, 4], steps=50)
    alone = xor.train_hidden2([4], steps=50)
    assert stacked[1][1] == pytest.approx(alone[0][1], rel=1e-5)
    for p, q in zip(stacked[1][0].parameters(), alone[0][0].parameters()):
        assert torch.allclose(p, q, atol=1e-6)


# ---- vanishing gradients ----

def _random_batch(seed: int, n: int = 256, dim: int = 64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g), torch.randint(0, 10, (n,), generator=g)


def _ratio(activation: str, init: str, depth: int = 8, seed: int = 0) -> float:
    x, y = _random_batch(seed)
    torch.manual_seed(seed)
    model = vg.make_mlp(depth, activation, init, in_shape=(64,), width=64)
    norms = vg.layer_grad_norms(model, x, y)
    assert len(norms) == depth + 1 and all(n > 0 for n in norms)
    return vg.first_to_last_ratio(norms, depth)


def test_sigmoid_gradient_vanishes_towards_the_input():
    for init in vg.INITS:
        assert _ratio("sigmoid", init) < 1e-3


def test_relu_gradient_reaches_the_input():
    assert 0.1 < _ratio("relu", "he") < 10
    # with PyTorch's default init ReLU's gradient shrinks too, but by orders of magnitude less than sigmoid's
    assert _ratio("relu", "default") > 100 * _ratio("sigmoid", "default")


def test_layer_grad_norms_matches_backward_and_leaves_grad_alone():
    x, y = _random_batch(1, n=32, dim=16)
    torch.manual_seed(0)
    model = vg.make_mlp(3, "tanh", in_shape=(16,), width=8)
    norms = vg.layer_grad_norms(model, x, y)
    assert all(p.grad is None for p in model.parameters())
    torch.nn.functional.cross_entropy(model(x), y).backward()
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert norms == pytest.approx([float(m.weight.grad.norm()) for m in linears])


def test_he_init_scale():
    torch.manual_seed(0)
    model = vg.make_mlp(2, "relu", "he", in_shape=(1, 28, 28), width=256)
    first = model.hidden_layers()[0]
    # Var w = 2 / n_in
    assert float(first.weight.detach().std()) == pytest.approx((2 / 784) ** 0.5, rel=0.02)
    assert float(first.bias.detach().abs().max()) == 0.0
    with pytest.raises(ValueError):
        vg.make_mlp(2, "relu", "xavier")


def _fake_mnist(seed: int = 0) -> ImageSplits:
    g = torch.Generator().manual_seed(seed)

    def part(n):
        return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)

    (tx, ty), (vx, vy), (sx, sy) = part(600), part(200), part(100)
    return ImageSplits("fake", tx, ty, vx, vy, sx, sy, [str(i) for i in range(10)])


@pytest.fixture
def tiny_vanishing(monkeypatch):
    monkeypatch.setattr("nnzoo.data.load_images", lambda name, seed=0: _fake_mnist())
    monkeypatch.setattr(vg, "QUICK_DEPTHS", [2, 3])
    monkeypatch.setattr(vg, "QUICK_STEPS", 5)


def test_vanishing_run_end_to_end_on_fake_data(tiny_vanishing, tmp_path):
    threads = torch.get_num_threads()
    a = vg.run(tmp_path / "a", quick=True, seed=0, progress=False)
    b = vg.run(tmp_path / "b", quick=True, seed=0, progress=False)
    _check_result(a, tmp_path / "a")
    assert a["images"] == ["vanishing_gradients.png"]
    f = a["figures"]
    for act in vg.ACTIVATIONS:
        for init in vg.INITS:
            assert f"{act}_{init}_init_depth3_first_to_last_grad_ratio" in f
            for d in (2, 3):
                assert 0 <= f[f"{act}_{init}_init_depth{d}_val_accuracy"] <= 1
    assert f["train_steps"] == 5
    assert a["figures"] == b["figures"]
    # run() drops to one thread while it trains and must hand the caller's setting back
    assert torch.get_num_threads() == threads


def test_vanishing_run_lets_data_error_through(monkeypatch, tmp_path):
    def missing(name, seed=0):
        raise DataError("mnist is not installed")
    monkeypatch.setattr("nnzoo.data.load_images", missing)
    with pytest.raises(DataError):
        vg.run(tmp_path, quick=True, progress=False)
