"""bAbI tasks 15-20: basic deduction, basic induction, positional reasoning, size reasoning, path finding and
agent's motivations, generated from the task definitions of Weston et al. 2015 (table 1 and section 4).

These six are puzzles more than a world simulation: each story draws a small hidden truth (who fears whom, each
species' colour, where the shapes stand, a size order, a room map, each actor's need), states part of it as
facts and asks questions whose answers follow from the stated part. Every generator is
`story(rng: random.Random) -> list[Line]`, draws only from `rng` (fixed seeds give fixed files), and sets
`Question.supports` to the line numbers of the facts the answer follows from. The driver in `babi.py` reads
`TASKS`.
"""
from __future__ import annotations

import random
from itertools import permutations

from .babi_lines import Fact, Line, Question

# task 15: plural (as the rules say it) -> singular (as "Gertrude is a mouse." and the answers say it)
ANIMALS = {"mice": "mouse", "sheep": "sheep", "wolves": "wolf", "cats": "cat"}
DEDUCTION_NAMES = ("Gertrude", "Winona", "Emily", "Jessica")

# task 16
SPECIES = ("swan", "lion", "frog", "rhino")
COLORS = ("white", "gray", "yellow", "green")
INDUCTION_NAMES = ("Lily", "Bernhard", "Brian", "Julius", "Greg")

# task 17: relation -> (axis, sign); "A is to the left of B" puts A on B's row at a smaller x
SHAPES = ("triangle", "red square", "blue square", "pink rectangle", "yellow square", "red sphere")
RELATIONS = {"to the left of": (0, -1), "to the right of": (0, 1), "above": (1, 1), "below": (1, -1)}

# task 18
CONTAINERS = ("box", "box of chocolates", "chest", "chocolate", "container", "suitcase")

# task 19: direction -> unit step on the grid (x east, y north)
ROOMS = ("kitchen", "office", "hallway", "garden", "bedroom", "bathroom")
COMPASS = {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0)}
OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}

# task 20: need -> (where it sends an actor, what the actor takes there)
NEEDS = {"hungry": ("kitchen", "apple"), "thirsty": ("kitchen", "milk"),
         "tired": ("bedroom", "pajamas"), "bored": ("garden", "football")}
ACTORS = ("Sumit", "Yann", "Jason", "Antoine")
GO = ("went to", "journeyed to", "travelled to", "moved to")
TAKE = ("grabbed", "picked up", "got", "took")


def _interleave(rng: random.Random, queues: list[list]) -> list:
    """The items of all queues in one random order that keeps each queue's own order."""
    queues = [list(q) for q in queues if q]
    out = []
    while queues:
        i = rng.randrange(len(queues))
        out.append(queues[i].pop(0))
        queues = [q for q in queues if q]
    return out


def basic_deduction(rng: random.Random) -> list[Line]:
    """Task 15, basic deduction: a rule about a species ("Sheep are afraid of wolves.") and the species of
    one animal ("Gertrude is a sheep.") give "What is Gertrude afraid of?" wolf. Four rules (one per species,
    each fearing another species) and four members, shuffled; one question per member."""
    species = list(ANIMALS)
    fears = {s: rng.choice([o for o in species if o != s]) for s in species}
    kind = {name: rng.choice(species) for name in DEDUCTION_NAMES}
    facts = ([(s, f"{s.capitalize()} are afraid of {o}.") for s, o in fears.items()]
             + [(name, f"{name} is a {ANIMALS[s]}.") for name, s in kind.items()])
    rng.shuffle(facts)
    line_of = {key: i for i, (key, _) in enumerate(facts, 1)}
    lines: list[Line] = [Fact(text) for _, text in facts]
    for name in rng.sample(DEDUCTION_NAMES, len(DEDUCTION_NAMES)):
        s = kind[name]
        lines.append(Question(f"What is {name} afraid of?", ANIMALS[fears[s]], (line_of[name], line_of[s])))
    return lines


def basic_induction(rng: random.Random) -> list[Line]:
    """Task 16, basic induction: from one member of a species and its colour ("Lily is a swan. Lily is
    white.") generalise to another member ("Greg is a swan. What color is Greg?" white). Four animals with
    their species and colour, the asked one's species last; each species has one colour in a story, so the
    members seen never disagree and the induction has one answer."""
    asked, *others = rng.sample(INDUCTION_NAMES, len(INDUCTION_NAMES))
    color = {s: rng.choice(COLORS) for s in SPECIES}
    kind = {name: rng.choice(SPECIES) for name in others}
    kind[asked] = rng.choice([kind[name] for name in others])
    order = _interleave(rng, [[(name, f"{name} is a {kind[name]}."), (name, f"{name} is {color[kind[name]]}.")]
                              for name in others])
    lines: list[Line] = [Fact(text) for _, text in order] + [Fact(f"{asked} is a {kind[asked]}.")]
    # the asked one's species, then the last member of it whose colour was told: its species and colour
    at: dict[str, list[int]] = {}  # name -> the line numbers of its species and its colour
    for i, (name, _) in enumerate(order, 1):
        at.setdefault(name, []).append(i)
    last = max((name for name in others if kind[name] == kind[asked]), key=lambda name: at[name][1])
    supports = (len(lines), *at[last])
    lines.append(Question(f"What color is {asked}?", color[kind[asked]], supports))
    return lines


def positional_reasoning(rng: random.Random) -> list[Line]:
    """Task 17, positional reasoning: two facts place three shapes ("The triangle is above the pink
    rectangle. The blue square is to the left of the triangle.") and yes/no questions compare two of them along
    one axis ("Is the pink rectangle to the right of the blue square?" yes), from one fact or through both.
    A fact means directly so: "above" is the same column, higher up, at any distance. The second fact never
    points back along the first one's axis, so every comparison holds whatever the distances; four questions
    need both facts (two yes, two no), two need one (one yes, one no)."""
    b, a, c = rng.sample(SHAPES, 3)
    r1 = rng.choice(list(RELATIONS))
    axis1, sign1 = RELATIONS[r1]
    r2 = rng.choice([r for r, step in RELATIONS.items() if step != (axis1, -sign1)])
    # unit steps stand for any distances: the sign of every difference is the same
    pos = {b: [0, 0], a: [0, 0]}
    pos[a][axis1] += sign1
    pos[c] = list(pos[a])
    pos[c][RELATIONS[r2][0]] += RELATIONS[r2][1]
    supports = {frozenset((a, b)): (1,), frozenset((c, a)): (2,), frozenset((b, c)): (1, 2)}
    # (needs both facts, answer is yes) -> questions
    pool: dict[tuple[bool, bool], list[Question]] = {(two, yes): [] for two in (True, False)
                                                     for yes in (True, False)}
    for x, y in permutations((a, b, c), 2):
        for r, (axis, sign) in RELATIONS.items():
            yes = (pos[x][axis] - pos[y][axis]) * sign > 0
            used = supports[frozenset((x, y))]
            q = Question(f"Is the {x} {r} the {y}?", "yes" if yes else "no", used)
            pool[len(used) == 2, yes].append(q)
    questions = (rng.sample(pool[True, True], 2) + rng.sample(pool[True, False], 2)
                 + rng.sample(pool[False, True], 1) + rng.sample(pool[False, False], 1))
    rng.shuffle(questions)
    return [Fact(f"The {a} is {r1} the {b}."), Fact(f"The {c} is {r2} the {a}."), *questions]


def _chains(edges: list[tuple[str, str, int]]) -> dict[tuple[str, str], tuple[int, ...]]:
    """(smaller, bigger) -> the line numbers of a shortest chain of facts from one to the other, for every pair
    the facts order; `edges` are (smaller, bigger, line)."""
    out: dict[tuple[str, str], tuple[int, ...]] = {}
    for start in dict.fromkeys(s for s, _, _ in edges):
        frontier, seen = [(start, ())], {start}
        while frontier:
            ahead = []
            for node, path in frontier:
                for small, big, line in edges:
                    if small == node and big not in seen:
                        seen.add(big)
                        out[start, big] = path + (line,)
                        ahead.append((big, path + (line,)))
            frontier = ahead
    return out


def size_reasoning(rng: random.Random) -> list[Line]:
    """Task 18, size reasoning: five facts order objects by size ("The box fits inside the chest." "The
    suitcase is bigger than the chest.") and two yes/no questions ("Does the box fit in the suitcase?" yes,
    "Is the box bigger than the suitcase?" no) follow a chain of two or three of them where the story has
    one. The sizes are one hidden order, so the facts never contradict, and a question only asks about a pair
    the facts order."""
    order = rng.sample(CONTAINERS, len(CONTAINERS))  # smallest first
    rank = {o: i for i, o in enumerate(order)}
    chain = sorted(rng.sample(order, rng.choice((3, 4))), key=rank.__getitem__)
    pairs = list(zip(chain, chain[1:]))
    # distractors never join two links of the chain, so its ends stay apart by the whole chain
    spare = [(x, y) for i, x in enumerate(order) for y in order[i + 1:] if not (x in chain and y in chain)]
    pairs += rng.sample(spare, 5 - len(pairs))
    rng.shuffle(pairs)
    lines: list[Line] = [Fact(rng.choice((f"The {x} fits inside the {y}.", f"The {y} is bigger than the {x}.")))
                         for x, y in pairs]
    found = list(_chains([(x, y, i) for i, (x, y) in enumerate(pairs, 1)]).items())
    rng.shuffle(found)
    found.sort(key=lambda item: len(item[1]) < 2)  # chains of two facts or more first
    for (small, big), used in found[:2]:
        text, yes = rng.choice(((f"Does the {small} fit in the {big}?", True),
                                (f"Does the {big} fit in the {small}?", False),
                                (f"Is the {big} bigger than the {small}?", True),
                                (f"Is the {small} bigger than the {big}?", False)))
        lines.append(Question(text, "yes" if yes else "no", tuple(sorted(used))))
    return lines


def path_finding(rng: random.Random) -> list[Line]:
    """Task 19, path finding: five facts lay six rooms out on a grid ("The kitchen is north of the office.")
    and the question asks for the two moves between two rooms ("How do you go from the kitchen to the
    garden?" s,e). Each room is put next to exactly one room already placed, so the rooms form a tree both as
    told and on the grid: the path is unique and no untold shortcut exists."""
    rooms = rng.sample(ROOMS, len(ROOMS))
    cell = {rooms[0]: (0, 0)}
    facts: list[tuple[frozenset, str]] = []
    for room in rooms[1:]:
        while True:
            parent, way = rng.choice(list(cell)), rng.choice(list(COMPASS))
            x, y = cell[parent][0] + COMPASS[way][0], cell[parent][1] + COMPASS[way][1]
            near = [c for c in cell.values() if abs(c[0] - x) + abs(c[1] - y) <= 1]
            if near == [cell[parent]]:
                break
        cell[room] = (x, y)
        text = rng.choice((f"The {room} is {way} of the {parent}.",
                           f"The {parent} is {OPPOSITE[way]} of the {room}."))
        facts.append((frozenset((room, parent)), text))
    rng.shuffle(facts)
    line_of = {pair: i for i, (pair, _) in enumerate(facts, 1)}
    # every walk of two facts: from x through m to y
    walks = [(x, m, y) for m in rooms for x in rooms for y in rooms
             if x != y and frozenset((x, m)) in line_of and frozenset((m, y)) in line_of]
    x, m, y = rng.choice(walks)

    def move(src: str, dst: str) -> str:
        step = (cell[dst][0] - cell[src][0], cell[dst][1] - cell[src][1])
        return next(way[0] for way, unit in COMPASS.items() if unit == step)

    question = Question(f"How do you go from the {x} to the {y}?", f"{move(x, m)},{move(m, y)}",
                        (line_of[frozenset((x, m))], line_of[frozenset((m, y))]))
    return [Fact(text) for _, text in facts] + [question]


def agents_motivations(rng: random.Random) -> list[Line]:
    """Task 20, agent's motivations: a need says where an actor will go and what they take there ("John is
    hungry." -> kitchen, apple), and the questions run both ways along it: "Where will John go?" kitchen,
    "Why did John go to the kitchen?" hungry, "Why did John get the apple?" hungry. Thirsty also sends an
    actor to the kitchen, so "why" needs the actor's own need. Four actors, one need each, their
    need / going / taking interleaved, each fact followed by its question."""
    queues = []
    for name in ACTORS:
        need = rng.choice(list(NEEDS))
        place, thing = NEEDS[need]
        go, take = rng.choice(GO), rng.choice(TAKE)
        queues.append([(name, f"{name} is {need}.", f"Where will {name} go?", place),
                       (name, f"{name} {go} the {place}.", f"Why did {name} go to the {place}?", need),
                       (name, f"{name} {take} the {thing} there.", f"Why did {name} get the {thing}?", need)])
    lines: list[Line] = []
    need_line: dict[str, int] = {}
    for name, fact, question, answer in _interleave(rng, queues):
        lines.append(Fact(fact))
        need_line.setdefault(name, len(lines))
        lines.append(Question(question, answer, (need_line[name],)))
    return lines


TASKS = {
    15: basic_deduction,
    16: basic_induction,
    17: positional_reasoning,
    18: size_reasoning,
    19: path_finding,
    20: agents_motivations,
}
