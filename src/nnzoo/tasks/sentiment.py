"""Sentence classification (many to one): padded word-id sentences -> class logits. Used by sentiment-bilstm.

The test report also fits the classic baseline on the same split in the same run, TF-IDF features and
logistic regression (scikit-learn, default settings), so the recurrent model's figure always stands next to
what a bag of words reaches on exactly the same sentences.

With `embeddings=RUN` a fresh run starts its word embeddings from a word2vec run's vectors (or a word2vec
file's): `initialise` matches the training vocabulary to the vectors' words, copies the matched ones and
records the coverage in config.json ("pretrained_embeddings"). A resumed run never reads them again: its
checkpoint holds the embeddings as they were trained.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import config as C
from ..data import load_sentences
from ..data.sentiment import PAD, UNK, Featurizer
from ..errors import UserError
from ..eval import metrics
from ..train import checkpoint
from ..train.device import autocast
from .base import SetTask

N_SHOWN = 8
"""Test sentences per group in the report's picture (most positive, most negative, most confidently wrong)."""


def trim(x: torch.Tensor) -> torch.Tensor:
    """Drop the padding steps no sentence of this batch reaches (x: B, T ids or B, T, C features, padded to
    the split's longest)."""
    words = x[..., 0] if x.dim() == 3 else x
    T = int((words != PAD).sum(1).max()) if len(x) else 1
    return x[:, :max(T, 1)]


def tfidf_logreg_accuracy(train_texts, train_y, test_texts, test_y) -> float:
    """The bag-of-words baseline: TF-IDF of lowercased word unigrams, L2-regularised logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    vec = TfidfVectorizer()
    clf = LogisticRegression(max_iter=1000).fit(vec.fit_transform(train_texts), np.asarray(train_y))
    return float(clf.score(vec.transform(test_texts), np.asarray(test_y)))


PRETRAINED_HINT = ("give a word2vec run folder (nnzoo train english-word2vec-sg --out RUN) or a word2vec .txt / "
                   ".bin file (nnzoo vectors RUN FILE)")


def read_pretrained(spec: str) -> tuple[list[str], np.ndarray, str]:
    """(words, vectors (V, D) float32 in the words' order, what they came from) of `embeddings=SPEC`: a word2vec
    run folder or a word2vec text / binary file. Anything else is one line (UserError, or the file reader's
    DataError). Draws no random numbers."""
    path, key = Path(spec), f"embeddings={spec}"
    if path.is_file():
        from ..eval.embeddings import Vectors
        vec = Vectors.load(path)  # a damaged file: one DataError line naming it and what is wrong
        words, matrix, kind = vec.words, vec.matrix, "word2vec file"
    elif path.is_dir():
        words, matrix = _read_word2vec_run(path, key)
        kind = "word2vec run"
    else:
        raise UserError(f"{key}: no such folder or file; {PRETRAINED_HINT}")
    if not np.isfinite(matrix).all():
        raise UserError(f"{key}: the vectors hold NaN or infinite values; retrain the word2vec run or write the "
                        "file again")
    return words, matrix, kind


def _read_word2vec_run(path: Path, key: str) -> tuple[list[str], np.ndarray]:
    """The vocabulary (config.json's "vocab") and word vectors (the latest checkpoint's v_w) of a word2vec run."""
    from ..models.word2vec import Word2Vec, Word2VecConfig
    f = path / "config.json"
    if not f.is_file():
        raise UserError(f"{key} is not a run folder (no config.json); {PRETRAINED_HINT}")
    try:
        doc = json.loads(f.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, OSError, RecursionError) as e:
        raise UserError(f"{key}: {f} is corrupt ({type(e).__name__}); retrain the word2vec run") from None
    if not isinstance(doc, dict) or doc.get("task") != "word2vec":
        recipe = doc.get("recipe") if isinstance(doc, dict) else None
        what = f"a {recipe} run" if isinstance(recipe, str) else "not a run nnzoo wrote"
        raise UserError(f"{key} is {what}, not a word2vec run; {PRETRAINED_HINT}")
    words = doc.get("vocab")
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise UserError(f"{key}: {f} has no word list (\"vocab\"); retrain the word2vec run")
    mcfg = C.from_dict(Word2VecConfig, doc.get("model_config"), str(f))
    if mcfg.vocab_size != len(words):
        raise UserError(f"{key}: {f} lists {len(words):,} words for {mcfg.vocab_size:,} vectors; retrain the "
                        "word2vec run")
    with torch.random.fork_rng(devices=[]):  # the model's own random start is overwritten at once
        model = Word2Vec(mcfg)
    checkpoint.load_into(model, checkpoint.latest(path))  # a missing or damaged checkpoint: one line
    return words, model.vectors().numpy()


def match_vocabulary(vocab: list[str], words: list[str]) -> tuple[list[int], list[int]]:
    """(vocabulary ids, rows of `words`) of each vocabulary word (PAD and UNK left out) that has a pretrained
    vector: the word itself if `words` holds it, else its word2vec spelling when that is exactly one word
    (nnzoo.data.english_text.tokenize: lower-case a-z, digits spelled out; "2" -> "two", but "film's" ->
    "film" "s" and "isn't" -> "isn" "t" get none)."""
    from ..data.english_text import tokenize as word2vec_tokens
    index: dict[str, int] = {}
    for i, w in enumerate(words):
        index.setdefault(w, i)  # the first, most frequent, of a repeated spelling
    ids, rows = [], []
    for i, w in enumerate(vocab):
        if i in (PAD, UNK):
            continue
        row = index.get(w)
        if row is None:
            t = word2vec_tokens(w)
            row = index.get(t[0]) if len(t) == 1 else None
        if row is not None:
            ids.append(i)
            rows.append(row)
    return ids, rows


class Task(SetTask):
    kind = "sentence classification"
    unit = "sent"
    verbs = ("predict",)

    def load(self, tcfg):
        # the split is a fixed shuffle (seed 0), whatever the run's seed
        return load_sentences(tcfg.data, seed=0)

    def adapt(self, mcfg, data):
        """Size the embedding table and the output layer to the data's vocabulary and classes."""
        return dataclasses.replace(mcfg, vocab_size=len(data.vocab), n_classes=len(data.classes))

    def attach(self, model, data, device) -> None:
        """Language-model pretraining reads which words are frequent in the training sentences."""
        if model.cfg.pretrain_epochs:
            model.set_lm_targets(torch.bincount(data.train_x.flatten(), minlength=model.cfg.vocab_size))

    def initialise(self, model, data, device, verbose: bool = True) -> dict:
        """embeddings=RUN (fresh runs only): copy the vectors of the vocabulary words they cover into the
        word embeddings, every member's; the other words keep their random start. Records the coverage:
        vocabulary words covered and the share of the training split's tokens that are covered words."""
        spec = model.cfg.embeddings
        if not spec:
            return {}
        words, matrix, kind = read_pretrained(spec)
        dim, embed = matrix.shape[1], model.cfg.embed
        if dim != embed:
            raise UserError(f"embeddings={spec} has {dim}-d vectors but embed={embed}; set embed={dim}")
        ids, rows = match_vocabulary(data.vocab, words)
        table = torch.from_numpy(matrix[rows])  # N, D
        rms = float(table.pow(2).mean().sqrt()) if len(ids) else 1.0
        # word2vec's vectors are small (RMS ~0.3 a coordinate); the rest of the model (the random rows, the
        # n-gram embeddings added to each word's, the learning rate) is tuned for nn.Embedding's N(0, 1): the
        # copied vectors are scaled to RMS 1, which keeps every cosine between them
        model.init_embeddings(table / max(rms, 1e-8), torch.tensor(ids, dtype=torch.long))
        covered = torch.zeros(len(data.vocab), dtype=torch.bool)
        covered[ids] = True
        tokens = data.train_x[data.train_x != PAD]
        share = float(covered[tokens].float().mean()) if len(tokens) else 0.0
        about = {"source": spec, "kind": kind, "vectors": len(words), "dim": dim, "words_covered": len(ids),
                 "vocabulary_words": len(data.vocab) - 2, "train_tokens_covered_percent": round(100 * share, 2),
                 # per-coordinate RMS of the vectors as read; they are copied divided by it (RMS 1, as the
                 # uncovered rows' N(0, 1) start)
                 "covered_rms": round(rms, 4) if len(ids) else 0.0}
        if verbose:
            print(f"embeddings: {len(ids):,} of the {about['vocabulary_words']:,} words "
                  f"({about['train_tokens_covered_percent']} % of the training tokens) start from {spec} "
                  f"({kind}, {len(words):,} x {dim})", file=sys.stderr)
        return {"pretrained_embeddings": about}

    def train_size(self, data) -> int:
        return len(data.train_x)

    def make_batch(self, data, idx, device, tcfg):
        x, y = data.features("train", idx), data.train_y[idx]
        return x.to(device, non_blocking=True), y.to(device, non_blocking=True)

    @torch.no_grad()
    def predict_logits(self, model, x, device, amp_dtype=None, batch_size=512) -> torch.Tensor:
        model.eval()
        outs = []
        for i in range(0, len(x), batch_size):
            with autocast(device, amp_dtype):
                outs.append(model(trim(x[i:i + batch_size]).to(device)).float().cpu())
        return torch.cat(outs) if outs else torch.zeros(0, 2)

    def evaluate(self, model, data, split, device, amp_dtype=None) -> dict:
        x, y = data.features(split), data.split(split)[1]
        logits = self.predict_logits(model, x, device, amp_dtype)
        return {"loss": float(F.cross_entropy(logits, y)), "accuracy": metrics.accuracy(logits, y)}

    def test_report(self, model, data, device) -> tuple[dict, dict]:
        """Figures for eval.json (with the TF-IDF baseline on the same split) and arrays for the pictures."""
        x, y = data.test_x, data.test_y
        logits = self.predict_logits(model, data.features("test"), device)
        pred, prob = logits.argmax(1), logits.softmax(1)
        acc = metrics.accuracy(logits, y)
        base = tfidf_logreg_accuracy(data.texts["train"], data.train_y, data.texts["test"], y)
        n_words = max(1, int((x != PAD).sum()))
        figures = {"test_accuracy": acc, "test_accuracy_percent": round(100 * acc, 2),
                   "test_error_percent": round(100 * (1 - acc), 2),
                   "test_loss": float(F.cross_entropy(logits, y)), "test_examples": len(y),
                   "tfidf_logreg_test_accuracy_percent": round(100 * base, 2),
                   "vocabulary_words": len(data.vocab) - 2, "train_sentences": len(data.train_x),
                   "test_unknown_word_percent": round(100 * int((x == UNK).sum()) / n_words, 2),
                   "test_sentences_all_words_unknown": int(((x > UNK).sum(1) == 0).sum())}
        k = len(data.classes)
        art = {"confusion": metrics.confusion_matrix(pred, y, k), "classes": np.array(data.classes)}
        art.update(self._shown(data.texts["test"], y, pred, prob, data.classes))
        return figures, art

    def _shown(self, texts, y, pred, prob, classes) -> dict:
        """The test sentences the picture shows: the most confident of each class, and the most confident
        mistakes, with their true and predicted class and the predicted class's probability."""
        conf = prob.max(1).values
        groups = []
        for c, name in enumerate(classes):
            mine = (pred == c).nonzero().flatten()
            top = mine[conf[mine].argsort(descending=True)[:N_SHOWN]]
            groups += [(f"most confident: {name}", int(i)) for i in top]
        wrong = (pred != y).nonzero().flatten()
        worst = wrong[conf[wrong].argsort(descending=True)[:N_SHOWN]]
        groups += [("most confident mistakes", int(i)) for i in worst]
        if not groups:
            return {}
        idx = [i for _, i in groups]
        return {"shown_group": np.array([g for g, _ in groups]), "shown_text": np.array([texts[i] for i in idx]),
                "shown_true": y[idx].numpy(), "shown_pred": pred[idx].numpy(), "shown_prob": conf[idx].numpy()}

    def describe(self, data) -> dict:
        """What config.json records about the data, so a prediction needs no data set: the class names, the
        word list (under "words", not "vocab", which marks a character language model) and VADER's lexicon."""
        return {"classes": list(data.classes), "words": list(data.vocab), "lexicon": dict(data.lexicon)}

    def predict(self, model, mcfg, doc: dict, texts: list[str], invert: bool = False) -> list[dict]:
        """Class and probability of each sentence. A sentence with no word of the training vocabulary gives
        the model nothing to read, so it is refused rather than answered at chance."""
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:  # bytes the shell's locale could not decode arrive as surrogates
                raise UserError(f"the sentence {ascii(text)} is not valid UTF-8 text; type it again in UTF-8 "
                                "(check the terminal's encoding)") from None
        words = doc.get("words")
        if not words:
            raise UserError("config.json of this run has no word list; retrain it with this version of nnzoo")
        classes = doc.get("classes") or [str(i) for i in range(mcfg.n_classes)]
        x = Featurizer(words, doc.get("lexicon") or {})(texts)
        for text, row in zip(texts, x[..., 0]):
            if not (row > UNK).any():
                raise UserError(f"none of the words of {text!r} is in the model's vocabulary ({len(words) - 2:,} "
                                "words of its English training sentences); write a sentence in English")
        prob = self.predict_logits(model, x, torch.device("cpu")).softmax(1)
        out = []
        for text, p in zip(texts, prob):
            top = int(p.argmax())
            out.append({"text": text, "label": classes[top] if top < len(classes) else str(top), "class": top,
                        "probability": round(float(p[top]), 4)})
        return out
