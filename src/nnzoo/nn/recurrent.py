"""Recurrent cells written from their equations, and a runner with torch.nn.LSTM / GRU / RNN's interface.

Shapes: T time steps, B batch, I input features, H hidden units, G gates per cell (RNN 1, GRU 3, LSTM 4),
L layers, D directions (2 when bidirectional).

Each cell keeps its weights exactly as PyTorch lays them out (weight_ih (G*H, I), weight_hh (G*H, H),
bias_ih, bias_hh (G*H,), gate order LSTM i,f,g,o and GRU r,z,n), so weights copy both ways with
`Recurrent.copy_from_torch` / `Recurrent.to_torch`, and the tests check outputs, final states and every
gradient against PyTorch's fused kernels in float64.

Truncated back-propagation through time: `tbptt` runs a long stream in chunks of k steps and detaches the
state between chunks, so a chunk's loss reaches back at most k steps:

    for t0, out, state in tbptt(rnn, x, k):
        loss = criterion(head(out), y[t0:t0 + out.size(0)])
        opt.zero_grad(); loss.backward(); opt.step()
"""
from __future__ import annotations

import abc
import math
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

MODES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}
"""mode -> G, the number of gate blocks stacked in weight_ih / weight_hh."""

GATES = {"lstm": ("i", "f", "g", "o", "c"), "gru": ("r", "z", "n"), "rnn_tanh": ("h",), "rnn_relu": ("h",)}
"""What `return_gates=True` records per mode (LSTM also records the cell state c_t)."""


class _Cell(nn.Module, abc.ABC):
    """The weights and the single-step interface all three cells share.

    `forward(x_t, state)` is one step from the equations. The runner calls `project_input` on the whole
    sequence and then `step` per time step: W_ih x_t + b_ih does not depend on h_{t-1}, so it is one
    (T*B, I) x (I, G*H) matrix product instead of T small ones, the same split PyTorch's kernels make.
    """

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        g = self.gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(g, input_size))  # G*H, I
        self.weight_hh = nn.Parameter(torch.empty(g, hidden_size))  # G*H, H
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(g))  # G*H
            self.bias_hh = nn.Parameter(torch.empty(g))  # G*H
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # PyTorch's init for every recurrent weight and bias: U(-1/sqrt(H), 1/sqrt(H))
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def project_input(self, x: torch.Tensor) -> torch.Tensor:
        # W_ih x + b_ih, for one step (B, I) or all steps at once (T, B, I) -> (..., G*H)
        return F.linear(x, self.weight_ih, self.bias_ih)

    def project_hidden(self, h: torch.Tensor) -> torch.Tensor:
        # W_hh h_{t-1} + b_hh: B, G*H
        return F.linear(h, self.weight_hh, self.bias_hh)

    def zero_state(self, x_t: torch.Tensor):
        return x_t.new_zeros(x_t.shape[:-1] + (self.hidden_size,))  # B, H

    def forward(self, x_t: torch.Tensor, state=None):
        """One step: x_t (B, I), state from the previous step (None: zeros) -> (h_t (B, H), new_state)."""
        if state is None:
            state = self.zero_state(x_t)
        return self.step(self.project_input(x_t), state)

    @abc.abstractmethod
    def step(self, gx_t, state, record=None):
        """The cell's equations, given the input projection gx_t = W_ih x_t + b_ih: each subclass writes its own."""

    def run_sequence(self, x, state, reverse: bool = False, alive=None, record=None):
        """The cell over a whole sequence: x (T, B, I), state from before the first step -> (out (T, B, H),
        state after the last step). reverse: run from t = T-1 down to 0 (out stays in input order).
        alive (T, B, 1, bool; None: all true): past a sequence's end its state is held and its output is 0.
        record: lists to append each step's gates to (`return_gates`), in input order.

        Here autograd records every step's operations and back-propagates through them; `LSTMCell`
        replaces this with a backward through time written by hand."""
        # all T input projections in one product: T, B, G*H
        gx = self.project_input(x)
        # unbind once instead of indexing gx[t]: indexing inside the loop adds one autograd node
        # per step whose backward writes a full-size zero gradient (about 10x slower backward)
        steps = gx.unbind(0)
        hs = []
        for t in (reversed(range(len(steps))) if reverse else range(len(steps))):
            h_t, new = self.step(steps[t], state, record)
            if alive is not None:  # past a sequence's end: keep its state, output zeros
                new = _where(alive[t], new, state)
                h_t = h_t * alive[t]
            state = new
            hs.append(h_t)
        if reverse:  # the steps ran from t = T-1 down to 0: put them in input order
            hs.reverse()
            for v in (record or {}).values():
                v.reverse()
        return torch.stack(hs, 0), state  # T, B, H

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"


class RNNCell(_Cell):
    """Elman cell: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act = tanh or relu. State: h (B, H)."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"unknown nonlinearity {nonlinearity!r}; choose tanh or relu")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias)

    def step(self, gx_t, h, record=None):
        act = torch.tanh if self.nonlinearity == "tanh" else torch.relu
        # h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
        h_t = act(gx_t + self.project_hidden(h))  # B, H
        if record is not None:
            record["h"].append(h_t)
        return h_t, h_t

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity}"


class LSTMCell(_Cell):
    """Long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

    The cell state C is changed only by element-wise gating, f_t * C_{t-1} + i_t * C~_t, so its gradient
    along time is a product of forget gates instead of repeated multiplications by W_hh: with f near 1 it
    neither vanishes nor explodes. State: (h, C), each B, H.
    """

    gates = 4

    def zero_state(self, x_t):
        h = super().zero_state(x_t)
        return h, torch.zeros_like(h)

    def step(self, gx_t, state, record=None):
        h, c = state
        a = gx_t + self.project_hidden(h)  # B, 4H: pre-activations in PyTorch's order i, f, g, o
        a_i, a_f, a_g, a_o = a.chunk(4, dim=-1)  # each B, H
        # i_t = sigma(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi): how much of the candidate to write
        i = torch.sigmoid(a_i)
        # f_t = sigma(W_if x_t + b_if + W_hf h_{t-1} + b_hf): how much of the old cell state to keep
        f = torch.sigmoid(a_f)
        # C~_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg): the candidate (PyTorch's gate g)
        g = torch.tanh(a_g)
        # o_t = sigma(W_io x_t + b_io + W_ho h_{t-1} + b_ho): how much of the cell state to show
        o = torch.sigmoid(a_o)
        # C_t = f_t * C_{t-1} + i_t * C~_t
        c_t = f * c + i * g
        # h_t = o_t * tanh(C_t)
        h_t = o * torch.tanh(c_t)
        if record is not None:
            for name, v in zip(GATES["lstm"], (i, f, g, o, c_t)):
                record[name].append(v)
        return h_t, (h_t, c_t)

    bptt_by_hand = True
    """True: `run_sequence` back-propagates through time with the chain rule written out (`_LSTMLayer`),
    one autograd node per layer and direction. False: autograd records every step's operations, as for the
    other cells (the reference the tests compare with). Either way the gates are recorded per step
    (`return_gates`) and bf16 autocast runs on the recorded steps."""

    def run_sequence(self, x, state, reverse: bool = False, alive=None, record=None):
        if record is not None or not self.bptt_by_hand or torch.is_autocast_enabled(x.device.type):
            return super().run_sequence(x, state, reverse, alive, record)
        h0, c0 = state
        out, h_n, c_n = _LSTMLayer.apply(x, h0, c0, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                                         reverse, alive, torch.is_grad_enabled())
        return out, (h_n, c_n)


def _cpu_bf16_kernels() -> bool:
    """Whether oneDNN runs bf16 kernels on this CPU (it has bf16 units); the environment's NNZOO_CPU_BF16
    does not change what the hardware can do."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _use_onednn(t: torch.Tensor) -> bool:
    """Whether `_linear` runs on oneDNN: float32 on the CPU, the case where torch.nn.LSTM runs oneDNN's
    fused RNN kernel (the test PyTorch makes, including the `torch.backends.mkldnn` switch)."""
    return (t.device.type == "cpu" and t.dtype == torch.float32 and torch.backends.mkldnn.is_available()
            and torch.backends.mkldnn.enabled)


def _linear(a: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """a @ w^T (+ bias): a (M, K), w (N, K) or `_pack(w)` -> M, N. No autograd: for `_LSTMLayer`.

    Why not torch.mm: for float32 on the CPU torch.mm calls the BLAS PyTorch is built with (MKL), while
    torch.nn.LSTM runs oneDNN's kernels. On AMD CPUs MKL takes its AVX2 code path, about half the speed of
    oneDNN's AVX-512 one (a Zen 5 core: 97 against 210 GFLOP/s for (64, 512) x (512, 2048)), so the
    per-step path would lose to the fused kernel on the matrix products alone. oneDNN's inner product is
    the same sum of products; float64 (the tests), bf16 and GPUs keep torch's own kernels."""
    if _use_onednn(a):
        return torch.ops.mkldnn._linear_pointwise(a, w, bias, "none", [], "")
    return F.linear(a, w, bias)


def _pack(w: torch.Tensor, rows: int) -> torch.Tensor:
    """w (N, K) for `_linear` with `rows`-row inputs, reused every step: for oneDNN reordered once into its
    blocked layout (~12% faster per product than the plain one); otherwise w itself."""
    if _use_onednn(w):
        return torch.ops.mkldnn._reorder_linear_weight(w, rows)
    return w


def _tanh(z: torch.Tensor) -> torch.Tensor:
    """tanh(z) = 2 sigma(2z) - 1: PyTorch's CPU tanh (float32) is ~3x slower than its sigmoid, and the
    identity is exact up to rounding."""
    return torch.mul(z, 2).sigmoid_().mul_(2).sub_(1)


class _LSTMLayer(torch.autograd.Function):
    """One LSTM layer in one direction over a whole sequence, with its backward through time written out.

    Forward: `LSTMCell.step`'s equations without autograd, each step one product a_t = [W_ih W_hh]
    [x_t; h_{t-1}] + b; where gradients are wanted each step also keeps its local derivatives, the chain
    rule's factors that do not depend on the loss. Backward: from the last step run back to the first, five
    element-wise products and one (B, 4H) x (4H, I+H) product per step give dL/da_t, dL/dx_t and
    dL/dh_{t-1}. The weight gradients, which autograd accumulates step by step as (4H, B) x (B, I+H)
    products, are summed over `_WEIGHT_GRAD_ROWS` rows (many steps) at a time in one product each. One
    autograd node per layer and direction instead of ~10 per step.

    Shapes as in `LSTMCell`: x T, B, I; h0, c0 B, H; weights in PyTorch's layout, gates in the order
    i, f, g, o (g is C~). alive (T, B, 1, bool) or None, as in `_Cell.run_sequence`. Not twice
    differentiable."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, alive, grad_enabled):
        T, B, I = x.shape
        H = w_hh.size(1)
        keep = grad_enabled and any(ctx.needs_input_grad[:7])  # keep what the backward reads
        # a_t = W_ih x_t + W_hh h_{t-1} + b_ih + b_hh = [W_ih W_hh] [x_t; h_{t-1}] + b: one product per step
        w = _pack(torch.cat([w_ih, w_hh], 1), B)  # 4H, I+H
        bias = None if b_ih is None else b_ih + b_hh
        z = x.new_empty(B, I + H)  # [x_t, h_{t-1}] as rows
        hs = x.new_empty(T, B, H)  # h_t (held past a sequence's end)
        if keep:
            local = x.new_empty(T, B, 4, H)  # dL/da_{i,f,g} = dL/dC_t * local, dL/da_o = dL/dh_t * local
            dc_dh = x.new_empty(T, B, H)  # dC_t/dh_t: how dL/dh_t reaches the cell state
            forget = x.new_empty(T, B, H)  # f_t: how dL/dC_t reaches C_{t-1}
        h, c = h0, c0
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            z[:, :I], z[:, I:] = x[t], h
            a = _linear(z, w, bias).view(B, 4, H)
            # i_t, f_t, o_t = sigma(a_i, a_f, a_o); C~_t = tanh(a_g) = 2 sigma(2 a_g) - 1 (see `_tanh`):
            # one sigmoid over the whole row
            a[:, 2].mul_(2)
            a.sigmoid_()
            a[:, 2].mul_(2).sub_(1)
            i, f, g, o = a.unbind(1)  # each B, H
            ig = i * g
            # C_t = f_t * C_{t-1} + i_t * C~_t
            c_t = torch.addcmul(ig, f, c)
            tanh_c = _tanh(c_t)
            # h_t = o_t * tanh(C_t)
            h_t = torch.mul(o, tanh_c, out=hs[t])
            if keep:
                # C_t = f C_{t-1} + i C~ and h_t = o tanh(C_t), through sigma' = s (1 - s), tanh' = 1 - tanh^2:
                #   dL/da_i = dL/dC_t * C~_t i_t (1 - i_t)      dL/da_f = dL/dC_t * C_{t-1} f_t (1 - f_t)
                #   dL/da_g = dL/dC_t * i_t (1 - C~_t^2)        dL/da_o = dL/dh_t * tanh(C_t) o_t (1 - o_t)
                #   dL/dC_t (through h_t) = dL/dh_t * o_t (1 - tanh^2(C_t))
                loc = local[t]
                torch.addcmul(a, a, a, value=-1, out=loc)  # s (1 - s) for each gate (g's is replaced)
                loc[:, 0].mul_(g)
                loc[:, 1].mul_(c)
                torch.addcmul(i, ig, g, value=-1, out=loc[:, 2])
                loc[:, 3].mul_(tanh_c)
                torch.addcmul(o, h_t, tanh_c, value=-1, out=dc_dh[t])
                forget[t] = f
            if alive is not None:  # past a sequence's end: hold the state (the output is zeroed below)
                c_t = torch.where(alive[t], c_t, c)
                h_t = torch.where(alive[t], h_t, h, out=hs[t])
            h, c = h_t, c_t
        out = hs if alive is None else hs * alive  # T, B, H
        if keep:
            ctx.save_for_backward(x, h0, w_ih, w_hh, hs, local, dc_dh, forget, alive)
            ctx.reverse, ctx.has_bias = reverse, b_ih is not None
        return out, h.clone(), c

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_out, d_hn, d_cn):
        x, h0, w_ih, w_hh, hs, local, dc_dh, forget, alive = ctx.saved_tensors
        T, B, I = x.shape
        H = w_hh.size(1)
        need = ctx.needs_input_grad
        m = None if alive is None else alive.to(x.dtype)  # T, B, 1
        # [dL/dx_t, dL/dh_{t-1}] = dL/da_t [W_ih W_hh] (as rows): one product per step; W_hh alone
        # when x needs no gradient
        w_tr = _pack((torch.cat([w_ih, w_hh], 1) if need[0] else w_hh).t().contiguous(), B)  # (I+)H, 4H
        dx = x.new_empty(T, B, I) if need[0] else None
        # a_t = [W_ih W_hh b] [x_t; h_{t-1}; 1], so dL/d[W_ih W_hh b] = sum_t dL/da_t [x_t; h_{t-1}; 1]^T,
        # summed one span of steps at a time: a (4H, n) x (n, I+H+1) product for each span's n rows
        span = max(1, _WEIGHT_GRAD_ROWS // B)
        d_span = x.new_empty(span, B, 4, H)  # dL/da_t of the span's steps
        d_span_tr = x.new_empty(4 * H * span * B)  # the same transposed, one column per row
        in_span_tr = x.new_empty((I + H + 1) * span * B)  # [x_t; h_{t-1}; 1] likewise
        dw = x.new_zeros(4 * H, I + H + 1)
        # dh, dc: dL/dh_t and dL/dC_t through the state carried to later steps (and the final state)
        dh, dc = d_hn, d_cn
        for t0 in (range(0, T, span) if ctx.reverse else reversed(range(0, T, span))):
            t1 = min(t0 + span, T)
            # the span's steps in the opposite order to the forward's
            for t in (range(t0, t1) if ctx.reverse else range(t1 - 1, t0 - 1, -1)):
                # h_t goes to the output and to the next step: dL/dh_t = dout_t + dh
                dh_t = d_out[t] + dh
                dc_t = dc
                if m is not None:  # past a sequence's end the state was held: its gradient passes on
                    dh_held, dc_held = dh * (1 - m[t]), dc * (1 - m[t])
                    dh_t, dc_t = dh_t * m[t], dc_t * m[t]
                # dL/dC_t = dc + dL/dh_t * o_t (1 - tanh^2(C_t))
                dc_t = torch.addcmul(dc_t, dh_t, dc_dh[t])
                # dL/da_{i,f,g} = dL/dC_t * local_{i,f,g};  dL/da_o = dL/dh_t * local_o  (see the forward)
                da = d_span[t - t0]  # B, 4, H
                torch.mul(local[t, :, :3], dc_t.unsqueeze(1), out=da[:, :3])
                torch.mul(local[t, :, 3], dh_t, out=da[:, 3])
                # on to the previous step. C_{t-1} reaches C_t through the forget gate:
                # dL/dC_{t-1} = dL/dC_t * f_t
                dc = dc_t * forget[t]
                # a_t = W_ih x_t + W_hh h_{t-1} + b:  [dL/dx_t, dL/dh_{t-1}] = dL/da_t [W_ih W_hh]
                dz = _linear(da.view(B, 4 * H), w_tr)  # B, (I+)H
                if dx is not None:
                    dx[t], dh = dz[:, :I], dz[:, I:]
                else:
                    dh = dz
                if m is not None:
                    dh, dc = dh + dh_held, dc + dc_held
            n = (t1 - t0) * B
            d_tr = d_span_tr[:4 * H * n].view(4 * H, n)
            d_tr.copy_(d_span[:t1 - t0].view(n, 4 * H).t())
            in_tr = in_span_tr[:(I + H + 1) * n].view(I + H + 1, n)
            in_tr[:I].copy_(x[t0:t1].reshape(n, I).t())
            in_tr[I:-1].copy_(_previous_states(hs, h0, t0, t1, ctx.reverse).reshape(n, H).t())
            in_tr[-1] = 1  # the biases are weights on the constant input 1
            dw += _linear(d_tr, in_tr)  # 4H, I+H+1
        dw_ih, dw_hh, db = dw[:, :I], dw[:, I:-1], dw[:, -1]
        has_b = ctx.has_bias
        return (dx, dh.contiguous() if need[1] else None, dc if need[2] else None,
                dw_ih if need[3] else None, dw_hh if need[4] else None,
                db if has_b and need[5] else None, db.clone() if has_b and need[6] else None,
                None, None, None)


_WEIGHT_GRAD_ROWS = 2048
"""Rows (steps x batch) per weight-gradient product in `_LSTMLayer.backward`: enough for oneDNN to run at
full speed (one product over all T*B rows is no faster), few enough that the transposed copies stay small
(fresh memory costs more than the copying: each new page is faulted in and zeroed)."""


def _previous_states(hs, h0, t0: int, t1: int, reverse: bool):
    """The state each step t0 <= t < t1 multiplied by W_hh: h_{t-1} (h_{t+1} in the reverse direction),
    h0 at the first step run. hs: T, B, H -> t1 - t0, B, H."""
    T = hs.size(0)
    if reverse:
        return hs[t0 + 1:t1 + 1] if t1 < T else torch.cat([hs[t0 + 1:], h0[None]])
    return hs[t0 - 1:t1 - 1] if t0 > 0 else torch.cat([h0[None], hs[:t1 - 1]])


class GRUCell(_Cell):
    """Gated recurrent unit (Cho et al. 2014), PyTorch's variant: the reset gate multiplies W_hn h + b_hn
    after the product, which lets one matrix product W_hh h_{t-1} serve all three gates. State: h (B, H)."""

    gates = 3

    def step(self, gx_t, h, record=None):
        x_r, x_z, x_n = gx_t.chunk(3, dim=-1)  # W_i* x_t + b_i*, each B, H
        h_r, h_z, h_n = self.project_hidden(h).chunk(3, dim=-1)  # W_h* h_{t-1} + b_h*, each B, H
        # r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr): how much of the past feeds the candidate
        r = torch.sigmoid(x_r + h_r)
        # z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz): how much of the old state to keep
        z = torch.sigmoid(x_z + h_z)
        # n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
        n = torch.tanh(x_n + r * h_n)
        # h_t = (1 - z_t) * n_t + z_t * h_{t-1}
        h_t = (1 - z) * n + z * h
        if record is not None:
            for name, v in zip(GATES["gru"], (r, z, n)):
                record[name].append(v)
        return h_t, h_t


def make_cell(mode: str, input_size: int, hidden_size: int, bias: bool = True) -> _Cell:
    if mode == "lstm":
        return LSTMCell(input_size, hidden_size, bias)
    if mode == "gru":
        return GRUCell(input_size, hidden_size, bias)
    if mode in ("rnn_tanh", "rnn_relu"):
        return RNNCell(input_size, hidden_size, bias, nonlinearity=mode[4:])
    raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")


TORCH_CLASSES = {"lstm": "LSTM", "gru": "GRU", "rnn_tanh": "RNN", "rnn_relu": "RNN"}


def torch_param_name(kind: str, layer: int, direction: int) -> str:
    """PyTorch's name for one cell's weight: kind (weight_ih, weight_hh, bias_ih, bias_hh) + _l{layer}
    (+ _reverse for the backward direction), e.g. weight_hh_l1_reverse."""
    return f"{kind}_l{layer}" + ("_reverse" if direction else "")


class Recurrent(nn.Module):
    """A stack of recurrent layers with the same call and return values as torch.nn.LSTM / GRU / RNN:

        out, h_n = rnn(x, h_0)              # gru, rnn_tanh, rnn_relu
        out, (h_n, c_n) = rnn(x, (h_0, c_0))  # lstm

    x is T, B, I (B, T, I with batch_first; T, I unbatched); out is T, B, D*H (the last layer's hidden
    states, both directions concatenated, forward first); h_n, c_n, h_0, c_0 are L*D, B, H with layer l's
    direction d at index l*D + d. h_0 / c_0 default to zeros. Dropout with probability `dropout` is applied
    to each layer's output except the last one's, in training mode only. Sequences of different lengths go
    in as a PackedSequence (`nn.utils.rnn.pack_padded_sequence`) and come out packed, as with torch's modules.

    Parameters live in `cells[l][d]` (an `LSTMCell` / `GRUCell` / `RNNCell`), so the state dict reads
    `cells.{l}.{d}.weight_ih`, and `torch_param_name` maps it to PyTorch's `weight_ih_l{l}[_reverse]`.

    Two paths give the same results (tested to 1e-5 in float64, outputs and gradients):

    - per step (default; always when `return_gates=True`): the cells' equations, one time step after
      another (`_Cell.run_sequence`), autograd recording every step; for LSTM (without `return_gates`, outside
      autocast) the backward through time is written by hand instead, one autograd node per layer and
      direction (`LSTMCell.bptt_by_hand`, `_LSTMLayer`). `return_gates=True` adds a third return value: a dict
      `"{gate}_l{l}[_reverse]" -> (T, B, H)` of every gate's activation per step (LSTM i, f, g, o and the
      cell state c; GRU r, z, n; RNN h), indexed by input time step in both directions.
    - fast (`fast=True`): PyTorch's fused kernel. Design: the Recurrent keeps a private torch.nn.LSTM / GRU /
      RNN (built on the meta device, so it allocates nothing) whose weight attributes are set to the very
      same Parameter objects the cells own. Nothing is copied or synchronised: an optimiser step, a
      `load_state_dict` or a `.to(dtype)` changes the tensors both paths read, and gradients land on the
      cells' parameters. The private module sits in a plain tuple, outside the module tree, so
      `parameters()` and `state_dict()` list each tensor once under the cells' names; before each fast call
      the links are checked by identity and renewed if a parameter object was replaced (e.g.
      `load_state_dict(assign=True)`), and its train/eval flag is copied from this module.
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 fast: bool = False):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"dropout should be a probability in [0, 1], got {dropout}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"dropout={dropout} does nothing with num_layers=1: it is applied between layers, "
                          "not after the last one", stacklevel=2)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.fast = float(dropout), bidirectional, fast
        self.num_directions = 2 if bidirectional else 1
        self.cells = nn.ModuleList(
            nn.ModuleList(make_cell(mode, input_size if layer == 0 else hidden_size * self.num_directions,
                                    hidden_size, bias) for _ in range(self.num_directions))
            for layer in range(num_layers))
        self._fused_holder = (self._new_torch_module(device="meta"),)  # a tuple: not a submodule

    # ---- weights shared with / copied to and from PyTorch's modules ----

    def named_torch_params(self):
        """(PyTorch's name, this module's Parameter) for every weight, in PyTorch's order."""
        for layer, cells in enumerate(self.cells):
            for direction, cell in enumerate(cells):
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    p = getattr(cell, kind)
                    if p is not None:
                        yield torch_param_name(kind, layer, direction), p

    def _new_torch_module(self, device=None, dtype=None) -> nn.RNNBase:
        kwargs = dict(num_layers=self.num_layers, bias=self.bias, batch_first=self.batch_first,
                      dropout=self.dropout, bidirectional=self.bidirectional, device=device, dtype=dtype)
        if self.mode.startswith("rnn_"):
            kwargs["nonlinearity"] = self.mode[4:]
        with warnings.catch_warnings():  # the dropout-with-one-layer warning was given in __init__
            warnings.simplefilter("ignore")
            return getattr(nn, TORCH_CLASSES[self.mode])(self.input_size, self.hidden_size, **kwargs)

    def _check_torch_module(self, m: nn.Module) -> None:
        cls = getattr(nn, TORCH_CLASSES[self.mode])
        want = dict(input_size=self.input_size, hidden_size=self.hidden_size, num_layers=self.num_layers,
                    bias=self.bias, bidirectional=self.bidirectional, proj_size=0)
        got = {k: getattr(m, k, None) for k in want}
        if not isinstance(m, cls) or got != want:
            raise ValueError(f"cannot copy weights between {type(m).__name__}({got}) and "
                             f"Recurrent({self.mode!r}, {want})")
        if self.mode.startswith("rnn_") and m.nonlinearity != self.mode[4:]:
            raise ValueError(f"nonlinearity {m.nonlinearity!r} differs from this module's {self.mode[4:]!r}")

    @torch.no_grad()
    def copy_from_torch(self, m: nn.Module) -> "Recurrent":
        """Copy the weights of a torch.nn.LSTM / GRU / RNN with the same sizes into this module."""
        self._check_torch_module(m)
        for name, p in self.named_torch_params():
            p.copy_(getattr(m, name))
        return self

    @torch.no_grad()
    def to_torch(self) -> nn.RNNBase:
        """A new torch.nn.LSTM / GRU / RNN holding a copy of this module's weights (same device and dtype)."""
        w = self.cells[0][0].weight_ih
        m = self._new_torch_module(device=w.device, dtype=w.dtype)
        for name, p in self.named_torch_params():
            getattr(m, name).copy_(p)
        m.train(self.training)
        return m

    def _run_fused(self, x, hx):
        """The fused kernel. Under CPU bf16 autocast on a CPU without bf16 units, oneDNN has no bf16 RNN
        kernel (its primitive cannot be created), so there the fused kernel runs in float32."""
        data = x.data if isinstance(x, nn.utils.rnn.PackedSequence) else x
        if data.device.type == "cpu" and torch.is_autocast_enabled("cpu") and not _cpu_bf16_kernels():
            with torch.autocast("cpu", enabled=False):
                hx = None if hx is None else (hx.float() if isinstance(hx, torch.Tensor)
                                              else tuple(h.float() for h in hx))
                return self._fused()(x.float(), hx)
        return self._fused()(x, hx)

    def _fused(self) -> nn.RNNBase:
        m = self._fused_holder[0]
        for name, p in self.named_torch_params():
            if getattr(m, name) is not p:
                # RNNBase.__setattr__ keeps its flat weight list in step with the attribute
                setattr(m, name, p)
        m.train(self.training)
        return m

    # ---- running ----

    def forward(self, x: torch.Tensor, hx=None, return_gates: bool = False):
        if isinstance(x, nn.utils.rnn.PackedSequence):
            return self._forward_packed(x, hx, return_gates)
        if self.fast and not return_gates:
            return self._run_fused(x, hx)
        unbatched = x.dim() == 2
        if unbatched:  # T, I -> T, 1, I; states L*D, H -> L*D, 1, H
            x = x.unsqueeze(1)
            if hx is not None:
                hx = tuple(s.unsqueeze(1) for s in hx) if self.mode == "lstm" else hx.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)  # B, T, I -> T, B, I
        out, h_n, c_n, gates = self._run(x, hx, return_gates)
        if unbatched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
            gates = {k: v.squeeze(1) for k, v in gates.items()}
        elif self.batch_first:
            out = out.transpose(0, 1)  # T, B, D*H -> B, T, D*H
        state = (h_n, c_n) if self.mode == "lstm" else h_n
        return (out, state, gates) if return_gates else (out, state)

    def _forward_packed(self, x: nn.utils.rnn.PackedSequence, hx, return_gates: bool):
        """Sequences of different lengths, packed as torch.nn.LSTM takes them (`pack_padded_sequence`): each
        one's output and final state are what it would get alone, whatever the others' lengths.

        The fused kernel reads the PackedSequence as is. The per-step path pads it back, runs the equations
        on the whole batch and holds each sequence's state still past its end (`lengths` in `_run`), so the
        backward direction starts from h_0 at each sequence's own last step; gates recorded past a
        sequence's end are not meaningful."""
        if self.fast and not return_gates:
            return self._run_fused(x, hx)
        padded, lengths = nn.utils.rnn.pad_packed_sequence(x)  # T, B, I in the caller's batch order
        out, h_n, c_n, gates = self._run(padded, hx, return_gates, lengths)
        order = x.sorted_indices if x.sorted_indices is not None else torch.arange(out.size(1), device=out.device)
        # the packed layout: time step after time step, the rows of the sequences still running, longest first
        data = torch.cat([out[t, order[:n]] for t, n in enumerate(x.batch_sizes.tolist())])
        out = nn.utils.rnn.PackedSequence(data, x.batch_sizes, x.sorted_indices, x.unsorted_indices)
        state = (h_n, c_n) if self.mode == "lstm" else h_n
        return (out, state, gates) if return_gates else (out, state)

    def _initial_states(self, x, hx):
        """hx as given (L*D, B, H, or a pair of them for LSTM; None: zeros) -> one state per (layer, dir)."""
        n, b = self.num_layers * self.num_directions, x.size(1)
        if hx is None:
            z = x.new_zeros(n, b, self.hidden_size)
            hx = (z, z) if self.mode == "lstm" else z
        if self.mode == "lstm":
            h0, c0 = hx
            for s in (h0, c0):
                self._check_state(s, n, b)
            return list(zip(h0.unbind(0), c0.unbind(0)))
        self._check_state(hx, n, b)
        return list(hx.unbind(0))

    def _check_state(self, s, n, b):
        if tuple(s.shape) != (n, b, self.hidden_size):
            raise RuntimeError(f"expected a hidden state of size {(n, b, self.hidden_size)}, got {tuple(s.shape)}")

    def _run(self, x, hx, return_gates, lengths=None):
        if x.size(-1) != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {x.size(-1)}")
        states = self._initial_states(x, hx)
        finals, gates = [], {}
        # alive[t]: B, 1, true while step t is inside the sequence (all steps when no lengths are given)
        alive = None if lengths is None else (
            (torch.arange(x.size(0))[:, None] < lengths.cpu()[None, :]).to(x.device).unsqueeze(-1))  # T, B, 1
        for layer, cells in enumerate(self.cells):
            outs = []
            for direction, cell in enumerate(cells):
                state = states[layer * self.num_directions + direction]
                record = {g: [] for g in GATES[self.mode]} if return_gates else None
                out, state = cell.run_sequence(x, state, reverse=bool(direction), alive=alive, record=record)
                outs.append(out)  # T, B, H
                finals.append(state)
                sfx = f"_l{layer}" + ("_reverse" if direction else "")
                gates.update({f"{g}{sfx}": torch.stack(v, 0) for g, v in (record or {}).items()})
            x = torch.cat(outs, -1) if len(outs) > 1 else outs[0]  # T, B, D*H
            if self.dropout > 0 and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, self.training)
        if self.mode == "lstm":
            h_n = torch.stack([h for h, _ in finals], 0)  # L*D, B, H
            c_n = torch.stack([c for _, c in finals], 0)  # L*D, B, H
        else:
            h_n, c_n = torch.stack(finals, 0), None
        return x, h_n, c_n, gates

    def extra_repr(self) -> str:
        s = f"{self.mode!r}, {self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
        for k, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False),
                           ("fast", False)):
            if getattr(self, k) != default:
                s += f", {k}={getattr(self, k)}"
        return s


def _where(keep: torch.Tensor, new, old):
    """new where keep, else old, for a state tensor or LSTM's (h, c) pair."""
    if isinstance(new, torch.Tensor):
        return torch.where(keep, new, old)
    return tuple(_where(keep, n, o) for n, o in zip(new, old))


def set_forget_bias(rnn: "Recurrent", value: float) -> None:
    """Start every LSTM cell of `rnn` with forget-gate bias b_f = b_if + b_hf = value (Jozefowicz et al. 2015:
    f ~ sigmoid(1) = 0.73 keeps the cell state, and its gradient, from the first step)."""
    for cells in rnn.cells:
        for cell in cells:
            set_cell_forget_bias(cell, value)


def set_cell_forget_bias(cell: "LSTMCell", value: float) -> None:
    """set_forget_bias for one LSTMCell (b_f = b_if + b_hf = value)."""
    with torch.no_grad():
        f = slice(cell.hidden_size, 2 * cell.hidden_size)  # gate order i, f, g, o
        cell.bias_ih[f] = value
        cell.bias_hh[f] = 0.0


def detach_state(state):
    """Cut the autograd history of a recurrent state (a tensor, or LSTM's (h, c) pair), keeping its values."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(detach_state(s) for s in state)


def tbptt(rnn: nn.Module, x: torch.Tensor, k: int, state=None, batch_first: bool | None = None):
    """Truncated back-propagation through time over a long stream x (T, B, I; B, T, I if batch_first).

    Yields (t0, out, state) for each chunk of k time steps (the last may be shorter): out is the
    chunk's output and state its final state. The state entering each chunk is detached, so a loss on one
    chunk back-propagates through at most k steps, and through neither earlier chunks nor the inputs
    before them; values are the same as one pass over the whole stream. Works with any module called as
    `out, state = rnn(x, state)` (Recurrent, torch.nn.LSTM / GRU / RNN). Call backward (and the optimiser
    step) inside the loop; the next chunk starts from the detached state.
    """
    if k < 1:
        raise ValueError(f"chunk length k must be >= 1, got {k}")
    if batch_first is None:
        batch_first = getattr(rnn, "batch_first", False)
    dim = 1 if batch_first else 0
    for t0, chunk in zip(range(0, x.size(dim), k), x.split(k, dim=dim)):
        out, state = rnn(chunk, detach_state(state))
        yield t0, out, state
