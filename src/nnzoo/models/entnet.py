"""Recurrent Entity Network (EntNet; Henaff, Weston, Szlam, Bordes & LeCun 2017, "Tracking the World State with
Recurrent Entity Networks"): a memory of `slots` blocks, each a key w_j and a content h_j, updated as the story
is read, one sentence per time step. A block changes only as far as its gate says the sentence concerns it,
so each block can come to follow one entity (a person, an object) through the story. The question is read
once, at the end, by attention over the final memory.

The paper's equations have no biases and do not say how many slopes phi has. The authors' code
(facebook/MemNN, EntNet-babi/entnet.lua) adds a bias per slot to the gate (b_j), a bias to U h (b_U) and gives
phi a slope per coordinate, one PReLU shared by the memory and the output module; those are the defaults here
(`gate_bias`, `candidate_bias`, `prelu_per_coordinate`), and turning all three off gives the paper's equations.

    encoder    s_t = sum_i f_i * e_i                 f_i: a learned mask per word position, * elementwise
    gate       g_j = sigmoid(s_t^T h_j + s_t^T w_j + b_j)   content and key both address the block
    candidate  h~_j = phi(U h_j + b_U + V w_j + W s_t)    U, V, W shared by every block; phi = PReLU
    update     h_j <- h_j + g_j h~_j,  then  h_j <- h_j / ||h_j||
    output     p_j = softmax_j(q^T h_j),  u = sum_j p_j h_j,  y = R phi(q + H u)

Shapes: B stories, M sentences a story, W words a sentence, K memory slots (`slots`), D = `dim`.

Padding never changes a result. Word id 0 embeds to a zero vector that is not a parameter (the table holds
ids 1 .. vocab_size - 1 and `table()` puts a zero row in front of it), so a padded word adds nothing to s_t
or q whatever its position's mask. The story and the question share that one table (as the authors' code
does), each with its own masks. A padded sentence (an all-zero row of `story`, after the real ones) is
a step that keeps the old memory exactly: the update is computed and then discarded with `torch.where`.

The recurrence runs over the M sentence steps only, each a few tensor operations on (B, K, D) for the whole
batch; everything that does not depend on the memory (the sentences' encodings, W s_t, s_t^T w_j, V w_j) is
computed for all steps at once before the loop.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from .qa import QAModel


@dataclass
class EntNetConfig:
    vocab_size: int = C.positive(200)
    """Word ids 0 .. vocab_size - 1, 0 being padding (set by the bAbI task from its vocabulary)."""
    n_answers: int = C.positive(50)
    """Answer classes the output layer scores (set by the task: every distinct answer string is one)."""
    memory_size: int = C.positive(70)
    """The most recent facts before a question the task keeps, M (the authors' bAbI code read 70, 150 for
    task 3); the task caps it at the longest story. EntNet has no parameter that depends on it: the recurrence
    runs over however many sentences a batch has."""
    sentence_size: int = C.positive(12)
    """Words a fact or question holds at most, W (set by the task): the length of the position masks."""
    dim: int = C.positive(100)
    """D: the width of the word embeddings, of the sentence encodings and of every memory block (paper: 100)."""
    slots: int = C.positive(20)
    """K: the memory blocks, each with its own key and content (paper: 20 for bAbI)."""
    tie_keys: bool = False
    """False: each block's key w_j is its own learned vector (the paper's bAbI setting). True: the paper's tied
    keys: key j is the word embedding of word id j + 1, so the first `slots` word ids should be the entities
    (the task decides its vocabulary's order); the keys then train with the embeddings."""
    gate_bias: bool = True
    """A learned bias b_j per slot inside the gate's sigmoid, as the authors' code (nn.Add 'gate_bias'); False:
    the paper's equation, g_j = sigmoid(s^T h_j + s^T w_j)."""
    candidate_bias: bool = True
    """A learned bias b_U added to U h_j in the candidate, as the authors' code (their U is an nn.Linear with a
    bias, V and W without)."""
    prelu_per_coordinate: bool = True
    """phi has one slope per coordinate of D (the authors' nn.PReLU(edim)); False: a single slope."""


class PReLU(nn.Module):
    """phi(x) = max(0, x) + a * min(0, x) with `n` slopes over the last axis (1 or D). torch's nn.PReLU puts its
    slopes on axis 1, which for the memory's (B, K, D) would be the slots."""

    def __init__(self, n: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # F.prelu puts its slopes on axis 1: on (N, D) rows that is the last axis, in one fused kernel
        return F.prelu(x.reshape(-1, x.size(-1)), self.weight).view_as(x)


class EntNet(QAModel):
    def __init__(self, cfg: EntNetConfig):
        super().__init__()
        if cfg.tie_keys and cfg.slots > cfg.vocab_size - 1:
            raise ValueError(f"tie_keys=true ties each of the {cfg.slots} slots to a word, but the vocabulary "
                             f"has only {cfg.vocab_size - 1} words: set slots <= {cfg.vocab_size - 1}")
        self.cfg = cfg
        d = cfg.dim
        # word ids 1 .. V-1; id 0 (padding) is the zero row forward() puts in front, never trained
        self.embed = nn.Parameter(torch.empty(cfg.vocab_size - 1, d))  # V-1, D
        self.story_mask = nn.Parameter(torch.empty(cfg.sentence_size, d))  # W, D: f_1 .. f_W
        self.query_mask = nn.Parameter(torch.empty(cfg.sentence_size, d))  # W, D: the question's own mask
        if cfg.tie_keys:
            self.register_parameter("free_keys", None)
        else:
            self.free_keys = nn.Parameter(torch.empty(cfg.slots, d))  # K, D
        # b_j: the gate's bias per slot (the authors' code; the paper's equation has none)
        self.gate_b = nn.Parameter(torch.empty(cfg.slots)) if cfg.gate_bias else None  # K
        # candidate h~ = phi(U h + b_U + V w + W s): one set of matrices for every block
        self.U = nn.Linear(d, d, bias=cfg.candidate_bias)
        self.V = nn.Linear(d, d, bias=False)
        self.W = nn.Linear(d, d, bias=False)
        # one phi, shared by the candidate and the output module (the same phi in the paper's equations)
        self.phi = PReLU(d if cfg.prelu_per_coordinate else 1)
        self.H = nn.Linear(d, d, bias=False)
        self.R = nn.Linear(d, cfg.n_answers, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # the paper: every weight from N(0, 0.1), but the authors' code then sets the PReLU slope to 1 (phi
        # starts as the identity) and the question's mask to 1; the story's mask starts at 1 here as well, so
        # both encoders start as a bag of words and learn word order from there
        for p in (self.embed, self.free_keys, self.U.weight, self.U.bias, self.gate_b, self.V.weight,
                  self.W.weight, self.H.weight, self.R.weight):
            if p is not None:
                nn.init.normal_(p, 0.0, 0.1)
        for p in (self.story_mask, self.query_mask, self.phi.weight):
            nn.init.ones_(p)

    def table(self) -> torch.Tensor:
        """The embedding table with padding's zero row in front: row i is word id i (V, D)."""
        return torch.cat([self.embed.new_zeros(1, self.cfg.dim), self.embed])

    def keys(self) -> torch.Tensor:
        """w_1 .. w_K (K, D): learned vectors, or with tie_keys the embeddings of word ids 1 .. K."""
        return self.embed[:self.cfg.slots] if self.cfg.tie_keys else self.free_keys

    def encode(self, words: torch.Tensor, mask: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """s = sum_i f_i * e_i over the last axis of `words` (..., W) -> (..., D)."""
        w = words.size(-1)
        if w > self.cfg.sentence_size:
            raise ValueError(f"a sentence of {w} words is longer than the model's sentence_size "
                             f"{self.cfg.sentence_size}: build the model with sentence_size >= {w}")
        # s = sum_i f_i * e_i; padding's e_i is the zero row, so it adds nothing whatever f_i is
        return (F.embedding(words, table) * mask[:w]).sum(-2)

    def read_story(self, story: torch.Tensor, table: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Run the dynamic memory over the story's sentences: ([h_0, h_1, .., h_M] each (B, K, D), gates
        (B, M, K)). h_0 is the keys (the memory's start in every story), h_t the memory after sentence t;
        a padded sentence's h_t equals h_{t-1} and its gates are 0."""
        B, M, _ = story.shape
        real = story.ne(0).any(-1)  # B, M: a sentence with at least one word
        s = self.encode(story, self.story_mask, table)  # B, M, D
        w = self.keys()  # K, D
        # the parts of the gate and the candidate that do not depend on the memory, for every step at once
        s_w = s @ w.T  # B, M, K: s_t^T w_j
        if self.gate_b is not None:
            s_w = s_w + self.gate_b  # B, M, K: s_t^T w_j + b_j
        W_s = self.W(s)  # B, M, D: W s_t
        V_w = self.V(w)  # K, D: V w_j
        h = w.expand(B, -1, -1)  # B, K, D: h_j = w_j at the start of each story
        memories, gates = [h], []
        for t in range(M):
            s_t = s[:, t]  # B, D
            # g_j = sigmoid(s_t^T h_j + s_t^T w_j + b_j)
            # (a product and a sum: on one thread three times faster than einsum's batched matmul here)
            g = torch.sigmoid((h * s_t[:, None]).sum(-1) + s_w[:, t])  # B, K
            # h~_j = phi(U h_j + b_U + V w_j + W s_t)
            cand = self.phi(self.U(h) + V_w + W_s[:, t, None])  # B, K, D
            # h_j <- h_j + g_j h~_j, then h_j <- h_j / ||h_j||
            new = F.normalize(h + g[..., None] * cand, dim=-1)  # B, K, D
            keep = real[:, t]  # B
            # a padded sentence leaves the memory exactly as it was
            h = torch.where(keep[:, None, None], new, h)
            memories.append(h)
            gates.append(g * keep[:, None].to(g.dtype))
        return memories, torch.stack(gates, 1) if M else s_w  # B, M, K (a story of no rows: s_w is empty)

    def answer(self, story: torch.Tensor, query: torch.Tensor):
        """Read the story, then the question: (logits (B, n_answers), memories [h_0 .. h_M] each (B, K, D),
        gates (B, M, K), p (B, K) the question's attention over the final memory's slots)."""
        table = self.table()
        memories, gates = self.read_story(story, table)
        h = memories[-1]  # B, K, D
        q = self.encode(query, self.query_mask, table)  # B, D
        # p_j = softmax_j(q^T h_j)
        p = torch.softmax(torch.einsum("bkd,bd->bk", h, q), -1)  # B, K
        # u = sum_j p_j h_j
        u = torch.einsum("bk,bkd->bd", p, h)  # B, D
        # y = R phi(q + H u)
        logits = self.R(self.phi(q + self.H(u)))  # B, n_answers
        return logits, memories, gates, p

    def forward(self, story: torch.Tensor, query: torch.Tensor, return_memory: bool = False):
        """story (B, M, W), query (B, W) word ids -> logits (B, n_answers).

        With return_memory=True: (logits, memories), memories the list [h_0, h_1, .., h_M] of the memory
        (B, K, D) at the start (the keys) and after each sentence, each tensor a node of the graph the logits
        came from. For the gradient that reaches each slot at each step, call `memories[t].retain_grad()`
        before `backward()`: `memories[t].grad[b, j]` is then d loss / d h_j after sentence t of story b
        (`memories[-1]` is the memory the question reads). A padded step's h_t equals h_{t-1} in value but is
        its own tensor, whose gradient equals the next step's exactly (the step passes it back unchanged)."""
        logits, memories, _, _ = self.answer(story, query)
        return (logits, memories) if return_memory else logits

    def gates(self, story: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """g_j for every sentence of every story (B, M, K), in (0, 1) at real sentences and 0 at padded ones:
        how much each block took from each fact. The gates do not depend on the query (the memory is
        written before the question is seen); it is taken for the same call as forward()."""
        return self.read_story(story, self.table())[1]

    def memory_cells(self, story: torch.Tensor, query: torch.Tensor):
        """(logits, B, K, D): the memory blocks h_j after the story, which the question reads."""
        logits, memories = self(story, query, return_memory=True)
        return logits, memories[-1]

    def sentence_weights(self, story: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """B, 1, M: how much each sentence counted for the answer, sum_j p_j g_tj (each sentence's gates
        weighted by the question's attention over the slots), 0 at padding: the one row models/qa.py's
        protocol asks of a model with a single read-out."""
        _, _, g, p = self.answer(story, query)
        return torch.einsum("bmk,bk->bm", g, p)[:, None]  # B, 1, M



def tiny() -> EntNetConfig:
    return EntNetConfig(vocab_size=20, n_answers=4, memory_size=6, sentence_size=5, dim=12, slots=4)


def example_batch(cfg: EntNetConfig, n: int = 16) -> dict:
    """A tiny learnable problem in the bAbI batch's layout: each story has 3 .. M facts (the rest padded
    rows), each fact starts with a subject word and then its answer word (the rest random words, 2 .. W in
    all); the query starts with one of the story's subjects and the answer is the class of the word that came
    after that subject. Subjects are word ids 1 .. M, answer words the next n_answers ids, fillers the rest.
    Some facts and some queries are W words long, so every mask position is used."""
    M, W, A = cfg.memory_size, cfg.sentence_size, cfg.n_answers
    if M + A + 1 > cfg.vocab_size - 1 or M < 3 or W < 2:
        raise ValueError(f"example_batch needs vocab_size > memory_size + n_answers + 2, memory_size >= 3 and "
                         f"sentence_size >= 2; got {cfg.vocab_size}, {M}, {W}")
    fill_lo = M + A + 1  # filler word ids fill_lo .. vocab_size - 1
    story = torch.zeros(n, M, W, dtype=torch.long)
    query = torch.zeros(n, W, dtype=torch.long)
    answer = torch.zeros(n, dtype=torch.long)
    for b in range(n):
        facts = int(torch.randint(3, M + 1, ()))
        subjects = torch.randperm(M)[:facts] + 1
        classes = torch.randint(0, A, (facts,))
        for t in range(facts):
            length = W if t == 0 else int(torch.randint(2, W + 1, ()))
            story[b, t, 0], story[b, t, 1] = subjects[t], M + 1 + classes[t]
            story[b, t, 2:length] = torch.randint(fill_lo, cfg.vocab_size, (length - 2,))
        asked = int(torch.randint(0, facts, ()))
        length = W if b % 2 == 0 else int(torch.randint(1, W + 1, ()))
        query[b, 0] = subjects[asked]
        query[b, 1:length] = torch.randint(fill_lo, cfg.vocab_size, (length - 1,))
        answer[b] = classes[asked]
    return {"story": story, "query": query, "answer": answer, "task": torch.ones(n, dtype=torch.long)}
