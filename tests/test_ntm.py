"""The Neural Turing Machine: its addressing and write maths against hand computations, batching, numerical
safety, and a run of ntm-copy through the library and the CLI (models/ntm.py, tasks/algorithmic.py)."""
import json
import math

import pytest
import torch

from nnzoo import registry
from nnzoo.errors import UserError
from nnzoo.models.ntm import (NTM, NTMConfig, content_weighting, interpolate, sequence_loss, sharpen, shift,
                              write)
from test_cli import one_error_line

# a small NTM with the copy task's channels (8 bits + a delimiter)
SMALL = dict(controller=24, memory_slots=16, memory_width=6)


# ------------------------------------------------------------------------------------------- addressing
def test_content_weighting_golden_values():
    # slots (1, 0), (0, 1), (1, 1) and the key (2, 0): cosines 1, 0, 1/sqrt(2), whatever the key's length
    mem = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])  # 1, N=3, M=2
    k = torch.tensor([[[2.0, 0.0]]])  # 1, 1 head, M
    w = content_weighting(mem, k, torch.tensor([[1.0]]))[0, 0]
    # softmax(1, 0, 0.70711): e^1 / (e^1 + e^0 + e^0.70711) = 2.71828 / 5.74639
    assert w.tolist() == pytest.approx([0.473039, 0.174021, 0.352940], abs=1e-5)
    # beta = 0: no focus at all; a large beta: all weight on the best match
    assert content_weighting(mem, k, torch.tensor([[0.0]]))[0, 0].tolist() == pytest.approx([1 / 3] * 3)
    assert content_weighting(mem, k, torch.tensor([[100.0]]))[0, 0].tolist() == pytest.approx([1, 0, 0], abs=1e-6)


def test_content_weighting_of_a_zero_key_or_memory_is_uniform_not_nan():
    zero = torch.zeros(1, 4, 3)
    w = content_weighting(zero, torch.zeros(1, 1, 3), torch.tensor([[5.0]]))
    assert w[0, 0].tolist() == pytest.approx([0.25] * 4)


def test_interpolation():
    wc, prev = torch.tensor([[[1.0, 0.0, 0.0]]]), torch.tensor([[[0.0, 0.0, 1.0]]])
    # w^g = 0.25 * (1, 0, 0) + 0.75 * (0, 0, 1)
    assert interpolate(wc, prev, torch.tensor([[0.25]]))[0, 0].tolist() == [0.25, 0.0, 0.75]
    assert interpolate(wc, prev, torch.tensor([[1.0]]))[0, 0].tolist() == [1.0, 0.0, 0.0]


def test_circular_shift_wraps_around():
    one_hot = torch.tensor([[[1.0, 0.0, 0.0, 0.0]]])
    by = {k: torch.tensor([[[float(j == k) for j in (-1, 0, 1)]]]) for k in (-1, 0, 1)}
    assert shift(one_hot, by[1])[0, 0].tolist() == [0, 1, 0, 0]
    assert shift(one_hot, by[-1])[0, 0].tolist() == [0, 0, 0, 1]  # slot 0 - 1 is the last slot
    assert shift(torch.tensor([[[0.0, 0, 0, 1]]]), by[1])[0, 0].tolist() == [1, 0, 0, 0]  # and N-1 + 1 is 0
    # a blur: w~(i) = 0.2 w(i+1) + 0.5 w(i) + 0.3 w(i-1) on w = (0.6, 0.4, 0, 0)
    w = shift(torch.tensor([[[0.6, 0.4, 0.0, 0.0]]]), torch.tensor([[[0.2, 0.5, 0.3]]]))[0, 0]
    assert w.tolist() == pytest.approx([0.2 * 0.4 + 0.5 * 0.6, 0.5 * 0.4 + 0.3 * 0.6, 0.3 * 0.4, 0.2 * 0.6])


def test_sharpening():
    w = torch.tensor([[[0.5, 0.3, 0.2]]])
    # (0.25, 0.09, 0.04) / 0.38
    assert sharpen(w, torch.tensor([[2.0]]))[0, 0].tolist() == pytest.approx([0.657895, 0.236842, 0.105263],
                                                                              abs=1e-6)
    assert sharpen(w, torch.tensor([[1.0]]))[0, 0].tolist() == pytest.approx([0.5, 0.3, 0.2])
    # a huge gamma: 0.5^1e4 underflows, yet the largest term stays and the result is one-hot, not 0/0
    assert sharpen(w, torch.tensor([[1e4]]))[0, 0].tolist() == [1.0, 0.0, 0.0]


def test_sharpening_gradient_is_finite_where_a_weight_is_zero():
    w = torch.tensor([[[0.7, 0.3, 0.0]]], requires_grad=True)
    gamma = torch.tensor([[3.0]], requires_grad=True)
    (sharpen(w, gamma)[0, 0, 0]).backward()
    assert torch.isfinite(w.grad).all() and torch.isfinite(gamma.grad).all()


def test_erase_then_add_write_formula():
    torch.manual_seed(0)
    mem, w = torch.rand(1, 3, 2), torch.tensor([[[0.5, 0.25, 0.25]]])
    e, a = torch.tensor([[[1.0, 0.5]]]), torch.tensor([[[2.0, -1.0]]])
    out = write(mem, w, e, a)[0]
    for i in range(3):
        for j in range(2):
            # M_t(i, j) = M_{t-1}(i, j) (1 - w(i) e(j)) + w(i) a(j)
            hand = mem[0, i, j] * (1 - w[0, 0, i] * e[0, 0, j]) + w[0, 0, i] * a[0, 0, j]
            assert float(out[i, j]) == pytest.approx(float(hand), abs=1e-6)
    # two heads: both erases multiply, then both adds sum
    w2, e2, a2 = torch.rand(1, 2, 3), torch.rand(1, 2, 2), torch.rand(1, 2, 2)
    out2 = write(mem, w2, e2, a2)[0]
    hand2 = (mem[0] * (1 - torch.outer(w2[0, 0], e2[0, 0])) * (1 - torch.outer(w2[0, 1], e2[0, 1]))
             + torch.outer(w2[0, 0], a2[0, 0]) + torch.outer(w2[0, 1], a2[0, 1]))
    assert torch.allclose(out2, hand2, atol=1e-6)


# --------------------------------------------------------------------------------------------- the model
def copy_batch(n: int, L: int, bits: int = 8, seed: int = 0):
    from nnzoo.tasks.algorithmic import KINDS
    keys = NTMConfig(bits=bits)
    return KINDS["copy"].make(n, L, keys, torch.Generator().manual_seed(seed))


def test_every_weighting_sums_to_one():
    torch.manual_seed(0)
    model = NTM(NTMConfig(read_heads=2, write_heads=2, **SMALL)).eval()
    x, _, _ = copy_batch(4, 6)
    with torch.no_grad():
        logits, trace = model(x, record=True)
    assert logits.shape == (4, 13, 8)
    for name, heads in (("read", 2), ("write", 2)):
        w = trace[name]  # B, T, heads, N
        assert w.shape == (4, 13, heads, 16)
        assert (w >= 0).all() and torch.allclose(w.sum(-1), torch.ones(4, 13, heads), atol=1e-5), name


@pytest.mark.parametrize("memory_init", ["constant", "learned"])
def test_a_batch_gives_what_each_sequence_gives_alone(memory_init):
    torch.manual_seed(0)
    model = NTM(NTMConfig(memory_init=memory_init, **SMALL)).eval()
    x, _, _ = copy_batch(5, 7)
    with torch.no_grad():
        batched, trace = model(x, record=True)
        for b in range(5):
            alone, t1 = model(x[b:b + 1], record=True)
            assert (alone[0] - batched[b]).abs().max() < 1e-6
            assert (t1["write"][0] - trace["write"][b]).abs().max() < 1e-6


def test_constant_memory_init_is_a_buffer_and_learned_a_weight():
    const, learned = NTM(NTMConfig(**SMALL)), NTM(NTMConfig(memory_init="learned", **SMALL))
    assert "memory0" not in dict(const.named_parameters())
    assert const.memory0.shape == (16, 6) and float(const.memory0.max()) == pytest.approx(1e-6, rel=1e-6)
    assert dict(learned.named_parameters())["memory0"].shape == (16, 6)


@pytest.mark.parametrize("seed", range(5))
def test_no_nan_with_extreme_inputs_and_weights(seed):
    torch.manual_seed(seed)
    model = NTM(NTMConfig(**SMALL))
    with torch.no_grad():  # a controller that emits huge head parameters: beta, gamma ~ 1e4
        model.heads.weight.mul_(1e3)
    x = torch.randn(3, 9, 9) * 1e4
    y, mask = torch.randint(0, 2, (3, 9, 8)).float(), torch.ones(3, 9)
    logits, trace = model(x, record=True)
    assert torch.isfinite(logits).all()
    assert all(torch.isfinite(w).all() and torch.allclose(w.sum(-1), torch.ones_like(w.sum(-1)), atol=1e-5)
               for w in trace.values())
    sequence_loss(logits, y, mask)["loss"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_bits_per_sequence_counts_wrong_bits_of_the_answer_only():
    y = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])  # 1 sequence, 3 steps, 2 bits
    mask = torch.tensor([[0.0, 1.0, 1.0]])
    right = 10 * (2 * y - 1)
    assert float(sequence_loss(right, y, mask)["bits_per_seq"]) == 0
    wrong = right.clone()
    wrong[0, 0] *= -1  # an unscored step: not counted
    wrong[0, 2, 1] *= -1  # one scored bit
    assert float(sequence_loss(wrong, y, mask)["bits_per_seq"]) == 1
    assert float(sequence_loss(-right, y, mask)["bits_per_seq"]) == 4


def test_parameter_counts_match_the_baseline():
    # pytorch-ntm's copy machine, and the LSTM given as many weights
    ntm = registry.create_model("ntm", NTMConfig())
    lstm = registry.create_model("seq-lstm", registry.resolve(registry.get_recipe("lstm-copy"), {})[0])
    n_ntm, n_lstm = (sum(p.numel() for p in m.parameters()) for m in (ntm, lstm))
    assert n_ntm == 62_660 and abs(n_lstm - n_ntm) / n_ntm < 0.01


# ------------------------------------------------------------------------------------ through the library
TINY = ["controller=16", "memory_slots=24", "memory_width=6", "epochs=1", "epoch_sequences=64", "batch_size=16",
        "tensorboard=false", "log_every=2"]


@pytest.fixture(scope="module")
def copy_run(tmp_path_factory):
    from nnzoo import runs
    from nnzoo.config import parse_overrides
    out = tmp_path_factory.mktemp("ntm") / "run"
    recipe = registry.get_recipe("ntm-copy")
    mcfg, tcfg = registry.resolve(recipe, parse_overrides(TINY))
    res = runs.train(out, recipe, mcfg, tcfg, verbose=False)
    assert res.finished and res.step == 4
    runs.evaluate_run(out)
    return out


def test_ntm_copy_trains_and_reports_end_to_end(copy_run):
    import numpy as np
    figures = json.loads((copy_run / "eval.json").read_text())
    for n in (20, 40, 80, 120):
        assert math.isfinite(figures[f"copy_error_bits_per_seq_len{n}"])
    # an untrained machine is at chance: about half of the 8 x 20 answer bits wrong
    assert 40 < figures["copy_error_bits_per_seq_len20"] < 120
    assert figures["val_error_bits_per_seq"] > 0
    with np.load(copy_run / "artifacts.npz") as art:
        grid, heads = art["grid:copy_len20"], art["grid:copy_len20_heads"]
        assert grid.shape[0] == 3 and grid.shape[2:4] == (1, 9)  # input / target / output rows, 9 channels
        assert heads.shape[0] == 2  # the write head and the read head
    from nnzoo.report.plots import plot_run
    assert {"copy_len20.png", "copy_len20_heads.png"} <= {p.name for p in plot_run(copy_run)}


def test_sample_writes_the_pictures_and_refuses_a_length_of_zero(copy_run, nnzoo_cli, tmp_path):
    code, out, err = nnzoo_cli("sample", copy_run, "--length", "12", "--json", "--out", tmp_path / "s.png")
    assert code == 0, err
    res = json.loads(out)
    assert res["length"] == 12 and res["answer_bits"] == 12 * 8 and 0 <= res["error_bits"] <= 96
    assert (tmp_path / "s.png").read_bytes().startswith(b"\x89PNG") and (tmp_path / "s.png").stat().st_size > 5000
    one_error_line(*nnzoo_cli("sample", copy_run, "--length", "0"), "--length must be 1 or more")
    one_error_line(*nnzoo_cli("sample", copy_run, "--length", "-3"), "--length must be 1 or more")
    # a library caller gets the task's own refusal
    from nnzoo import runs
    from nnzoo.tasks.base import SampleRequest
    _, _, _, model = runs.load_run(copy_run)
    doc = runs.read_config(copy_run)
    with pytest.raises(UserError, match="--length must be 1 or more vectors"):
        registry.get_task("algorithmic").sample(model, doc, SampleRequest(run_dir=str(copy_run), length=0))
