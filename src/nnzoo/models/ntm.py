"""Neural Turing Machine (Graves, Wayne & Danihelka 2014) and its baseline, a plain LSTM over the same sequences.

An NTM is a recurrent controller (here nnzoo's LSTM cell) wired to a memory matrix M of N slots x M numbers
that it reads and writes through soft attention: each head emits a weighting w over the N slots (summing to
1), found in four steps from what the controller says this step (section 3.3 of the paper):

    content     w^c(i) = softmax_i(beta K[k, M(i)]),  K the cosine similarity of the key k and slot i
    interpolate w^g = g w^c + (1 - g) w_{t-1}          (g = 0 keeps the last step's focus)
    shift       w~(i) = sum_j w^g(j) s(i - j)            (s a softmax over the shifts -1, 0, +1; circular)
    sharpen     w(i) = w~(i)^gamma / sum_j w~(j)^gamma    (gamma >= 1 undoes the shift's blur)

A read head returns r = sum_i w(i) M(i); a write head erases and then adds, M_t = M_{t-1} (1 - w e^T) + w a^T.
Every step runs a batch of B sequences at once: the memory is B, N, M and every head's weighting B, N.

The numbers stay finite whatever the controller emits: the cosine's norms have a floor (EPS), beta = softplus
>= 0, gamma = 1 + softplus >= 1, and the sharpening divides by the largest w~ before the power (the same ratio,
but its largest term is 1, so the normaliser cannot underflow to 0 at a large gamma), with w~ clamped away
from 0 so d(w~^gamma)/d gamma = w~^gamma ln w~ is never 0 * -inf.

Order within a step: the controller reads [x_t, r_{t-1}]; every head addresses M_{t-1} (one batched
computation for all heads); the read heads read r_t from M_{t-1}, as pytorch-ntm and Collier & Beel do; the
write heads then make M_t; the output is a linear layer over [h_t, r_t] (a logit per output bit). Reading
M_t instead (what was just written) left 1 of 2 hard seeds unsolved in 30,000 sequences (docs/ntm.md).

The memory starts from a small constant (1e-6 everywhere) or from a learned matrix: Collier & Beel 2018
("Implementing Neural Turing Machines") found the constant converges about twice as fast on copy, so it is
the default (`memory_init`). Every head starts focused on slot 0.

Batches, from tasks/algorithmic.py or `example_batch`: (x, y, mask) with x (B, T, in_dim) the input bits and
markers, y (B, T, out_dim) the target bits and mask (B, T) 1 at the steps whose output is scored.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from ..nn.recurrent import LSTMCell, Recurrent, set_cell_forget_bias, set_forget_bias
from .base import Model

EPS = 1e-8
"""Floor under the squared norms in the cosine: an all-zero key or slot gives K = 0 instead of 0 / 0."""
TINY = 1e-30
"""Sharpening clamps w~ / max w~ to at least this before the power (a float32 normal number)."""
SHIFTS = (-1, 0, 1)
"""The shifts a head's s weights, in the order of its three logits."""
HEAD_SIZE = 6
"""Per head besides its key: beta, g, three shift logits, gamma."""
MEMORY_INITS = ("constant", "learned")


@dataclass
class SequenceKeys:
    """The algorithmic tasks' settings, carried in the model's config so that config.json holds everything a
    run was trained on (tasks/algorithmic.py reads them; in_dim and out_dim it sets itself)."""
    in_dim: int = C.positive(9)
    """Input channels per step (set by the task: the bits plus its marker channels)."""
    out_dim: int = C.positive(8)
    """Output bits per step (set by the task)."""
    bits: int = C.positive(8)
    """Random bits per vector of a sequence (Graves et al.: 8 for copy and repeat copy, 6 for recall)."""
    min_len: int = C.positive(1)
    """Shortest training size: vectors of a copy or repeat-copy sequence, items of an associative recall."""
    max_len: int = C.positive(20)
    """Longest training size (drawn uniformly from min_len..max_len, one size per batch)."""
    curriculum: int = C.nonneg(0)
    """Steps over which the longest size drawn widens linearly from min_len to max_len (0: every size from the
    first step)."""
    min_repeats: int = C.positive(1)
    """Repeat copy: fewest repeats asked for in training."""
    max_repeats: int = C.positive(10)
    """Repeat copy: most repeats asked for in training (the repeat channel is scaled by this range)."""
    epoch_sequences: int = C.positive(1000)
    """Training sequences per epoch: the stream is endless, so an epoch is just how often the validation
    figures are taken."""


@dataclass
class NTMConfig(SequenceKeys):
    controller: int = C.positive(100)
    """LSTM units of the controller (pytorch-ntm's copy task: 100)."""
    memory_slots: int = C.positive(128)
    """N, the memory's slots: a copy of length L needs L of them (128 covers the test length 120)."""
    memory_width: int = C.positive(20)
    """M, numbers per slot."""
    read_heads: int = C.positive(1)
    """Read heads, each returning one M-vector per step to the controller and the output layer."""
    write_heads: int = C.positive(1)
    """Write heads, each erasing and adding one M-vector per step."""
    memory_init: str = C.choice("constant", MEMORY_INITS)
    """constant: every slot starts at memory_constant (Collier & Beel 2018: converges about twice as fast);
    learned: a trained N x M matrix, the same for every sequence."""
    memory_constant: float = C.between(1e-6, 0.0)
    """The starting value of every memory number when memory_init=constant."""
    forget_bias: float = C.between(1.0)
    """The controller's forget-gate bias at the start (Collier & Beel's controller: 1; Jozefowicz et al.
    2015): f = sigma(1) ~ 0.73, so the controller's state lasts through the sequence from the first update.
    0: PyTorch's init like every other bias."""


def content_weighting(mem: torch.Tensor, k: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """w^c: mem (B, N, M), keys k (B, H, M), strengths beta (B, H) -> (B, H, N), each row summing to 1."""
    dot = torch.bmm(k, mem.transpose(1, 2))  # B, H, N
    # |k| |M(i)|, each norm floored so a zero vector gives a zero cosine
    norms = torch.sqrt((k * k).sum(-1, keepdim=True) + EPS) * torch.sqrt((mem * mem).sum(-1) + EPS).unsqueeze(1)
    # K[k, M(i)] = k . M(i) / (|k| |M(i)|)
    cosine = dot / norms  # B, H, N
    # w^c(i) = exp(beta K[k, M(i)]) / sum_j exp(beta K[k, M(j)])
    return torch.softmax(beta.unsqueeze(-1) * cosine, dim=-1)


def interpolate(w_content: torch.Tensor, w_prev: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """w^g: weightings (B, H, N) and gates g (B, H) in [0, 1]."""
    g = g.unsqueeze(-1)
    # w^g = g w^c + (1 - g) w_{t-1}
    return g * w_content + (1 - g) * w_prev


def shift(w: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """w~: weightings (B, H, N) and shift weights s (B, H, 3) over SHIFTS = (-1, 0, +1), summing to 1. The
    slots form a ring: shifting slot N-1 by +1 lands on slot 0."""
    # w~(i) = sum_k s(k) w(i - k): roll(w, k)[i] = w[i - k]
    return sum(s[..., j:j + 1] * torch.roll(w, k, dims=-1) for j, k in enumerate(SHIFTS))


def sharpen(w: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """w: weightings (B, H, N) and gamma (B, H) >= 1."""
    # divided by the largest w~ first (the ratio below is unchanged) so the largest term is 1 and the sum
    # cannot underflow however large gamma is; clamped so no term is exactly 0 under the power
    z = (w / w.amax(-1, keepdim=True).clamp_min(TINY)).clamp_min(TINY).pow(gamma.unsqueeze(-1))
    # w(i) = w~(i)^gamma / sum_j w~(j)^gamma
    return z / z.sum(-1, keepdim=True)


def address(mem, w_prev, k, beta, g, s, gamma) -> torch.Tensor:
    """A head's weighting from its (already squashed) parameters: content, interpolation, shift, sharpening."""
    return sharpen(shift(interpolate(content_weighting(mem, k, beta), w_prev, g), s), gamma)


def write(mem: torch.Tensor, w: torch.Tensor, e: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """The memory after W write heads: mem (B, N, M), weightings w (B, W, N), erase e in [0, 1] and add a
    vectors (B, W, M). Every head erases before any adds (the erases multiply, so their order is moot)."""
    # M~ = M_{t-1} prod_h (1 - w_h e_h^T)
    kept = mem * (1 - w.unsqueeze(-1) * e.unsqueeze(-2)).prod(1)  # B, N, M
    # M_t = M~ + sum_h w_h a_h^T
    return kept + torch.bmm(w.transpose(1, 2), a)


def sequence_loss(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> dict:
    """Binary cross-entropy per scored output bit, and the wrong bits per sequence (output thresholded at
    0.5, i.e. logit > 0): the "cost per sequence" Graves et al. and pytorch-ntm report."""
    logits = logits.float()
    # L = -mean over scored bits of [y log p + (1 - y) log (1 - p)], p = sigmoid(logit)
    bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none").sum(-1)  # B, T
    loss = (bce * mask).sum() / (mask.sum() * y.size(-1)).clamp_min(1)
    wrong = ((logits > 0).to(y.dtype) != y).to(y.dtype).sum(-1)  # B, T
    return {"loss": loss, "bits_per_seq": ((wrong * mask).sum() / y.size(0)).detach()}


class NTM(Model):
    def __init__(self, cfg: NTMConfig):
        super().__init__()
        if cfg.memory_init not in MEMORY_INITS:
            raise ValueError(f"unknown memory_init {cfg.memory_init!r}; choose one of {', '.join(MEMORY_INITS)}")
        self.cfg = cfg
        N, M, R, W = cfg.memory_slots, cfg.memory_width, cfg.read_heads, cfg.write_heads
        self.controller = LSTMCell(cfg.in_dim + R * M, cfg.controller)
        if cfg.forget_bias:
            set_cell_forget_bias(self.controller, cfg.forget_bias)
        # one layer emits every head's parameters: per head a key (M) and beta, g, s (3), gamma; then per write
        # head its erase and add vectors (M each)
        self.heads = nn.Linear(cfg.controller, (R + W) * (M + HEAD_SIZE) + W * 2 * M)
        self.out = nn.Linear(cfg.controller + R * M, cfg.out_dim)
        if cfg.memory_init == "learned":
            bound = 1.0 / (N + M) ** 0.5
            self.memory0 = nn.Parameter(torch.empty(N, M).uniform_(-bound, bound))  # N, M
        else:
            self.register_buffer("memory0", torch.full((N, M), cfg.memory_constant))  # N, M
        w0 = torch.zeros(R + W, N)
        w0[:, 0] = 1.0  # every head starts on slot 0
        self.register_buffer("w0", w0, persistent=False)  # R+W, N

    def forward(self, x: torch.Tensor, record: bool = False):
        """x (B, T, in_dim) -> logits (B, T, out_dim) and, with record, the weightings {"read": B, T, R, N,
        "write": B, T, W, N} (else {})."""
        cfg, cell = self.cfg, self.controller
        B, T, _ = x.shape
        N, M, R, W = cfg.memory_slots, cfg.memory_width, cfg.read_heads, cfg.write_heads
        # W_ih [x_t; r_{t-1}] = W_ix x_t + W_ir r_{t-1}: the x part of every step in one product
        gx = F.linear(x.transpose(0, 1), cell.weight_ih[:, :cfg.in_dim], cell.bias_ih).unbind(0)  # T x (B, 4H)
        w_ir = cell.weight_ih[:, cfg.in_dim:]  # 4H, R*M
        mem = self.memory0.expand(B, N, M)  # B, N, M
        w = self.w0.expand(B, R + W, N)  # B, R+W, N
        r = torch.bmm(w[:, :R], mem)  # B, R, M
        state = cell.zero_state(x[:, 0, :1].expand(B, cfg.controller))
        outs, trace = [], []
        for t in range(T):
            h, state = cell.step(gx[t] + F.linear(r.flatten(1), w_ir), state)  # B, H
            mem, w, r = self.memory_step(h, mem, w)
            outs.append(torch.cat([h, r.flatten(1)], 1))  # B, H + R*M
            if record:
                trace.append(w)
        logits = self.out(torch.stack(outs, 1))  # B, T, out_dim
        if not record:
            return logits, {}
        ws = torch.stack(trace, 1)  # B, T, R+W, N
        return logits, {"read": ws[:, :, :R], "write": ws[:, :, R:]}

    def memory_step(self, h: torch.Tensor, mem: torch.Tensor, w_prev: torch.Tensor):
        """One step of the heads from the controller's h (B, H): (M_t, every head's weighting, reads r_t of
        M_{t-1})."""
        cfg = self.cfg
        M, R, W = cfg.memory_width, cfg.read_heads, cfg.write_heads
        p = self.heads(h)  # B, P
        n = (R + W) * (M + HEAD_SIZE)
        a = p[:, :n].view(-1, R + W, M + HEAD_SIZE)  # B, R+W, M+6
        k, beta, g, s, gamma = a[..., :M], a[..., M], a[..., M + 1], a[..., M + 2:M + 5], a[..., M + 5]
        # beta = softplus(.) >= 0, g = sigmoid(.), s = softmax(.), gamma = 1 + softplus(.) >= 1
        w = address(mem, w_prev, k, F.softplus(beta), torch.sigmoid(g), torch.softmax(s, -1),
                    1 + F.softplus(gamma))  # B, R+W, N
        # r_t = sum_i w_t(i) M_{t-1}(i)
        r = torch.bmm(w[:, :R], mem)  # B, R, M
        ea = p[:, n:].view(-1, W, 2, M)  # B, W, 2, M
        # e = sigmoid(.) in [0, 1]: how much of each number to erase; a = tanh(.): what to add
        return write(mem, w[:, R:], torch.sigmoid(ea[:, :, 0]), torch.tanh(ea[:, :, 1])), w, r

    def loss(self, batch) -> dict:
        x, y, mask = batch
        return sequence_loss(self(x)[0], y, mask)


@dataclass
class SeqLSTMConfig(SequenceKeys):
    hidden: int = C.positive(119)
    """LSTM units per layer: 119 in one layer gives 62,840 weights on copy, the NTM's 62,660."""
    layers: int = C.between(1, 1, 3)
    """Stacked LSTM layers."""
    forget_bias: float = C.between(1.0)
    """Every forget gate's bias at the start, as the NTM's controller has it (0: PyTorch's init)."""
    fast: bool = True
    """PyTorch's fused kernel on nnzoo's cell weights (same numbers, faster); False runs the equations."""


class SeqLSTM(Model):
    """The baseline: an LSTM reading x_t and emitting a logit per output bit at every step, the NTM's
    controller without the memory."""

    def __init__(self, cfg: SeqLSTMConfig):
        super().__init__()
        self.cfg = cfg
        self.rnn = Recurrent("lstm", cfg.in_dim, cfg.hidden, cfg.layers, fast=cfg.fast)
        if cfg.forget_bias:
            set_forget_bias(self.rnn, cfg.forget_bias)
        self.out = nn.Linear(cfg.hidden, cfg.out_dim)

    def forward(self, x: torch.Tensor, record: bool = False):
        """x (B, T, in_dim) -> logits (B, T, out_dim) and {} (it has no heads to record)."""
        h, _ = self.rnn(x.transpose(0, 1))  # T, B, H
        return self.out(h).transpose(0, 1), {}

    def loss(self, batch) -> dict:
        x, y, mask = batch
        return sequence_loss(self(x)[0], y, mask)


@dataclass
class TinyConfig(NTMConfig, SeqLSTMConfig):
    """Both models' keys in one config: the registry asks this module, not each model, for its tiny config,
    and the two models here take the one it returns (each reads its own fields)."""


def tiny() -> TinyConfig:
    return TinyConfig(in_dim=4, out_dim=3, bits=3, max_len=3, controller=16, memory_slots=8, memory_width=5,
                      hidden=32)


def example_batch(cfg: SequenceKeys, n: int = 16):
    """(x, y, mask) for tests: copy sequences of 3 vectors of random bits in the first channels, a delimiter
    in the last input channel, and the same vectors as the target after it."""
    L = 3
    bits = min(cfg.in_dim - 1, cfg.out_dim)
    seq = torch.randint(0, 2, (n, L, bits), generator=torch.Generator().manual_seed(0)).float()
    x = torch.zeros(n, 2 * L + 1, cfg.in_dim)
    x[:, :L, :bits] = seq
    x[:, L, -1] = 1.0
    y = torch.zeros(n, 2 * L + 1, cfg.out_dim)
    y[:, L + 1:, :bits] = seq
    mask = torch.zeros(n, 2 * L + 1)
    mask[:, L + 1:] = 1.0
    return x, y, mask
