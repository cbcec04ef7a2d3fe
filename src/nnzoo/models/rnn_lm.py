"""Character-level language model (many to many): embed each character, run a recurrent stack, predict the
next character at every step. The cells are nnzoo's own (`nn.recurrent`), on the fused kernel when nothing
needs the per-step internals."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from ..nn.recurrent import Recurrent, detach_state, set_forget_bias
from .base import Model

CELLS = {"lstm": "lstm", "gru": "gru", "rnn": "rnn_tanh"}


@dataclass
class CharLMConfig:
    vocab_size: int = C.positive(84)
    """Characters in the vocabulary (set from the training text; id 0 is UNK)."""
    cell: str = C.choice("lstm", CELLS)
    """lstm, gru or rnn (vanilla tanh RNN)."""
    embed: int = C.positive(64)
    """Width of each character's embedding."""
    hidden: int = C.positive(512)
    """Hidden units per recurrent layer."""
    layers: int = C.between(2, 1, 3)
    """Stacked recurrent layers (1 to 3)."""
    dropout: float = C.fraction(0.2, hi_open=True)
    """Dropout between recurrent layers and before the output layer, in [0, 1)."""
    seq_len: int = C.positive(128)
    """Characters per training window (backpropagation through this many steps)."""
    carry_state: bool = False
    """Training reads the text as char-rnn does: the training text is cut into batch-size contiguous streams,
    each batch row reads the next seq_len characters of its stream and starts from the state the row ended
    the previous step with (detached: truncated back-propagation through seq_len steps), so the model
    learns to use context older than one window, as validation and test (which carry the state through
    whole plays) let it. False: every window starts from a zero state at a random place in the text."""
    forget_bias: float = C.between(0.0)
    """lstm: start every forget gate's bias b_f at this value (Gers et al. 2000; Jozefowicz et al. 2015 use 1):
    f_t = sigma(1) ~ 0.73 at first, so the cell state and its gradient survive many steps from the first
    update instead of halving at each. 0: PyTorch's init, U(-1/sqrt(H), 1/sqrt(H)) like every other bias."""
    fast: bool = True
    """Use PyTorch's fused kernel on nnzoo's cell parameters (same numbers, faster); False runs the equations
    step by step."""


class CharLM(Model):
    def __init__(self, cfg: CharLMConfig):
        super().__init__()
        if cfg.cell not in CELLS:
            raise ValueError(f"unknown cell {cfg.cell!r}; choose one of {', '.join(CELLS)}")
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.embed)
        self.rnn = Recurrent(CELLS[cfg.cell], cfg.embed, cfg.hidden, cfg.layers,
                             dropout=cfg.dropout if cfg.layers > 1 else 0.0,
                             fast=cfg.fast)
        if cfg.forget_bias and cfg.cell == "lstm":
            set_forget_bias(self.rnn, cfg.forget_bias)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden, cfg.vocab_size)

    def forward(self, x: torch.Tensor, state=None):
        """x: B, T character ids -> logits B, T, V and the final recurrent state."""
        h, state = self.rnn(self.embed(x.t()), state)  # T, B, H (time first, as the cells run)
        return self.head(self.drop(h)).transpose(0, 1), state  # B, T, V

    def loss(self, batch) -> dict:
        # B, T inputs and the same characters shifted by one; with carry_state also the state to start from
        # (None: a zero state), and the final state goes back to the stream for the next window
        x, y, *carried = batch
        state = carried[0] if carried else None
        if state is not None and _batch_of(state) != x.size(0):
            state = None  # a batch of another size (another rank count after a resume): start afresh
        logits, state = self(x, state)
        # L = -1/(B T) sum_{b,t} log p(y_bt | x_b,<=t), in nats per character
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        out = {"loss": loss, "bits_per_char": loss.detach() / math.log(2)}  # bits = nats / ln 2
        if carried:
            out["state"] = detach_state(state)  # the next window continues this one; its gradient stops here
        return out


def _batch_of(state) -> int:
    return (state if isinstance(state, torch.Tensor) else state[0]).size(1)  # layers, B, H


def tiny() -> CharLMConfig:
    return CharLMConfig(vocab_size=12, embed=8, hidden=16, layers=2, dropout=0.0, seq_len=16)


def example_batch(cfg: CharLMConfig, n: int = 16):
    """(inputs, next-character targets) for tests: counting sequences from random starts, so there is a
    rule to learn (next = current + 1 mod V-1, never UNK)."""
    start = torch.randint(0, cfg.vocab_size - 1, (n, 1))
    w = (start + torch.arange(cfg.seq_len + 1)) % (cfg.vocab_size - 1) + 1
    return w[:, :-1], w[:, 1:]
