"""Go move prediction: a position's 48 feature planes -> a probability for each of the 361 points, trained to
put the most on the move the game's player made. AlphaGo's supervised policy network and its baseline.

The data are game records (data/go.py): `data=go-games`, GNU Go playing itself (`nnzoo data install
go-games`), or `data=PATH`, a folder of any 19x19 .sgf games. Every move that is not a pass is one position.
The split is by game, so no test position comes from a game seen in training: the last tenth of the games
(in file-name order) are the test split, the twentieth before them validation (`val_size=`: a count of games,
or a fraction of them below 1), the rest training. `augment=1` shows each training position in a random one
of the board's 8 symmetries (rotations and reflections), as AlphaGo's mini-batches were augmented.
`test_size=N` reads a random N of the test positions (the tour's quick look).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..data import go as G
from ..data import write_image_grid
from ..data.store import DataError
from ..train.device import autocast
from .base import SetTask

SHOWN = 4
"""Test positions whose move probabilities the report draws."""
SHOWN_AT = (0.1, 0.35, 0.6, 0.85)
"""Where in their games those positions are, as a share of the game's moves: the opening, the early and
late middle game, the endgame (20, 70, 120 and 170 of a 200-move game)."""
CELL = 14
"""Pixels per point in the boards drawn after each epoch (policy/epoch-NNN.png, at their own size)."""
REPORT_CELL = 5
"""Pixels per point in the report's copy (policy.png), which shows each board an inch wide at 100 dpi: drawn
at about that size, so it is not thinned out."""


@dataclass
class GoData:
    positions: G.Positions
    splits: dict[str, np.ndarray]
    """split -> rows of `positions` (train and test in a fixed shuffled order: a head is a random subset)."""
    games: dict[str, int]
    """split -> how many games it holds."""
    source: str
    planes: int = G.N_PLANES


def split_games(n: int, val_size: float) -> dict[str, np.ndarray]:
    """Game indices of each split: test the last tenth, validation the part before it, training the rest."""
    n_test = max(1, n // 10) if n >= 2 else 0
    if val_size >= 1:
        n_val = int(val_size)
    elif val_size > 0:
        n_val = int(round(val_size * n))
    else:
        n_val = max(1, n // 20) if n >= 3 else 0
    n_train = n - n_test - n_val
    if n_train < 1:
        raise DataError(f"{n} games leave none to train on after {n_test} test and {n_val} validation games; "
                        f"give more games or a smaller val_size")
    games = np.arange(n)
    return {"train": games[:n_train], "val": games[n_train:n_train + n_val], "test": games[n_train + n_val:]}


def load_data(source: str, val_size: float = 0.0, test_size: int = 0) -> GoData:
    """The positions of the games of `source`, split by game; test_size > 0 keeps a random that many test
    positions."""
    pos = G.load_positions(source)
    by_game = split_games(len(pos.names), val_size)
    splits = {}
    for name, games in by_game.items():
        rows = np.flatnonzero(np.isin(pos.game, games))
        # a fixed shuffle (whatever the run's seed): train_subset= and test_size= then take random positions
        if name != "val":
            rows = rows[np.random.default_rng({"train": 0, "test": 1}[name]).permutation(len(rows))]
        splits[name] = rows[:test_size] if name == "test" and test_size else rows
    if not len(splits["train"]):
        raise DataError(f"data={source!r}: its training games hold no moves; give games with moves")
    return GoData(positions=pos, splits=splits, games={k: len(v) for k, v in by_game.items()}, source=source)


# ----------------------------------------------------------------------------------------------- symmetries
_SYM = torch.from_numpy(G.symmetries(G.SIZE))  # 8, 361: point p -> its image under symmetry s
_INV = _SYM.argsort(1)  # 8, 361: the point of the original that lands on q


def transform(planes: torch.Tensor, legal: torch.Tensor, move: torch.Tensor, sym: torch.Tensor):
    """The batch with example b turned by symmetry sym[b]: planes B, P, 19, 19, legal B, 361, move B.
    x'[q] = x[T^-1(q)], a' = T(a): the position and its move turn together."""
    B, P, H, W = planes.shape
    inv = _INV.to(planes.device)[sym]  # B, 361
    planes = planes.flatten(2).gather(2, inv[:, None, :].expand(B, P, H * W)).view(B, P, H, W)
    return planes, legal.gather(1, inv), _SYM.to(move.device)[sym, move]


# ----------------------------------------------------------------------------------------------- pictures
WOOD = np.array([0.86, 0.70, 0.42], dtype=np.float32)
HEAT = np.array([0.85, 0.05, 0.05], dtype=np.float32)


def draw_policy(board: np.ndarray, prob: np.ndarray, move: int | None = None, cell: int = CELL) -> np.ndarray:
    """A board (19, 19: 1 black, -1 white) with the move probabilities (19, 19) shaded red under the empty
    points (red in proportion to the likeliest point's, or to 5 % if that is less, so a near-uniform policy
    stays pale), and the move actually played framed in blue: (3, H, W) in [0, 1]."""
    n = board.shape[0]
    shade = np.sqrt(np.clip(prob / max(float(prob.max()), 0.05), 0, 1))[..., None]  # n, n, 1
    colour = WOOD * (1 - shade) + HEAT * shade  # n, n, 3
    img = np.repeat(np.repeat(colour, cell, 0), cell, 1)  # n*cell, n*cell, 3
    mid = cell // 2
    lo, hi = mid, (n - 1) * cell + mid + 1
    for k in range(n):  # the grid's lines through the points' centres
        img[k * cell + mid, lo:hi] = 0.25
        img[lo:hi, k * cell + mid] = 0.25
    yy, xx = np.mgrid[0:cell, 0:cell]
    disc = (yy - (cell - 1) / 2) ** 2 + (xx - (cell - 1) / 2) ** 2 <= (0.46 * cell) ** 2
    for r, c in zip(*np.nonzero(board)):
        tile = img[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell]
        tile[disc] = 0.05 if board[r, c] > 0 else 0.97
    if move is not None and move >= 0:
        r, c = divmod(int(move), n)
        t = img[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell]
        w = 2 if cell >= 8 else 1
        for edge in (t[:w], t[-w:], t[:, :w], t[:, -w:]):
            edge[...] = (0.1, 0.3, 0.95)
    return img.transpose(2, 0, 1)


def board_of(planes: np.ndarray, colour: int) -> np.ndarray:
    """The stones (19, 19: 1 black, -1 white) from the player / opponent planes and who is to move."""
    return (colour * (planes[G.P_PLAYER].astype(np.int8) - planes[G.P_OPPONENT].astype(np.int8))).astype(np.int8)


class Task(SetTask):
    kind = "Go move prediction"
    unit = "position"
    verbs = ("predict",)

    def load(self, tcfg):
        return load_data(tcfg.data or "go-games", tcfg.val_size, tcfg.test_size)

    def adapt(self, mcfg, data):
        return dataclasses.replace(mcfg, planes=data.planes)

    def describe(self, data) -> dict:
        return {"planes": list(G.PLANES), "games": data.games, "positions": {k: len(v) for k, v in
                                                                            data.splits.items()}}

    # ------------------------------------------------------------------------------------- the stream
    def train_size(self, data) -> int:
        return len(data.splits["train"])

    def batch(self, data, rows: np.ndarray, device) -> dict:
        planes, legal = data.positions.unpack(rows)
        return {"planes": torch.from_numpy(planes).to(device, non_blocking=True).float(),
                "legal": torch.from_numpy(legal).to(device, non_blocking=True),
                "move": torch.from_numpy(data.positions.move[rows].astype(np.int64)).to(device, non_blocking=True)}

    def make_batch(self, data, idx, device, tcfg):
        b = self.batch(data, data.splits["train"][idx.numpy()], device)
        if tcfg.augment:
            sym = torch.randint(0, 8, (len(idx),)).to(device)
            b["planes"], b["legal"], b["move"] = transform(b["planes"], b["legal"], b["move"], sym)
        return b

    # ------------------------------------------------------------------------------------- evaluation
    @torch.no_grad()
    def scores(self, model, data, rows: np.ndarray, device, amp_dtype=None, batch_size=512) -> dict:
        """Mean loss, top-1 and top-5 accuracy over positions rows."""
        model.eval()
        loss, top1, top5 = 0.0, 0, 0
        for i in range(0, len(rows), batch_size):
            b = self.batch(data, rows[i:i + batch_size], device)
            with autocast(device, amp_dtype):
                logits = model(b["planes"], b["legal"]).float()
            loss += float(F.cross_entropy(logits, b["move"], reduction="sum"))
            best = logits.topk(5, 1).indices  # B, 5
            top1 += int((best[:, 0] == b["move"]).sum())
            top5 += int((best == b["move"][:, None]).any(1).sum())
        n = max(1, len(rows))
        return {"loss": loss / n, "accuracy": top1 / n, "top5_accuracy": top5 / n}

    def evaluate(self, model, data, split, device, amp_dtype=None) -> dict:
        rows = data.splits[split]
        return self.scores(model, data, rows, device, amp_dtype) if len(rows) else {}

    def shown(self, data) -> np.ndarray:
        """The test positions drawn: one from each of SHOWN test games (fewer games: some twice), at SHOWN_AT
        of the way through."""
        pos, rows = data.positions, np.sort(data.splits["test"])
        games = list(dict.fromkeys(pos.game[rows].tolist()))
        out = []
        for k in range(SHOWN):
            if not games:
                break
            g = games[k % len(games)]
            in_game = rows[pos.game[rows] == g]
            number = pos.number[in_game].astype(int)
            pick = in_game[np.argmin(np.abs(number - SHOWN_AT[k] * (number.max() + 1)))]
            if pick not in out:
                out.append(pick)
        return np.array(out, dtype=np.int64)

    @torch.no_grad()
    def pictures(self, model, data, device, cell: int = REPORT_CELL) -> dict:
        """The drawn test positions (the grid `policy` of the report) and their probabilities."""
        rows = self.shown(data)
        if not len(rows):
            return {}
        model.eval()
        b = self.batch(data, rows, device)
        prob = model(b["planes"], b["legal"]).float().softmax(1).cpu().numpy()  # K, 361
        pos = data.positions
        planes, _ = pos.unpack(rows)
        boards = np.stack([board_of(p, int(c)) for p, c in zip(planes, pos.colour[rows])])
        images, labels = [], []
        for k, r in enumerate(rows):
            move, best = int(pos.move[r]), int(prob[k].argmax())
            images.append(draw_policy(boards[k], prob[k].reshape(G.SIZE, G.SIZE), move, cell))
            who = "B" if pos.colour[r] == G.BLACK else "W"
            labels.append(f"move {int(pos.number[r]) + 1} {who}: {G.point_name(move)} p={prob[k, move]:.2f}, "
                          f"top {G.point_name(best)} {prob[k, best]:.2f}")
        return {"grid:policy": np.stack(images)[:, None], "grid:policy:rows": np.array(labels),
                "grid:policy:title": np.array("Policy network's move probabilities (red) on test positions; "
                                              "blue frame: the move played"),
                "policy_board": boards, "policy_prob": prob.reshape(-1, G.SIZE, G.SIZE).astype(np.float32),
                "policy_move": pos.move[rows].astype(np.int64), "policy_colour": pos.colour[rows],
                "policy_move_number": pos.number[rows].astype(np.int64)}

    def after_epoch(self, model, data, run_dir, epoch: int, device) -> None:
        """The drawn test positions at full size, one PNG an epoch, to watch the policy take shape."""
        art = self.pictures(model, data, device, CELL)
        if art:
            write_image_grid(torch.from_numpy(art["grid:policy"][:, 0]), run_dir / "policy" / f"epoch-{epoch:03d}.png",
                             ncols=SHOWN, scale=1, pad=4)

    def test_report(self, model, data, device) -> tuple[dict, dict]:
        rows = data.splits["test"]
        s = self.scores(model, data, rows, device)
        pos = data.positions
        figures = {"test_top1_accuracy_percent": round(100 * s["accuracy"], 2),
                   "test_top5_accuracy_percent": round(100 * s["top5_accuracy"], 2),
                   "test_loss": s["loss"], "test_positions": int(len(rows)),
                   "test_games": int(len(np.unique(pos.game[rows]))),
                   "train_positions": int(len(data.splits["train"])), "train_games": data.games["train"],
                   "input_planes": data.planes,
                   "test_moves_of": ("GNU Go 3.8 (level 1) playing itself, not human experts"
                                     if data.source == "go-games" else f"the players of the games in {data.source}")}
        return figures, self.pictures(model, data, device)

    # -------------------------------------------------------------------------------------- the verb
    @torch.no_grad()
    def predict(self, model, mcfg, doc: dict, inputs: list[str], invert: bool = False) -> list[dict]:
        """The next move of each SGF game record (after its last move), with the policy's five likeliest."""
        out = []
        model.eval()
        for f in inputs:
            game = G.read_game(f)
            if game.size != G.SIZE:
                raise DataError(f"{f}: a {game.size}x{game.size} board; the policy network plays 19x19 only: "
                                f"give a 19x19 game")
            board = G.Board(G.SIZE)
            for colour, p in game.setup:
                board.stones[p] = colour
            for i, (colour, p) in enumerate(game.moves):
                try:
                    board.play(p, colour)
                except G.IllegalMove as e:
                    raise DataError(f"{f}: move {i + 1} is illegal ({e})") from None
            planes, legal = G.features(board)
            x = torch.from_numpy(planes.reshape(1, G.N_PLANES, G.SIZE, G.SIZE)).float()
            prob = model(x, torch.from_numpy(legal)[None]).float().softmax(1)[0]
            top = prob.topk(5)
            moves = [{"move": G.point_name(int(i)), "probability": round(float(p), 4)}
                     for p, i in zip(top.values, top.indices)]
            out.append({"file": str(f), "to_move": "B" if board.to_move == G.BLACK else "W",
                        "label": moves[0]["move"], "probability": moves[0]["probability"], "top5": moves})
        return out
