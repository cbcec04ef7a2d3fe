"""Translation (many to many, unaligned): an English verse -> a Spanish verse. Used by translate-en-es and
translate-en-es-attention (models/seq2seq.py, data/translation.py).

- batches: the epoch's shuffle is regrouped into batches of similar target length (`bucket`), each padded
  only to its own longest sentence: the attention decoder runs one step per target position, so a batch's
  cost follows its longest sentence.
- evaluate: teacher-forced loss per target word on the validation split, and its perplexity exp(loss).
- test report: sacreBLEU corpus BLEU of greedy and of beam-search translations of the test books against
  the Spanish verses as printed (case-insensitive, `intl` tokenisation: `eval.metrics.corpus_bleu`), a few
  example translations, and the attention weights of a few sentences for the heat map.
"""
from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import torch
import torch.nn.functional as F

from ..data import load_pairs
from ..data.translation import EOS, PAD, UNK, encode, tokenize
from ..errors import UserError
from ..eval import metrics
from ..train.device import autocast
from .base import SetTask

POOL = 50
"""Batches per pool in `bucket`: sentences are sorted by length within a pool of this many batches of the
epoch's shuffle, so batches hold similar lengths yet differ from epoch to epoch."""
N_EXAMPLES = 8
"""Test translations written into eval.json."""
N_MAPS = 4
"""Test sentences whose attention weights are drawn."""
SHOWN_MAX_WORDS = 12
"""Examples and heat maps use test sentences of at most this many English words, so they stay readable."""

NO_SPACE_BEFORE = re.compile(r" ([,.;:!?)\]}»])")
NO_SPACE_AFTER = re.compile(r"([¿¡(\[{«]) ")


def detokenize(tokens: list[str]) -> str:
    """['y', 'dijo', 'dios', ':', 'sea', 'la', 'luz', '.'] -> 'Y dijo dios: sea la luz.' (lowercase words,
    as the models write them; the first letter capitalised)."""
    text = NO_SPACE_AFTER.sub(r"\1", NO_SPACE_BEFORE.sub(r"\1", " ".join(tokens)))
    return text[:1].upper() + text[1:]


def ids_to_words(ids, vocab: list[str]) -> list[str]:
    """Decoder output ids -> words, up to the first EOS (PAD after it is dropped too)."""
    out = []
    for i in ids:
        i = int(i)
        if i == EOS:
            break
        if i != PAD:
            out.append(vocab[i])
    return out


def length_with_eos(ids) -> int:
    """Words a decoder wrote, its EOS included (all of them if it never wrote EOS)."""
    hits = (torch.as_tensor(ids) == EOS).nonzero()
    return int(hits[0]) + 1 if len(hits) else len(ids)


def trim(x: torch.Tensor) -> torch.Tensor:
    """Drop the padding columns no row of this batch reaches (the data are padded to the split's longest)."""
    T = int((x != PAD).sum(1).max()) if len(x) else 1
    return x[:, :max(T, 1)]


class Task(SetTask):
    kind = "translation"
    unit = "pair"
    verbs = ("translate",)
    hints = {"predict": 'translate sentences with: nnzoo translate {run} "an English sentence"'}

    def load(self, tcfg):
        # the split is by book with a fixed seed (0), whatever the run's seed
        return load_pairs(tcfg.data, seed=0)

    def adapt(self, mcfg, data):
        """Size the two embedding tables and the output layer to the vocabularies; check the choices the
        model would otherwise reject with a traceback."""
        from ..models.seq2seq import ATTENTIONS, CELLS
        for key, allowed in (("attention", ATTENTIONS), ("cell", CELLS)):
            if getattr(mcfg, key) not in allowed:
                raise UserError(f"{key}={getattr(mcfg, key)!r} is not one of {', '.join(allowed)}; "
                                f"e.g. {key}={allowed[-1]}")
        return dataclasses.replace(mcfg, src_vocab=len(data.src_vocab), tgt_vocab=len(data.tgt_vocab))

    def train_size(self, data) -> int:
        return len(data.train_src)

    def order(self, data, n: int, tcfg, epoch: int, batch: int, salt: int = 0) -> torch.Tensor:
        return self.bucket(data, super().order(data, n, tcfg, epoch, batch, salt), batch,
                           seed=tcfg.seed * 100_003 + epoch + salt * 1_000_003)

    def bucket(self, data, order: torch.Tensor, batch: int, seed: int) -> torch.Tensor:
        """The epoch's shuffle regrouped into batches of similar length: cut it into pools of POOL batches,
        sort each pool by target length, cut the pool into batches and shuffle the whole batches (a generator
        seeded by `seed`, so a resumed run sees the same batches). A partial batch stays last."""
        lengths = (data.train_tgt[order] != PAD).sum(1)
        chunks = []
        for p in range(0, len(order), POOL * batch):
            pool = order[p:p + POOL * batch]
            chunks += list(pool[lengths[p:p + POOL * batch].argsort(stable=True)].split(batch))
        full = [c for c in chunks if len(c) == batch]
        rest = [c for c in chunks if len(c) != batch]
        perm = torch.randperm(len(full), generator=torch.Generator().manual_seed(seed)).tolist()
        return torch.cat([full[i] for i in perm] + rest)

    def make_batch(self, data, idx, device, tcfg):
        src, tgt = trim(data.train_src[idx]), trim(data.train_tgt[idx])
        return src.to(device, non_blocking=True), tgt.to(device, non_blocking=True)

    def _batches(self, src, batch_size):
        """Row indices in batches of similar source length (evaluation order does not matter)."""
        order = (src != PAD).sum(1).argsort(stable=True)
        return order.split(batch_size)

    @torch.no_grad()
    def nll(self, model, src, tgt, device, amp_dtype=None, batch_size=256) -> tuple[float, int]:
        """Summed teacher-forced negative log-likelihood (nats) of the target words, and their count."""
        model.eval()
        total, count = 0.0, 0
        for rows in self._batches(src, batch_size):
            s, t = trim(src[rows]).to(device), trim(tgt[rows]).to(device)
            with autocast(device, amp_dtype):
                logits, _ = model(s, t[:, :-1])
            y = t[:, 1:]
            total += float(F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1),
                                           ignore_index=PAD, reduction="sum"))
            count += int((y != PAD).sum())
        return total, count

    def evaluate(self, model, data, split, device, amp_dtype=None) -> dict:
        total, count = self.nll(model, *data.split(split), device, amp_dtype)
        loss = total / max(1, count)
        return {"loss": loss, "perplexity": math.exp(min(loss, 50.0))}

    @torch.no_grad()
    def translate_ids(self, model, src, device, beam: int = 0, batch_size: int = 64):
        """Decode every row of src (N, S): greedy when beam == 0, else beam search. -> (ids per row,
        attention (T, S_row) per row or None)."""
        model.eval()
        ids, maps = [None] * len(src), [None] * len(src)
        for rows in self._batches(src, batch_size):
            s = trim(src[rows]).to(device)
            out, attn = model.greedy(s) if beam == 0 else model.beam_search(s, beam=beam)[:2]
            for k, r in enumerate(rows.tolist()):
                ids[r] = out[k].cpu()
                if attn is not None:
                    maps[r] = attn[k, :length_with_eos(out[k]), :int((s[k] != PAD).sum())].float().cpu()
        return ids, maps

    def test_report(self, model, data, device) -> tuple[dict, dict]:
        """Figures for eval.json and the attention arrays for the heat map (artifacts.npz)."""
        if (model.cfg.src_vocab, model.cfg.tgt_vocab) != (len(data.src_vocab), len(data.tgt_vocab)):
            raise UserError(f"the run was trained on vocabularies of {model.cfg.src_vocab} English and "
                            f"{model.cfg.tgt_vocab} Spanish ids but data {data.name!r} gives {len(data.src_vocab)} "
                            f"and {len(data.tgt_vocab)}; evaluate with the data it was trained on")
        src, tgt = data.test_src, data.test_tgt
        total, count = self.nll(model, src, tgt, device)
        refs = [es for _, es in data.texts["test"]]
        beam = model.cfg.beam
        greedy_ids, _ = self.translate_ids(model, src, device, beam=0)
        beam_ids, maps = self.translate_ids(model, src, device, beam=beam)
        greedy = [detokenize(ids_to_words(i, data.tgt_vocab)) for i in greedy_ids]
        beamed = [detokenize(ids_to_words(i, data.tgt_vocab)) for i in beam_ids]
        bleu_g, signature = metrics.corpus_bleu(greedy, refs)
        bleu_b, _ = metrics.corpus_bleu(beamed, refs)
        train_sources = {en for en, _ in data.texts["train"]}
        real_src, real_tgt = src[src > EOS], tgt[tgt > EOS]
        loss = total / max(1, count)
        figures = {
            "test_bleu_greedy": round(bleu_g, 2), "test_bleu_beam": round(bleu_b, 2), "beam_size": beam,
            "beam_length_alpha": model.cfg.length_alpha, "bleu_signature": signature,
            # a decoder that ignores its source writes the same verse for every input: this share shows it
            "test_distinct_translations_percent": round(100 * len(set(beamed)) / max(1, len(beamed)), 2),
            "test_loss": round(loss, 4), "test_perplexity": round(math.exp(min(loss, 50.0)), 2),
            "test_pairs": len(refs), "train_pairs": len(data.train_src), "val_pairs": len(data.val_src),
            "test_books": ", ".join(data.books.get("test", [])),
            "test_sources_also_in_train_percent": round(
                100 * sum(en in train_sources for en, _ in data.texts["test"]) / max(1, len(refs)), 2),
            "english_vocabulary": len(data.src_vocab), "spanish_vocabulary": len(data.tgt_vocab),
            "test_unknown_english_word_percent": round(100 * float((real_src == UNK).float().mean()), 2),
            "test_unknown_spanish_word_percent": round(100 * float((real_tgt == UNK).float().mean()), 2),
        }
        shown = [i for i, (en, _) in enumerate(data.texts["test"]) if len(en.split()) <= SHOWN_MAX_WORDS]
        shown = shown[::max(1, len(shown) // N_EXAMPLES)][:N_EXAMPLES]
        figures["examples"] = "\n\n".join(
            f"EN:     {data.texts['test'][i][0]}\nES:     {refs[i]}\ngreedy: {greedy[i]}\nbeam:   {beamed[i]}"
            for i in shown)
        art = {}
        for k, i in enumerate(m for m in shown if maps[m] is not None):
            if k == N_MAPS:
                break
            src_words = [data.src_vocab[int(w)] for w in src[i] if int(w) != PAD]  # ... EOS included
            art[f"attn_{k}"] = maps[i].numpy()
            art[f"attn_src_{k}"] = np.array(src_words)
            art[f"attn_out_{k}"] = np.array([data.tgt_vocab[int(w)] for w in beam_ids[i][:len(maps[i])]])  # EOS too
        return figures, art

    def describe(self, data) -> dict:
        """What config.json records about the data, so `nnzoo translate` needs no data set: both word lists
        and the books of each split."""
        return {"source_words": list(data.src_vocab), "target_words": list(data.tgt_vocab),
                "books": data.books, "languages": ["en", "es"]}

    def translate(self, model, doc: dict, text: str, beam: int | None = None) -> dict:
        """One sentence, by beam search with the run's beam size (`beam` changes it; 1 is greedy decoding).
        A sentence with no word of the training vocabulary gives the encoder nothing to read, so it is
        refused rather than translated."""
        src_words, tgt_words = doc.get("source_words"), doc.get("target_words")
        if not src_words or not tgt_words:
            raise UserError("config.json of this run has no word lists; retrain it with this version of nnzoo")
        beam = model.cfg.beam if beam is None else beam
        if beam < 1:
            raise UserError(f"--beam must be 1 (greedy) or more, got {beam}")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # bytes the shell's locale could not decode arrive as surrogates
            raise UserError(f"the sentence {ascii(text)} is not valid UTF-8 text; type it again in UTF-8 "
                            "(check the terminal's encoding)") from None
        tokens = tokenize(text)
        if not tokens:
            raise UserError("the sentence is empty; give an English sentence in quotes, e.g. "
                            "\"In the beginning God created the heavens and the earth.\"")
        table = {w: i for i, w in enumerate(src_words)}
        unknown = [w for w in tokens if w not in table]
        if len(unknown) == len(tokens):
            raise UserError(f"none of the words of {text!r} is in the model's vocabulary of "
                            f"{len(src_words) - 4:,} English words from the World English Bible; write a "
                            "sentence in its words (e.g. \"God saw the light, and saw that it was good.\")")
        src = encode([tokens], table, bos=False)
        device = torch.device("cpu")
        ids, maps = self.translate_ids(model, src, device, beam=beam if beam > 1 else 0, batch_size=1)  # 0: greedy
        words = ids_to_words(ids[0], tgt_words)
        out = {"source": text, "translation": detokenize(words), "tokens": words,
               "decoding": f"beam {beam}" if beam > 1 else "greedy", "unknown_words": unknown}
        if maps[0] is not None:
            out["attention"] = [[round(float(a), 4) for a in row] for row in maps[0]]
        return out
