"""Go for AlphaGo's policy network: the rules, the 48 input planes, SGF files and GNU Go self-play.

The board (`Board`) follows the rules GNU Go plays by in GTP: stones with no liberty are captured, a move that
leaves its own group without a liberty (suicide) is illegal, and simple ko forbids retaking a single stone at
once. A point is an index p = row * size + col, row 0 at the top (as the board is drawn); the colours are
BLACK = 1 and WHITE = -1, so a colour's opponent is its negation.

The input planes are Silver et al. 2016's Extended Data Table 2, in its order, all from the point of view of
the player to move (`PLANES` names them; `features(board)` computes them):

  0-2    stone colour        player / opponent / empty
  3      ones                a constant plane of 1s
  4-11   turns since         a stone played 1, 2, ..., 7, 8 or more moves ago (passes count)
  12-19  liberties           liberties of the group of each stone: 1, 2, ..., 7, 8 or more
  20-27  capture size        opponent stones a legal move would capture: 0, 1, ..., 6, 7 or more
  28-35  self-atari size     own stones a legal move would leave in atari: 1, ..., 7, 8 or more
  36-43  liberties after     liberties of the move's group after a legal move: 1, ..., 7, 8 or more
  44     ladder capture      a move that puts an opponent group in a ladder it cannot escape
  45     ladder escape       a move that lets an own group in atari run out of its ladder
  46     sensibleness        legal and does not fill one of the player's own eyes
  47     zeros               a constant plane of 0s

All 48 are computed. Ladders are read by a small search (`ladder_capture`, `ladder_escape`) with a budget of
board moves per question; a ladder it cannot finish reading counts as no ladder.

Game records: `read_game` / `write_game` read and write SGF with PyPI's sgfmill; `selfplay` drives GNU Go
(`gnugo --mode gtp --level L --seed S`) through GTP against itself, one .sgf per game, each from a fixed seed
so the set is the same wherever it is made. `python -m nnzoo.data go-games` (data/__main__.py, calling `main`)
is what `nnzoo data install go-games` runs. `load_positions` turns a folder of games into training positions, cached as packed bits.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import queue
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .store import DataError, data_root, gnugo_binary, go_dir, is_installed, missing

EMPTY, BLACK, WHITE = 0, 1, -1
PASS = -1
"""The point of a pass."""
SIZE = 19
"""The only board the policy network plays (its last layer has a bias per point of the 19x19 board)."""
KOMI = 7.5
LEVEL = 1
"""GNU Go's level for self-play (0 weakest and fastest, 10 its default): about 0.2 s a move here."""
MOVE_CAP = 400
"""A self-play game stops after this many moves (19x19 games between equals end near 250)."""
GTP_TIMEOUT = 300.0
"""Seconds GNU Go may take over one GTP reply (a level-1 move takes about 0.2 s here; scoring a game stopped
at the move cap can take a minute) before it counts as hung."""
LADDER_BUDGET = 300
"""Board moves one ladder question may play before it gives up (and answers "no ladder")."""
FEATURES_VERSION = 1
"""Raised whenever `features` changes what it computes, so a cache of older planes is never read."""
GO_DATASETS = ("go-games",)

PLANES = (["player stone", "opponent stone", "empty", "ones"]
          + [f"turns since {k}" for k in ("1", "2", "3", "4", "5", "6", "7", "8+")]
          + [f"liberties {k}" for k in ("1", "2", "3", "4", "5", "6", "7", "8+")]
          + [f"capture size {k}" for k in ("0", "1", "2", "3", "4", "5", "6", "7+")]
          + [f"self-atari size {k}" for k in ("1", "2", "3", "4", "5", "6", "7", "8+")]
          + [f"liberties after move {k}" for k in ("1", "2", "3", "4", "5", "6", "7", "8+")]
          + ["ladder capture", "ladder escape", "sensibleness", "zeros"])
N_PLANES = len(PLANES)  # 48
# first plane of each block of one-hot planes
P_PLAYER, P_OPPONENT, P_EMPTY, P_ONES = 0, 1, 2, 3
P_TURNS, P_LIBERTIES, P_CAPTURE, P_SELF_ATARI, P_LIBS_AFTER = 4, 12, 20, 28, 36
P_LADDER_CAPTURE, P_LADDER_ESCAPE, P_SENSIBLE, P_ZEROS = 44, 45, 46, 47


class IllegalMove(ValueError):
    """A move the rules forbid: on a stone, retaking a ko at once, or suicide."""


# ------------------------------------------------------------------------------------------------ the board
@lru_cache(maxsize=None)
def neighbours(size: int) -> tuple[tuple[int, ...], ...]:
    """The points next to each point (up, down, left, right that are on the board)."""
    out = []
    for r in range(size):
        for c in range(size):
            out.append(tuple(rr * size + cc for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
                             if 0 <= rr < size and 0 <= cc < size))
    return tuple(out)


@lru_cache(maxsize=None)
def diagonals(size: int) -> tuple[tuple[int, ...], ...]:
    out = []
    for r in range(size):
        for c in range(size):
            out.append(tuple(rr * size + cc for rr, cc in ((r - 1, c - 1), (r - 1, c + 1), (r + 1, c - 1),
                                                          (r + 1, c + 1))
                             if 0 <= rr < size and 0 <= cc < size))
    return tuple(out)


class Board:
    """A Go position: the stones, who moves next, the ko point and when each stone was played."""

    def __init__(self, size: int = SIZE):
        self.size = size
        self.nb = neighbours(size)
        self.stones = [EMPTY] * (size * size)
        self.placed = [-(10 ** 6)] * (size * size)
        """The move number each stone was played at (setup stones: long ago)."""
        self.to_move = BLACK
        self.ko = PASS
        """The point the player to move may not play (simple ko), or PASS for none."""
        self.moves = 0
        """Moves played so far, passes included."""

    @classmethod
    def from_rows(cls, rows: list[str], to_move: int = BLACK) -> "Board":
        """A hand-made position: one string per row from the top, X black, O white, . empty."""
        b = cls(len(rows))
        for r, row in enumerate(rows):
            if len(row) != len(rows):
                raise ValueError(f"row {r} has {len(row)} points; a {len(rows)}x{len(rows)} board needs {len(rows)}")
            for c, ch in enumerate(row):
                b.stones[r * b.size + c] = {"X": BLACK, "O": WHITE, ".": EMPTY}[ch]
        b.to_move = to_move
        return b

    def copy(self) -> "Board":
        b = Board.__new__(Board)
        b.size, b.nb, b.to_move, b.ko, b.moves = self.size, self.nb, self.to_move, self.ko, self.moves
        b.stones, b.placed = self.stones[:], self.placed[:]
        return b

    def group(self, p: int) -> tuple[set[int], set[int]]:
        """(stones, liberties) of the group at p, by flood fill."""
        st, nb = self.stones, self.nb
        colour = st[p]
        stones, libs, stack = {p}, set(), [p]
        while stack:
            q = stack.pop()
            for n in nb[q]:
                s = st[n]
                if s == EMPTY:
                    libs.add(n)
                elif s == colour and n not in stones:
                    stones.add(n)
                    stack.append(n)
        return stones, libs

    def play(self, p: int, colour: int | None = None) -> list[int]:
        """Play p (PASS passes) for `colour` (default: the player to move); returns the captured points.
        Raises IllegalMove, leaving the board as it was."""
        if colour is not None and colour != self.to_move:
            self.ko = PASS  # the ko forbade the other player's retake, not this one's
            self.to_move = colour
        c = self.to_move
        if p == PASS:
            self.ko, self.moves, self.to_move = PASS, self.moves + 1, -c
            return []
        if not 0 <= p < len(self.stones):
            raise IllegalMove(f"point {p} is off the {self.size}x{self.size} board")
        if self.stones[p] != EMPTY:
            raise IllegalMove(f"{point_name(p, self.size)} is occupied")
        if p == self.ko:
            raise IllegalMove(f"{point_name(p, self.size)} retakes the ko at once")
        st = self.stones
        st[p] = c
        captured: list[int] = []
        for n in self.nb[p]:
            if st[n] == -c:
                stones, libs = self.group(n)
                if not libs:
                    for q in stones:
                        st[q] = EMPTY
                    captured.extend(stones)
        stones, libs = self.group(p)
        if not libs:  # nothing was captured (else the captured points would be liberties)
            st[p] = EMPTY
            raise IllegalMove(f"{point_name(p, self.size)} is suicide")
        # simple ko: a single stone that captured a single stone and has that point as its one liberty
        self.ko = captured[0] if len(captured) == 1 and len(stones) == 1 and len(libs) == 1 else PASS
        self.placed[p] = self.moves
        self.moves += 1
        self.to_move = -c
        return captured

    def is_legal(self, p: int) -> bool:
        try:
            self.copy().play(p)
        except IllegalMove:
            return False
        return True

    def array(self) -> np.ndarray:
        """The stones as (size, size) int8: 1 black, -1 white, 0 empty."""
        return np.array(self.stones, dtype=np.int8).reshape(self.size, self.size)


def point_name(p: int, size: int = SIZE) -> str:
    """GTP's name of a point: column letter (I skipped) and row number from the bottom, e.g. Q16."""
    if p == PASS:
        return "pass"
    r, c = divmod(p, size)
    return "ABCDEFGHJKLMNOPQRSTUVWXYZ"[c] + str(size - r)


def parse_point(vertex: str, size: int = SIZE) -> int:
    """The inverse of point_name ("pass" -> PASS). Raises ValueError for a vertex off the board."""
    v = vertex.strip().upper()
    if v == "PASS":
        return PASS
    letters = "ABCDEFGHJKLMNOPQRSTUVWXYZ"[:size]
    if len(v) < 2 or v[0] not in letters or not v[1:].isdigit() or not 1 <= int(v[1:]) <= size:
        raise ValueError(f"{vertex!r} is not a point of a {size}x{size} board")
    return (size - int(v[1:])) * size + letters.index(v[0])


# -------------------------------------------------------------------------------------------------- ladders
def _escapes(board: Board, prey: int, budget: list[int]) -> bool:
    """The prey's group is in atari and its owner is to move: can it get out (to 3 liberties, or to 2 from
    which no atari catches it), by extending at its liberty or capturing a chaser in atari next to it?"""
    colour = board.stones[prey]
    stones, libs = board.group(prey)
    moves, seen = list(libs), set()
    for s in stones:
        for n in board.nb[s]:
            if board.stones[n] == -colour and n not in seen:
                hunter, hunter_libs = board.group(n)
                seen |= hunter
                if len(hunter_libs) == 1:
                    moves.extend(hunter_libs)
    for m in dict.fromkeys(moves):
        if not _spend(budget):
            return True  # unread: no ladder
        b = _after(board, m)
        if b is None:
            continue
        n_libs = len(b.group(prey)[1])
        if n_libs >= 3 or (n_libs == 2 and not _catches(b, prey, budget)):
            return True
    return False


def _spend(budget: list[int]) -> bool:
    """Take one move from the ladder reader's budget; False when none is left."""
    if budget[0] <= 0:
        return False
    budget[0] -= 1
    return True


def _after(board: Board, m: int) -> Board | None:
    """A copy of the board with m played, or None where m is illegal."""
    b = board.copy()
    try:
        b.play(m)
    except IllegalMove:
        return None
    return b


def _catches(board: Board, prey: int, budget: list[int]) -> bool:
    """The prey's group has two liberties and the chaser is to move: does an atari on one of them win?"""
    for m in board.group(prey)[1]:
        if not _spend(budget):
            return False
        b = _after(board, m)
        if b is None:
            continue
        if len(b.group(prey)[1]) == 1 and not _escapes(b, prey, budget):
            return True
    return False


def ladder_capture(board: Board, p: int) -> bool:
    """Playing p ataris an opponent group of two liberties next to it that then cannot escape."""
    c = board.to_move
    after = None
    for n in board.nb[p]:
        if board.stones[n] == -c and len(board.group(n)[1]) == 2:
            if after is None:
                after = board.copy()
                try:
                    after.play(p)
                except IllegalMove:
                    return False
            if after.stones[n] == -c and len(after.group(n)[1]) == 1 and not _escapes(after, n, [LADDER_BUDGET]):
                return True
    return False


def ladder_escape(board: Board, p: int, in_atari: list[int]) -> bool:
    """Playing p saves one of the player's groups in atari (`in_atari`: a stone of each) from its ladder."""
    if not in_atari:
        return False
    after = board.copy()
    try:
        after.play(p)
    except IllegalMove:
        return False
    for prey in in_atari:
        if after.stones[prey] != board.stones[prey]:
            continue
        n_libs = len(after.group(prey)[1])
        if n_libs >= 3 or (n_libs == 2 and not _catches(after, prey, [LADDER_BUDGET])):
            return True
    return False


# --------------------------------------------------------------------------------------------------- planes
def _is_own_eye(board: Board, p: int, c: int) -> bool:
    """Every neighbour is the player's, and at most one diagonal the opponent's (none on the edge)."""
    st = board.stones
    if any(st[n] != c for n in board.nb[p]):
        return False
    diag = diagonals(board.size)[p]
    enemy = sum(st[d] == -c for d in diag)
    return enemy <= (1 if len(diag) == 4 else 0)


def features(board: Board, ladders: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(planes (48, size*size) bool, legal (size*size,) bool) of a position, for the player to move."""
    n, c, st, nb = board.size * board.size, board.to_move, board.stones, board.nb
    # every group once: its id at each stone, its stones and liberties
    label = [-1] * n
    g_stones: list[set[int]] = []
    g_libs: list[set[int]] = []
    for p in range(n):
        if st[p] != EMPTY and label[p] < 0:
            stones, libs = board.group(p)
            for q in stones:
                label[q] = len(g_stones)
            g_stones.append(stones)
            g_libs.append(libs)
    stone_arr = np.array(st, dtype=np.int8)
    out = np.zeros((N_PLANES, n), dtype=bool)
    out[P_PLAYER] = stone_arr == c
    out[P_OPPONENT] = stone_arr == -c
    out[P_EMPTY] = stone_arr == EMPTY
    out[P_ONES] = True
    occupied = np.flatnonzero(stone_arr)
    # turns since: the stone played last is 1 move old
    age = board.moves - np.array(board.placed, dtype=np.int64)[occupied]
    out[P_TURNS + np.clip(age, 1, 8) - 1, occupied] = True
    group_libs = np.array([len(g_libs[label[p]]) for p in occupied], dtype=np.int64)
    out[P_LIBERTIES + np.clip(group_libs, 1, 8) - 1, occupied] = True

    in_atari = [next(iter(s)) for s, l in zip(g_stones, g_libs) if len(l) == 1 and st[next(iter(s))] == c]
    atari_libs = {next(iter(g_libs[label[s]])) for s in in_atari}
    legal = np.zeros(n, dtype=bool)
    moves, capture, libs_after, self_atari, self_atari_at = [], [], [], [], []
    for p in range(n):
        if st[p] != EMPTY or p == board.ko:
            continue
        own, opp, libs = set(), set(), set()
        for q in nb[p]:
            s = st[q]
            if s == EMPTY:
                libs.add(q)
            elif s == c:
                own.add(label[q])
            else:
                opp.add(label[q])
        captured = [g for g in opp if len(g_libs[g]) == 1]
        for g in own:
            libs |= g_libs[g]
        libs.discard(p)
        # a captured stone becomes a liberty where it touches the new group (p or a stone joined to it)
        for g in captured:
            for s in g_stones[g]:
                if any(q == p or label[q] in own for q in nb[s]):
                    libs.add(s)
        if not libs:
            continue  # suicide
        legal[p] = True
        moves.append(p)
        capture.append(sum(len(g_stones[g]) for g in captured))
        libs_after.append(len(libs))
        if len(libs) == 1:
            self_atari_at.append(p)
            self_atari.append(1 + sum(len(g_stones[g]) for g in own))
        if not _is_own_eye(board, p, c):
            out[P_SENSIBLE, p] = True
        if ladders:
            out[P_LADDER_CAPTURE, p] = any(len(g_libs[g]) == 2 for g in opp) and ladder_capture(board, p)
            # escape candidates: the liberty of a group in atari, or a capture next to one
            near = p in atari_libs or any(len(g_libs[g]) == 1 for g in opp)
            out[P_LADDER_ESCAPE, p] = near and ladder_escape(board, p, in_atari)
    moves_a = np.array(moves, dtype=np.int64)
    out[P_CAPTURE + np.clip(np.array(capture, dtype=np.int64), 0, 7), moves_a] = True
    out[P_LIBS_AFTER + np.clip(np.array(libs_after, dtype=np.int64), 1, 8) - 1, moves_a] = True
    out[P_SELF_ATARI + np.clip(np.array(self_atari, dtype=np.int64), 1, 8) - 1,
        np.array(self_atari_at, dtype=np.int64)] = True
    return out, legal


# ---------------------------------------------------------------------------------------------- symmetries
@lru_cache(maxsize=None)
def symmetries(size: int = SIZE) -> np.ndarray:
    """(8, size*size): row s maps each point p to where symmetry s of the square carries it (the 4
    rotations, each with and without a reflection); row 0 is the identity."""
    r, c = np.divmod(np.arange(size * size), size)
    m = size - 1
    maps = [(r, c), (c, m - r), (m - r, m - c), (m - c, r),  # rotations by 0, 90, 180, 270 degrees
            (r, m - c), (c, r), (m - r, c), (m - c, m - r)]  # the same after a left-right mirror
    return np.stack([rr * size + cc for rr, cc in maps])


# ------------------------------------------------------------------------------------------------------ SGF
@dataclass
class Game:
    """One game record."""
    size: int
    moves: list[tuple[int, int]]
    """(colour, point) in order; point PASS for a pass."""
    setup: list[tuple[int, int]] = field(default_factory=list)
    """(colour, point) of stones placed before the first move (handicap stones)."""
    result: str = ""
    comment: str = ""
    player: str = ""


def _sgf_point(move, size: int) -> int:
    """sgfmill's (row from the bottom, col) or None -> our point."""
    if move is None:
        return PASS
    row, col = move
    return (size - 1 - row) * size + col


def read_game(path) -> Game:
    """An SGF file's main line. Raises DataError for a file that does not parse or has setup stones after
    the first move."""
    from sgfmill import sgf
    path = Path(path)
    try:
        game = sgf.Sgf_game.from_bytes(path.read_bytes())
        size = game.get_size()
        root = game.get_root()
        black, white, _ = root.get_setup_stones()
        setup = [(BLACK, _sgf_point(m, size)) for m in sorted(black)] + [
            (WHITE, _sgf_point(m, size)) for m in sorted(white)]
        moves = []
        for node in game.get_main_sequence()[1:]:
            if node.has_setup_stones():
                raise DataError(f"{path}: setup stones after the first move; give plain game records")
            colour, move = node.get_move()
            if colour is not None:
                moves.append((BLACK if colour == "b" else WHITE, _sgf_point(move, size)))
        result = root.get("RE") if root.has_property("RE") else ""
        comment = root.get("GC") if root.has_property("GC") else ""
        player = root.get("PB") if root.has_property("PB") else ""
    except ValueError as e:
        raise DataError(f"{path}: not an SGF file that parses ({str(e) or 'a bad property value'}); give game "
                        f"records in SGF") from None
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
    return Game(size=size, moves=moves, setup=setup, result=result, comment=comment, player=player)


def write_game(path, game: Game) -> Path:
    """The game as SGF (FF[4]), written under a temporary name and renamed."""
    from sgfmill import sgf
    g = sgf.Sgf_game(size=game.size)
    root = g.get_root()
    root.set("KM", KOMI)
    if game.player:
        root.set("PB", game.player)
        root.set("PW", game.player)
    if game.result:
        root.set("RE", game.result)
    if game.comment:
        root.set("GC", game.comment)

    def sgf_move(p):
        if p == PASS:
            return None
        r, col = divmod(p, game.size)
        return game.size - 1 - r, col
    if game.setup:
        root.set_setup_stones([sgf_move(p) for c, p in game.setup if c == BLACK],
                              [sgf_move(p) for c, p in game.setup if c == WHITE])
    for colour, p in game.moves:
        g.extend_main_sequence().set_move("b" if colour == BLACK else "w", sgf_move(p))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(g.serialise())
    tmp.replace(path)
    return path


# ---------------------------------------------------------------------------------------- GNU Go self-play
class GTP:
    """One GNU Go process spoken to through the Go Text Protocol: a command line in, `= reply` (or
    `? error`) and a blank line out. A reply that takes longer than `timeout` seconds ends the process with a
    DataError, so a hung engine cannot stall an install for hours."""

    def __init__(self, level: int, seed: int, binary: str | None = None, timeout: float = GTP_TIMEOUT):
        binary = binary or gnugo_binary()
        if binary is None:
            raise DataError("gnugo is not installed; run: apt-get install gnugo (Debian's GNU Go 3.8)")
        self.timeout = timeout
        self.proc = subprocess.Popen([binary, "--mode", "gtp", "--level", str(level), "--seed", str(seed)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        # a reader thread hands the lines over, so waiting for one can time out (a pipe's readline cannot)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)  # the process closed its output

    def __call__(self, command: str) -> str:
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):  # ValueError: stdin already closed
            raise DataError(f"gnugo stopped answering (before {command!r}); check `gnugo --version` runs") from None
        deadline = time.monotonic() + self.timeout
        lines = []
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.proc.kill()
                raise DataError(f"gnugo did not answer {command!r} within {self.timeout:g} s and was stopped; "
                                f"rerun the install: the games already played are kept") from None
            if line is None:
                raise DataError(f"gnugo stopped answering (after {command!r}); check `gnugo --version` runs")
            if line.strip():
                lines.append(line.strip())
            elif lines:
                break
        reply = " ".join(lines)
        if reply.startswith("?"):
            raise DataError(f"gnugo refused {command!r}: {reply[1:].strip()}")
        return reply[1:].strip()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self("quit")
            except (DataError, OSError):
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def selfplay_game(seed: int, level: int = LEVEL, move_cap: int = MOVE_CAP, binary: str | None = None) -> Game:
    """GNU Go against itself on 19x19 (komi 7.5), black first, until two passes in a row, a resignation or
    `move_cap` moves. GNU Go is deterministic for a given seed and level, so the game is too."""
    gtp = GTP(level, seed, binary)
    try:
        for cmd in (f"boardsize {SIZE}", f"komi {KOMI}", "clear_board"):
            gtp(cmd)
        version = gtp("version")
        moves: list[tuple[int, int]] = []
        colour, passes, result = BLACK, 0, ""
        while len(moves) < move_cap:
            reply = gtp(f"genmove {'b' if colour == BLACK else 'w'}")
            if reply.lower() == "resign":
                result = ("W" if colour == BLACK else "B") + "+R"
                break
            p = parse_point(reply)
            moves.append((colour, p))
            passes = passes + 1 if p == PASS else 0
            if passes == 2:
                break
            colour = -colour
        ended = ("resignation" if result else "two passes" if passes == 2 else f"the move cap ({move_cap})")
        if passes == 2:  # scoring a finished game is quick; one stopped mid-game can take a minute
            result = gtp("final_score")
        elif not result:
            result = "?"  # SGF's unknown result
    finally:
        gtp.close()
    return Game(size=SIZE, moves=moves, result=result, player=f"GNU Go {version} level {level}",
                comment=f"GNU Go self-play: gnugo --mode gtp --level {level} --seed {seed}; komi {KOMI}; "
                        f"ended by {ended}")


def game_path(folder, i: int) -> Path:
    return Path(folder) / "games" / f"game-{i:05d}.sgf"


def selfplay(folder, games: int, level: int = LEVEL, first_seed: int = 1, move_cap: int = MOVE_CAP,
             workers: int = 0, verbose: bool = True) -> Path:
    """Games 0 .. games-1 into folder/games/game-NNNNN.sgf, game i from GNU Go seed first_seed + i (seed 0
    would mean "from the clock"), `workers` GNU Go processes at a time (0: one per CPU). Games already there
    are kept, so an interrupted run picks up where it stopped; folder/manifest.json, written last, marks the
    set complete."""
    folder = Path(folder)
    binary = gnugo_binary()
    if binary is None:
        raise DataError("gnugo is not installed; run: apt-get install gnugo (Debian's GNU Go 3.8)")
    todo = [i for i in range(games) if not game_path(folder, i).exists()]
    workers = workers or os.cpu_count() or 1
    start = time.time()

    def one(i):
        write_game(game_path(folder, i), selfplay_game(first_seed + i, level, move_cap, binary))
        return i

    with ThreadPoolExecutor(max(1, min(workers, len(todo) or 1))) as pool:  # each thread waits on its gnugo
        for k, _ in enumerate(pool.map(one, todo)):
            if verbose:
                rate = (time.time() - start) / (k + 1)
                print(f"go self-play: {k + 1}/{len(todo)} games, {rate:.1f} s a game "
                      f"({workers} at a time), about {rate * (len(todo) - k - 1) / 60:.0f} min left",
                      file=sys.stderr, flush=True)
    manifest = {"games": games, "level": level, "first_seed": first_seed, "move_cap": move_cap,
                "komi": KOMI, "board": SIZE, "gnugo": gnugo_version(binary)}
    tmp = folder / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(folder / "manifest.json")
    return folder


def gnugo_version(binary: str | None = None) -> str:
    gtp = GTP(0, 1, binary)
    try:
        return gtp("version")
    finally:
        gtp.close()


def random_game(seed: int, moves: int = 60, size: int = SIZE) -> Game:
    """A game of uniformly random legal moves (never filling an own eye), for tests and stand-in data sets
    where GNU Go is not at hand."""
    rng = np.random.default_rng(seed)
    b = Board(size)
    played = []
    for _ in range(moves):
        _, legal = features(b, ladders=False)
        options = [p for p in np.flatnonzero(legal) if not _is_own_eye(b, int(p), b.to_move)]
        p = int(rng.choice(options)) if options else PASS
        played.append((b.to_move, p))
        b.play(p)
    return Game(size=size, moves=played, result="?", player="random", comment=f"random legal moves, seed {seed}")


def write_random_set(folder, games: int = 12, moves: int = 50) -> Path:
    """A small set in the installed layout (games/ + manifest.json) of random games: a stand-in data set (by
    default 11 training games of 50 moves: two steps of the recipes' batch of 256)."""
    folder = Path(folder)
    for i in range(games):
        write_game(game_path(folder, i), random_game(i, moves))
    (folder / "manifest.json").write_text(json.dumps({"games": games, "random": True}) + "\n")
    return folder


# --------------------------------------------------------------------------------------------- positions
@dataclass
class Positions:
    """Every move of a set of games as a training position, the planes packed 8 to a byte."""
    planes: np.ndarray
    """N, ceil(48 * 361 / 8) uint8: np.packbits of the (48, 361) bool planes before the move."""
    legal: np.ndarray
    """N, ceil(361 / 8) uint8: packed legal points."""
    move: np.ndarray
    """N int16: the point played (passes are not positions: the network has no pass output)."""
    game: np.ndarray
    """N int32: which game (index into `names`)."""
    number: np.ndarray
    """N int16: the move's number in its game, from 0."""
    colour: np.ndarray
    """N int8: who played it (BLACK or WHITE)."""
    names: list[str]
    """The games' file names, in order."""

    def __len__(self) -> int:
        return len(self.move)

    def unpack(self, idx) -> tuple[np.ndarray, np.ndarray]:
        """(planes (B, 48, 19, 19) uint8, legal (B, 361) bool) of positions idx."""
        n = SIZE * SIZE
        planes = np.unpackbits(self.planes[idx], axis=1, count=N_PLANES * n).reshape(-1, N_PLANES, SIZE, SIZE)
        legal = np.unpackbits(self.legal[idx], axis=1, count=n).astype(bool)
        return planes, legal


def game_positions(game: Game, name: str = "game", ladders: bool = True) -> dict[str, np.ndarray]:
    """Replay a 19x19 game: the planes before each move that is not a pass, and the move. Raises DataError
    for another board size or an illegal move."""
    if game.size != SIZE:
        raise DataError(f"{name}: a {game.size}x{game.size} board; the policy network plays 19x19 only: give "
                        f"19x19 games")
    b = Board(SIZE)
    for colour, p in game.setup:
        b.stones[p] = colour
    planes, legal, move, number, colour_ = [], [], [], [], []
    for i, (colour, p) in enumerate(game.moves):
        if p != PASS:
            if colour != b.to_move:
                b.ko, b.to_move = PASS, colour
            f, lg = features(b, ladders)
            if not lg[p]:
                raise DataError(f"{name}: move {i + 1} ({'B' if colour == BLACK else 'W'} {point_name(p)}) is "
                                f"illegal under simple ko and no suicide; give games played by those rules")
            planes.append(np.packbits(f.reshape(-1)))
            legal.append(np.packbits(lg))
            move.append(p)
            number.append(i)
            colour_.append(colour)
        try:
            b.play(p, colour)
        except IllegalMove as e:
            raise DataError(f"{name}: move {i + 1} is illegal ({e})") from None
    n = SIZE * SIZE
    return {"planes": np.array(planes, dtype=np.uint8).reshape(-1, (N_PLANES * n + 7) // 8),
            "legal": np.array(legal, dtype=np.uint8).reshape(-1, (n + 7) // 8),
            "move": np.array(move, dtype=np.int16), "number": np.array(number, dtype=np.int16),
            "colour": np.array(colour_, dtype=np.int8)}


def _file_positions(path: str) -> dict[str, np.ndarray]:
    return game_positions(read_game(path), path)


def game_files(source) -> list[Path]:
    """The .sgf files of the registered set ("go-games") or of a folder (searched recursively) or one file."""
    if source == "go-games":
        if not is_installed("go-games"):
            raise missing("go-games")
        return sorted((go_dir() / "games").glob("*.sgf"))
    path = Path(source).expanduser()
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"data={source!r} is neither a registered Go data set (go-games) nor a folder of .sgf "
                        f"files")
    files = sorted(path.rglob("*.sgf"))
    if not files:
        raise DataError(f"{path} holds no .sgf files; give a folder of SGF game records")
    return files


def load_positions(source="go-games", workers: int = 0, verbose: bool = True) -> Positions:
    """Every game's positions, computed once (the planes of ~200 positions take a second or two a game) and
    cached by the games' contents under <data>/go/cache/."""
    files = game_files(source)
    digest = hashlib.sha256(f"features v{FEATURES_VERSION}".encode())
    for f in files:
        digest.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    cache = data_root() / "go" / "cache" / f"positions-v{FEATURES_VERSION}-{digest.hexdigest()[:16]}.npz"
    names = [f.name for f in files]
    if cache.exists():
        try:
            with np.load(cache) as z:
                parts = {k: z[k] for k in ("planes", "legal", "move", "game", "number", "colour")}
            return Positions(**parts, names=names)
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is rebuilt
    if verbose and len(files) >= 50:  # a minute or more
        print(f"go: computing the input planes of {len(files)} games once (cached in {cache.parent})",
              file=sys.stderr, flush=True)
    workers = min(workers or os.cpu_count() or 1, len(files))
    if workers > 1 and len(files) >= 50:  # below that, starting the workers costs more than it saves
        # forkserver: a training run may have started threads (torch's) that a forked child would inherit
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
            per_game = list(pool.map(_file_positions, map(str, files), chunksize=4))
    else:
        per_game = [_file_positions(str(f)) for f in files]
    parts = {k: np.concatenate([g[k] for g in per_game]) for k in ("planes", "legal", "move", "number", "colour")}
    parts["game"] = np.concatenate([np.full(len(g["move"]), i, dtype=np.int32) for i, g in enumerate(per_game)])
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.name}.tmp")
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, **parts)
    tmp.replace(cache)
    return Positions(**parts, names=names)


# ---------------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    """`python -m nnzoo.data go-games` (what `nnzoo data install go-games` runs): GNU Go self-play, then the
    planes."""
    from .store import GO_GAMES
    p = argparse.ArgumentParser(prog="python -m nnzoo.data go-games", description=main.__doc__)
    p.add_argument("--games", type=int, default=GO_GAMES, help=f"games to play (default {GO_GAMES})")
    p.add_argument("--level", type=int, default=LEVEL, help=f"GNU Go's level, 0-10 (default {LEVEL})")
    p.add_argument("--first-seed", type=int, default=1, help="GNU Go's seed for game 0; game i gets this + i")
    p.add_argument("--move-cap", type=int, default=MOVE_CAP, help=f"moves before a game stops ({MOVE_CAP})")
    p.add_argument("--workers", type=int, default=0, help="GNU Go processes at a time (default one per CPU)")
    p.add_argument("--out", default=None, help="the folder (default the go-games data set's)")
    p.add_argument("--no-planes", action="store_true", help="do not compute and cache the input planes")
    args = p.parse_args(argv)
    try:
        folder = selfplay(args.out or go_dir(), args.games, args.level, args.first_seed, args.move_cap,
                          args.workers)
        if not args.no_planes:
            load_positions(folder / "games", args.workers)
    except DataError as e:
        print(f"python -m nnzoo.data go-games: {e}", file=sys.stderr)
        return 2
    print(f"{args.games} games in {folder}")
    return 0

