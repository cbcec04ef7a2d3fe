"""Pure metric functions: tensors in, numbers out."""
from __future__ import annotations

import numpy as np
import torch


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of examples whose arg-max class is the label."""
    if len(y) == 0:
        return float("nan")
    return float((logits.argmax(1) == y).float().mean())


def confusion_matrix(pred: torch.Tensor, y: torch.Tensor, k: int) -> np.ndarray:
    """K x K counts, rows = true class, columns = predicted class."""
    idx = y.long() * k + pred.long()
    return torch.bincount(idx, minlength=k * k).reshape(k, k).numpy()


def nats_to_bits(nats: float) -> float:
    """bits = nats / ln 2."""
    return nats / float(np.log(2.0))


def corpus_bleu(hypotheses: list[str], references: list[str]) -> tuple[float, str]:
    """sacreBLEU's corpus BLEU (0-100) of detokenised hypotheses against one reference each, and its signature.

    Case-insensitive (the models write lowercase) with sacreBLEU's `intl` tokeniser, which splits off every
    Unicode punctuation mark: Spanish ¿ and ¡ included, which the default 13a tokeniser leaves on the word."""
    import sacrebleu
    bleu = sacrebleu.metrics.BLEU(tokenize="intl", lowercase=True)
    score = bleu.corpus_score(hypotheses, [references])
    return float(score.score), str(bleu.get_signature())
