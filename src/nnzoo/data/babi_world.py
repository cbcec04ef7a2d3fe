"""bAbI tasks 1-14 as a small world simulation: people move between rooms, pick things up, drop them and give
them to each other, and every sentence the story tells is one event of that world.

Written from the task definitions of Weston et al. 2015 ("Towards AI-complete question answering", table 1 and
section 4), imitating their sentence shapes and vocabulary. `World` keeps, beside who is where and who holds
what, the line number of the sentence that made each piece of state true: a question's supports are those
lines, so the answer follows from them alone. A question is asked only when its answer is certain from the
story so far (never "where is the milk?" before anyone touched it, never "before the kitchen" when the thing
was in the kitchen twice).

Every task is one short function `story(rng) -> list[Line]` drawing only from the `rng` it is given; `TASKS`
maps the task number to it. Choices are made from tuples and insertion-ordered dicts only (never from a set,
whose order changes between processes), so a seed gives the same stories on every machine.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from .babi_lines import Fact, Line, Question

# the casts and settings of the original tasks
PEOPLE = ("Mary", "John", "Sandra", "Daniel")
GIVERS = ("Bill", "Fred", "Jeff", "Mary")  # task 5
TOWNSFOLK = ("Bill", "Fred", "Julie", "Mary")  # tasks 10 and 14
HE = ("John", "Daniel", "Bill", "Fred", "Jeff")
ROOMS = ("bathroom", "bedroom", "garden", "hallway", "kitchen", "office")
TOWN = ("bedroom", "cinema", "kitchen", "office", "park", "school")  # tasks 10 and 14
THINGS = ("apple", "football", "milk")

MOVES = ("moved to", "went to", "journeyed to", "travelled to")
BACK = "went back to"
"""Said only of someone returning to a room they were in before."""
TAKES = ("picked up", "got", "grabbed", "took")
DROPS = ("dropped", "discarded", "put down", "left")
GIVES = ("gave", "handed", "passed")
THEN = ("Then", "After that", "Following that", "Afterwards")
"""How a sentence whose subject is a pronoun starts (tasks 11 and 13)."""

# task 4: a compass on a grid; "A is north of B" puts A one step north of B
DIRECTIONS = ("north", "south", "east", "west")
OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}

# task 14: the four times of day, in order, and the ways a sentence says them
PERIODS = ("yesterday", "this morning", "this afternoon", "this evening")
LEADS = (("Yesterday",), ("This morning", "In the morning"), ("This afternoon", "In the afternoon"),
         ("This evening", "In the evening"))

NUMBERS = ("none", "one", "two", "three")
COUNT_WEIGHTS = (2, 1, 2, 4)
"""Task 7 draws the answer among the counts some person has now with these weights: "one" is the count most
often available, "three" the rarest (about 19 / 40 / 29 / 13 % of the answers come out)."""
QUESTIONS = 5
"""Questions per story in the tasks that interleave them with the facts, as the original files do."""


@dataclass(frozen=True)
class Gift:
    giver: str
    thing: str
    receiver: str
    line: int


class World:
    """Who is where and holds what, and the story told about it so far.

    Each piece of state keeps the line numbers of the sentences that make it true (a question's supports)."""

    def __init__(self, rng: random.Random, people=PEOPLE, places=ROOMS, things=(), *, there: bool = False,
                 meet: float = 0.0, passive: float = 0.0):
        self.rng = rng
        self.people, self.places, self.things = people, places, things
        self.there = there
        """Say "picked up the milk there", as task 5's stories do."""
        self.meet = meet
        """Chance that a move goes to a room someone else is in, so that things can change hands."""
        self.passive = passive
        """Chance that a gift is told as "Jeff was given the milk by Bill"."""
        self.lines: list[Line] = []
        self.asked = 0
        self.where: dict[str, tuple[str, int]] = {}  # person -> (place, the line that put them there)
        self.visited: dict[str, list[str]] = {p: [] for p in people}
        self.holder: dict[str, tuple[str, int]] = {}  # thing -> (person, the line they got it on)
        self.lying: dict[str, tuple[str, tuple[int, ...]]] = {}  # thing -> (place, dropper's place line + drop)
        self.trail: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
        """thing -> every place it has been in turn, each with the lines that show it arrived there."""
        self.touched: dict[str, dict[str, int]] = {p: {} for p in people}
        """person -> {thing: the last line that gave it to them or took it from them}."""
        self.gifts: list[Gift] = []

    # ---------------------------------------------------------------------------- telling the story
    def say(self, text: str) -> int:
        self.lines.append(Fact(text))
        return len(self.lines)

    def ask(self, text: str, answer: str, supports) -> None:
        self.lines.append(Question(text, answer, tuple(sorted(set(supports)))))
        self.asked += 1

    def verb(self, people, place: str) -> str:
        back = all(place in self.visited[p] for p in people)
        return self.rng.choice(MOVES + (BACK,) if back else MOVES)

    # ---------------------------------------------------------------------------- events
    def new_place(self, people) -> str:
        """A room none of `people` is in; with chance `meet` one where somebody else is."""
        here = [self.where[p][0] for p in people if p in self.where]
        choices = [q for q in self.places if q not in here]
        company = [q for o, (q, _) in self.where.items() if o not in people and q in choices]
        if company and self.rng.random() < self.meet:
            return self.rng.choice(company)
        return self.rng.choice(choices)

    def arrive(self, person: str, place: str, line: int) -> None:
        before = self.where.get(person)
        self.where[person] = (place, line)
        self.visited[person].append(place)
        for thing in self.holding(person):  # what they carry comes along: got it, was at `before`, now here
            self.trail[thing].append((place, (self.holder[thing][1], before[1], line)))

    def move(self, person: str, place: str | None = None, subject: str | None = None) -> int:
        place = place or self.new_place([person])
        line = self.say(f"{subject or person} {self.verb([person], place)} the {place}.")
        self.arrive(person, place, line)
        return line

    def take(self, person: str, thing: str) -> int:
        line = self.say(f"{person} {self.rng.choice(TAKES)} the {thing}{' there' if self.there else ''}.")
        place, at = self.where[person]
        self.holder[thing] = (person, line)
        self.lying.pop(thing, None)
        self.trail.setdefault(thing, [(place, (at, line))])
        self.touched[person][thing] = line
        return line

    def drop(self, person: str, thing: str) -> int:
        line = self.say(f"{person} {self.rng.choice(DROPS)} the {thing}{' there' if self.there else ''}.")
        place, at = self.where[person]
        del self.holder[thing]
        self.lying[thing] = (place, (at, line))
        self.touched[person][thing] = line
        return line

    def give(self, giver: str, thing: str, receiver: str) -> int:
        if self.rng.random() < self.passive:
            line = self.say(f"{receiver} was given the {thing} by {giver}.")
        else:
            line = self.say(f"{giver} {self.rng.choice(GIVES)} the {thing} to {receiver}.")
        self.holder[thing] = (receiver, line)
        self.touched[giver][thing] = self.touched[receiver][thing] = line
        self.gifts.append(Gift(giver, thing, receiver, line))
        return line

    def act(self, move: float = 1.0, take: float = 0.0, drop: float = 0.0, give: float = 0.0) -> None:
        """One random event among those possible now, the kinds drawn with these weights."""
        free = [t for t in self.things if t not in self.holder]
        options = {
            "move": [(p,) for p in self.people],
            "take": [(p, t) for p, (q, _) in self.where.items() for t in free
                     if t not in self.lying or self.lying[t][0] == q],
            "drop": [(p, t) for t, (p, _) in self.holder.items()],
            "give": [(p, t, o) for t, (p, _) in self.holder.items() for o, (q, _) in self.where.items()
                     if o != p and q == self.where[p][0]],
        }
        weights = {"move": move, "take": take, "drop": drop, "give": give}
        kinds = [k for k in options if options[k] and weights[k] > 0]
        kind = self.rng.choices(kinds, [weights[k] for k in kinds])[0]
        getattr(self, kind)(*self.rng.choice(options[kind]))

    # ---------------------------------------------------------------------------- what is known
    def holding(self, person: str) -> list[str]:
        return sorted(t for t, (p, _) in self.holder.items() if p == person)

    def place_of(self, thing: str) -> tuple[str, tuple[int, ...]] | None:
        """Where a thing is now and the two lines that show it (got it + holder's place, or place + drop)."""
        if thing in self.holder:
            person, got = self.holder[thing]
            place, at = self.where[person]
            return place, (got, at)
        return self.lying.get(thing)

    def located(self) -> list[str]:
        return list(self.where)


def pronoun(person: str) -> str:
    return "he" if person in HE else "she"


# -------------------------------------------------------------------------------------------------- tasks
def single_supporting_fact(rng: random.Random) -> list[Line]:
    """Where is Mary? The last sentence that moved Mary answers it (one supporting fact among distractors)."""
    w = World(rng)
    for _ in range(QUESTIONS):
        for _ in range(2):
            w.move(rng.choice(PEOPLE))
        person = rng.choice(w.located())
        place, line = w.where[person]
        w.ask(f"Where is {person}?", place, [line])
    return w.lines


def two_supporting_facts(rng: random.Random) -> list[Line]:
    """Where is the football? Two facts chained: who got the thing (or dropped it) and where that person is
    (or was when they dropped it)."""
    w = World(rng, things=THINGS)
    while w.asked < QUESTIONS:
        for _ in range(rng.randint(1, 4)):
            w.act(move=3, take=1.5, drop=1)
        seen = [t for t in THINGS if w.place_of(t)]
        if seen:
            thing = rng.choice(seen)
            place, lines = w.place_of(thing)
            w.ask(f"Where is the {thing}?", place, lines)
    return w.lines


def three_supporting_facts(rng: random.Random) -> list[Line]:
    """Where was the apple before the kitchen? Three facts chained: who got the thing, the room they carried
    it from and the move that brought it to where it is now."""
    w = World(rng, things=THINGS)
    while w.asked < QUESTIONS and not (w.asked and len(w.lines) > 60):
        for _ in range(rng.randint(2, 5)):
            w.act(move=4, take=2, drop=1)
        # a thing that was carried to where it is now, and was never there before (else "before" is ambiguous)
        carried = [t for t, trail in w.trail.items()
                   if len(trail) > 1 and [q for q, _ in trail].count(trail[-1][0]) == 1]
        if carried:
            thing = rng.choice(carried)
            (before, _), (now, lines) = w.trail[thing][-2:]
            w.ask(f"Where was the {thing} before the {now}?", before, lines)
    return w.lines


def two_arg_relations(rng: random.Random) -> list[Line]:
    """What is north of the bedroom? / What is the bedroom north of? One fact, read forwards or backwards:
    "A is north of B" also says B is south of A."""
    centre, a, b = rng.sample(ROOMS, 3)
    da, db = rng.sample(DIRECTIONS, 2)  # two different directions, so no two rooms share a square
    pairs = [(a, da, centre), (b, db, centre)]
    rng.shuffle(pairs)
    lines: list[Line] = []
    known = []  # (x, d, y, line): x is d of y, every fact with its converse
    for x, d, y in pairs:
        if rng.random() < 0.5:
            x, d, y = y, OPPOSITE[d], x
        lines.append(Fact(f"The {x} is {d} of the {y}."))
        known += [(x, d, y, len(lines)), (y, OPPOSITE[d], x, len(lines))]
    x, d, y, line = rng.choice(known)
    if rng.random() < 0.5:
        lines.append(Question(f"What is {d} of the {y}?", x, (line,)))
    else:
        lines.append(Question(f"What is the {x} {d} of?", y, (line,)))
    return lines


FIVE = (  # task 5's questions: (wording, the parts of a gift it names, the part it asks for)
    ("Who gave the {thing} to {receiver}?", ("thing", "receiver"), "giver"),
    ("Who did {giver} give the {thing} to?", ("giver", "thing"), "receiver"),
    ("What did {giver} give to {receiver}?", ("giver", "receiver"), "thing"),
    ("Who gave the {thing}?", ("thing",), "giver"),
    ("Who received the {thing}?", ("thing",), "receiver"),
    ("What did {receiver} receive?", ("receiver",), "thing"),
)


def three_arg_relations(rng: random.Random) -> list[Line]:
    """Who gave the cake to Fred? / What did Jeff receive? Giving relates three things (giver, object,
    receiver); a question names two or one of them and asks for another. Only asked when every gift of the
    story matching the named parts agrees on the answer."""
    w = World(rng, GIVERS, ROOMS, THINGS, there=True, meet=0.6, passive=0.2)
    while w.asked < QUESTIONS and not (w.asked and len(w.lines) > 60):
        w.act(move=2, take=1.5, drop=0.3, give=4)
        if not w.gifts or w.gifts[-1].line != len(w.lines) or rng.random() < 0.3:
            continue
        gift = rng.choice(w.gifts[-3:])
        for text, named, wanted in rng.sample(FIVE, len(FIVE)):
            same = [g for g in w.gifts if all(getattr(g, k) == getattr(gift, k) for k in named)]
            if len({getattr(g, wanted) for g in same}) == 1:
                w.ask(text.format(giver=gift.giver, thing=gift.thing, receiver=gift.receiver),
                      getattr(gift, wanted), [same[-1].line])
                break
    return w.lines


def yes_no_questions(rng: random.Random) -> list[Line]:
    """Is John in the playground? Task 1 asked as a yes/no question (half the answers yes), with things
    picked up and dropped in between."""
    w = World(rng, things=THINGS)
    for _ in range(QUESTIONS):
        for _ in range(2):
            w.act(move=3, take=1, drop=1)
        person = rng.choice(w.located())
        place, line = w.where[person]
        asked = place if rng.random() < 0.5 else rng.choice([q for q in ROOMS if q != place])
        w.ask(f"Is {person} in the {asked}?", "yes" if asked == place else "no", [line])
    return w.lines


def counting(rng: random.Random) -> list[Line]:
    """How many objects is Daniel holding? Count what a person got minus what they dropped or gave away;
    the supports are the last line about each thing they ever held."""
    w = World(rng, things=THINGS, meet=0.4)
    while w.asked < QUESTIONS:
        for _ in range(rng.randint(1, 3)):
            w.act(move=1.5, take=2.5, drop=1, give=1)
        by_count: dict[int, list[str]] = {}
        for p in PEOPLE:
            if w.touched[p]:
                by_count.setdefault(len(w.holding(p)), []).append(p)
        if by_count:  # an answer first, then someone it fits: keeps "two" and "three" from being rare
            counts = sorted(by_count)
            person = rng.choice(by_count[rng.choices(counts, [COUNT_WEIGHTS[n] for n in counts])[0]])
            w.ask(f"How many objects is {person} holding?", NUMBERS[len(w.holding(person))],
                  w.touched[person].values())
    return w.lines


def lists_sets(rng: random.Random) -> list[Line]:
    """What is Daniel carrying? The set of things a person holds, as a comma-separated list in alphabetical
    order ("apple,milk"), or "nothing"."""
    w = World(rng, things=THINGS, meet=0.4)
    while w.asked < QUESTIONS:
        for _ in range(rng.randint(1, 3)):
            w.act(move=1.5, take=2.5, drop=1, give=1)
        people = [p for p in PEOPLE if w.touched[p]]
        if people:
            person = rng.choice(people)
            answer = ",".join(w.holding(person)) or "nothing"
            w.ask(f"What is {person} {rng.choice(('carrying', 'holding'))}?", answer, w.touched[person].values())
    return w.lines


def simple_negation(rng: random.Random) -> list[Line]:
    """Is Fred in the office? The last sentence about Fred may say where he is or that he is no longer
    somewhere: "no longer in the office" answers no for the office and nothing for any other room."""
    w = World(rng)
    state: dict[str, tuple[str, bool, int]] = {}  # person -> (place, there or known not to be there, line)
    for _ in range(QUESTIONS):
        for _ in range(2):
            person = rng.choice(PEOPLE)
            known = state.get(person)
            if known and known[1] and rng.random() < 0.4:
                how = rng.choice(("is no longer in", "is not in"))
                state[person] = (known[0], False, w.say(f"{person} {how} the {known[0]}."))
            else:
                place = rng.choice([q for q in ROOMS if not known or q != known[0]])
                verb = rng.choice((*MOVES, "is in"))
                state[person] = (place, True, w.say(f"{person} {verb} the {place}."))
        yes = rng.random() < 0.5 and any(there for _, there, _ in state.values())
        person = rng.choice([p for p, (_, there, _) in state.items() if there or not yes])
        place, there, line = state[person]
        asked = place if yes or not there else rng.choice([q for q in ROOMS if q != place])
        w.ask(f"Is {person} in the {asked}?", "yes" if yes else "no", [line])
    return w.lines


def indefinite_knowledge(rng: random.Random) -> list[Line]:
    """Is John in the classroom? "John is either in the classroom or the playground" answers maybe for
    those two rooms and no for any other; a plain sentence answers yes or no."""
    w = World(rng, TOWNSFOLK, TOWN)
    state: dict[str, tuple[tuple[str, ...], int]] = {}  # person -> (the one or two places, line)
    for _ in range(QUESTIONS):
        for _ in range(2):
            person = rng.choice(TOWNSFOLK)
            if rng.random() < 0.4:
                a, b = rng.sample(TOWN, 2)
                state[person] = ((a, b), w.say(f"{person} is either in the {a} or the {b}."))
            else:
                here = state[person][0] if person in state else ()
                place = rng.choice([q for q in TOWN if (q,) != here])
                verb = rng.choice((*MOVES, "is in"))
                state[person] = ((place,), w.say(f"{person} {verb} the {place}."))
        sure = [p for p, (places, _) in state.items() if len(places) == 1]
        unsure = [p for p, (places, _) in state.items() if len(places) == 2]
        answer = rng.choice(["no"] + ["yes"] * bool(sure) + ["maybe"] * bool(unsure))
        person = rng.choice({"yes": sure, "maybe": unsure, "no": list(state)}[answer])
        places, line = state[person]
        asked = rng.choice(places if answer != "no" else [q for q in TOWN if q not in places])
        w.ask(f"Is {person} in the {asked}?", answer, [line])
    return w.lines


def basic_coreference(rng: random.Random) -> list[Line]:
    """Where is Daniel? "Daniel went to the kitchen. Then he went to the studio.": "he" is the person the
    sentence before is about, so the answer needs both sentences."""
    w = World(rng)
    shown: dict[str, tuple[int, ...]] = {}  # person -> the lines that say where they are
    for _ in range(QUESTIONS):
        person = rng.choice(PEOPLE)
        named = w.move(person)
        shown[person] = (named,)
        if rng.random() < 0.8:
            then = w.move(person, subject=f"{rng.choice(THEN)} {pronoun(person)}")
            shown[person] = (named, then)
        else:
            other = rng.choice([p for p in PEOPLE if p != person])
            shown[other] = (w.move(other),)
        asked = rng.choice(list(shown))
        w.ask(f"Where is {asked}?", w.where[asked][0], shown[asked])
    return w.lines


def conjunction(rng: random.Random) -> list[Line]:
    """Where is Mary? "Mary and Jeff went to the kitchen." moves two people at once; the last sentence
    naming Mary answers it."""
    w = World(rng)
    for _ in range(QUESTIONS):
        for _ in range(2):
            pair = rng.sample(PEOPLE, 2)
            place = w.new_place(pair)
            line = w.say(f"{pair[0]} and {pair[1]} {w.verb(pair, place)} the {place}.")
            for p in pair:
                w.arrive(p, place, line)
        person = rng.choice(w.located())
        place, line = w.where[person]
        w.ask(f"Where is {person}?", place, [line])
    return w.lines


def compound_coreference(rng: random.Random) -> list[Line]:
    """Where is Daniel? "Daniel and Sandra journeyed to the office. Then they went to the garden.": "they" is
    the pair the sentence before named, so the answer needs both sentences."""
    w = World(rng)
    shown: dict[str, tuple[int, ...]] = {}
    for _ in range(QUESTIONS):
        pairs = [rng.sample(PEOPLE, 2)]
        if rng.random() < 0.2:
            pairs.append(rng.sample(PEOPLE, 2))
        for pair in pairs:
            place = w.new_place(pair)
            named = w.say(f"{pair[0]} and {pair[1]} {w.verb(pair, place)} the {place}.")
            for p in pair:
                w.arrive(p, place, named)
                shown[p] = (named,)
        if len(pairs) == 1:
            place = w.new_place(pair)
            then = w.say(f"{rng.choice(THEN)} they {w.verb(pair, place)} the {place}.")
            for p in pair:
                w.arrive(p, place, then)
                shown[p] = (named, then)
        asked = rng.choice(list(shown))
        w.ask(f"Where is {asked}?", w.where[asked][0], shown[asked])
    return w.lines


def time_reasoning(rng: random.Random) -> list[Line]:
    """Where was Julie before the park? Sentences say where people were at four times of day (yesterday,
    this morning, afternoon, evening) in any order; the answer is the place of the time just before (or
    after) the one named, and is asked only once that time has been told."""
    cast = rng.sample(TOWNSFOLK, rng.randint(2, 3))
    events = []
    for person in cast:  # a run of 2-4 consecutive times, each in a different place
        n = rng.randint(2, 4)
        start = rng.randint(0, len(PERIODS) - n)
        events += [(person, start + k, place) for k, place in enumerate(rng.sample(TOWN, n))]
    rng.shuffle(events)
    w = World(rng, tuple(cast), TOWN)
    told: dict[str, dict[int, tuple[str, int]]] = {p: {} for p in cast}  # person -> {time: (place, line)}
    asked = set()
    for k, (person, time, place) in enumerate(events):
        verb = rng.choice(MOVES)
        if rng.random() < 0.5:
            line = w.say(f"{rng.choice(LEADS[time])} {person} {verb} the {place}.")
        else:
            line = w.say(f"{person} {verb} the {place} {PERIODS[time]}.")
        told[person][time] = (place, line)
        options = [(p, t, step) for p in cast for t in told[p] for step in (-1, 1)
                   if t + step in told[p] and (p, t, step) not in asked]
        last = k == len(events) - 1
        if options and w.asked < QUESTIONS and (rng.random() < 0.4 or (last and not w.asked)):
            p, t, step = rng.choice(options)
            asked.add((p, t, step))
            (named, a), (answer, b) = told[p][t], told[p][t + step]
            text = f"Where was {p} before the {named}?" if step < 0 else f"Where did {p} go after the {named}?"
            w.ask(text, answer, [a, b])
    return w.lines


TASKS = {
    1: single_supporting_fact,
    2: two_supporting_facts,
    3: three_supporting_facts,
    4: two_arg_relations,
    5: three_arg_relations,
    6: yes_no_questions,
    7: counting,
    8: lists_sets,
    9: simple_negation,
    10: indefinite_knowledge,
    11: basic_coreference,
    12: conjunction,
    13: compound_coreference,
    14: time_reasoning,
}
