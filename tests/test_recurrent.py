"""Recurrent cells from their equations against PyTorch's fused kernels (float64, weights copied)."""
import itertools
import warnings

import pytest
import torch
import torch.nn as nn

from nnzoo.nn.recurrent import (GRUCell, LSTMCell, Recurrent, RNNCell, detach_state, tbptt,
                                torch_param_name)

T, B, I, H = 5, 3, 4, 6
ATOL = 1e-5
MODES = ["lstm", "gru", "rnn_tanh", "rnn_relu"]


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def pair(mode, layers=1, bidirectional=False, batch_first=False, dropout=0.0, seed=0):
    """A Recurrent in float64 and a torch module holding the same weights."""
    torch.manual_seed(seed)
    ours = Recurrent(mode, I, H, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first,
                     dropout=dropout).double()
    cls = {"lstm": nn.LSTM, "gru": nn.GRU}.get(mode, nn.RNN)
    kw = {"nonlinearity": mode[4:]} if mode.startswith("rnn_") else {}
    ref = cls(I, H, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, dropout=dropout,
              **kw).double()
    ours.copy_from_torch(ref)
    return ours, ref


def inputs(mode, layers, bidirectional, batch_first, with_state, seed=1):
    g = torch.Generator().manual_seed(seed)
    shape = (B, T, I) if batch_first else (T, B, I)
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    hx = None
    if with_state:
        n = layers * (2 if bidirectional else 1)
        h0 = torch.randn(n, B, H, generator=g, dtype=torch.float64)
        hx = (h0, torch.randn(n, B, H, generator=g, dtype=torch.float64)) if mode == "lstm" else h0
    return x, hx


def states(s):
    return list(s) if isinstance(s, tuple) else [s]


def run_and_grad(module, x, hx, seed=2):
    """Outputs, final states, and gradients of a random linear function of all of them w.r.t. the input,
    the initial states and every weight (named as PyTorch names them)."""
    x = x.clone().requires_grad_()
    hx_leaves = None if hx is None else [s.clone().requires_grad_() for s in states(hx)]
    hx_in = None if hx is None else (tuple(hx_leaves) if isinstance(hx, tuple) else hx_leaves[0])
    module.zero_grad(set_to_none=True)
    out, s_n = module(x, hx_in)
    g = torch.Generator().manual_seed(seed)
    loss = sum((t * torch.randn(t.shape, generator=g, dtype=t.dtype)).sum() for t in [out] + states(s_n))
    loss.backward()
    if isinstance(module, Recurrent):
        weights = dict(module.named_torch_params())
    else:
        weights = dict(module.named_parameters())
    grads = {"x": x.grad, **{f"hx{i}": s.grad for i, s in enumerate(hx_leaves or [])},
             **{name: p.grad for name, p in weights.items()}}
    return out.detach(), [s.detach() for s in states(s_n)], grads


def assert_close(a, b, what):
    assert a.shape == b.shape, f"{what}: shape {tuple(a.shape)} != {tuple(b.shape)}"
    err = (a - b).abs().max().item()
    assert err < ATOL, f"{what}: max |diff| {err:.2e}"


@pytest.mark.parametrize("mode,layers,bidirectional,with_state,batch_first",
                         list(itertools.product(MODES, [1, 2], [False, True], [False, True], [False, True])))
def test_parity_with_torch(mode, layers, bidirectional, with_state, batch_first):
    ours, ref = pair(mode, layers, bidirectional, batch_first)
    x, hx = inputs(mode, layers, bidirectional, batch_first, with_state)
    ref_out, ref_s, ref_g = run_and_grad(ref, x, hx)
    for fast in (False, True):  # the per-step equations and the fused fast path, both against torch
        ours.fast = fast
        out, s, grads = run_and_grad(ours, x, hx)
        assert_close(out, ref_out, f"fast={fast} output")
        for i, (a, b) in enumerate(zip(s, ref_s)):
            assert_close(a, b, f"fast={fast} final state {i}")
        assert set(grads) == set(ref_g)
        for name in ref_g:
            assert_close(grads[name], ref_g[name], f"fast={fast} grad {name}")


@pytest.mark.parametrize("mode", MODES)
def test_cells_single_step_match_torch_cells(mode):
    torch.manual_seed(0)
    cell = {"lstm": LSTMCell, "gru": GRUCell}.get(mode, RNNCell)
    kw = {"nonlinearity": mode[4:]} if mode.startswith("rnn_") else {}
    ref = {"lstm": nn.LSTMCell, "gru": nn.GRUCell}.get(mode, nn.RNNCell)(I, H, **kw).double()
    ours = cell(I, H, **kw).double()
    ours.load_state_dict(ref.state_dict())  # same names and layout as torch.nn.*Cell
    x = torch.randn(B, I, dtype=torch.float64)
    if mode == "lstm":
        state = (torch.randn(B, H, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64))
        h_ref, c_ref = ref(x, state)
        h, (h2, c) = ours(x, state)
        assert_close(c, c_ref, "c_t")
    else:
        state = torch.randn(B, H, dtype=torch.float64)
        h_ref = ref(x, state)
        h, h2 = ours(x, state)
    assert_close(h, h_ref, "h_t")
    assert h2 is h
    assert ours(x)[0].shape == (B, H)  # no state: zeros


def test_init_is_pytorchs_uniform():
    torch.manual_seed(0)
    rnn = Recurrent("lstm", 3, 100, num_layers=2, bidirectional=True)
    bound = 1 / 100 ** 0.5
    for name, p in rnn.named_parameters():
        assert p.abs().max() <= bound, name
        assert p.abs().max() > 0.9 * bound, name  # spread over the interval, not near zero
    shapes = dict((n, tuple(p.shape)) for n, p in rnn.named_torch_params())
    assert shapes["weight_ih_l0"] == (400, 3)
    assert shapes["weight_ih_l1_reverse"] == (400, 200)
    assert shapes["weight_hh_l1"] == (400, 100)
    assert shapes["bias_hh_l0_reverse"] == (400,)


def test_to_torch_round_trip():
    ours, _ = pair("gru", layers=2, bidirectional=True)
    m = ours.to_torch()
    assert isinstance(m, nn.GRU) and m.weight_hh_l1_reverse.dtype == torch.float64
    x, _ = inputs("gru", 2, True, False, False)
    ours.eval(), m.eval()
    assert_close(ours(x)[0], m(x)[0], "to_torch output")
    with pytest.raises(ValueError):
        Recurrent("gru", I, H + 1).copy_from_torch(m)
    with pytest.raises(ValueError):
        Recurrent("rnn_relu", I, H).copy_from_torch(nn.RNN(I, H))


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_dropout_between_layers(mode):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # two layers: no warning
        ours, ref = pair(mode, layers=2, bidirectional=True, dropout=0.5)
    x, hx = inputs(mode, 2, True, False, True)
    # eval mode: dropout off, same as torch on both paths
    ours.eval(), ref.eval()
    for fast in (False, True):
        ours.fast = fast
        assert_close(ours(x, hx)[0], ref(x, hx)[0], f"eval fast={fast}")
    # train mode: random masks differ between implementations; shapes agree and dropout is active
    ours.train(), ref.train()
    out, s = ours(x, hx)
    assert out.shape == ref(x, hx)[0].shape
    assert all(a.shape == b.shape for a, b in zip(states(s), states(ref(x, hx)[1])))
    ours.fast = False
    assert not torch.allclose(ours(x, hx)[0], ours.eval()(x, hx)[0])


def test_dropout_one_zeroes_layer_inputs_but_not_the_output():
    """p = 1 drops everything between the layers (deterministic, so comparable with torch in train mode):
    layer 2 then sees only zeros, the output no longer depends on x, and the last layer is not dropped."""
    ours, ref = pair("lstm", layers=2, dropout=1.0)
    ours.train(), ref.train()
    x, _ = inputs("lstm", 2, False, False, False)
    out = ours(x)[0]
    assert_close(out, ref(x)[0], "p=1 train output")
    assert_close(out, ours(torch.randn_like(x))[0], "p=1 output independent of x")
    assert out.abs().min() > 0
    with pytest.warns(UserWarning, match="num_layers=1"):
        Recurrent("gru", I, H, dropout=0.3)


def test_gates():
    ours, _ = pair("lstm", layers=2, bidirectional=True)
    x, (h0, c0) = inputs("lstm", 2, True, False, True)
    out, (h_n, c_n), gates = ours(x, (h0, c0), return_gates=True)
    names = {f"{g}_l{l}{s}" for g in "ifgoc" for l in (0, 1) for s in ("", "_reverse")}
    assert set(gates) == names
    assert all(v.shape == (T, B, H) for v in gates.values())
    for l, s in itertools.product((0, 1), ("", "_reverse")):
        i, f, g, o, c = (gates[f"{k}_l{l}{s}"] for k in "ifgoc")
        for v in (i, f, o):
            assert ((v > 0) & (v < 1)).all()
        assert ((g > -1) & (g < 1)).all()
        # C_t = f_t * C_{t-1} + i_t * C~_t, with C_{-1} = c0; the backward direction runs from T-1 down,
        # its gates are indexed by input time, so its previous cell state is the one at t + 1
        d = 1 if s else 0
        c_init = c0[2 * l + d].unsqueeze(0)
        c_prev = torch.cat([c[1:], c_init]) if s else torch.cat([c_init, c[:-1]])
        assert_close(c, f * c_prev + i * g, f"cell equation l{l}{s}")
        # h_t = o_t * tanh(C_t), and the last layer's h is the output
        if l == 1:
            assert_close(out[..., d * H:(d + 1) * H], o * torch.tanh(c), f"h_t l{l}{s}")
    # final cell states: forward direction's last step, backward direction's first
    assert_close(c_n[2], gates["c_l1"][-1], "c_n forward")
    assert_close(c_n[3], gates["c_l1_reverse"][0], "c_n reverse")
    # asking for gates on a fast module falls back to the per-step path, same outputs
    ours.fast = True
    out2, _, gates2 = ours(x, (h0, c0), return_gates=True)
    assert_close(out2, out, "fast flag with gates")

    gru, _ = pair("gru")
    out, h, gates = gru(x, return_gates=True)
    assert set(gates) == {"r_l0", "z_l0", "n_l0"} and all(v.shape == (T, B, H) for v in gates.values())
    z, n = gates["z_l0"], gates["n_l0"]
    h_prev = torch.cat([torch.zeros(1, B, H, dtype=out.dtype), out[:-1]])
    assert_close(out, (1 - z) * n + z * h_prev, "GRU h_t equation")
    rnn, _ = pair("rnn_relu", batch_first=True)
    out, h, gates = rnn(x.transpose(0, 1), return_gates=True)
    assert set(gates) == {"h_l0"} and gates["h_l0"].shape == (T, B, H)  # time-major regardless of batch_first
    assert (gates["h_l0"] >= 0).all()


def test_fast_path_shares_parameters():
    ours, ref = pair("lstm", layers=2, bidirectional=True)
    assert len(list(ours.parameters())) == 16  # each tensor once, under the cells' names
    assert all(k.startswith("cells.") for k in ours.state_dict())
    x, _ = inputs("lstm", 2, True, False, False)
    ours.fast = True
    with torch.no_grad():
        ours.cells[1][1].weight_hh.mul_(0.5)  # an in-place change (an optimiser step) is seen by both paths
    fast = ours(x)[0]
    ours.fast = False
    assert_close(fast, ours(x)[0], "after in-place change")
    # replaced parameter objects (load_state_dict(assign=True)) are re-linked
    sd = {k: v.clone() * 0.9 for k, v in ours.state_dict().items()}
    ours.load_state_dict(sd, assign=True)
    slow = ours(x)[0]
    ours.fast = True
    assert_close(ours(x)[0], slow, "after assign=True load")


def test_unbatched_input():
    ours, ref = pair("lstm", bidirectional=True)
    x = torch.randn(T, I, dtype=torch.float64)
    h0, c0 = torch.randn(2, H, dtype=torch.float64), torch.randn(2, H, dtype=torch.float64)
    out, (h, c) = ours(x, (h0, c0))
    ref_out, (ref_h, ref_c) = ref(x, (h0, c0))
    assert_close(out, ref_out, "unbatched out")
    assert_close(h, ref_h, "unbatched h")
    assert_close(c, ref_c, "unbatched c")


def test_bf16_autocast_runs():
    torch.manual_seed(0)
    rnn = Recurrent("lstm", I, H, num_layers=2)
    x = torch.randn(T, B, I)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, (h, c) = rnn(x)
    ref = rnn(x)[0]
    assert torch.isfinite(out).all() and (out.float() - ref).abs().max() < 0.05
    out.float().sum().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in rnn.parameters())


@pytest.mark.parametrize("batch_first", [False, True])
def test_tbptt(batch_first):
    ours, _ = pair("lstm", batch_first=batch_first)
    n, k = 10, 4
    dim = 1 if batch_first else 0
    x = torch.randn((B, n, I) if batch_first else (n, B, I), dtype=torch.float64, requires_grad=True)
    full_out, (full_h, _) = ours(x)
    chunks = list(tbptt(ours, x, k))
    assert [t0 for t0, _, _ in chunks] == [0, 4, 8]
    assert [o.size(dim) for _, o, _ in chunks] == [4, 4, 2]
    # same values as one pass over the whole stream
    assert_close(torch.cat([o for _, o, _ in chunks], dim), full_out, "chunked output")
    assert_close(chunks[-1][2][0], full_h, "chunked final state")
    # a loss on the second chunk reaches its own inputs, none before the chunk boundary
    chunks[1][1].sum().backward()
    g = x.grad.movedim(dim, 0)
    assert (g[:k] == 0).all() and (g[2 * k:] == 0).all()
    assert (g[k:2 * k].abs().sum(dim=(1, 2)) > 0).all()
    # and its weight gradient is that of a fresh run on the chunk from the detached state
    w = ours.cells[0][0].weight_hh
    tb_grad = w.grad.clone()
    ours.zero_grad()
    x.grad = None
    _, _, state1 = chunks[0]
    ours(x.narrow(dim, k, k), detach_state(state1))[0].sum().backward()
    assert_close(w.grad, tb_grad, "weight grad of chunk 2")
    # without detaching, gradient does reach the first chunk (the test above can fail)
    x.grad = None
    out1, s1 = ours(x.narrow(dim, 0, k))
    ours(x.narrow(dim, k, k), s1)[0].sum().backward()
    assert x.grad.movedim(dim, 0)[:k].abs().sum() > 0


def test_errors():
    with pytest.raises(ValueError, match="unknown mode"):
        Recurrent("lstmm", I, H)
    rnn = Recurrent("gru", I, H, num_layers=2)
    with pytest.raises(RuntimeError, match="hidden state"):
        rnn(torch.randn(T, B, I), torch.zeros(1, B, H))
    with pytest.raises(RuntimeError, match="input_size"):
        rnn(torch.randn(T, B, I + 1))
    assert torch_param_name("bias_ih", 2, 1) == "bias_ih_l2_reverse"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_sequences_match_torch(mode, enforce_sorted):
    """Variable lengths as a PackedSequence: the per-step path holds each sequence's state past its end, so
    outputs, final states and every gradient equal torch's packed kernel; the fast path hands it straight on."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    ours, ref = pair(mode, layers=2, bidirectional=True)
    lengths = torch.tensor([5, 5, 3, 1]) if enforce_sorted else torch.tensor([3, 5, 1, 5])
    x = torch.randn(T, 4, I, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 4, H, dtype=torch.float64)
    hx = (h0, torch.randn_like(h0)) if mode == "lstm" else h0
    results = []
    for m in (ours, ref):
        out, state = m(pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted), hx)
        h_n = state[0] if mode == "lstm" else state
        padded, _ = pad_packed_sequence(out)
        grads = torch.autograd.grad((padded ** 2).sum() + h_n.sum(), [x, *m.parameters()])
        results.append((out.data, h_n, grads))
    (o1, h1, g1), (o2, h2, g2) = results
    assert torch.allclose(o1, o2, atol=ATOL) and torch.allclose(h1, h2, atol=ATOL)
    assert all(torch.allclose(a, b, atol=ATOL) for a, b in zip(g1, g2))
    fast = Recurrent(mode, I, H, num_layers=2, bidirectional=True, fast=True).double()
    fast.load_state_dict(ours.state_dict())
    assert torch.allclose(fast(pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted), hx)[0].data, o1,
                          atol=ATOL)


# ---- LSTM's hand-written backward through time (`_LSTMLayer`) ----

def lstm_pair(layers=2, bidirectional=True, batch_first=False, bias=True, dtype=torch.float64, sizes=(I, H)):
    torch.manual_seed(0)
    i, h = sizes
    ref = nn.LSTM(i, h, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first,
                  bias=bias).to(dtype)
    ours = Recurrent("lstm", i, h, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first,
                     bias=bias).to(dtype).copy_from_torch(ref)
    return ours, ref


def test_lstm_backward_is_one_node_per_layer_and_direction(monkeypatch):
    ours, _ = lstm_pair(layers=1, bidirectional=False)
    x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
    assert type(ours(x)[0].grad_fn).__name__ == "_LSTMLayerBackward"
    # the recorded per-step path: gates asked for, or the switch off
    assert type(ours(x, return_gates=True)[0].grad_fn).__name__ != "_LSTMLayerBackward"
    monkeypatch.setattr(LSTMCell, "bptt_by_hand", False)
    assert type(ours(x)[0].grad_fn).__name__ != "_LSTMLayerBackward"


@pytest.mark.parametrize("bidirectional,batch_first,bias,span_rows",
                         [(False, False, True, 2 * B), (True, False, True, 2 * B), (True, True, False, B),
                          (True, False, True, 10_000)])
def test_lstm_by_hand_matches_torch(monkeypatch, bidirectional, batch_first, bias, span_rows):
    """Outputs, final states and the gradients of x, h0, c0 and every weight, in float64; the weight
    gradient summed over spans of 1 or 2 steps (T = 5: an uneven last span) or all steps at once."""
    import nnzoo.nn.recurrent as rec
    monkeypatch.setattr(rec, "_WEIGHT_GRAD_ROWS", span_rows)
    ours, ref = lstm_pair(2, bidirectional, batch_first, bias)
    x, hx = inputs("lstm", 2, bidirectional, batch_first, with_state=True)
    ref_out, ref_s, ref_g = run_and_grad(ref, x, hx)
    out, s, grads = run_and_grad(ours, x, hx)
    assert_close(out, ref_out, "output")
    for k, (a, b) in enumerate(zip(s, ref_s)):
        assert_close(a, b, f"final state {k}")
    assert set(grads) == set(ref_g) and all(g is not None for g in grads.values())
    for name in ref_g:
        assert_close(grads[name], ref_g[name], f"grad {name}")


def test_lstm_by_hand_gradients_without_input_or_weight_grads():
    """x without requires_grad (the first layer of a model): the weights' gradients still match torch's;
    frozen weights: x's gradient alone, and the weights get none."""
    ours, ref = lstm_pair(2, True)
    x, _ = inputs("lstm", 2, True, False, with_state=False)
    for m in (ours, ref):
        m.zero_grad(set_to_none=True)
        (m(x)[0] ** 2).sum().backward()
    theirs = dict(ref.named_parameters())
    for name, p in ours.named_torch_params():
        assert_close(p.grad, theirs[name].grad, f"grad {name} (x without grad)")
    ours.zero_grad(set_to_none=True)
    ours.requires_grad_(False)
    ref.requires_grad_(False)
    xs = [x.clone().requires_grad_() for _ in range(2)]
    for m, xi in zip((ours, ref), xs):
        (m(xi)[0] ** 2).sum().backward()
    assert_close(xs[0].grad, xs[1].grad, "x grad with frozen weights")
    assert all(p.grad is None for p in ours.parameters())


def test_lstm_by_hand_packed_sequences_over_spans(monkeypatch):
    """Variable lengths: held states past each sequence's end, c_n and the initial states' gradients too,
    the weight gradient summed over spans of 2 steps."""
    import nnzoo.nn.recurrent as rec
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    monkeypatch.setattr(rec, "_WEIGHT_GRAD_ROWS", 8)  # 2 steps of 4 sequences
    ours, ref = lstm_pair(2, True)
    lengths = torch.tensor([3, 5, 1, 4])
    g = torch.Generator().manual_seed(3)
    x = torch.randn(T, 4, I, dtype=torch.float64, generator=g)
    h0, c0 = (torch.randn(4, 4, H, dtype=torch.float64, generator=g) for _ in range(2))
    results = []
    for m in (ours, ref):
        leaves = [t.clone().requires_grad_() for t in (x, h0, c0)]
        out, (h_n, c_n) = m(pack_padded_sequence(leaves[0], lengths, enforce_sorted=False), tuple(leaves[1:]))
        padded, _ = pad_packed_sequence(out)
        loss = (padded ** 2).sum() + (h_n * 0.5).sum() + (c_n ** 2).sum()
        grads = torch.autograd.grad(loss, [*leaves, *m.parameters()])
        results.append((padded, h_n, c_n, grads))
    for what, a, b in zip(("output", "h_n", "c_n"), results[0][:3], results[1][:3]):
        assert_close(a, b, what)
    for k, (a, b) in enumerate(zip(results[0][3], results[1][3])):
        assert_close(a, b, f"gradient {k}")


def test_lstm_by_hand_float32_matches_torch():
    """float32 on the CPU: the products go through oneDNN where PyTorch has it (`_linear`); same results
    as torch.nn.LSTM and as the recorded per-step path, to float32 rounding."""
    ours, ref = lstm_pair(2, True, dtype=torch.float32, sizes=(24, 40))
    x = torch.randn(9, 6, 24)
    outs = []
    for m, by_hand in ((ref, True), (ours, True), (ours, False)):
        LSTMCell.bptt_by_hand = by_hand
        try:
            xi = x.clone().requires_grad_()
            out, (h_n, c_n) = m(xi)
            loss = (out ** 2).sum() + h_n.sum() + (c_n ** 2).sum()
            outs.append((out, h_n, c_n, torch.autograd.grad(loss, [xi, *m.parameters()])))
        finally:
            LSTMCell.bptt_by_hand = True
    for other in outs[1:]:
        for a, b in zip(outs[0][:3], other[:3]):
            assert (a - b).abs().max() < 1e-5
        for a, b in zip(outs[0][3], other[3]):
            assert (a - b).abs().max() < 1e-4 * max(1.0, b.abs().max().item())


def test_lstm_by_hand_inference_and_double_backward():
    ours, ref = lstm_pair(2, True)
    x, hx = inputs("lstm", 2, True, False, with_state=True)
    with torch.no_grad():
        out, (h, c) = ours(x, hx)
        assert out.grad_fn is None
    assert_close(out, ref(x, hx)[0], "no_grad output")
    x = x.clone().requires_grad_()
    (gx,) = torch.autograd.grad(ours(x)[0].sum(), x, create_graph=True)
    with pytest.raises(RuntimeError):  # the hand-written backward is once differentiable
        gx.sum().backward()


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_the_fused_kernel_runs_under_cpu_bf16_autocast_on_any_cpu(mode):
    """On a CPU without bf16 units oneDNN has no bf16 RNN kernel ("could not create a primitive descriptor"):
    the fused path then runs in float32, so bf16 autocast (precision=bf16, or NNZOO_CPU_BF16=1) works on every
    CPU, and gives the float32 result where it falls back."""
    from nnzoo.nn.recurrent import _cpu_bf16_kernels
    torch.manual_seed(0)
    rnn = Recurrent(mode, 5, 8, num_layers=2, batch_first=True, fast=True)
    x = torch.randn(3, 4, 5)
    want, _ = rnn(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = rnn(x)
    assert out.shape == want.shape and torch.isfinite(out).all()
    if not _cpu_bf16_kernels():
        assert out.dtype == torch.float32 and torch.allclose(out, want, atol=1e-6)
    packed = nn.utils.rnn.pack_padded_sequence(x, [4, 3, 2], batch_first=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = rnn(packed)
    assert torch.isfinite(out.data).all()
