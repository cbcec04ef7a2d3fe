"""Sentence classification (many to one): padded word-id sentences -> class logits. Used by sentiment-bilstm.

The test report also fits the classic baseline on the same split in the same run, TF-IDF features and
logistic regression (scikit-learn, default settings), so the recurrent model's figure always stands next to
what a bag of words reaches on exactly the same sentences.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from ..data import load_sentences
from ..data.sentiment import PAD, UNK, Featurizer
from ..errors import UserError
from ..eval import metrics
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
