"""End-To-End Memory Network (Sukhbaatar, Szlam, Weston & Fergus 2015) for bAbI question answering.

The story's facts are written into memory as sentence vectors, twice: m_i (what a fact is found by) and c_i
(what it says). The question, as a vector u, reads the memory by attention, p_i = softmax(u^T m_i) over the
facts, takes the weighted read o = sum_i p_i c_i and adds it to itself, u^{k+1} = u^k + o^k. After K such
hops the answer is softmax(W u^{K+1}). Every step is differentiable, so the network learns from (story,
question, answer) alone, with no label saying which facts support the answer (Memory Networks, Weston et al.
2015, needed one); a later hop can look for what an earlier one found ("the football" -> "John picked up the
football" -> "John went to the kitchen").

The paper's options (sections 2.2 and 4.1) are config fields:
- `tying`: adjacent (A^{k+1} = C^k, B = A^1) or layer-wise (one A and one C for every hop, like an RNN, plus a
  learnt map H between hops: u^{k+1} = H u^k + o^k).
- `encoding`: a sentence is the sum of its words' vectors (bag of words), or the sum weighted by where each word
  sits (position encoding), so "the kitchen is north of the hall" differs from "the hall is north of the kitchen".
- `temporal`: a learnt vector per memory slot, counted back from the question (T_A, T_C), so "where is Mary"
  can prefer her latest move.
- `random_noise`: empty memories inserted at random while training, so the temporal vectors learn order, not
  exact distance.
- `linear_start_epochs`: a first stage with the memory layers' softmax removed (`stages()`).

Answers are classes (the bAbI task makes "milk,football" one class), not vocabulary words, so the paper's
adjacent tie W^T = C^K has nothing to tie to: W is a matrix of its own in both tyings.

Word id 0 is padding (the paper's null symbol). A word table holds rows for the ids 1 .. vocab_size - 1 only
and each lookup prepends a zero row for id 0, so padding is zero by construction and never a weight that an
update could move; padded memory slots get zero attention. Padding never changes a result: a story padded to
more slots or longer sentences gives the same logits (tested).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from .base import Stage
from .qa import QAModel, scored

PAD = 0
"""The padding id of story and query words (the paper's null symbol)."""
ENCODINGS = ("bow", "position")
TYINGS = ("adjacent", "layerwise")
LINEAR_START = "linear-start"
"""The linear-start stage's name, and its player's: loss(batch, LINEAR_START) is that stage's loss."""
INIT_STD = 0.1
"""Every weight starts as N(0, 0.1^2) (section 4.2)."""


@dataclass
class MemN2NConfig:
    vocab_size: int = C.between(200, 2)
    """Word ids 0 .. vocab_size - 1, padding (0) included (set by the bAbI task from the training stories)."""
    n_answers: int = C.positive(40)
    """Answer classes (set by the bAbI task: each distinct answer string of the training split is one class)."""
    memory_size: int = C.positive(50)
    """Memory slots M: the most recent M facts before the question are kept (the paper keeps 50; the task caps
    it at the longest story). Also the number of temporal vectors."""
    sentence_size: int = C.positive(12)
    """Words per fact or question, W (set by the task: the longest). The model has no weight of this size:
    position encoding reads each sentence's own length."""
    dim: int = C.positive(50)
    """d, the width of every word, memory and question vector (the paper's joint training: 50)."""
    hops: int = C.positive(3)
    """K, memory reads before the answer (the paper compares 1, 2 and 3: three solve the tasks that chain
    two or three facts)."""
    tying: str = C.choice("adjacent", TYINGS)
    """How the hops share embeddings. adjacent: hop k+1 finds facts with the table hop k read them with,
    A^{k+1} = C^k, and the question uses the first hop's, B = A^1 (K + 1 word tables). layerwise: every hop uses
    the same A and the same C (and B a table of its own), like the weights of an RNN through time, and `hop_map`
    adds H between hops."""
    hop_map: bool = True
    """Layer-wise tying only: the question moves from hop to hop by a learnt d x d map, u^{k+1} = H u^k + o^k,
    as the paper's layer-wise models do; false: u^{k+1} = u^k + o^k. Adjacent tying never has H."""
    encoding: str = C.choice("position", ENCODINGS)
    """How a sentence's word vectors become one. bow: their sum, m_i = sum_j A x_ij, blind to word order.
    position: each weighted elementwise by l_j, l_kj = (1 - j/J) - (k/d)(1 - 2j/J), with j the word's place
    and J the sentence's length (padding excluded), k = 1 .. d the coordinate (PE, section 4.1)."""
    temporal: bool = True
    """Add a learnt vector per memory slot counted from the newest fact, m_i = sum_j A x_ij + T_A(i) and
    c_i = sum_j C x_ij + T_C(i), i = 0 for the fact right before the question (TE, section 4.1): bag-of-words
    sentences say nothing of their order otherwise. The tables tie like the word tables."""
    random_noise: float = C.fraction(0.1)
    """Training only: insert empty memories at random places among a story's n facts, a uniform number from 0
    to ceil(random_noise * n), which pushes the older facts' temporal indices further back (capped at M - 1);
    the empty memories are read by nobody (RN, section 4.1: "randomly add 10 % of empty memories", a
    regulariser of T_A). The draws come from torch's global RNG on the CPU, so runs repeat. 0: off."""
    linear_start_epochs: int = C.nonneg(30)
    """Train this many epochs first with the softmax of every memory layer removed, p_i = u^T m_i (the answer's
    softmax stays), then the main stage with it (LS, section 4.2: it keeps the training out of the poor local
    minima that some tasks fall into). The paper puts the softmax back when the validation loss stops falling;
    here the stage has a fixed length, 30 as in the authors' joint-training script. 0: off."""
    linear_start_lr: float = C.positive(0.005)
    """The linear-start stage's learning rate, constant (the paper's 0.005, half its main rate 0.01). The paper
    sums the loss over its batches of 32 where nnzoo averages it: with SGD, the paper's step is lr x 32."""


class MemN2N(QAModel):
    """forward(story B, M, W, query B, W) -> answer logits B, n_answers."""
    cells_are_facts = True

    def __init__(self, cfg: MemN2NConfig):
        super().__init__()
        self.cfg = cfg
        K, d = cfg.hops, cfg.dim

        def table(rows: int) -> nn.Parameter:
            return nn.Parameter(torch.randn(rows, d) * INIT_STD)

        # which table each role reads: words[i] for i = query / memory_of[k] / output_of[k], and times[j]
        # for j = time_memory_of[k] / time_output_of[k] (k = 0 .. K-1), so a shared table is one Parameter
        if cfg.tying == "adjacent":
            # tables 0 .. K: A^1 = B = table 0, C^k = A^{k+1} = table k
            n_words, n_times = K + 1, K + 1
            self.query_of, self.memory_of, self.output_of = 0, tuple(range(K)), tuple(range(1, K + 1))
            self.time_memory_of, self.time_output_of = self.memory_of, self.output_of
        else:
            # tables 0, 1, 2: B, A, C; time tables 0, 1: T_A, T_C
            n_words, n_times = 3, 2
            self.query_of, self.memory_of, self.output_of = 0, (1,) * K, (2,) * K
            self.time_memory_of, self.time_output_of = (0,) * K, (1,) * K
        self.words = nn.ParameterList([table(cfg.vocab_size - 1) for _ in range(n_words)])
        self.times = nn.ParameterList([table(cfg.memory_size) for _ in range(n_times)]) if cfg.temporal else None
        self.hop_map = None
        if cfg.tying == "layerwise" and cfg.hop_map:
            self.hop_map = nn.Linear(d, d, bias=False)
            nn.init.normal_(self.hop_map.weight, std=INIT_STD)
        self.answer = nn.Linear(d, cfg.n_answers, bias=False)
        nn.init.normal_(self.answer.weight, std=INIT_STD)

    def table(self, name: str, hop: int = 1) -> nn.Parameter:
        """The paper's matrix `name` (A, B, C, T_A, T_C) of hop 1 .. K, as the Parameter that holds it (rows for
        word ids 1 .. V-1, or for recency 0 .. M-1): tied matrices are the same Parameter."""
        k = hop - 1
        if name == "B":
            return self.words[self.query_of]
        index = {"A": (self.words, self.memory_of), "C": (self.words, self.output_of),
                 "T_A": (self.times, self.time_memory_of), "T_C": (self.times, self.time_output_of)}
        tables, of = index[name]
        return tables[of[k]]

    def sentences(self, words: torch.Tensor, table: nn.Parameter) -> torch.Tensor:
        """words: ..., W ids -> ..., d: each sentence's word vectors summed, position-weighted with PE."""
        # id 0 looks up this zero row: padding adds nothing and is no weight
        full = torch.cat([table.new_zeros(1, table.shape[1]), table])  # V, d
        x = F.embedding(words, full)  # ..., W, d
        if self.cfg.encoding == "position":
            # m_i = sum_j l_j * A x_ij
            x = x * position_encoding(words.ne(PAD), table.shape[1], x.dtype)
        return x.sum(-2)

    def recency(self, real: torch.Tensor) -> torch.Tensor:
        """real: B, M, True at the story's facts (rows 0 .. n-1, oldest first) -> B, M temporal indices: the
        newest fact (row n-1) gets 0, the oldest n-1; while training with random_noise, older facts are pushed
        back past randomly inserted empty memories (capped at memory_size - 1). Padding slots get 0."""
        B, M = real.shape
        n = real.sum(1)  # B facts per story
        slot = torch.arange(M, device=real.device)
        plain = (n[:, None] - 1 - slot).clamp(min=0)  # B, M
        f = self.cfg.random_noise
        if not (self.training and f > 0):
            return plain
        # S places of which a story's n facts take n at random, the rest are empty memories; S is fixed by the
        # config, not by the batch's padding, so a padded batch draws the same numbers
        S = self.cfg.memory_size + math.ceil(f * self.cfg.memory_size)
        draw, keys = torch.rand(B), torch.rand(B, S)  # torch's global CPU RNG: the same on every device
        draw, keys = draw.to(real.device), keys.to(real.device)
        # k_b ~ uniform{0 .. ceil(f n_b)} empty memories
        most = torch.ceil(f * n)
        blanks = torch.minimum(torch.floor(draw * (most + 1)), most).long()
        place = torch.arange(S, device=real.device)
        keys = keys.masked_fill(place >= (n + blanks)[:, None], 2.0)  # places past n + k are never taken
        taken = keys.argsort(1).argsort(1) < n[:, None]  # B, S: n_b places, uniform among the n_b + k_b
        # the r-th newest fact sits at the r-th taken place, counted from the question
        newest_first = torch.where(taken, place, S).sort(1).values  # B, S
        return newest_first.gather(1, plain).clamp(max=self.cfg.memory_size - 1)

    def read(self, story: torch.Tensor, query: torch.Tensor, linear: bool = False, cells: list | None = None):
        """story B, M, W and query B, W -> (logits B, n_answers, attention B, K, M). linear: the linear-start
        stage's read, the memory layers without their softmax. `cells`: a list that receives the memory
        (B, M, tables, d), every fact's input and output vectors, as the graph node the logits came from."""
        if story.shape[1] > self.cfg.memory_size:
            raise ValueError(f"the story has {story.shape[1]} memory slots but the model was built for "
                             f"memory_size={self.cfg.memory_size}")
        real = story.ne(PAD).any(-1)  # B, M: the story's facts
        when = self.recency(real) if self.times is not None else None
        # u^1 = sum_j B q_j
        u = self.sentences(query, self.words[self.query_of])  # B, d
        tables = sorted({*self.memory_of, *self.output_of})
        # every table's sentence vectors in one tensor: the memory cells (one per fact) the answer reads from
        memory = torch.stack([self.sentences(story, self.words[i]) for i in tables], 2)  # B, M, tables, d
        embedded = {i: memory[:, :, j] for j, i in enumerate(tables)}
        if cells is not None:
            cells.append(memory)
        attention = []
        for k in range(self.cfg.hops):
            m, c = embedded[self.memory_of[k]], embedded[self.output_of[k]]  # B, M, d
            if when is not None:
                # m_i = sum_j A x_ij + T_A(i), c_i = sum_j C x_ij + T_C(i)
                m = m + self.times[self.time_memory_of[k]][when]
                c = c + self.times[self.time_output_of[k]][when]
            score = (m @ u[:, :, None]).squeeze(-1)  # B, M: u^T m_i
            # p_i = softmax(u^T m_i) over the facts (linear start: p_i = u^T m_i), 0 at padding
            p = score * real if linear else masked_softmax(score, real)
            # o = sum_i p_i c_i
            o = (p[:, None, :] @ c).squeeze(1)  # B, d
            # u^{k+1} = u^k + o^k, or H u^k + o^k with layer-wise tying
            u = (self.hop_map(u) if self.hop_map is not None else u) + o
            attention.append(p)
        # a = softmax(W u^{K+1}) = softmax(W (o^K + u^K)); the loss takes the logits
        return self.answer(u), torch.stack(attention, 1)

    def forward(self, story: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        return self.read(story, query)[0]

    def attention(self, story: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """B, K, M: the selection weights p_i of every hop (0 at padding): which facts each hop read."""
        return self.read(story, query)[1]

    def sentence_weights(self, story: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        return self.attention(story, query)

    def memory_cells(self, story: torch.Tensor, query: torch.Tensor):
        """(logits, B, M, tables, d): one cell per fact slot, its vectors in every embedding table."""
        cells = []
        logits, _ = self.read(story, query, cells=cells)
        return logits, cells[0]

    def loss(self, batch, phase=None) -> dict:
        """The main loss; loss(batch, LINEAR_START) is the linear-start stage's, without the memory softmax."""
        if phase not in (None, LINEAR_START):
            raise ValueError(f"MemN2N has no phase {phase!r}")
        logits, _ = self.read(batch["story"], batch["query"], linear=phase == LINEAR_START)
        # L = -1/B sum_b log softmax(W u^{K+1})_{y_b}
        return scored(logits, batch["answer"])

    def stages(self) -> list[Stage]:
        """Linear start: every weight trained with the memory layers linear (no softmax), for
        linear_start_epochs at linear_start_lr, constant; the run's optimizer and clipping otherwise."""
        if not self.cfg.linear_start_epochs:
            return []
        own = {"lr": self.cfg.linear_start_lr, "schedule": "constant", "warmup": 0.0, "time_limit": 0.0}
        return [Stage(LINEAR_START, self.cfg.linear_start_epochs, {LINEAR_START: list(self.parameters())},
                      self.loss, own, salt=1)]


def position_encoding(mask: torch.Tensor, d: int, dtype=torch.float32) -> torch.Tensor:
    """mask: ..., W, True at real words -> ..., W, d weights l_kj, 0 at padding. j counts the real words
    from 1 and J is their number, so padding (anywhere) changes nothing."""
    j = mask.cumsum(-1).to(dtype)[..., None]  # ..., W, 1
    J = mask.sum(-1, keepdim=True).clamp(min=1).to(dtype)[..., None]  # ..., 1, 1
    k = torch.arange(1, d + 1, device=mask.device, dtype=dtype)  # d
    # l_kj = (1 - j/J) - (k/d)(1 - 2j/J)
    l = (1 - j / J) - (k / d) * (1 - 2 * j / J)
    return l * mask[..., None]


def masked_softmax(score: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Softmax over the real slots of each row, exactly 0 elsewhere (a row with none: all 0)."""
    p = torch.where(real, score, torch.finfo(score.dtype).min).softmax(-1)
    return p * real


def tiny() -> MemN2NConfig:
    return MemN2NConfig(vocab_size=20, n_answers=4, memory_size=6, sentence_size=5, dim=16, hops=3,
                        random_noise=0.0, linear_start_epochs=0)


def example_batch(cfg: MemN2NConfig, n: int = 16) -> dict:
    """A tiny lookup problem in the bAbI batch's layout: each fact is [key, filler words..., value], the keys
    of a story distinct; the query is [key, filler]; the answer is the class of the value in the fact with the
    query's key. Word ids: keys 1 .. M, values M+1 .. M+n_answers (class = id - M - 1), fillers the rest.
    The first story fills all M slots and the fillers cycle, so every weight takes part."""
    M, W, A = cfg.memory_size, cfg.sentence_size, cfg.n_answers
    first_filler = M + A + 1
    if first_filler >= cfg.vocab_size or W < 2:
        raise ValueError(f"example_batch needs vocab_size > memory_size + n_answers + 1 and sentence_size >= 2, "
                         f"not {cfg.vocab_size}, {M}, {A}, {W}")
    fillers = torch.arange(first_filler, cfg.vocab_size)
    story = torch.zeros(n, M, W, dtype=torch.long)
    query = torch.zeros(n, W, dtype=torch.long)
    answer = torch.zeros(n, dtype=torch.long)
    placed = 0  # fillers written so far: they cycle through the filler words

    def filler():
        nonlocal placed
        placed += 1
        return fillers[(placed - 1) % len(fillers)]

    for b in range(n):
        facts = M if b == 0 else int(torch.randint(1, M + 1, ()))
        keys = torch.randperm(M)[:facts] + 1
        values = torch.randint(0, A, (facts,))
        asked = int(torch.randint(0, facts, ()))
        values[asked] = b % A
        for i in range(facts):
            extra = int(torch.randint(min(1, W - 2), W - 1, ()))  # 1 .. W-2 fillers where W allows
            story[b, i, :extra + 2] = torch.tensor([int(keys[i]), *(int(filler()) for _ in range(extra)),
                                                    M + 1 + int(values[i])])
        query[b, 0] = keys[asked]
        if W > 1:
            query[b, 1] = filler()
        answer[b] = values[asked]
    return {"story": story, "query": query, "answer": answer, "task": torch.ones(n, dtype=torch.long)}
