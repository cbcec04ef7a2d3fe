"""The two kinds of line a bAbI story is made of, shared by the generators (`babi_world.py`, `babi_reasoning.py`)
and the reader / writer (`babi.py`).

A story is a list of lines numbered from 1 in the file, questions included (the original format):

    1 Mary moved to the bathroom.
    2 John went to the hallway.
    3 Where is Mary? \tbathroom\t1

`Question.supports` are those line numbers: the facts the answer follows from.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fact:
    text: str
    """One sentence with its final full stop, e.g. "Mary moved to the bathroom."."""


@dataclass(frozen=True)
class Question:
    text: str
    """The question with its question mark, e.g. "Where is Mary?"."""
    answer: str
    """One word, or several joined by commas without spaces (lists: "apple,football"; paths: "n,w")."""
    supports: tuple[int, ...]
    """The 1-based line numbers, within the story, of the facts the answer follows from."""


Line = Fact | Question
