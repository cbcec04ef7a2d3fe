"""What every story-question-answer model (MemN2N, EntNet) shares: the bAbI batch, the loss, and the protocol
the task and `nnzoo answer` read.

The batch (made by tasks/babi.py):

    story   B, M, W   word ids of the story's facts before the question, oldest first, left-aligned; rows past the
                      story's real facts and words past a sentence's end are 0 (padding)
    query   B, W      the question's word ids
    answer  B         the answer's class, 0 .. n_answers - 1 (a list answer such as "milk,football" is one class)
    task    B         the bAbI task 1..20 of each example (for per-task figures)
"""
from __future__ import annotations

from abc import abstractmethod

import torch
import torch.nn.functional as F

from .base import Model


class QAModel(Model):
    """A model that reads a story and answers a question about it. Its `cfg` has the four fields the task
    sets: vocab_size, n_answers, memory_size (facts read, the newest) and sentence_size (words per sentence)."""

    cfg: object
    cells_are_facts: bool = False
    """True when `memory_cells` has one cell per story fact slot (MemN2N), False when the cells are the model's
    own memory blocks (EntNet)."""

    @abstractmethod
    def forward(self, story: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """story (B, M, W), query (B, W) -> logits (B, n_answers)."""

    @abstractmethod
    def sentence_weights(self, story: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """B, H, M: how much each story sentence counted for the answer, one row per hop or stage of the model
        (MemN2N: the attention of each hop; EntNet: each sentence's gates, weighted by the output's attention
        over the memory slots), 0 at padding. `nnzoo answer` shows the sentences the last row ranks first."""

    @abstractmethod
    def memory_cells(self, story: torch.Tensor, query: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits B, n_answers, cells B, S, ...): the model's memory cells as the answer read them, a node of the
        graph the logits came from, so `cells.retain_grad()` before backward gives each cell's gradient
        (MemN2N: one cell per fact slot; EntNet: one per memory block). The memory-addressing experiment
        measures how the loss's gradient spreads over them."""

    def loss(self, batch) -> dict:
        return scored(self(batch["story"], batch["query"]), batch["answer"])


def scored(logits: torch.Tensor, answer: torch.Tensor) -> dict:
    """The loss of answer logits (B, n_answers) against the true classes (B,), and the share answered wrong."""
    # L = -1/B sum_b log softmax(logits_b)_{y_b}: the papers' softmax output a = softmax(W (o + u))
    loss = F.cross_entropy(logits.float(), answer)
    return {"loss": loss, "error": (logits.argmax(1) != answer).float().mean().detach()}
