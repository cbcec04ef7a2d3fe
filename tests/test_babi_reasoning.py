"""bAbI tasks 15-20 (`nnzoo.data.babi_reasoning`): every answer re-derived by a checker of this file.

Each checker reads the sentences themselves (its own patterns and its own world knowledge, nothing of the
generator's) and returns the answer the given facts imply, or None where they imply none: a fact missing,
two facts disagreeing, or several answers fitting. An answer must come out of the question's supporting facts
alone, and again out of the whole story (more facts never change it, so no contradiction and no ambiguity),
and no supporting fact may be left out (the supports are all needed).
"""
from __future__ import annotations

import random
import re
from collections import Counter
from itertools import product

import pytest

from nnzoo.data.babi_lines import Fact, Question
from nnzoo.data.babi_reasoning import TASKS

SEEDS = (0, 1, 7, 123, 2024)
PER_SEED = 100  # 500 stories a task


class Unparsed(AssertionError):
    pass


def _match(patterns: dict[str, str], text: str) -> tuple[str, tuple[str, ...]]:
    """(the name of the one pattern `text` matches in full, its groups); any other sentence fails the test."""
    for kind, pattern in patterns.items():
        m = re.fullmatch(pattern, text)
        if m:
            return kind, m.groups()
    raise Unparsed(f"no pattern reads {text!r}")


def _one(values: set):
    return next(iter(values)) if len(values) == 1 else None


# ---- 15: deduction ----------------------------------------------------------------------------------------

SINGULAR = {"mice": "mouse", "sheep": "sheep", "wolves": "wolf", "cats": "cat"}
PLURAL = {v: k for k, v in SINGULAR.items()}


def solve_15(facts: list[str], question: str) -> str | None:
    fears: dict[str, set] = {}
    kind: dict[str, set] = {}
    for f in facts:
        what, g = _match({"rule": r"(\w+) are afraid of (\w+)\.", "isa": r"(\w+) is an? (\w+)\."}, f)
        if what == "rule":
            fears.setdefault(g[0].lower(), set()).add(g[1])
        else:
            kind.setdefault(g[0], set()).add(g[1])
    (name,) = re.fullmatch(r"What is (\w+) afraid of\?", question).groups()
    species = _one(kind.get(name, set()))
    feared = species and _one(fears.get(PLURAL[species], set()))
    return SINGULAR[feared] if feared else None


# ---- 16: induction ----------------------------------------------------------------------------------------

def solve_16(facts: list[str], question: str) -> str | None:
    kind: dict[str, set] = {}
    color: dict[str, set] = {}
    for f in facts:
        what, (name, word) = _match({"isa": r"(\w+) is an? (\w+)\.", "color": r"(\w+) is (\w+)\."}, f)
        (kind if what == "isa" else color).setdefault(name, set()).add(word)
    (name,) = re.fullmatch(r"What color is (\w+)\?", question).groups()
    if name in color:
        return _one(color[name])
    species = _one(kind.get(name, set()))
    # every other member of the species whose colour is told must agree
    seen = set().union(*(color[o] for o in color if kind.get(o) == {species})) if species else set()
    return _one(seen)


# ---- 17: positions ----------------------------------------------------------------------------------------

AXIS = {"to the left of": (0, -1), "to the right of": (0, 1), "above": (1, 1), "below": (1, -1)}
REL = "|".join(AXIS)


def solve_17(facts: list[str], question: str) -> str | None:
    """A fact puts one shape straight left / right / above / below another, at a distance it does not say:
    try every assignment of distances 1-3 to the facts; the answer stands only if all of them agree."""
    told = [_match({"at": rf"The (.+) is ({REL}) the (.+)\."}, f)[1] for f in facts]
    x, rel, y = re.fullmatch(rf"Is the (.+) ({REL}) the (.+)\?", question).groups()
    answers = set()
    for dist in product((1, 2, 3), repeat=len(told)):
        pos, ok, changed = {x: (0, 0)}, True, True
        while changed and ok:
            changed = False
            for (a, r, b), d in zip(told, dist):
                axis, sign = AXIS[r]
                step = (sign * d, 0) if axis == 0 else (0, sign * d)
                if b in pos and a not in pos:
                    pos[a] = (pos[b][0] + step[0], pos[b][1] + step[1])
                    changed = True
                elif a in pos and b not in pos:
                    pos[b] = (pos[a][0] - step[0], pos[a][1] - step[1])
                    changed = True
                elif a in pos and pos[a] != (pos[b][0] + step[0], pos[b][1] + step[1]):
                    ok = False
        if not ok:
            continue
        if y not in pos:
            return None
        axis, sign = AXIS[rel]
        answers.add("yes" if (pos[x][axis] - pos[y][axis]) * sign > 0 else "no")
    return _one(answers)


# ---- 18: sizes --------------------------------------------------------------------------------------------

def _smaller(facts: list[str]) -> dict[str, set]:
    """object -> every object the facts make it smaller than (transitively)."""
    edges: dict[str, set] = {}
    for f in facts:
        what, (p, q) = _match({"in": r"The (.+) fits inside the (.+)\.",
                               "big": r"The (.+) is bigger than the (.+)\."}, f)
        small, big = (p, q) if what == "in" else (q, p)
        edges.setdefault(small, set()).add(big)
    closure = {}
    for start in edges:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        closure[start] = seen
    return closure


def solve_18(facts: list[str], question: str) -> str | None:
    below = _smaller(facts)
    if any(o in bigger for o, bigger in below.items()):
        return None  # a cycle: the facts contradict each other
    what, (x, y) = _match({"fit": r"Does the (.+) fit in the (.+)\?",
                           "big": r"Is the (.+) bigger than the (.+)\?"}, question)
    x_lt_y, y_lt_x = y in below.get(x, ()), x in below.get(y, ())
    if x_lt_y == y_lt_x:
        return None  # unordered by the facts
    return "yes" if x_lt_y == (what == "fit") else "no"


# ---- 19: paths --------------------------------------------------------------------------------------------

STEP = {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0)}


def solve_19(facts: list[str], question: str) -> str | None:
    """The facts' rooms on a grid (None if they cannot share one); a room leads to every room next to it on
    the grid (a told fact or not); the answer is the one shortest walk, None if there are several."""
    near: dict[str, list[tuple[str, tuple]]] = {}  # room -> (other room, the step from room to it)
    for f in facts:
        _, (a, way, b) = _match({"at": r"The (\w+) is (north|south|east|west) of the (\w+)\."}, f)
        near.setdefault(a, []).append((b, tuple(-v for v in STEP[way])))
        near.setdefault(b, []).append((a, STEP[way]))
    x, y = re.fullmatch(r"How do you go from the (\w+) to the (\w+)\?", question).groups()
    if x not in near:
        return None
    cell, todo = {x: (0, 0)}, [x]
    while todo:
        room = todo.pop()
        for other, (dx, dy) in near[room]:
            spot = (cell[room][0] + dx, cell[room][1] + dy)
            if other in cell and cell[other] != spot:
                return None
            if other not in cell:
                cell[other] = spot
                todo.append(other)
    if y not in cell or len(set(cell.values())) < len(cell):
        return None
    letter = {v: k[0] for k, v in STEP.items()}
    walks, frontier = [], [(x, [])]
    while frontier and not walks:
        ahead = []
        for room, path in frontier:
            for other in cell:
                d = (cell[other][0] - cell[room][0], cell[other][1] - cell[room][1])
                if d in letter:  # a shortest walk never comes back to a room, so no check is needed
                    (walks if other == y else ahead).append((other, path + [letter[d]]))
        frontier = ahead
    return ",".join(walks[0][1]) if len(walks) == 1 else None


# ---- 20: motivations --------------------------------------------------------------------------------------

NEED = {"hungry": ("kitchen", "apple"), "thirsty": ("kitchen", "milk"),
        "tired": ("bedroom", "pajamas"), "bored": ("garden", "football")}
PATTERNS_20 = {"need": r"(\w+) is (hungry|thirsty|tired|bored)\.",
               "go": r"(\w+) (?:went to|went back to|journeyed to|travelled to|moved to) the (\w+)\.",
               "take": r"(\w+) (?:grabbed|picked up|got|took) the (\w+) there\."}


def solve_20(facts: list[str], question: str) -> str | None:
    told: dict[str, dict[str, set]] = {}
    for f in facts:
        what, (name, word) = _match(PATTERNS_20, f)
        told.setdefault(name, {"need": set(), "go": set(), "take": set()})[what].add(word)
    what, g = _match({"where": r"Where will (\w+) go\?", "go": r"Why did (\w+) go to the (\w+)\?",
                      "take": r"Why did (\w+) get the (\w+)\?"}, question)
    mine = told.get(g[0])
    need = mine and _one(mine["need"])
    if not need:
        return None
    place, thing = NEED[need]
    # what the actor did must fit the need, or the facts contradict each other
    if not mine["go"] <= {place} or not mine["take"] <= {thing}:
        return None
    if what == "where":
        return place
    return need if g[1] == (place if what == "go" else thing) else None


SOLVERS = {15: solve_15, 16: solve_16, 17: solve_17, 18: solve_18, 19: solve_19, 20: solve_20}


# ---- the tests --------------------------------------------------------------------------------------------

def _stories(task: int):
    for seed in SEEDS:
        rng = random.Random(seed)
        for _ in range(PER_SEED):
            yield TASKS[task](rng)


def _questions(story):
    """(line number, question) for every question of a story."""
    return [(i, line) for i, line in enumerate(story, 1) if isinstance(line, Question)]


STORIES = {task: list(_stories(task)) for task in TASKS}


def test_tasks_15_to_20():
    assert sorted(TASKS) == [15, 16, 17, 18, 19, 20]


@pytest.mark.parametrize("task", sorted(SOLVERS))
def test_answers_follow_from_supports_and_from_whole_story(task):
    solve = SOLVERS[task]
    for story in STORIES[task]:
        facts = [line.text for line in story if isinstance(line, Fact)]
        assert _questions(story), "a story without a question"
        for i, q in _questions(story):
            assert q.supports and all(1 <= n < i and isinstance(story[n - 1], Fact) for n in q.supports), (q, story)
            assert len(set(q.supports)) == len(q.supports)
            used = [story[n - 1].text for n in q.supports]
            assert solve(used, q.text) == q.answer, (q, used)
            assert solve(facts, q.text) == q.answer, (q, story)
            # every supporting fact is needed: without any one of them the answer no longer follows
            for n in q.supports:
                assert solve([story[m - 1].text for m in q.supports if m != n], q.text) != q.answer, (q, n)


def test_checkers_refuse_what_does_not_follow():
    """The checkers say None where facts are missing, disagree or allow two answers (so they can fail)."""
    assert solve_15(["Mice are afraid of cats.", "Emily is a mouse.", "Mice are afraid of wolves."],
                    "What is Emily afraid of?") is None
    assert solve_15(["Mice are afraid of cats.", "Emily is a mouse."], "What is Emily afraid of?") == "cat"
    assert solve_16(["Lily is a swan.", "Lily is white.", "Greg is a swan.", "Brian is a swan.", "Brian is gray."],
                    "What color is Greg?") is None
    assert solve_16(["Lily is a swan.", "Lily is white.", "Greg is a swan."], "What color is Greg?") == "white"
    # the triangle may be left or right of the square: depends on distances the facts do not give
    facts = ["The triangle is to the right of the red square.", "The red sphere is to the left of the triangle."]
    assert solve_17(facts, "Is the red sphere to the left of the red square?") is None
    assert solve_17(facts, "Is the red sphere above the red square?") == "no"
    assert solve_17(facts[:1], "Is the red sphere above the red square?") is None
    assert solve_17(["The triangle is above the red square.", "The red sphere is to the left of the triangle."],
                    "Is the red square to the right of the red sphere?") == "yes"
    assert solve_18(["The box fits inside the chest.", "The suitcase is bigger than the chest."],
                    "Does the box fit in the suitcase?") == "yes"
    assert solve_18(["The box fits inside the chest.", "The suitcase is bigger than the chest."],
                    "Is the box bigger than the suitcase?") == "no"
    assert solve_18(["The box fits inside the chest.", "The box fits inside the suitcase."],
                    "Does the chest fit in the suitcase?") is None
    assert solve_18(["The box fits inside the chest.", "The box is bigger than the chest."],
                    "Does the box fit in the chest?") is None
    square = ["The kitchen is north of the office.", "The garden is east of the office.",
              "The hallway is east of the kitchen."]
    assert solve_19(square, "How do you go from the kitchen to the garden?") is None  # s,e and e,s
    assert solve_19(square[:2], "How do you go from the kitchen to the garden?") == "s,e"
    assert solve_19(["The kitchen is north of the office.", "The kitchen is south of the office."],
                    "How do you go from the kitchen to the office?") is None
    assert solve_20(["Yann is thirsty."], "Why did Yann go to the kitchen?") == "thirsty"
    assert solve_20(["Yann is thirsty.", "Yann went to the garden."], "Where will Yann go?") is None
    assert solve_20(["Yann is tired."], "Why did Yann get the milk?") is None
    with pytest.raises(Unparsed):
        solve_15(["Emily likes cheese."], "What is Emily afraid of?")


@pytest.mark.parametrize("task", sorted(TASKS))
def test_same_seed_same_story_whatever_the_global_random_state(task):
    random.seed(1)
    first = [TASKS[task](random.Random(5)) for _ in range(3)]
    random.seed(2)
    random.random()
    again = [TASKS[task](random.Random(5)) for _ in range(3)]
    assert first == again
    assert len({tuple(TASKS[task](random.Random(s))) for s in range(10)}) > 5


def _answers(task: int) -> Counter:
    return Counter(q.answer for story in STORIES[task] for _, q in _questions(story))


@pytest.mark.parametrize("task", [17, 18])
def test_yes_no_tasks_are_balanced(task):
    counts = _answers(task)
    assert set(counts) == {"yes", "no"}
    assert 0.3 <= counts["yes"] / sum(counts.values()) <= 0.7, counts


@pytest.mark.parametrize("task, answers", [
    (15, {"mouse", "sheep", "wolf", "cat"}),
    (16, {"white", "gray", "yellow", "green"}),
    (20, {"kitchen", "bedroom", "garden", "hungry", "thirsty", "tired", "bored"}),
])
def test_several_answers_appear(task, answers):
    counts = _answers(task)
    assert set(counts) == answers, counts
    assert max(counts.values()) / sum(counts.values()) < 0.5, counts


def test_paths_are_two_compass_steps_of_many_kinds():
    counts = _answers(19)
    assert all(re.fullmatch(r"[nsew],[nsew]", a) for a in counts), counts
    # never a step straight back; every other pair of steps occurs
    assert set(counts) == {f"{p},{q}" for p in "nsew" for q in "nsew" if {p, q} not in ({"n", "s"}, {"e", "w"})}


def test_story_shapes_follow_the_original_tasks():
    def shape(story):
        return sum(isinstance(line, Fact) for line in story), len(_questions(story))

    assert {shape(s) for s in STORIES[15]} == {(8, 4)}
    assert {shape(s) for s in STORIES[16]} == {(9, 1)}
    assert {shape(s) for s in STORIES[17]} == {(2, 6)}
    assert {shape(s) for s in STORIES[18]} == {(5, 2)}
    assert {shape(s) for s in STORIES[19]} == {(5, 1)}
    assert {shape(s) for s in STORIES[20]} == {(12, 12)}
    for task, stories in STORIES.items():
        for story in stories:
            assert all(line.text.endswith("?" if isinstance(line, Question) else ".") for line in story)
    # reasoning over more than one fact: positions through both facts, sizes through chains of 2-3 facts
    assert all(any(len(q.supports) == 2 for _, q in _questions(s)) for s in STORIES[17])
    chains = Counter(max(len(q.supports) for _, q in _questions(s)) for s in STORIES[18])
    assert set(chains) >= {2, 3} and chains[1] == 0, chains


def test_motivation_questions_follow_the_event_they_ask_about():
    """"Why did X go to the P?" comes right after X went to P; "Why did X get the O?" right after X took O;
    "Where will X go?" before X goes anywhere."""
    for story in STORIES[20]:
        for i, q in _questions(story):
            before = story[i - 2]
            assert isinstance(before, Fact)
            what, g = _match({"where": r"Where will (\w+) go\?", "go": r"Why did (\w+) go to the (\w+)\?",
                              "take": r"Why did (\w+) get the (\w+)\?"}, q.text)
            kind, h = _match(PATTERNS_20, before.text)
            assert kind == {"where": "need", "go": "go", "take": "take"}[what] and h[0] == g[0], (before, q)
            if what != "where":
                assert h[1] == g[1]
