"""Sequence to sequence (many to many, unaligned): an encoder reads the source sentence, a decoder writes the
target sentence one word at a time, each word conditioned on the words before it and on the source.

Two ways for the decoder to see the source, one config flag (`attention`):

- "none" (Sutskever, Vinyals & Le 2014): the encoder's final state is the decoder's initial state, so the
  whole sentence must pass through one vector of `hidden` numbers. Sutskever et al. fed the source backwards
  (`reverse_source=True`), which puts the first source words next to the first target words.
- "bahdanau" (Bahdanau, Cho & Bengio 2015): at every step the decoder scores every encoder state h_j against
  its previous state s_{t-1}, and reads their weighted mean c_t (`nn.attention.AdditiveAttention`). The
  weights alpha_tj are a soft alignment of target word t with source word j: the heat map of the report.

Both share everything else, so their BLEU difference is the attention's: the encoder (embedding + nnzoo's
own GRU / LSTM, `nn.recurrent`, bidirectional by default), the bridge from the encoder's final states to
the decoder's initial state, and the read-out t_t = tanh(W_o [s_t; c_t; E y_{t-1}]) -> softmax(V_o t_t)
(Bahdanau's deep output, with tanh where the paper has maxout; "none" has no c_t).

Training uses teacher forcing: the decoder's input at step t is the reference word y_{t-1}, not its own
guess. Translating uses `greedy` (the most likely word at each step) or `beam_search` (the `beam` best
partial translations, ranked by log-probability divided by length^length_alpha), both batched, both
returning the attention weights.

Token ids 0-3 are <pad>, <bos>, <eos>, <unk> (as `data.translation` writes them). Source rows are
w_1 ... w_n EOS, target rows BOS w_1 ... w_m EOS, both right-padded with PAD.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..nn.attention import AdditiveAttention
from .. import config as C
from ..nn.recurrent import Recurrent
from .base import Model

PAD, BOS, EOS, UNK = 0, 1, 2, 3
CELLS = ("gru", "lstm")
ATTENTIONS = ("none", "bahdanau")


@dataclass
class Seq2SeqConfig:
    src_vocab: int = C.positive(5000)
    """Source (English) words, the four specials included (set from the training split)."""
    tgt_vocab: int = C.positive(6500)
    """Target (Spanish) words, the four specials included (set from the training split)."""
    cell: str = C.choice("gru", CELLS)
    """gru or lstm, for encoder and decoder (nnzoo's own cells, nn.recurrent)."""
    embed: int = C.positive(128)
    """Width of each word's embedding (learnt from scratch, one table per language)."""
    hidden: int = C.positive(256)
    """Units per recurrent layer, per direction in the encoder."""
    layers: int = C.positive(1)
    """Stacked recurrent layers in the encoder and in the decoder (at least 1)."""
    bidirectional: bool = True
    """Encoder reads the sentence both ways; each h_j then describes word j in its whole sentence."""
    attention: str = C.choice("bahdanau", ATTENTIONS)
    """none (the encoder's final state starts the decoder; Sutskever et al. 2014) or bahdanau (additive
    attention over the encoder states at every step; Bahdanau et al. 2015)."""
    attn_size: int = C.positive(256)
    """Width A of the attention's hidden layer v^T tanh(W s + U h) (bahdanau only)."""
    reverse_source: bool = False
    """Feed the source backwards (Sutskever et al.'s trick for plain encoder-decoders; attention weights are
    still reported in the sentence's own order)."""
    dropout: float = C.fraction(0.2, hi_open=True)
    """Dropout on the embeddings, between stacked layers and before the output layer, in [0, 1)."""
    beam: int = C.positive(5)
    """Beam size of beam_search, at least 1 (the test report and `nnzoo translate`; --beam changes it there)."""
    length_alpha: float = C.nonneg(1.0)
    """Beam search ranks hypotheses by log p / length^length_alpha (>= 0): 0 prefers short translations (raw
    log-probability), 1 ranks by the mean log-probability per word."""
    max_len: int = C.positive(60)
    """Decoding stops after this many words if no EOS came."""
    fast: bool = True
    """Run the recurrent layers on PyTorch's fused kernel (same numbers, faster); False steps through the
    equations."""


class Memory(NamedTuple):
    """What the decoder reads of the source: encoder states h (B, S, D*H; zeros on padding), the attention's
    keys U h + b (B, S, A; None without attention) and the mask of real positions (B, S)."""
    states: torch.Tensor
    keys: torch.Tensor | None
    mask: torch.Tensor

    def select(self, rows: torch.Tensor) -> "Memory":
        return Memory(self.states[rows], None if self.keys is None else self.keys[rows], self.mask[rows])


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row's first lengths[b] positions, leaving its padding in place. x: B, S[, ...]."""
    B, S = x.shape[:2]
    pos = torch.arange(S, device=x.device)[None, :]  # 1, S
    idx = torch.where(pos < lengths[:, None], lengths[:, None] - 1 - pos, pos)  # B, S
    return x.gather(1, idx.view(B, S, *([1] * (x.dim() - 2))).expand_as(x))


def select_state(state, rows: torch.Tensor):
    """Rows of a recurrent state (L, B, H, or LSTM's pair of them)."""
    if isinstance(state, tuple):
        return tuple(s[:, rows] for s in state)
    return state[:, rows]


def top_hidden(state) -> torch.Tensor:
    """s_{t-1} for the attention: the top layer's hidden state, B, H."""
    return (state[0] if isinstance(state, tuple) else state)[-1]


class Seq2Seq(Model):
    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        if cfg.cell not in CELLS:
            raise ValueError(f"unknown cell {cfg.cell!r}; choose one of {', '.join(CELLS)}")
        if cfg.attention not in ATTENTIONS:
            raise ValueError(f"unknown attention {cfg.attention!r}; choose one of {', '.join(ATTENTIONS)}")
        self.cfg = cfg
        D = 2 if cfg.bidirectional else 1
        H, E = cfg.hidden, cfg.embed
        between = cfg.dropout if cfg.layers > 1 else 0.0
        self.src_embed = nn.Embedding(cfg.src_vocab, E, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(cfg.tgt_vocab, E, padding_idx=PAD)
        self.drop = nn.Dropout(cfg.dropout)
        self.encoder = Recurrent(cfg.cell, E, H, cfg.layers, bidirectional=cfg.bidirectional, dropout=between,
                                 fast=cfg.fast)
        # a bidirectional encoder ends in two states per layer; one linear map per state kind (h, and c for
        # an LSTM) turns the pair into the decoder's initial state. A one-way encoder's state is used as is.
        kinds = 2 if cfg.cell == "lstm" else 1
        self.bridge = nn.ModuleList(nn.Linear(D * H, H) for _ in range(kinds)) if D == 2 else None
        self.attn = AdditiveAttention(H, D * H, cfg.attn_size) if cfg.attention == "bahdanau" else None
        C = D * H if self.attn is not None else 0  # width of the context c_t the decoder reads each step
        self.decoder = Recurrent(cfg.cell, E + C, H, cfg.layers, dropout=between, fast=cfg.fast)
        self.readout = nn.Linear(H + C + E, H)
        self.head = nn.Linear(H, cfg.tgt_vocab)

    # ---- encoder ----

    def encode(self, src: torch.Tensor) -> tuple[Memory, object]:
        """src: B, S ids -> the decoder's Memory and its initial state (L, B, H; LSTM a pair)."""
        B, S = src.shape
        mask = src != PAD  # B, S
        lengths = mask.sum(1).clamp(min=1)  # an empty row reads one padding step instead of none
        mask[:, 0] = True
        if self.cfg.reverse_source:
            src = reverse_padded(src, lengths)
        e = self.drop(self.src_embed(src))  # B, S, E
        # packed: each sentence stops at its own last word, and the backward direction starts there
        packed = pack_padded_sequence(e, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, state = self.encoder(packed)  # state: L*D, B, H, each sentence's own final states
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=S)  # B, S, D*H, zeros past the end
        if self.cfg.reverse_source:  # back to the sentence's order, so alpha_tj lines up with word j
            out = reverse_padded(out, lengths)
        keys = self.attn.keys(out) if self.attn is not None else None
        return Memory(out, keys, mask), self.bridge_state(state)

    def bridge_state(self, state):
        if self.bridge is None:
            return state
        parts = state if isinstance(state, tuple) else (state,)
        L, H = self.cfg.layers, self.cfg.hidden
        out = []
        for s, lin in zip(parts, self.bridge):
            both = s.view(L, 2, -1, H).permute(0, 2, 1, 3).flatten(2)  # L, B, 2H: [forward; backward]
            # s_0 = W_b [h_fwd; h_bwd] + b_b. Bahdanau et al. squash it, s_0 = tanh(W_s h_1_bwd); here that tanh
            # saturated within the first epoch (Adam, lr 3e-3), s_0 became the same for every sentence and the
            # plain model's decoder ignored the source: every test verse got one and the same translation
            out.append(lin(both))
        return tuple(out) if isinstance(state, tuple) else out[0]

    # ---- decoder ----

    def step(self, e: torch.Tensor, state, memory: Memory):
        """One decoder step for N rows: the previous word's embedding E y_{t-1} (N, E) -> read-out features
        (N, H + C + E), new state, attention weights alpha_t (N, S) or None. (Callers embed the words: under
        teacher forcing all T at once, since each embedding lookup's backward costs a pass over the table.)"""
        if self.attn is not None:
            # c_t = sum_j alpha_tj h_j with alpha_t from s_{t-1} (nn.attention)
            c, alpha = self.attn(top_hidden(state), memory.keys, memory.states, memory.mask)  # N, C; N, S
            x = torch.cat([e, c], dim=-1)  # the decoder reads the context with the previous word
        else:
            c, alpha, x = e[:, :0], None, e
        # s_t = cell([E y_{t-1}; c_t], s_{t-1})
        s, state = self.decoder(x[None], state)  # 1, N, H
        return torch.cat([s[0], c, e], dim=-1), state, alpha

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        # t_t = tanh(W_o [s_t; c_t; E y_{t-1}] + b_o);  p(y_t | y_<t, x) = softmax(V_o t_t)
        return self.head(self.drop(torch.tanh(self.readout(features))))

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor):
        """Teacher forcing. src: B, S; tgt_in: B, T (BOS w_1 ... w_m, padded) -> logits B, T, V and the
        attention weights B, T, S (None without attention)."""
        memory, state = self.encode(src)
        e = self.drop(self.tgt_embed(tgt_in))  # B, T, E
        if self.attn is None:
            # no attention: nothing depends on the step's own output, so the fused kernel runs all T at once
            s, _ = self.decoder(e.transpose(0, 1), state)  # T, B, H
            return self.logits(torch.cat([s.transpose(0, 1), e], dim=-1)), None
        feats, alphas = [], []
        for e_t in e.unbind(1):  # attention needs s_{t-1} before step t: one step at a time
            f, state, alpha = self.step(e_t, state, memory)
            feats.append(f)
            alphas.append(alpha)
        return self.logits(torch.stack(feats, 1)), torch.stack(alphas, 1)  # B, T, V; B, T, S

    def loss(self, batch) -> dict:
        src, tgt = batch  # B, S source ids; B, T+1 target ids BOS ... EOS
        logits, _ = self(src, tgt[:, :-1])
        # L = -1/N sum over the N real target words (EOS included) of log p(y_t | y_<t, x)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt[:, 1:].reshape(-1), ignore_index=PAD)
        return {"loss": loss}

    # ---- translating ----

    def log_probs(self, features: torch.Tensor) -> torch.Tensor:
        """log p(y_t) over the words a translation may contain: never PAD or BOS, and never <unk>, since a
        guessed word can match the reference and <unk> cannot."""
        logp = F.log_softmax(self.logits(features).float(), dim=-1)
        logp[:, [PAD, BOS, UNK]] = float("-inf")
        return logp

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, max_len: int | None = None):
        """The most likely word at each step. src: B, S -> ids B, T (EOS, then PAD) and attention B, T, S
        (None without attention)."""
        max_len = max_len or self.cfg.max_len
        memory, state = self.encode(src)
        B = src.size(0)
        y = torch.full((B,), BOS, dtype=torch.long, device=src.device)
        done = torch.zeros(B, dtype=torch.bool, device=src.device)
        out, alphas = [], []
        for _ in range(max_len):
            f, state, alpha = self.step(self.tgt_embed(y), state, memory)
            y = self.log_probs(f).argmax(-1).masked_fill(done, PAD)  # B: after EOS only padding
            out.append(y)
            alphas.append(alpha)
            done |= y == EOS
            if done.all():
                break
        attn = torch.stack(alphas, 1) if self.attn is not None else None
        return torch.stack(out, 1), attn

    @torch.no_grad()
    def beam_search(self, src: torch.Tensor, beam: int | None = None, length_alpha: float | None = None,
                    max_len: int | None = None):
        """The `beam` best partial translations of each sentence, extended one word a step; all sentences'
        beams run side by side as B*K rows (row b*K + k is hypothesis k of sentence b).

        A finished hypothesis (its last word EOS) stays in the beam with its score, extended only by PAD at
        no cost, and competes with the unfinished ones; all are ranked by log p(y) / |y|^length_alpha at every
        step, |y| counting EOS. Stops when every hypothesis has finished or after max_len steps. With
        beam=1 the ranking reduces to the argmax of each step: the same words as `greedy`.

        src: B, S -> the best hypothesis per sentence as ids B, T (EOS, then PAD), its attention B, T, S (None
        without attention) and its normalised score B."""
        K = beam or self.cfg.beam
        a = self.cfg.length_alpha if length_alpha is None else length_alpha
        max_len = max_len or self.cfg.max_len
        memory, state = self.encode(src)
        B, dev = src.size(0), src.device
        rows0 = torch.arange(B, device=dev).repeat_interleave(K)  # B*K: each sentence K times
        memory, state = memory.select(rows0), select_state(state, rows0)
        # all K beams start as the same empty hypothesis: only beam 0 may extend, or the first step would
        # fill the beam with K copies of the best word
        score = torch.full((B, K), float("-inf"), device=dev)
        score[:, 0] = 0.0
        score = score.view(-1)  # B*K: log p of each hypothesis
        length = torch.zeros(B * K, device=dev)
        done = torch.zeros(B * K, dtype=torch.bool, device=dev)
        words = torch.full((B * K, 0), PAD, dtype=torch.long, device=dev)
        attn = torch.zeros(B * K, 0, src.size(1), device=dev)
        y = torch.full((B * K,), BOS, dtype=torch.long, device=dev)
        for _ in range(max_len):
            f, state, alpha = self.step(self.tgt_embed(y), state, memory)
            logp = self.log_probs(f)  # B*K, V
            logp[done] = float("-inf")
            logp[done, PAD] = 0.0  # a finished hypothesis extends only by PAD, keeping its score
            V = logp.size(1)
            cand = score[:, None] + logp  # B*K, V: log p(y_1..y_t)
            new_len = length + (~done).float()
            # rank by log p / |y|^alpha
            ranked = cand / new_len.clamp(min=1)[:, None] ** a
            best = ranked.view(B, K * V).topk(K, dim=1).indices  # B, K
            rows = (torch.arange(B, device=dev)[:, None] * K + best // V).view(-1)  # B*K: each parent's row
            y = (best % V).view(-1)  # B*K: the word each child adds
            score = cand.view(B, K * V).gather(1, best).view(-1)
            length, done = new_len[rows], done[rows] | (y == EOS)
            words = torch.cat([words[rows], y[:, None]], dim=1)
            state = select_state(state, rows)
            if alpha is not None:
                attn = torch.cat([attn[rows], alpha[rows][:, None]], dim=1)
            if done.all():
                break
        final = (score / length.clamp(min=1) ** a).view(B, K)
        pick = torch.arange(B, device=dev) * K + final.argmax(1)  # B: each sentence's best row
        return words[pick], (attn[pick] if self.attn is not None else None), final.max(1).values


def tiny() -> Seq2SeqConfig:
    return Seq2SeqConfig(src_vocab=14, tgt_vocab=14, embed=8, hidden=16, attn_size=8, dropout=0.0, max_len=10)


def example_batch(cfg: Seq2SeqConfig, n: int = 16):
    """(source, target) for tests: random words 4.. of lengths 2 to 6, the target the source reversed, a
    task an encoder-decoder learns fast and attention learns faster. Sources end in EOS, targets are
    BOS ... EOS, both padded with PAD."""
    S = 6
    lengths = torch.randint(2, S + 1, (n,))
    words = torch.randint(4, min(cfg.src_vocab, cfg.tgt_vocab), (n, S))
    src = torch.full((n, S + 1), PAD)
    tgt = torch.full((n, S + 2), PAD)
    for i, L in enumerate(lengths.tolist()):
        src[i, :L + 1] = torch.cat([words[i, :L], torch.tensor([EOS])])
        tgt[i, :L + 2] = torch.cat([torch.tensor([BOS]), words[i, :L].flip(0), torch.tensor([EOS])])
    return src, tgt
