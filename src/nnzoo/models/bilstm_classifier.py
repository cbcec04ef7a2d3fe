"""Sentence classifier (many to one): embed each word, read the sentence both ways with a bidirectional LSTM,
pool the states over the sentence's real words into one vector, and classify that vector.

Sentences of a batch have different lengths and are right-padded with id 0. Padding never changes a
sentence's result: the LSTM reads a PackedSequence (each sentence stops at its own last word, and the
backward direction starts there, not at the batch's longest end), and the pooling skips padded steps.
The cells are nnzoo's own (`nn.recurrent`), on the fused kernel unless `fast=False`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..nn.recurrent import Recurrent

PAD = 0
"""The padding id (data.sentiment writes 0 past each sentence's end; 1 is an unknown word)."""


@dataclass
class BiLSTMClassifierConfig:
    vocab_size: int = 10000
    """Words in the vocabulary, padding and UNK included (set from the training split)."""
    n_classes: int = 2
    """Output classes (set from the data)."""
    embed: int = 128
    """Width of each word's embedding (learnt from scratch: no pretrained vectors)."""
    hidden: int = 128
    """LSTM units per direction; the sentence vector has 2 * hidden per pooling."""
    layers: int = 1
    """Stacked bidirectional layers."""
    pool: str = "max"
    """How the per-word states become one sentence vector: max, mean, last (both directions' final states),
    or several joined by + (max+mean), concatenated."""
    dropout: float = 0.5
    """Dropout on the sentence vector before the classifier (and between stacked layers)."""
    embed_dropout: float = 0.25
    """Dropout on the word embeddings: without it the model memorises the 8,000 training sentences in a
    few epochs."""
    lexicon: bool = False
    """Give the BiLSTM, beside each word's learnt embedding, the word's valence from VADER's lexicon (7,500
    words and emoticons each rated -4 to +4 by ten people, Hutto & Gilbert 2014; shipped in the same sdist
    as the sentences), scaled to -1..1 and 0 for words it does not list. A word seen a few times in
    training then still arrives with a sign a person gave it. The valences are a fixed input, never trained,
    and are saved with the model."""
    pretrain_epochs: int = 0
    """Before the labels are used, train the embedding and the BiLSTM for this many epochs as two language
    models over the training sentences (Dai & Le 2015's LM-LSTM, one per direction as in ELMo): the forward
    state at word t predicts word t+1, the backward state at word t predicts word t-1. The words then start
    with vectors that place "gripping" near "riveting" before any label says either is good. 0: off."""
    pretrain_words: int = 2000
    """Pretraining predicts one of this many most frequent training words, or "a rarer word": the
    read-out over the whole vocabulary would cost seven times more for the few words it adds."""
    fast: bool = True
    """Use PyTorch's fused kernel on nnzoo's cell parameters (same numbers, faster); False runs the equations
    step by step."""


def pool_max(out, mask, h_n):
    # v = max_t h_t over real words only: padded steps get -inf first
    return out.masked_fill(~mask[..., None], float("-inf")).amax(1)  # B, 2H


def pool_mean(out, mask, h_n):
    # v = 1/n sum_{t<n} h_t (padded steps of `out` are zeros)
    return out.sum(1) / mask.sum(1, keepdim=True).to(out.dtype)  # B, 2H


def pool_last(out, mask, h_n):
    # v = [h_fwd at the last word ; h_bwd at the first word]: the last layer's two final states
    return torch.cat([h_n[-2], h_n[-1]], dim=-1)  # B, 2H


POOLS = {"max": pool_max, "mean": pool_mean, "last": pool_last}


class BiLSTMClassifier(nn.Module):
    def __init__(self, cfg: BiLSTMClassifierConfig):
        super().__init__()
        self.pools = cfg.pool.split("+")
        bad = [p for p in self.pools if p not in POOLS]
        if bad:
            raise ValueError(f"unknown pool {bad[0]!r}; choose from {', '.join(POOLS)}, joined by + (max+mean)")
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.embed, padding_idx=PAD)
        self.embed_drop = nn.Dropout(cfg.embed_dropout)
        if cfg.lexicon:  # one fixed number per word id, filled by set_valence (the task does, from the data)
            self.register_buffer("valence", torch.zeros(cfg.vocab_size))
        self.rnn = Recurrent("lstm", cfg.embed + int(cfg.lexicon), cfg.hidden, cfg.layers, bidirectional=True,
                             batch_first=True, dropout=cfg.dropout if cfg.layers > 1 else 0.0, fast=cfg.fast)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(2 * cfg.hidden * len(self.pools), cfg.n_classes)

    def read(self, x: torch.Tensor):
        """x: B, T word ids (PAD after each sentence) -> per-word states B, T, 2H (zeros past each end), the
        mask of real words B, T, and each sentence's final states h_n (L*2, B, H)."""
        B, T = x.shape  # batch, longest sentence
        mask = x != PAD  # B, T: real words
        # an empty sentence reads one padding step (packing refuses length 0)
        lengths = mask.sum(1).clamp(min=1).cpu()
        e = self.embed_drop(self.embed(x))  # B, T, E
        if self.cfg.lexicon:
            # x_t = [e(w_t) ; v(w_t)], v = VADER rating / 4: the rating rides beside the embedding, no dropout
            e = torch.cat([e, self.valence[x].unsqueeze(-1).to(e.dtype)], dim=-1)  # B, T, E+1
        packed = pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
        out, (h_n, _) = self.rnn(packed)  # h_n: L*2, B, H, each sentence's own final states
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)  # B, T, 2H, zeros past the end
        return out, mask, h_n

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x: B, T word ids -> sentence vectors B, 2H * pools."""
        out, mask, h_n = self.read(x)
        mask[:, 0] = True  # an empty sentence's one padding step counts in its pooling
        return torch.cat([POOLS[p](out, mask, h_n) for p in self.pools], dim=-1)

    def set_valence(self, vocab: list[str], lexicon: dict[str, float]) -> int:
        """valence[id] = lexicon rating of vocab[id] / 4 (0 where the lexicon has no entry); returns how many
        vocabulary words the lexicon rates."""
        v = torch.tensor([lexicon.get(w, 0.0) / 4 for w in vocab], dtype=torch.float32)
        self.valence.copy_(v.to(self.valence.device))
        return int((v != 0).sum())

    def lm_loss(self, x: torch.Tensor, head: nn.Module, target_of: torch.Tensor) -> torch.Tensor:
        """The two directions as language models with one read-out `head` shared by both; `target_of` maps a
        word id to its class in the head's output (the frequent words, and one class for all rarer ones).
        L = -1/N sum_t [log p(w_{t+1} | h_fwd_t) + log p(w_{t-1} | h_bwd_t)] over real neighbours only."""
        out, mask, _ = self.read(x)  # B, T, 2H
        H = self.cfg.hidden
        pair = mask[:, 1:] & mask[:, :-1]  # B, T-1: word t and word t+1 both real
        # forward: the state at t predicts word t+1; backward: the state at t+1 predicts word t
        states = torch.cat([out[:, :-1, :H][pair], out[:, 1:, H:][pair]])  # 2N, H
        targets = torch.cat([x[:, 1:][pair], x[:, :-1][pair]])  # 2N
        return F.cross_entropy(head(states), target_of[targets])

    def pretrain(self, x: torch.Tensor, epochs: int, batch_size: int, lr: float, progress=None) -> list[float]:
        """Language-model pretraining of embed + rnn on unlabelled sentences x (N, T padded ids); the
        read-out layer is thrown away afterwards. Returns the mean loss (nats per word) of each epoch."""
        counts = torch.bincount(x.flatten(), minlength=self.cfg.vocab_size)
        counts[PAD] = 0
        k = min(self.cfg.pretrain_words, self.cfg.vocab_size)
        target_of = torch.full((self.cfg.vocab_size,), k, dtype=torch.long, device=x.device)
        target_of[counts.argsort(descending=True)[:k]] = torch.arange(k, device=x.device)
        head = nn.Linear(self.cfg.hidden, k + 1).to(x.device)  # k frequent words + "a rarer word"
        params = [*self.embed.parameters(), *self.rnn.parameters(), *head.parameters()]
        opt = torch.optim.Adam(params, lr=lr)
        self.train()
        losses = []
        for epoch in range(epochs):
            total, count = 0.0, 0
            for idx in torch.randperm(len(x)).split(batch_size):
                xb = x[idx]
                xb = xb[:, :int((xb != PAD).sum(1).max().clamp(min=2))]  # trim to the batch's longest sentence
                loss = self.lm_loss(xb, head, target_of)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                total, count = total + loss.item() * len(idx), count + len(idx)
            losses.append(total / count)
            if progress:
                progress(epoch, losses[-1])
        return losses

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: B, T word ids -> logits B, n_classes."""
        return self.head(self.drop(self.encode(x)))

    def loss(self, batch) -> dict:
        x, y = batch  # B, T word ids; B labels
        logits = self(x)
        # L = -1/B sum_b log softmax(z_b)[y_b]
        loss = F.cross_entropy(logits, y)
        return {"loss": loss, "logits": logits}


def tiny() -> BiLSTMClassifierConfig:
    return BiLSTMClassifierConfig(vocab_size=20, embed=8, hidden=8, pool="max+mean", dropout=0.0,
                                  embed_dropout=0.0)


def example_batch(cfg: BiLSTMClassifierConfig, n: int = 16):
    """Sentences of random words and lengths (2 to 8, padded), labelled by whether word 2 occurs in them:
    a rule a sentence classifier can learn wherever the word sits."""
    T = 8
    lengths = torch.randint(2, T + 1, (n,))
    x = torch.randint(2, cfg.vocab_size, (n, T))
    x[torch.arange(T)[None, :] >= lengths[:, None]] = PAD
    y = (x == 2).any(1).long()
    return x, y
