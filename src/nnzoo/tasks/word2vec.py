"""Word vectors (task `word2vec`): a corpus read in order, chunk by chunk, by skip-gram or CBOW.

The stream: the corpus as word ids (words seen fewer than min_count times dropped), cut into chunks of about
batch_size words of whole sentences, read in corpus order every epoch as word2vec.c and gensim read it. On a
CPU a chunk goes to the model's fused loop whole (subsampling, windows and noise words are drawn inside it,
seeded by (seed, step)); elsewhere the chunk is turned into examples here, with torch, for the autograd loss.
The test report scores the vectors as gensim's evaluators do: Mikolov's analogy questions (3CosAdd over the
30,000 most frequent words) and Spearman's rho against WordSim-353 and SimLex-999.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..data import DataError
from ..errors import UserError
from ..models.word2vec import FUSED_LOOP
from ..train.device import pick_device
from ..train.stream import Epoch
from .base import Task as BaseTask

TABLE_SIZE = 10_000_000
"""Entries of the noise-word table: word w fills a share count(w)^0.75 / sum of them (word2vec.c's 1e8,
smaller: 40 MB instead of 400, still a place for every word above a 1 in 10 M share)."""
RESTRICT_VOCAB = 30_000
"""Analogy questions are answered among the most frequent words only (gensim's and Mikolov's setting)."""
AUTOGRAD_STEP_WORDS = 2_000
"""Words a step of the autograd path (a GPU, or fused=false) reads at most, whatever batch_size says: its
examples' updates are summed, so a step must be small; measured on the first 2 M words, one epoch: 2,000
words a step learn (loss 2.96 against the fused loop's 2.71), 50,000 (the CPU chunk) learn nothing in 39 steps."""


@dataclasses.dataclass
class Corpus:
    words: list[str]
    """The vocabulary, most frequent first (min_count applied by adapt)."""
    counts: np.ndarray
    tokens: np.ndarray
    starts: np.ndarray
    raw_tokens: int
    """Words of the text before min_count (what words per second count)."""
    name: str
    keep: np.ndarray | None = None
    """(V,) float32: the probability each word survives subsampling."""
    table: np.ndarray | None = None
    """The noise words as a table of ids (noise_table)."""
    fused: bool = True
    """Whether a CPU run trains with the model's fused loop (its config and numba allow it)."""
    chunks: np.ndarray | None = None
    """(steps + 1,) sentence indices: chunk i is sentences chunks[i] .. chunks[i + 1] - 1."""


def subsample_keep(counts: np.ndarray, sample: float) -> np.ndarray:
    """Mikolov's subsampling as word2vec.c computes it: keep w with probability (sqrt(f / t) + 1) t / f,
    f = count(w) / total words; every word kept when t = 0."""
    if sample <= 0:
        return np.ones(len(counts), np.float32)
    f = counts / counts.sum()
    return np.minimum((np.sqrt(f / sample) + 1) * sample / f, 1.0).astype(np.float32)


def noise_table(counts: np.ndarray, size: int = TABLE_SIZE) -> np.ndarray:
    """The noise distribution P(w) = count(w)^0.75 / sum_v count(v)^0.75 as a table of ids: a uniform draw of
    an entry is a draw from P."""
    p = counts.astype(np.float64) ** 0.75
    cdf = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cdf, (np.arange(size) + 0.5) / size), len(counts) - 1).astype(np.int32)


def step_seed(seed: int, step: int) -> int:
    return (seed * 1_000_003 + step * 7_919 + 1) % 2**63


class Task(BaseTask):
    kind = "word vectors"
    unit = "word"
    verbs = ("analogy", "neighbours", "vectors")
    hints = {"predict": "ask it with: nnzoo analogy {run} man woman king  or  nnzoo neighbours {run} paris"}

    def load(self, tcfg):
        from ..data.english_text import word_corpus
        wc = word_corpus(tcfg.data)
        tokens, starts = wc.tokens, wc.starts
        if tcfg.train_subset:
            # the first train_subset words, whole sentences
            cut = int(np.searchsorted(starts, tcfg.train_subset, side="right")) - 1
            cut = max(cut, 1)
            tokens, starts = tokens[:starts[cut]], starts[:cut + 1]
        return Corpus(wc.words, wc.counts, tokens, starts, int(len(tokens)), tcfg.data)

    def adapt(self, mcfg, data):
        """The vocabulary: the words the training text (all of it, or train_subset's share) holds at least
        min_count times, most frequent first (ties alphabetically), renumbered 0 .. V-1; the rest leave the
        stream, and the sentences they leave empty with them."""
        counts = np.bincount(data.tokens, minlength=len(data.words))
        order = np.lexsort((np.arange(len(counts)), -counts))  # by count, then by the corpus order of ids
        V = int((counts >= mcfg.min_count).sum())
        if V < 2:
            raise DataError(f"{data.name}: fewer than 2 words occur min_count={mcfg.min_count} times; lower "
                            f"min_count= or give a larger corpus")
        keep_ids = order[:V]
        new_id = np.full(len(counts), -1, np.int64)
        new_id[keep_ids] = np.arange(V)
        ids = new_id[data.tokens]
        kept = np.concatenate([[0], np.cumsum(ids >= 0)])
        lengths = kept[data.starts[1:]] - kept[data.starts[:-1]]
        data.tokens = ids[ids >= 0].astype(np.int32)
        data.starts = np.concatenate([[0], np.cumsum(lengths[lengths > 0])]).astype(np.int64)
        data.words = [data.words[i] for i in keep_ids]
        data.counts = counts[keep_ids]
        # subsampling and the noise distribution follow the training text's counts
        data.fused = mcfg.fused and FUSED_LOOP
        data.keep = subsample_keep(data.counts, mcfg.sample)
        data.table = noise_table(data.counts)
        return dataclasses.replace(mcfg, vocab_size=V)

    def describe(self, data) -> dict:
        return {"vocab": list(data.words), "corpus": {"name": data.name, "words": data.raw_tokens,
                                                      "kept_words": int(len(data.tokens)),
                                                      "sentences": int(len(data.starts) - 1)}}

    # ----------------------------------------------------------------------------------------- stream
    def epoch(self, data, tcfg, world: int) -> Epoch:
        if world > 1:
            raise UserError("word2vec trains in one process (its CPU loop shares the tables between threads "
                            "instead); run it without torchrun")
        words = tcfg.batch_size
        if not (data.fused and pick_device(tcfg.device).type == "cpu"):
            # the autograd path sums a step's examples: thousands of steps an epoch, not hundreds
            words = min(words, AUTOGRAD_STEP_WORDS)
        bounds = np.searchsorted(data.starts, np.arange(0, max(len(data.tokens), 1), words))
        data.chunks = np.unique(np.concatenate([bounds, [len(data.starts) - 1]]))
        return Epoch(max(1, len(data.chunks) - 1), words)

    def train_batches(self, data, model, tcfg, start, rank, world, device, salt=0):
        steps = self.epoch(data, tcfg, world).steps
        fused = model.fused(device)
        assert fused == (data.fused and device.type == "cpu"), "epoch() and the model disagree on the path"
        step = start
        while True:
            i = step % steps
            a, b = int(data.chunks[i]), int(data.chunks[i + 1])
            st = data.starts[a:b + 1]
            tokens, starts = data.tokens[st[0]:st[-1]], st - st[0]
            seed = step_seed(tcfg.seed + salt, step)
            if fused:
                yield {"tokens": tokens, "starts": starts, "keep": data.keep, "table": data.table, "seed": seed,
                       "threads": torch.get_num_threads()}
            else:
                yield self.examples(data, model.cfg, tokens, starts, seed, device)
            step += 1

    def examples(self, data, mcfg, tokens, starts, seed: int, device):
        """One chunk as a batch of autograd examples (the GPU path): the same subsampling, dynamic windows and
        noise draws as the fused loop, vectorised with torch."""
        g = torch.Generator().manual_seed(seed)
        x = torch.from_numpy(tokens.astype(np.int64))
        sent = torch.repeat_interleave(torch.arange(len(starts) - 1), torch.from_numpy(np.diff(starts)))
        kept = torch.rand(len(x), generator=g) < torch.from_numpy(data.keep)[x]
        x, sent = x[kept], sent[kept]
        n, W, K = len(x), mcfg.window, mcfg.negative
        pos = torch.arange(n)
        b = torch.randint(1, W + 1, (n,), generator=g)
        offsets = torch.cat([torch.arange(-W, 0), torch.arange(1, W + 1)])  # 2W
        j = pos[:, None] + offsets  # n, 2W
        ok = (offsets.abs() <= b[:, None]) & (j >= 0) & (j < n)
        j = j.clamp(0, max(n - 1, 0))
        ok &= sent[j] == sent[:, None]
        table = torch.from_numpy(data.table).long()
        if mcfg.architecture == "cbow":
            ctx = torch.where(ok, x[j], torch.full_like(j, -1))
            rows = ok.any(1)
            ctx, target = ctx[rows], x[rows]
        else:
            centre, slot = ok.nonzero(as_tuple=True)
            ctx, target = x[centre][:, None], x[j[centre, slot]]
        noise = table[torch.randint(0, len(table), (len(target), K), generator=g)]
        noise = torch.where(noise == target[:, None], -1, noise)  # a noise word equal to the target is skipped
        return ctx.to(device), target.to(device), noise.to(device)

    def __init__(self):
        self.epoch_loss = [0.0, 0.0]  # this epoch's (sum of example losses, examples): its mean is logged

    def observe(self, outs):
        for out in outs:
            n = float(out["examples"])
            self.epoch_loss[0] += float(out["loss_per_example"]) * n
            self.epoch_loss[1] += n

    def state_dict(self) -> dict:
        return {"epoch_loss": list(self.epoch_loss)}

    def load_state_dict(self, state: dict) -> None:
        self.epoch_loss = list(state.get("epoch_loss", [0.0, 0.0]))

    def evaluate(self, model, data, split, device, amp_dtype=None) -> dict:
        """At each epoch's end: the epoch's mean training loss per example (every example of the epoch counted
        once: what gensim users asked for) and WordSim-353's rho."""
        out = {}
        if self.epoch_loss[1]:
            out["epoch_train_loss"] = self.epoch_loss[0] / self.epoch_loss[1]
        self.epoch_loss = [0.0, 0.0]
        sets = _eval_sets()
        if sets:
            vec = _vectors(data.words, model.vectors())
            out["wordsim353_spearman"] = vec.evaluate_similarity(sets["wordsim353"])["spearman"]
        return out

    # ------------------------------------------------------------------------------------------ report
    def test_report(self, model, data, device):
        self.adapt(model.cfg, data)  # the run's vocabulary, as training built it from the same text
        V = model.cfg.vocab_size
        if len(data.words) != V:
            raise UserError(f"the run has {V:,} word vectors but data {data.name!r} gives a vocabulary of "
                            f"{len(data.words):,}: the corpus changed since training; evaluate on the text it was "
                            "trained on")
        vec = _vectors(data.words, model.vectors())
        figures = {"vocabulary": V, "corpus_words": data.raw_tokens}
        sets = _eval_sets()
        if not sets:
            figures["eval_sets"] = "missing: nnzoo data install english-text"
            return figures, {}
        an = vec.evaluate_analogies(sets["analogies"], restrict_vocab=RESTRICT_VOCAB)
        figures.update({"analogy_accuracy": round(100 * an["accuracy"], 2),
                        "analogy_questions_answered": an["total"], "analogy_questions": an["questions"],
                        "analogy_coverage": round(an["coverage"], 4)})
        for sec in an["sections"]:
            figures[f"analogy_{sec['section']}_accuracy"] = round(100 * sec["accuracy"], 2) if sec["total"] else None
        for key in ("wordsim353", "simlex999"):
            sim = vec.evaluate_similarity(sets[key])
            figures[f"{key}_spearman"] = round(sim["spearman"], 4)
            figures[f"{key}_pairs"] = sim["pairs"]
        return figures, {}

    # ------------------------------------------------------------------------------------------- verbs
    def analogy(self, model, doc: dict, words: list[str], topn: int = 5) -> dict:
        a, b, c = words
        hits = _vectors(doc["vocab"], model.vectors()).analogy(a, b, c, topn=topn)
        return {"query": f"{a} is to {b} as {c} is to ?", "answers": [{"word": w, "cosine": round(s, 4)}
                                                                      for w, s in hits]}

    def neighbours(self, model, doc: dict, word: str, topn: int = 10) -> dict:
        hits = _vectors(doc["vocab"], model.vectors()).neighbours(word, topn=topn)
        return {"word": word, "neighbours": [{"word": w, "cosine": round(s, 4)} for w, s in hits]}

    def vectors(self, model, doc: dict, path, binary: bool) -> dict:
        vec = _vectors(doc["vocab"], model.vectors())
        vec.save(path, binary=binary)
        return {"file": str(path), "words": len(vec.words), "dim": vec.dim,
                "format": "word2vec binary" if binary else "word2vec text"}


def _vectors(words, weight):
    from ..eval.embeddings import Vectors
    return Vectors(list(words), weight.float().cpu().numpy())


def _eval_sets():
    """The analogy and similarity sets as parsed lists, or {} where english-text (their source) is missing."""
    from ..data import english_text as et
    try:
        paths = et.eval_sets()
    except DataError:
        return {}
    return {"analogies": et.read_analogies(paths["analogies"]),
            "wordsim353": et.read_similarities(paths["wordsim353"]),
            "simlex999": et.read_similarities(paths["simlex999"])}
