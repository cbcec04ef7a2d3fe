"""The recurrent issue's memory experiments: gradients through time (rnn-gradients) and the adding problem
(long-memory). Golden values where the theory is exact, behaviour where it is not, and quick runs end to end."""
from __future__ import annotations

import json
import math

import pytest
import torch

from nnzoo.experiments import long_memory as lm
from nnzoo.experiments import rnn_gradients as rg

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def _check_result(result: dict, out, image: str) -> None:
    assert set(result) == {"figures", "images", "summary"}
    assert result["summary"] and isinstance(result["summary"], str)
    for key, value in result["figures"].items():
        # plain Python values only, so the report and --json can dump them
        assert type(value) in (int, float, bool), (key, type(value))
        assert type(value) is bool or math.isfinite(value), key
    json.dumps(result)
    assert result["images"] == [image]
    data = (out / image).read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000


# ---- rnn-gradients ----

def _spectrum(n=12, seed=0):
    return rg.base_spectrum(n, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("rho", [0.5, 0.9, 1.5])
def test_symmetric_matrix_has_the_asked_spectral_radius(rho):
    q, lam = _spectrum()
    assert torch.allclose(q.T @ q, torch.eye(12, dtype=torch.float64), atol=1e-12)
    w = rg.symmetric_with_spectral_radius(q, lam, rho)
    assert torch.allclose(w, w.T)
    eig = torch.linalg.eigvalsh(w)
    assert float(eig.abs().max()) == pytest.approx(rho, rel=1e-12)
    # the same relative spectrum at every rho: only the scale changes
    assert torch.allclose(eig.sort().values, (lam * rho).sort().values, atol=1e-12)
    # the top eigenvector is q_1
    assert torch.allclose(w @ q[:, 0], rho * q[:, 0], atol=1e-12)


def test_linear_recurrence_follows_the_top_eigenvalue():
    q, lam = _spectrum()
    for rho in (0.9, 1.5):
        w = rg.symmetric_with_spectral_radius(q, lam, rho)
        # along the top eigenvector the norm is exactly rho^t
        along = rg.linear_recurrence_norms(w, q[:, 0].clone(), 40)
        assert torch.allclose(along, rho ** torch.arange(41, dtype=torch.float64), rtol=1e-10)
        # from a random h_0 it is at most rho^t, and its tail grows or shrinks at rho per step
        norms = rg.linear_recurrence_norms(w, torch.randn(12, generator=torch.Generator().manual_seed(1),
                                                          dtype=torch.float64), 200)
        assert (norms <= rho ** torch.arange(201, dtype=torch.float64) * (1 + 1e-9)).all()
        assert rg.fitted_rate(norms[100:], 100) == pytest.approx(rho, rel=0.01)


def test_fitted_rate_recovers_a_geometric_sequence():
    lags = torch.arange(1, 31, dtype=torch.float64)
    assert rg.fitted_rate(3.0 * 0.8 ** lags) == pytest.approx(0.8, rel=1e-12)
    assert rg.fitted_rate(1.2 ** lags) == pytest.approx(1.2, rel=1e-12)


def _norms(case, hidden=12, sequences=3, lags=30, seed=0):
    q, lam = _spectrum(hidden)
    return rg.measure_case(case, hidden, sequences, lags, q, lam, seed)


@pytest.mark.parametrize("rho", [0.9, 1.5])
def test_linear_rnn_jacobian_norm_is_rho_to_the_lag(rho):
    # dh_t/dh_k = W^(t-k), and a symmetric W has ||W^n||_2 = rho^n exactly, whatever the inputs
    r = _norms(rg.Case("lin", "", "linear", rho=rho, burn_in=0))
    exact = rho ** torch.arange(1, 31, dtype=torch.float64)
    assert torch.allclose(r["norms"], exact, rtol=1e-9)
    assert r["rate"] == pytest.approx(rho, rel=1e-9)


def test_tanh_rnn_jacobian_is_bounded_by_rho_to_the_lag():
    # 0 < tanh' <= 1, so ||prod diag(1 - h^2) W|| <= rho^(t-k)
    r = _norms(rg.Case("tanh", "", "tanh", rho=0.9, burn_in=10))
    bound = 0.9 ** torch.arange(1, 31, dtype=torch.float64)
    assert (r["norms"] <= bound * (1 + 1e-9)).all()
    assert r["rate"] < 0.9


def test_tanh_rnn_explodes_only_near_zero():
    tiny = _norms(rg.Case("tiny", "", "tanh", rho=1.5, input_scale=rg.TINY, burn_in=0), lags=60)
    # from h = 0 with 1e-6 inputs: linear regime, growth at rho per step, until |h| reaches 0.1 (~30 steps)
    assert 20 <= tiny["fit_lags"] < 60
    assert tiny["rate"] == pytest.approx(1.5, rel=0.01)
    # once saturated the growth stops: the norm at lag 60 is far below 1.5^60
    assert float(tiny["norms"][-1]) < 1e-3 * 1.5 ** 60
    unit = _norms(rg.Case("unit", "", "tanh", rho=1.5), lags=60)
    assert unit["rate"] < 1.1


def test_jacobian_product_matches_autograd_of_the_unrolled_map():
    """The product of per-step Jacobians against torch.autograd.functional.jacobian of s_k -> s_{k+5}."""
    q, lam = _spectrum(6)
    for case in (rg.Case("t", "", "tanh", rho=1.2, burn_in=0), rg.Case("l", "", "lstm", forget_bias=1.0, burn_in=0)):
        torch.manual_seed(0)
        cell, step = rg.make_step(case, 6, q, lam)
        gx = cell.project_input(torch.randn(5, 1, rg.INPUTS, generator=torch.Generator().manual_seed(2),
                                            dtype=torch.float64))  # 5, 1, G*H
        s0 = 0.3 * torch.randn(1, 12 if case.cell == "lstm" else 6, generator=torch.Generator().manual_seed(3),
                               dtype=torch.float64)
        norms, _ = rg.jacobian_norms(step, gx, s0, 0, 5)

        def unrolled(s):
            for t in range(5):
                s = step(gx[t, 0], s)
            return s
        full = torch.autograd.functional.jacobian(unrolled, s0[0])
        assert float(norms[-1, 0]) == pytest.approx(float(torch.linalg.matrix_norm(full, ord=2)), rel=1e-10)


def test_lstm_forget_bias_slows_the_decay():
    rates = [_norms(rg.Case("l", "", "lstm", forget_bias=b), hidden=16, lags=40)["rate"] for b in (0.0, 1.0, 3.0)]
    assert rates[0] < rates[1] < rates[2]
    assert rates[0] < 0.8 and rates[2] > 0.9


def test_rnn_gradients_quick_run(monkeypatch, tmp_path):
    monkeypatch.setattr(rg, "QUICK", dict(hidden=8, sequences=2, lags=60))
    threads = torch.get_num_threads()
    res = rg.run(tmp_path, quick=True, seed=0, progress=False)
    _check_result(res, tmp_path, "rnn_gradients.png")
    f = res["figures"]
    for case in rg.CASES:
        assert f"{case.key}_jacobian_norm_at_lag50" in f and f"{case.key}_fitted_rate_per_step" in f
    assert f["rnn_linear_rho0.9_max_relative_error_vs_rho_power"] < 1e-9
    assert f["rnn_linear_rho1.5_jacobian_norm_at_lag50"] == pytest.approx(1.5 ** 50, rel=1e-9)
    assert f["rnn_tanh_rho0.9_jacobian_norm_at_lag50"] < 0.9 ** 50
    assert f["lstm_forget_bias0_mean_forget_gate"] < f["lstm_forget_bias3_mean_forget_gate"]
    assert torch.get_num_threads() == threads


# ---- long-memory (the adding problem) ----

def test_adding_batch_has_two_markers_and_their_sum_as_target():
    x, y = lm.adding_batch(500, 20, torch.Generator().manual_seed(0))
    assert x.shape == (20, 500, 2) and y.shape == (500,)
    values, marks = x[..., 0], x[..., 1]  # T, n
    assert ((values >= 0) & (values < 1)).all()
    assert set(marks.unique().tolist()) == {0.0, 1.0}
    assert (marks.sum(0) == 2).all()
    # one marker in each half
    assert (marks[:10].sum(0) == 1).all() and (marks[10:].sum(0) == 1).all()
    first, second = marks[:10].argmax(0), 10 + marks[10:].argmax(0)
    cols = torch.arange(500)
    assert torch.allclose(y, values[first, cols] + values[second, cols])
    # the baseline: Var(u_a + u_b) = 1/6
    _, big = lm.adding_batch(20000, 20, torch.Generator().manual_seed(1))
    assert float(((big - 1) ** 2).mean()) == pytest.approx(1 / 6, abs=0.01)


def test_adding_net_uses_the_fast_path_and_the_forget_bias():
    torch.manual_seed(0)
    net = lm.AddingNet("lstm", hidden=8)
    assert net.rnn.fast and net.rnn.mode == "lstm"
    cell = net.rnn.cells[0][0]
    assert float((cell.bias_ih[8:16] + cell.bias_hh[8:16]).detach().min()) == lm.FORGET_BIAS
    x, _ = lm.adding_batch(4, 7, torch.Generator().manual_seed(0))
    # fast (fused) and per-step paths agree on the same weights
    fused = net(x)
    net.rnn.fast = False
    assert torch.allclose(fused, net(x), atol=1e-5)


def test_gated_cells_solve_what_the_vanilla_rnn_cannot():
    # T = 20: measured, the GRU solves it in ~150 steps and the LSTM in ~400, while the RNN stays at ~0.15
    length = 20
    test = lm.adding_batch(300, length, torch.Generator().manual_seed(5))
    for cell, budget in (("gru", 300), ("lstm", 600)):
        curve = lm.train(cell, length, budget, seed=0, test=test, eval_every=50)
        assert curve[-1][1] < lm.SOLVED_MSE, (cell, curve)
    curve = lm.train("rnn", length, 400, seed=0, test=test, eval_every=100)
    assert min(m for _, m in curve[1:]) > 0.1, curve


def test_training_is_reproducible():
    test = lm.adding_batch(50, 8, torch.Generator().manual_seed(5))
    runs = [lm.train("lstm", 8, 20, seed=3, test=test, eval_every=10, hidden=8) for _ in range(2)]
    assert runs[0] == runs[1]
    assert runs[0] != lm.train("lstm", 8, 20, seed=4, test=test, eval_every=10, hidden=8)


def test_long_memory_quick_run(monkeypatch, tmp_path):
    monkeypatch.setattr(lm, "QUICK", {6: 30, 8: 20})
    monkeypatch.setattr(lm, "QUICK_EVAL_EVERY", 10)
    monkeypatch.setattr(lm, "TEST_SIZE", 64)
    monkeypatch.setattr(lm, "HIDDEN", 8)
    threads = torch.get_num_threads()
    a = lm.run(tmp_path, quick=True, seed=0, progress=False)
    _check_result(a, tmp_path, "long_memory_adding.png")
    f = a["figures"]
    for length, budget in ((6, 30), (8, 20)):
        assert f[f"adding_T{length}_step_budget"] == budget
        assert 0.05 < f[f"adding_T{length}_baseline_mse"] < 0.3
        for cell in lm.CELLS:
            assert f[f"adding_T{length}_{cell}_test_mse"] >= 0
            assert f[f"adding_T{length}_{cell}_solved"] == (f[f"adding_T{length}_{cell}_test_mse"] < lm.SOLVED_MSE)
            assert 0 < f[f"adding_T{length}_{cell}_steps"] <= budget
    assert f["solved_threshold_mse"] == lm.SOLVED_MSE
    assert torch.get_num_threads() == threads
