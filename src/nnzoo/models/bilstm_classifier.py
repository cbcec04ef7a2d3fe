"""Sentence classifier (many to one): embed each word, read the sentence both ways with a bidirectional LSTM,
pool the states over the sentence's real words into one vector, and classify that vector. Optionally each
word's embedding is joined by its VADER rating (`lexicon`) and its spelling (`subwords`, character n-grams),
both of which an unknown word has too, the embeddings start from pretrained word2vec vectors (`embeddings`),
and several such classifiers are trained side by side and averaged (`members`).

Sentences of a batch have different lengths and are right-padded with id 0. Padding never changes a
sentence's result: the LSTM reads a PackedSequence (each sentence stops at its own last word, and the
backward direction starts there, not at the batch's longest end), and the pooling skips padded steps.
The cells are nnzoo's own (`nn.recurrent`), on the fused kernel unless `fast=False`.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .. import config as C
from ..nn.recurrent import Recurrent
from .base import Model, Stage

PAD = 0
"""The padding id (data.sentiment writes 0 past each sentence's end; 1 is an unknown word)."""


@dataclass
class BiLSTMClassifierConfig:
    vocab_size: int = C.positive(10000)
    """Words in the vocabulary, padding and UNK included (set from the training split)."""
    n_classes: int = C.positive(2)
    """Output classes (set from the data)."""
    embed: int = C.positive(128)
    """Width of each word's embedding (learnt from scratch unless `embeddings` names pretrained vectors, whose
    width it must then be: 100 for nnzoo's word2vec runs)."""
    embeddings: str = ""
    """Start the word embeddings from pretrained vectors instead of random ones (Kim 2014): a word2vec run
    folder (`nnzoo train english-word2vec-sg --out RUN`) or a word2vec .txt / .bin file (`nnzoo vectors`,
    gensim, word2vec.c). A vocabulary word gets the vector of the one word it is in the file (itself, or its
    word2vec spelling: "Film" -> "film", "2" -> "two"; "film's", two word2vec words, gets none); the others
    keep their random start. The copied vectors are scaled to RMS 1 a coordinate, the random rows' scale (cosines
    unchanged). Every member gets the same table, and the vectors train on with the rest
    ("non-static"). Read once, when a run starts (a resumed run takes its weights from its checkpoint); the
    coverage goes to config.json under "embeddings". "": random vectors."""
    hidden: int = C.positive(128)
    """LSTM units per direction; the sentence vector has 2 * hidden per pooling."""
    layers: int = C.positive(1)
    """Stacked bidirectional layers (at least 1)."""
    pool: str = C.choice("max", lambda: POOLS, joined="+")
    """How the per-word states become one sentence vector: max, mean, last (both directions' final states),
    or several joined by + (max+mean), concatenated."""
    dropout: float = C.fraction(0.5, hi_open=True)
    """Dropout on the sentence vector before the classifier (and between stacked layers), in [0, 1)."""
    embed_dropout: float = C.fraction(0.25, hi_open=True)
    """Dropout on the word embeddings, in [0, 1): without it the model memorises the 8,000 training sentences
    in a few epochs."""
    lexicon: bool = False
    """Give the BiLSTM, beside each word's learnt embedding, the word's valence from VADER's lexicon (7,500
    words and emoticons each rated -4 to +4 by ten people, Hutto & Gilbert 2014; shipped in the same sdist
    as the sentences), scaled to -1..1 and 0 for words it does not list. It is looked up by the token's
    letters, so a word seen a few times in training, or never, still arrives with the sign a person gave it.
    The valences are a fixed input (column 1 of the features), never trained."""
    subwords: int = C.nonneg(0)
    """Add to each word's embedding the mean of its character n-grams' embeddings (fastText, Bojanowski et al.
    2017), hashed into this many buckets; 0: off. An unknown or rare word then has a vector built from its
    spelling ("unimpressive" from "<un", "imp", "ress", "ive>" ...) instead of the one vector of <unk>."""
    pretrain_epochs: int = C.nonneg(0)
    """Before the labels are used, train the embedding and the BiLSTM for this many epochs as two language
    models over the training sentences (Dai & Le 2015's LM-LSTM, one per direction as in ELMo): the forward
    state at word t predicts word t+1, the backward state at word t predicts word t-1. The words then start
    with vectors that place "gripping" near "riveting" before any label says either is good. 0: off."""
    pretrain_words: int = C.positive(2000)
    """Pretraining predicts one of this many most frequent training words, or "a rarer word": the
    read-out over the whole vocabulary would cost seven times more for the few words it adds."""
    members: int = C.positive(1)
    """Train this many classifiers side by side, each from its own random start and with its own dropout,
    on the same batches, and average their predicted probabilities (an ensemble). The members' errors
    differ, so the mean is right more often than a typical member: on these sentences four members reach
    about 1.5 points more than one. Each member costs as much as a single model."""
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


def mean_log_prob(member_logits: list[torch.Tensor]) -> torch.Tensor:
    """An ensemble's prediction from its K members' logits (each B, C): log p with p(y | x) = 1/K sum_k
    softmax(z_k)_y. It serves as logits (softmax of log p gives p back); logsumexp keeps it finite where a
    member's probability underflows."""
    logp = torch.stack([z.float().log_softmax(-1) for z in member_logits])  # K, B, C
    return torch.logsumexp(logp, 0) - math.log(len(member_logits))


class BiLSTMClassifier(Model):
    def __init__(self, cfg: BiLSTMClassifierConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.members > 1:  # an ensemble: only the members have layers
            self.members = nn.ModuleList(BiLSTMClassifier(dataclasses.replace(cfg, members=1))
                                         for _ in range(cfg.members))
            return
        self.members = None
        self.pools = cfg.pool.split("+")
        bad = [p for p in self.pools if p not in POOLS]
        if bad:
            raise ValueError(f"unknown pool {bad[0]!r}; choose from {', '.join(POOLS)}, joined by + (max+mean)")
        self.embed = nn.Embedding(cfg.vocab_size, cfg.embed, padding_idx=PAD)
        self.embed_drop = nn.Dropout(cfg.embed_dropout)
        # bucket 0 is "no n-gram" and left out of each word's mean
        self.grams = nn.EmbeddingBag(cfg.subwords + 1, cfg.embed, mode="mean", padding_idx=0) if cfg.subwords else None
        self.rnn = Recurrent("lstm", cfg.embed + int(cfg.lexicon), cfg.hidden, cfg.layers, bidirectional=True,
                             batch_first=True, dropout=cfg.dropout if cfg.layers > 1 else 0.0, fast=cfg.fast)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(2 * cfg.hidden * len(self.pools), cfg.n_classes)
        self.lm_head = None
        if cfg.pretrain_epochs:  # the pretraining language models' read-out, shared by both directions
            k = min(cfg.pretrain_words, cfg.vocab_size)
            self.lm_head = nn.Linear(cfg.hidden, k + 1)  # k frequent words + "a rarer word"
            # word id -> its class in lm_head's output; set from the training split's counts (set_lm_targets)
            self.register_buffer("lm_target_of", torch.full((cfg.vocab_size,), k, dtype=torch.long))

    @torch.no_grad()
    def init_embeddings(self, table: torch.Tensor, rows: torch.Tensor) -> None:
        """Set the word embeddings of vocabulary ids `rows` (N,) to `table` (N, embed), every member's alike;
        the other rows keep their values. Called once at the start of a fresh run (the task's `initialise`)."""
        if self.members is not None:
            for m in self.members:
                m.init_embeddings(table, rows)
            return
        w = self.embed.weight
        if table.shape != (len(rows), w.shape[1]):
            raise ValueError(f"{tuple(table.shape)} vectors for {len(rows)} rows of a {w.shape[1]}-wide embedding")
        if len(rows) and (int(rows.min()) <= PAD or int(rows.max()) >= len(w)):
            raise ValueError(f"embedding rows must lie in 1 .. {len(w) - 1} (row {PAD} is padding)")
        w[rows.to(w.device)] = table.to(w.device, w.dtype)

    def read(self, x: torch.Tensor):
        """x: B, T word ids, or B, T, 2 + K features (data.sentiment.Featurizer: word id, VADER rating in
        tenths, n-gram hash codes), PAD after each sentence -> per-word states B, T, 2H (zeros past each
        end), the mask of real words B, T, and each sentence's final states h_n (L*2, B, H)."""
        if x.dim() == 2:
            x = x.unsqueeze(-1)  # word ids alone: no rating, no n-grams
        words = x[..., 0]
        B, T = words.shape  # batch, longest sentence
        mask = words != PAD  # B, T: real words
        # an empty sentence reads one padding step (packing refuses length 0)
        lengths = mask.sum(1).clamp(min=1).cpu()
        e = self.embed(words)  # B, T, E
        if self.grams is not None and x.shape[-1] > 2:
            codes = x[..., 2:].reshape(B * T, -1)  # B*T, K: 1 + CRC-32 of each n-gram, 0 for none
            buckets = torch.where(codes > 0, (codes - 1) % self.cfg.subwords + 1, 0)
            # e(w) = e_word(w) + 1/|G(w)| sum_{g in G(w)} z_g: fastText's word vector, mean instead of sum
            e = e + self.grams(buckets).view(B, T, -1)
        e = self.embed_drop(e)
        if self.cfg.lexicon:
            # x_t = [e(w_t) ; v(w_t)], v = VADER rating / 4: the rating rides beside the embedding, no dropout
            v = x[..., 1] / 40.0 if x.shape[-1] > 1 else torch.zeros_like(words, dtype=e.dtype)  # tenths -> /4
            e = torch.cat([e, v.unsqueeze(-1).to(e.dtype)], dim=-1)  # B, T, E+1
        packed = pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
        out, (h_n, _) = self.rnn(packed)  # h_n: L*2, B, H, each sentence's own final states
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)  # B, T, 2H, zeros past the end
        return out, mask, h_n

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x: B, T word ids -> sentence vectors B, 2H * pools."""
        out, mask, h_n = self.read(x)
        mask[:, 0] = True  # an empty sentence's one padding step counts in its pooling
        return torch.cat([POOLS[p](out, mask, h_n) for p in self.pools], dim=-1)

    def lm_loss(self, x: torch.Tensor, head: nn.Module, target_of: torch.Tensor) -> torch.Tensor:
        """The two directions as language models with one read-out `head` shared by both; `target_of` maps a
        word id to its class in the head's output (the frequent words, and one class for all rarer ones).
        L = -1/N sum_t [log p(w_{t+1} | h_fwd_t) + log p(w_{t-1} | h_bwd_t)] over real neighbours only."""
        out, mask, _ = self.read(x)  # B, T, 2H
        x = x[..., 0] if x.dim() == 3 else x  # word ids
        H = self.cfg.hidden
        pair = mask[:, 1:] & mask[:, :-1]  # B, T-1: word t and word t+1 both real
        # forward: the state at t predicts word t+1; backward: the state at t+1 predicts word t
        states = torch.cat([out[:, :-1, :H][pair], out[:, 1:, H:][pair]])  # 2N, H
        targets = torch.cat([x[:, 1:][pair], x[:, :-1][pair]])  # 2N
        return F.cross_entropy(head(states), target_of[targets])

    def set_lm_targets(self, counts: torch.Tensor) -> None:
        """The pretraining language model's classes from the training split's word counts (V): the
        pretrain_words most frequent words, one class each, and one class for all rarer ones."""
        if self.members is not None:
            for m in self.members:
                m.set_lm_targets(counts)
            return
        k = self.lm_head.out_features - 1
        counts = counts.clone()
        counts[PAD] = 0
        target_of = torch.full_like(self.lm_target_of, k)
        target_of[counts.argsort(descending=True)[:k].to(target_of.device)] = torch.arange(k, device=target_of.device)
        self.lm_target_of.copy_(target_of)

    def lm_stage_loss(self, batch, phase=None) -> dict:
        """Pretraining's loss on a batch of sentences (labels unused): each member's two language models."""
        x = batch[0]
        words = x[..., 0] if x.dim() == 3 else x
        x = x[:, :max(2, int(words.ne(PAD).sum(1).max()))]  # the padding no sentence reaches, dropped
        members = self.members if self.members is not None else [self]
        # the members' losses summed, not averaged: each member's gradient is what it would be alone
        return {"loss": sum(m.lm_loss(x, m.lm_head, m.lm_target_of) for m in members)}

    def stages(self) -> list[Stage]:
        """Language-model pretraining of the embedding and the BiLSTM (and the n-gram table) on the training
        sentences, labels unused, before the classifier trains; the LM read-out is unused afterwards. Adam at
        the run's lr, constant, gradients clipped to norm 1."""
        if not self.cfg.pretrain_epochs:
            return []
        members = self.members if self.members is not None else [self]
        params = [p for m in members for part in (m.embed, m.grams, m.rnn, m.lm_head) if part is not None
                  for p in part.parameters()]
        own = {"optimizer": "adam", "betas": [0.9, 0.999], "weight_decay": 0.0, "schedule": "constant",
               "warmup": 0.0, "grad_clip": 1.0, "time_limit": 0.0}
        return [Stage("pretrain-lm", self.cfg.pretrain_epochs, {"language-model": params}, self.lm_stage_loss,
                      own, salt=1)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: B, T word ids or B, T, C features -> logits B, n_classes (an ensemble: log mean probability)."""
        if self.members is not None:
            return mean_log_prob([m(x) for m in self.members])
        return self.head(self.drop(self.encode(x)))

    def loss(self, batch) -> dict:
        x, y = batch  # B, T word ids or B, T, C features; B labels
        if self.members is not None:
            # each member learns alone: L = 1/K sum_k CE(z_k, y), not the loss of the averaged prediction,
            # which would let the members specialise instead of each being a whole classifier
            member_logits = [m(x) for m in self.members]
            loss = sum(F.cross_entropy(z, y) for z in member_logits) / len(member_logits)
            return {"loss": loss, "logits": mean_log_prob([z.detach() for z in member_logits])}
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
