"""word2vec (Mikolov et al. 2013): skip-gram and CBOW with negative sampling, from their equations.

Every word w has two vectors: v_w (`input`, the word vector users keep) and v'_w (`output`, the vector w has
as a word to predict). A training example is a centre word c at one position of a sentence with its context:
the words up to b positions either side, b drawn uniformly from 1 .. window for every centre ("dynamic
window": nearer words count more often). With negative sampling the model never computes a softmax over the
vocabulary; it tells the true word o from k noise words n_1 .. n_k drawn from the unigram distribution raised
to the power 3/4:

    skip-gram  h = v_c, one example per (c, o) pair, o a context word;  CBOW  h = mean of v_o over the
    context, one example per centre, o = c
    loss = -log s(v'_o . h) - sum_k log s(-v'_{n_k} . h)          s = the logistic sigmoid

The gradients are short enough to write out (g = the derivative of -loss with respect to the dot product):

    g_o = 1 - s(v'_o . h)        g_k = -s(v'_{n_k} . h)
    v'_o += lr g_o h             v'_{n_k} += lr g_k h             h's words: v += lr (g_o v'_o + sum_k g_k v'_{n_k})

and that is how `fused_step` trains on a CPU: a compiled loop (numba) over the words, the updates applied in
place one example at a time (plain SGD, as word2vec.c does; two threads share the tables without locks,
"Hogwild", as word2vec.c and gensim do). No per-word Python, no autograd, no gathered copies of the tables.
Frequent words are dropped at random before the windows are cut (Mikolov's subsampling: keep a word of
corpus frequency f with probability (sqrt(f / t) + 1) t / f), and the learning rate falls linearly to
1/10,000 of its start over the run, as word2vec.c and gensim do.

One change from word2vec.c, for speed, measured to cost nothing (BENCHMARKS.md): skip-gram draws the k noise
words once per centre word and shares them among that centre's context pairs (`shared_negatives`). Each
pair's loss is still exactly the one above, every noise word still from the same distribution; only the
draws of one centre's pairs are no longer independent. word2vec.c draws k per pair; the shared draw keeps the
k noise vectors in the cache for all of a centre's pairs: 3.4 times the words per second on 2 cores.

`loss(batch)` is the same objective written with autograd over a batch of examples: the reference the fused
loop is tested against, and the training path on a GPU (batches of examples; any optimizer).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from .base import Model

ARCHITECTURES = ("skip-gram", "cbow")


@dataclass
class Word2VecConfig:
    architecture: str = C.choice("skip-gram", ARCHITECTURES)
    """skip-gram (predict each context word from the centre word) or cbow (the centre word from the mean of
    its context's vectors)."""
    dim: int = C.positive(100)
    """Length of every word vector."""
    window: int = C.positive(5)
    """The most context words taken on each side of the centre; each centre draws its own b in 1 .. window."""
    negative: int = C.positive(5)
    """k: noise words per example, drawn from the unigram distribution to the power 3/4."""
    shared_negatives: bool = True
    """skip-gram: draw the k noise words once per centre word, shared by its context pairs (fast; the same
    loss and distribution); false draws k per pair as word2vec.c does. cbow has one example per centre."""
    sample: float = C.between(1e-3, 0.0, 1.0)
    """t of the subsampling of frequent words: a word of corpus frequency f is kept with probability
    (sqrt(f / t) + 1) t / f (0 keeps every word)."""
    min_count: int = C.positive(5)
    """Words seen fewer times in the corpus are dropped before training (and have no vector)."""
    output_init: float = C.nonneg(0.0)
    """v'_w starts uniform in [-output_init / D, output_init / D); 0, word2vec.c's start, is all zeros (then
    the first examples move only v', and v follows once v' is not 0)."""
    fused: bool = True
    """On a CPU, train with the compiled loop (fused_step); false: the autograd loss over batches of examples,
    as on a GPU (slower on a CPU; the reference the loop is tested against; a step then reads at most 2,000
    words, tasks/word2vec.py AUTOGRAD_STEP_WORDS)."""
    vocab_size: int = C.nonneg(0)
    """Words in the vocabulary (set from the corpus)."""


ROW_SUM = 16
"""The autograd path: a row's gradient is the sum of its first ROW_SUM uses in a batch, then their mean times
ROW_SUM (a bounded step, however often a frequent word recurs)."""


class _RowMean(torch.autograd.Function):
    """Identity forward; backward divides each looked-up row's gradient by how many times the batch looks that
    row up. Sequential SGD lets a frequent word's many steps correct one another; summed in one batch of
    thousands of examples they would overshoot and diverge (measured: inf within 20 steps at lr 0.025)."""

    @staticmethod
    def forward(ctx, rows, ids, used):
        n = torch.zeros(int(ids.max()) + 1 if ids.numel() else 1, device=ids.device)
        n.index_add_(0, ids.reshape(-1), used.reshape(-1).to(n.dtype))
        # up to ROW_SUM uses a row's steps add up as in sequential SGD; beyond it they are averaged
        ctx.save_for_backward((n[ids] / ROW_SUM).clamp(min=1))
        return rows.view_as(rows)

    @staticmethod
    def backward(ctx, grad):
        (n,) = ctx.saved_tensors
        return grad / n.unsqueeze(-1).to(grad.dtype), None, None


def per_row_mean(rows, ids, used):
    """rows (..., D) = table[ids]; `used` (like ids) says which lookups count (padding does not)."""
    return _RowMean.apply(rows, ids, used)


class Word2Vec(Model):
    def __init__(self, cfg: Word2VecConfig):
        super().__init__()
        self.cfg = cfg
        V, D = max(1, cfg.vocab_size), cfg.dim
        self.input = nn.Embedding(V, D)  # v_w, the word vectors
        self.output = nn.Embedding(V, D)  # v'_w, the vectors of words as targets
        with torch.no_grad():
            # word2vec.c's start: v_w uniform in [-0.5 / D, 0.5 / D), v'_w = 0 (every dot product starts at 0)
            self.input.weight.uniform_(-0.5 / D, 0.5 / D)
            self.output.weight.uniform_(-cfg.output_init / D, cfg.output_init / D)

    # ---------------------------------------------------------------- the objective, with autograd
    def loss(self, batch) -> dict:
        """batch = (context (B, W) word ids, target (B,), noise (B, k)), one example a row, -1 for no word
        (a short window; a noise draw equal to the target, which word2vec skips). skip-gram: the context
        column holds the centre c (h = v_c) and the target is a context word o; cbow: the context holds
        the window's words (h = their mean) and the target is the centre."""
        ctx, target, noise = batch
        mask = (ctx >= 0).to(self.input.weight.dtype)  # B, W
        ids_in, ids_out = ctx.clamp(min=0), torch.cat([target[:, None], noise.clamp(min=0)], 1)  # B, W / B, 1+k
        v = per_row_mean(self.input(ids_in), ids_in, mask) * mask.unsqueeze(-1)  # B, W, D
        h = v.sum(1) / mask.sum(1, keepdim=True).clamp(min=1)  # B, D
        u = per_row_mean(self.output(ids_out), ids_out, torch.cat([torch.ones_like(target[:, None]),
                                                                   (noise >= 0).long()], 1))  # B, 1+k, D
        pos = (u[:, 0] * h).sum(-1)  # B
        neg = torch.einsum("bkd,bd->bk", u[:, 1:], h)  # B, k
        # -log s(v'_o . h) - sum_k log s(-v'_{n_k} . h)
        per = -F.logsigmoid(pos) - (F.logsigmoid(-neg) * (noise >= 0)).sum(-1)  # B
        # SGD on the sum, each row's gradient divided by how often the batch uses it (per_row_mean): a word
        # seen once takes word2vec's own step lr * g, a frequent one the mean of its examples' steps
        return {"loss": per.sum(), "loss_per_example": per.mean().detach(),
                "examples": torch.tensor(float(len(per)))}

    # ----------------------------------------------------------- the fused loop (CPU, in place)
    def fused(self, device) -> bool:
        return self.cfg.fused and device.type == "cpu" and FUSED_LOOP

    @torch.no_grad()
    def fused_step(self, batch, lr: float) -> dict:
        """Train on one chunk of the corpus in place. batch: dict with tokens (int32, word ids of whole
        sentences), starts (int64, sentence offsets into tokens, one more than the sentences), keep (float32
        (V,), subsampling probabilities), table (int32, the noise words: unigram^0.75 as a table of ids),
        seed, threads, lr_end (the rate at the chunk's end; the rate falls linearly across it)."""
        W0, W1 = self.input.weight, self.output.weight
        assert W0.dtype == torch.float32 and W0.is_contiguous() and W1.is_contiguous()
        loss, examples, words = train_chunk(
            W0.numpy(), W1.numpy(), batch["tokens"], batch["starts"], batch["keep"], batch["table"],
            self.cfg.architecture == "skip-gram", self.cfg.window, self.cfg.negative, self.cfg.shared_negatives,
            np.float32(lr), np.float32(batch.get("lr_end", lr)), np.uint64(batch["seed"]), int(batch["threads"]))
        mean = torch.tensor(loss / max(examples, 1.0))
        return {"loss": mean, "loss_per_example": mean, "examples": torch.tensor(examples),
                "words": torch.tensor(words)}

    def vectors(self) -> torch.Tensor:
        """(V, D) the word vectors v_w, in vocabulary order (most frequent word first)."""
        return self.input.weight.detach()


def tiny() -> Word2VecConfig:
    # output_init: so one step moves v as well as v' (from word2vec.c's zeros only v' moves at first)
    return Word2VecConfig(architecture="cbow", dim=8, window=2, negative=2, vocab_size=20, output_init=0.5)


def example_batch(cfg: Word2VecConfig, n: int = 16):
    """Random examples for the autograd loss: contexts with padding, targets, noise words with a skipped one."""
    V = max(1, cfg.vocab_size)
    ctx = torch.randint(0, V, (n, 2 * cfg.window))
    ctx[:, -1] = -1
    noise = torch.randint(0, V, (n, cfg.negative))
    noise[0, 0] = -1
    return ctx, torch.randint(0, V, (n,)), noise


# ------------------------------------------------------------------------------------------ the kernel
try:
    import numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - numba is a dependency; without it only the autograd path trains
    numba = None

    def njit(*args, **kwargs):
        return (lambda f: f) if not args or not callable(args[0]) else args[0]

    prange = range

FUSED_LOOP = numba is not None
"""Whether the compiled loop is available (numba installed)."""


@njit(inline="always")
def _next(state):
    # word2vec.c's linear congruential generator, on 64 bits
    return state * np.uint64(25214903917) + np.uint64(11)


@njit(fastmath=True, inline="always")
def _learn(h, row, label, alpha, grad_h):
    """One target word: its vector `row` moves towards (label 1) or away from (label 0) h; the step h itself
    should take is added to grad_h. Returns 1 + exp(-f) and the extra term of the loss (f for noise words):
    -log s(f) = log(1 + exp(-f)),  -log s(-f) = f + log(1 + exp(-f)); the caller takes one log per example."""
    f = np.float32(0.0)
    for d in range(h.shape[0]):
        f += h[d] * row[d]
    f = min(max(f, np.float32(-30.0)), np.float32(30.0))  # exp stays finite; s is 0 or 1 there anyway
    e = np.exp(-f)
    # g = label - s(f), times the learning rate
    g = np.float32((label - 1.0 / (1.0 + e)) * alpha)
    for d in range(h.shape[0]):
        grad_h[d] += g * row[d]
        row[d] += g * h[d]
    return 1.0 + e, (0.0 if label > 0.5 else f)


@njit(parallel=True, fastmath=True, nogil=True, cache=True)
def train_chunk(syn0, syn1, tokens, starts, keep, table, skipgram, window, negative, shared, lr0, lr1, seed,
                threads):
    """SGD on the sentences starts[s] .. starts[s + 1] of tokens, in place on syn0 = v (V, D) and syn1 = v'
    (V, D). Thread t takes the t-th slice of the sentences. Returns (sum of losses, examples, words kept)."""
    D = syn0.shape[1]
    n_sent = starts.shape[0] - 1
    longest = 1
    for s in range(n_sent):
        longest = max(longest, starts[s + 1] - starts[s])
    loss = np.zeros(threads)
    examples = np.zeros(threads)
    kept = np.zeros(threads)
    total = max(tokens.shape[0], 1)
    n_table = np.uint64(table.shape[0])
    for t in prange(threads):
        state = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(t + 1) * np.uint64(1000003)
        h = np.zeros(D, np.float32)  # cbow: the mean context vector
        grad_h = np.zeros(D, np.float32)
        sentence = np.empty(longest, np.int32)
        noise = np.empty(negative, np.int64)
        lsum = 0.0
        esum = 0.0
        wsum = 0.0
        for s in range(n_sent * t // threads, n_sent * (t + 1) // threads):
            # subsampling: keep word w with probability keep[w], before the windows are cut
            n = 0
            for p in range(starts[s], starts[s + 1]):
                w = tokens[p]
                state = _next(state)
                if keep[w] >= ((state >> np.uint64(16)) & np.uint64(0xFFFF)) * (1.0 / 65536.0):
                    sentence[n] = w
                    n += 1
            wsum += n
            # the rate falls linearly through the chunk, as it does through the run
            alpha = lr0 + (lr1 - lr0) * (starts[s] / total)
            for i in range(n):
                c = sentence[i]
                state = _next(state)
                b = window - np.int64(state % np.uint64(window))  # the dynamic window, 1 .. window
                lo = max(0, i - b)
                hi = min(n - 1, i + b)
                if skipgram:
                    if shared:
                        for k in range(negative):
                            state = _next(state)
                            noise[k] = table[np.int64((state >> np.uint64(16)) % n_table)]
                    for j in range(lo, hi + 1):
                        if j == i:
                            continue
                        # word2vec.c's order of the pair: the context word's v against the centre's v'
                        v = syn0[sentence[j]]
                        grad_h[:] = 0.0
                        prod, extra = _learn(v, syn1[c], 1.0, alpha, grad_h)
                        for k in range(negative):
                            if shared:
                                nk = noise[k]
                            else:
                                state = _next(state)
                                nk = table[np.int64((state >> np.uint64(16)) % n_table)]
                            if nk == c:
                                continue
                            a, x = _learn(v, syn1[nk], 0.0, alpha, grad_h)
                            prod *= a
                            extra += x
                        lsum += np.log(prod) + extra
                        esum += 1.0
                        for d in range(D):
                            v[d] += grad_h[d]
                else:
                    if hi == lo:
                        continue  # a one-word sentence has no context
                    h[:] = 0.0
                    grad_h[:] = 0.0
                    for j in range(lo, hi + 1):
                        if j != i:
                            v = syn0[sentence[j]]
                            for d in range(D):
                                h[d] += v[d]
                    inv = np.float32(1.0 / (hi - lo))
                    for d in range(D):
                        h[d] *= inv
                    prod, extra = _learn(h, syn1[c], 1.0, alpha, grad_h)
                    for k in range(negative):
                        state = _next(state)
                        nk = table[np.int64((state >> np.uint64(16)) % n_table)]
                        if nk == c:
                            continue
                        a, x = _learn(h, syn1[nk], 0.0, alpha, grad_h)
                        prod *= a
                        extra += x
                    lsum += np.log(prod) + extra
                    esum += 1.0
                    # word2vec.c (and gensim, cbow_mean=1) give every context word the whole step of h
                    for j in range(lo, hi + 1):
                        if j != i:
                            v = syn0[sentence[j]]
                            for d in range(D):
                                v[d] += grad_h[d]
        loss[t] = lsum
        examples[t] = esum
        kept[t] = wsum
    return loss.sum(), examples.sum(), kept.sum()
