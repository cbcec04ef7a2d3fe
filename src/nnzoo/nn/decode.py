"""Writing a sentence with a model that predicts one word at a time: greedy decoding and beam search.

Both take a `step` function and the state to start from, so any decoder (a captioner's LSTM, S2VT's stacked
pair) shares the one search:

    logp, state = step(y, state)    # y: N previous words (ids) -> log p(next word) N, V and the new state

The state is what nn.recurrent returns: a tensor or nested tuples of tensors, each with the batch in dim 1
(L, N, H), so `select_rows` can reorder the hypotheses. Decoding starts from the word `bos`.

A caption's log-probability is the sum of its words' log p, EOS included (Show and Tell ranks by it, with no
length normalisation). Words in `banned` (padding, BOS, <unk>) are never chosen, but the distribution is not
renormalised without them, so the returned log-probability is the model's own, the one teacher forcing
gives for the same words. `max_len` counts EOS: at the last step only EOS may be chosen, so every caption
ends in EOS and its log-probability is that of a complete sentence.
"""
from __future__ import annotations

from typing import Callable

import torch

from ..errors import UserError

Step = Callable[[torch.Tensor, object], tuple[torch.Tensor, object]]


def select_rows(state, rows: torch.Tensor):
    """Rows of a recurrent state (a tensor L, N, H, or nested tuples of them), in the order `rows` gives."""
    if isinstance(state, torch.Tensor):
        return state[:, rows]
    return tuple(select_rows(s, rows) for s in state)


def _device(state) -> torch.device:
    return state.device if isinstance(state, torch.Tensor) else _device(state[0])


def _allowed(logp: torch.Tensor, banned, eos: int, last: bool) -> torch.Tensor:
    """logp with the words that may not come next at -inf: the banned ones, and every word but EOS at the
    last step."""
    logp = logp.clone()
    if last:
        keep = logp[:, eos].clone()
        logp.fill_(float("-inf"))
        logp[:, eos] = keep
    elif banned:
        logp[:, list(banned)] = float("-inf")
    return logp


def _words(row: list[int], eos: int) -> list[int]:
    return row[:row.index(eos)] if eos in row else row


@torch.no_grad()
def greedy(step: Step, state, n: int, *, bos: int, eos: int, max_len: int,
           banned=()) -> list[tuple[list[int], float]]:
    """The most likely word at each step, for n sentences side by side -> per sentence (word ids without
    BOS / EOS, log-probability)."""
    if max_len < 1:
        raise UserError(f"max_len must be at least 1 (room for EOS), got {max_len}")
    y = torch.full((n,), bos, dtype=torch.long, device=_device(state))
    done = torch.zeros(n, dtype=torch.bool, device=y.device)
    score, out = None, []
    for t in range(max_len):
        logp, state = step(y, state)
        p, y = _allowed(logp, banned, eos, t == max_len - 1).max(-1)  # N: the best word and its log p
        # log p(y_1..y_t) = log p(y_1..y_{t-1}) + log p(y_t | y_<t); nothing is added after EOS
        p = p.masked_fill(done, 0.0)
        score = p if score is None else score + p
        out.append(y)
        done |= y == eos
        if done.all():
            break
    words = torch.stack(out, 1).tolist()
    return [(_words(w, eos), s) for w, s in zip(words, score.tolist())]


@torch.no_grad()
def beam_search(step: Step, state, n: int, *, bos: int, eos: int, max_len: int, beam: int = 3, top: int = 1,
                banned=(), length_alpha: float = 0.0) -> list[list[tuple[list[int], float]]]:
    """The `beam` best partial sentences, each extended by every word at each step, keeping the `beam` best
    of all the extensions; n sentences' beams run side by side as n*beam rows (row b*beam + k is hypothesis
    k of sentence b).

    A finished hypothesis (its last word EOS) stays in the beam with its score, extended only by EOS at no
    cost, and competes with the unfinished ones, so a short sentence that is more likely than every longer
    one wins. Hypotheses are ranked by log p / |y|^length_alpha (|y| counting EOS; 0, the default, ranks by
    log p itself, as Show and Tell); the log-probabilities returned are log p. With beam=1 each step keeps the
    argmax: the same words and score as `greedy`.

    -> per sentence its `top` best (word ids without BOS / EOS, log-probability), best first (fewer where
    fewer than `top` sentences are possible)."""
    if beam < 1:
        raise UserError(f"beam width must be at least 1, got {beam}")
    if not 1 <= top <= beam:
        raise UserError(f"top={top} captions cannot come out of a beam of {beam}: ask for 1 to {beam}, "
                        "or widen the beam")
    if max_len < 1:
        raise UserError(f"max_len must be at least 1 (room for EOS), got {max_len}")
    K, dev = beam, _device(state)
    state = select_rows(state, torch.arange(n, device=dev).repeat_interleave(K))  # each sentence K times
    # all K beams start as the same empty hypothesis: only beam 0 may extend, or the first step would fill the
    # beam with K copies of the best word
    score = None  # N*K: log p of each hypothesis, set at the first step (in the model's dtype)
    length = torch.zeros(n * K, device=dev)
    done = torch.zeros(n * K, dtype=torch.bool, device=dev)
    words = torch.zeros(n * K, 0, dtype=torch.long, device=dev)
    y = torch.full((n * K,), bos, dtype=torch.long, device=dev)
    for t in range(max_len):
        logp, state = step(y, state)
        logp = _allowed(logp, banned, eos, t == max_len - 1)  # N*K, V
        if score is None:
            score = torch.full((n, K), float("-inf"), dtype=logp.dtype, device=dev)
            score[:, 0] = 0.0
            score = score.view(-1)
        logp[done] = float("-inf")
        logp[done, eos] = 0.0  # a finished hypothesis extends only by EOS, keeping its score
        V = logp.size(1)
        # log p(y_1..y_t) = log p(y_1..y_{t-1}) + log p(y_t | y_<t), for every hypothesis and next word
        cand = score[:, None] + logp  # N*K, V
        new_len = length + (~done).to(length.dtype)
        ranked = cand if length_alpha == 0 else cand / new_len.clamp(min=1)[:, None] ** length_alpha
        best = ranked.view(n, K * V).topk(K, dim=1).indices  # N, K, best first
        rows = (torch.arange(n, device=dev)[:, None] * K + best // V).view(-1)  # N*K: each child's parent row
        y = (best % V).view(-1)  # N*K: the word each child adds
        score = cand.view(n, K * V).gather(1, best).view(-1)
        length, done = new_len[rows], done[rows] | (y == eos)
        words = torch.cat([words[rows], y[:, None]], dim=1)
        state = select_rows(state, rows)
        if done.all():
            break
    rows, scores = words.tolist(), score.view(n, K).tolist()
    return [[(_words(rows[b * K + k], eos), scores[b][k]) for k in range(top) if scores[b][k] > float("-inf")]
            for b in range(n)]
