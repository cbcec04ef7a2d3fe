"""Go: the rules, each input plane on a hand-made position, the board's symmetries, SGF files, GNU Go self-play,
AlphaGo's policy network (its exact size) and the `go` task end to end."""
import json

import numpy as np
import pytest
import torch

from nnzoo.data import go as G
from nnzoo.data.store import DataError

pytestmark = pytest.mark.usefixtures("one_thread")
B, W = G.BLACK, G.WHITE


def at(r, c, size):
    return r * size + c


def planes_at(f, p):
    """The names of the planes set at point p."""
    return [G.PLANES[k] for k in np.flatnonzero(f[:, p])]


# -------------------------------------------------------------------------------------------------- rules
def test_a_stone_without_liberties_is_captured():
    b = G.Board.from_rows([".X...",
                           "XO...",
                           ".X...",
                           ".....",
                           "....."], to_move=B)
    assert b.play(at(1, 2, 5)) == [at(1, 1, 5)]
    assert b.stones[at(1, 1, 5)] == G.EMPTY and b.to_move == W


def test_suicide_is_illegal_unless_it_captures():
    rows = [".XO..",
            "XO...",
            "O....",
            ".....",
            "....."]
    b = G.Board.from_rows(rows, to_move=B)
    before = list(b.stones)
    with pytest.raises(G.IllegalMove, match="suicide"):
        b.play(0)
    assert b.stones == before and b.to_move == B  # a refused move changes nothing
    # the same point for white captures both black stones, so it is legal
    b = G.Board.from_rows(rows, to_move=W)
    assert sorted(b.play(0)) == [at(0, 1, 5), at(1, 0, 5)]
    with pytest.raises(G.IllegalMove, match="occupied"):
        b.play(at(0, 2, 5))


def test_simple_ko_forbids_the_immediate_retake_only():
    b = G.Board.from_rows([".XO..",
                           "XO.O.",
                           ".XO..",
                           ".....",
                           "....."], to_move=B)
    assert b.play(at(1, 2, 5)) == [at(1, 1, 5)]  # black takes the ko
    assert b.ko == at(1, 1, 5)
    with pytest.raises(G.IllegalMove, match="ko"):
        b.play(at(1, 1, 5))
    assert not G.features(b)[1][at(1, 1, 5)]  # and the legality the planes see agrees
    b.play(at(4, 4, 5))  # white plays elsewhere, black answers: now white may retake
    b.play(at(4, 0, 5))
    assert b.play(at(1, 1, 5)) == [at(1, 2, 5)]


def test_a_capture_of_two_stones_is_no_ko():
    b = G.Board.from_rows([".XO..",
                           "XO...",
                           "O....",
                           ".....",
                           "....."], to_move=W)
    b.play(0)
    assert b.ko == G.PASS


# ------------------------------------------------------------------------------------------------- planes
def test_liberty_capture_self_atari_and_liberties_after_planes():
    # black to move: the white corner stone has one liberty, (1, 0); (0, 2) leaves black's two stones in atari
    rows = ["OX.O.",
            ".O...",
            ".....",
            ".....",
            "....."]
    b = G.Board.from_rows(rows, to_move=B)
    f, legal = G.features(b)
    assert f.shape == (48, 25) and legal.shape == (25,)
    assert planes_at(f, at(0, 0, 5)) == ["opponent stone", "ones", "turns since 8+", "liberties 1"]
    assert "liberties 1" in planes_at(f, at(0, 1, 5))  # black's stone: (0, 2) is its only liberty
    assert "liberties 3" in planes_at(f, at(1, 1, 5)) and "liberties 3" in planes_at(f, at(0, 3, 5))
    # (1, 0) captures one stone, whose point becomes a second liberty
    assert {"capture size 1", "liberties after move 2"} <= set(planes_at(f, at(1, 0, 5)))
    # (0, 2) joins black's stone and has one liberty, (1, 2): two stones in atari
    assert {"capture size 0", "self-atari size 2", "liberties after move 1"} <= set(planes_at(f, at(0, 2, 5)))
    # an open point: nothing captured, four liberties, no self-atari
    p = planes_at(f, at(3, 3, 5))
    assert {"capture size 0", "liberties after move 4", "sensibleness", "empty"} <= set(p)
    assert not any(n.startswith("self-atari") for n in p)
    # every legal point has exactly one capture-size and one liberties-after plane, an illegal point none
    assert (f[G.P_CAPTURE:G.P_CAPTURE + 8].sum(0) == legal).all()
    assert (f[G.P_LIBS_AFTER:G.P_LIBS_AFTER + 8].sum(0) == legal).all()


def test_colour_planes_follow_the_player_to_move_and_ones_zeros_are_constant():
    rows = ["OX.O.", ".O...", ".....", ".....", "....."]
    fb, _ = G.features(G.Board.from_rows(rows, to_move=B))
    fw, _ = G.features(G.Board.from_rows(rows, to_move=W))
    assert (fb[G.P_PLAYER] == fw[G.P_OPPONENT]).all() and (fb[G.P_OPPONENT] == fw[G.P_PLAYER]).all()
    assert fb[G.P_PLAYER].sum() == 1 and fb[G.P_OPPONENT].sum() == 3 and fb[G.P_EMPTY].sum() == 21
    assert fb[G.P_ONES].all() and not fb[G.P_ZEROS].any()


def test_legality_plane_refuses_suicide_and_occupied_points():
    rows = [".XO..", "XO...", "O....", ".....", "....."]
    f, legal = G.features(G.Board.from_rows(rows, to_move=B))
    assert not legal[0] and planes_at(f, 0) == ["empty", "ones"]  # suicide for black: no move planes
    assert not legal[at(0, 1, 5)] and legal.sum() == 25 - 5 - 1
    f, legal = G.features(G.Board.from_rows(rows, to_move=W))
    assert legal[0] and "capture size 2" in planes_at(f, 0) and "liberties after move 2" in planes_at(f, 0)


def test_sensibleness_leaves_out_filling_an_own_eye():
    eye = G.Board.from_rows([".X...", "XX...", ".....", ".....", "....."], to_move=B)
    f, legal = G.features(eye)
    assert legal[0] and "sensibleness" not in planes_at(f, 0)
    assert "sensibleness" in planes_at(f, at(3, 3, 5))
    # an opponent stone on the corner's one diagonal: a false eye, so filling it is sensible
    false_eye = G.Board.from_rows([".X...", "XO...", ".....", ".....", "....."], to_move=B)
    f, _ = G.features(false_eye)
    assert "sensibleness" in planes_at(f, 0)
    # for white the same point is no eye of its own
    f, _ = G.features(G.Board.from_rows([".X...", "XX...", ".....", ".....", "....."], to_move=W))
    assert "sensibleness" not in planes_at(f, 0)  # and it is suicide for white
    assert not G.features(G.Board.from_rows([".X...", "XX...", ".....", ".....", "....."], to_move=W))[1][0]


def test_turns_since_counts_moves_including_passes():
    b = G.Board(5)
    points = [at(r, c, 5) for r, c in [(0, 0), (4, 4), (0, 4), (4, 0), (2, 2), (1, 1), (3, 3), (1, 3), (3, 1)]]
    for p in points[:-1]:
        b.play(p)
    b.play(G.PASS)
    b.play(points[-1])  # the last stone: 1 move old; the one before it: 2 (the pass in between counts)
    f, _ = G.features(b)
    assert "turns since 1" in planes_at(f, points[-1])
    assert "turns since 3" in planes_at(f, points[-2])
    assert "turns since 8+" in planes_at(f, points[0]) and "turns since 8+" in planes_at(f, points[1])
    assert "turns since 7" in planes_at(f, points[3])
    assert f[G.P_TURNS:G.P_TURNS + 8].sum() == len(points)  # one plane per stone, none on empty points


LADDER = [".........",
          ".........",
          ".........",
          "....X....",
          "...XO....",
          ".....X...",
          ".........",
          ".........",
          "........."]


def _ladder(breaker: bool, to_move=B) -> G.Board:
    rows = [list(r) for r in LADDER]
    if breaker:
        rows[7][1] = "O"  # a white stone on the ladder's path down and to the left
    return G.Board.from_rows(["".join(r) for r in rows], to_move=to_move)


def test_ladder_capture_and_escape_planes():
    f, _ = G.features(_ladder(False))
    # either atari drives white into a ladder that runs to the edge: both work
    assert set(np.flatnonzero(f[G.P_LADDER_CAPTURE])) == {at(4, 5, 9), at(5, 4, 9)}
    f, _ = G.features(_ladder(True))
    assert set(np.flatnonzero(f[G.P_LADDER_CAPTURE])) == {at(5, 4, 9)}  # the breaker spoils one direction
    for breaker in (False, True):
        b = _ladder(breaker)
        b.play(at(4, 5, 9))  # black's atari from the right; white to move
        f, _ = G.features(b)
        assert set(np.flatnonzero(f[G.P_LADDER_ESCAPE])) == ({at(5, 4, 9)} if breaker else set())


def test_features_turn_with_the_board():
    """Every plane of a position played in a turned frame is the turned planes of the position: the rules and
    the planes treat all 8 symmetries alike, and the task's transform turns planes and moves together."""
    from nnzoo.tasks.go import transform
    game = G.random_game(seed=3, moves=70)
    sym = G.symmetries(19)

    def final(moves):
        b = G.Board()
        for c, p in moves:
            b.play(p, c)
        return G.features(b)

    f0, legal0 = final(game.moves)
    assert f0[G.P_LADDER_CAPTURE:G.P_LADDER_ESCAPE + 1].any()  # a random game has ladders to turn too
    planes = torch.from_numpy(f0.reshape(1, 48, 19, 19)).float().repeat(8, 1, 1, 1)
    moved = transform(planes, torch.from_numpy(legal0)[None].repeat(8, 1),
                      torch.full((8,), game.moves[-1][1]), torch.arange(8))
    for s in range(8):
        fs, legal_s = final([(c, p if p == G.PASS else int(sym[s, p])) for c, p in game.moves])
        assert (fs[:, sym[s]] == f0).all(), s
        assert (moved[0][s].flatten(1).numpy().astype(bool) == fs).all() and (moved[1][s].numpy() == legal_s).all()
        assert int(moved[2][s]) == sym[s, game.moves[-1][1]]
    assert len({tuple(r) for r in sym}) == 8 and (sym[0] == np.arange(361)).all()


# ---------------------------------------------------------------------------------------------------- SGF
def test_sgf_round_trip(tmp_path):
    game = G.random_game(seed=1, moves=30)
    game.moves.append((game.moves[-1][0] * -1, G.PASS))
    game.setup = [(B, at(3, 3, 19)), (W, at(15, 15, 19))]
    path = G.write_game(tmp_path / "g.sgf", game)
    back = G.read_game(path)
    assert back.moves == game.moves and back.size == 19 and back.result == game.result
    assert sorted(back.setup) == sorted(game.setup)
    assert b";B[" in path.read_bytes() and b"KM[7.5]" in path.read_bytes()


@pytest.mark.parametrize("text", [b"(;GM[1]SZ[19];B[dd", b"not a game", b"", b"(;GM[1]SZ[19];B[zz])"])
def test_a_file_that_does_not_parse_is_one_data_error(tmp_path, text):
    (tmp_path / "bad.sgf").write_bytes(text)
    with pytest.raises(DataError, match="bad.sgf: not an SGF file that parses"):
        G.read_game(tmp_path / "bad.sgf")


def test_a_board_other_than_19_is_refused_for_the_policy_network(tmp_path):
    G.write_game(tmp_path / "g9.sgf", G.random_game(seed=0, moves=10, size=9))
    game = G.read_game(tmp_path / "g9.sgf")
    assert game.size == 9
    with pytest.raises(DataError, match="9x9 board; the policy network plays 19x19 only"):
        G.game_positions(game, "g9.sgf")


def test_positions_replay_a_game(tmp_path):
    game = G.random_game(seed=2, moves=25)
    game.moves.insert(10, (game.moves[9][0] * -1, G.PASS))  # a pass is no position, but it is a turn
    pos = G.game_positions(game)
    played = [(c, p) for c, p in game.moves if p != G.PASS]
    assert len(pos["move"]) == len(played) and list(pos["move"]) == [p for _, p in played]
    assert list(pos["colour"]) == [c for c, _ in played]
    planes = np.unpackbits(pos["planes"], axis=1, count=48 * 361).reshape(-1, 48, 361).astype(bool)
    legal = np.unpackbits(pos["legal"], axis=1, count=361).astype(bool)
    rows = np.arange(len(played))
    assert legal[rows, pos["move"]].all() and planes[rows, G.P_EMPTY, pos["move"]].all()
    assert planes[0, G.P_EMPTY].all() and planes[1, G.P_OPPONENT].sum() == 1  # before move 1, before move 2


# ---------------------------------------------------------------------------------------- GNU Go self-play
@pytest.mark.skipif(G.gnugo_binary() is None, reason="gnugo is not installed (apt-get install gnugo)")
def test_gnugo_selfplay_writes_reproducible_games(tmp_path):
    folder = G.selfplay(tmp_path / "set", games=2, level=0, move_cap=8, workers=2, verbose=False)
    files = sorted((folder / "games").glob("*.sgf"))
    assert [f.name for f in files] == ["game-00000.sgf", "game-00001.sgf"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["games"] == 2 and manifest["level"] == 0 and manifest["gnugo"].startswith("3.")
    games = [G.read_game(f) for f in files]
    for g in games:
        assert len(g.moves) == 8 and [c for c, _ in g.moves] == [B, W] * 4
        assert "--level 0" in g.comment and g.player.startswith("GNU Go")
    assert games[0].moves != games[1].moves  # seeds 1 and 2
    again = G.selfplay_game(seed=1, level=0, move_cap=8)
    assert again.moves == games[0].moves  # the same seed, the same game
    pos = G.game_positions(games[0])
    assert len(pos["move"]) == sum(p != G.PASS for _, p in games[0].moves)


def test_installer_runs_selfplay_and_installs_gnugo_only_where_missing(monkeypatch):
    from nnzoo.data import store
    cmds = store.commands("go-games")
    assert cmds[-1][1:4] == ["-m", "nnzoo.data", "go-games"] and "--games" in cmds[-1]
    assert cmds[-1][cmds[-1].index("--games") + 1] == str(store.GO_GAMES)
    monkeypatch.setattr(store, "gnugo_binary", lambda: None)
    assert store.commands("go-games")[0] == ["apt-get", "install", "-y", "gnugo"]


def test_the_generators_entry_point_runs_without_warnings_and_refuses_an_unknown_set():
    """`python -m nnzoo.data go-games` is the installer's command: it must not warn that the module runs twice
    (it would with `python -m nnzoo.data.go`, which the package imports first)."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "nnzoo.data", "go-games", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "--games" in done.stdout and done.stderr == ""
    bad = subprocess.run([sys.executable, "-m", "nnzoo.data", "go"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "python -m nnzoo.data: unknown set 'go'; give one of babi, go-games"]


def test_a_hung_gnugo_is_stopped_after_the_timeout(tmp_path):
    """A GTP reply that never comes ends the engine with one line naming what to do, instead of hanging the
    install (the stand-in engine reads its commands and never answers)."""
    import time
    hung = tmp_path / "gnugo"
    hung.write_text("#!/bin/sh\nexec sleep 60\n")
    hung.chmod(0o755)
    gtp = G.GTP(level=1, seed=1, binary=str(hung), timeout=0.5)
    start = time.monotonic()
    with pytest.raises(DataError, match=r"gnugo did not answer 'genmove b' within 0.5 s and was stopped; rerun"):
        gtp("genmove b")
    assert time.monotonic() - start < 5
    gtp.close()
    assert gtp.proc.poll() is not None  # killed, not left behind
    with pytest.raises(DataError, match="stopped answering"):
        gtp("version")


# --------------------------------------------------------------------------------------------- the network
def test_the_policy_network_has_alphagos_exact_size():
    from nnzoo.models.alphago import AlphaGoPolicy, AlphaGoPolicyConfig
    m = AlphaGoPolicy(AlphaGoPolicyConfig())
    # 48*192*25 + 192 + 11 * (192*192*9 + 192) + 192 + 361
    assert sum(p.numel() for p in m.parameters()) == 3_882_793
    shapes = [tuple(c.weight.shape) for c in m.convs]
    assert len(m.convs) == 13 and shapes[0] == (192, 48, 5, 5) and shapes[-1] == (1, 192, 1, 1)
    assert shapes[1:-1] == [(192, 192, 3, 3)] * 11 and m.convs[-1].bias is None
    assert tuple(m.point_bias.shape) == (361,)
    x = torch.zeros(2, 48, 19, 19)
    assert m(x).shape == (2, 361)


def test_the_one_layer_baseline_and_the_board_size_check():
    from nnzoo import registry
    from nnzoo.errors import UserError
    from nnzoo.models.alphago import AlphaGoPolicy, AlphaGoPolicyConfig
    base = registry.create_model("alphago-policy", layers=1)
    assert [tuple(c.weight.shape) for c in base.convs] == [(1, 48, 5, 5)]
    assert sum(p.numel() for p in base.parameters()) == 48 * 25 + 361
    # a linear model: the logits are linear in the planes
    x1, x2 = torch.rand(1, 48, 19, 19), torch.rand(1, 48, 19, 19)
    z = lambda x: base(x) - base.point_bias  # noqa: E731
    assert torch.allclose(z(x1 + 2 * x2), z(x1) + 2 * z(x2), atol=1e-4)
    with pytest.raises(ValueError, match="board=9: .* 19x19 only"):
        AlphaGoPolicy(AlphaGoPolicyConfig(board=9))
    with pytest.raises(UserError, match="use board=19"):
        registry.create_model("alphago-policy", board=13)


def test_illegal_points_get_no_probability_and_the_loss_is_cross_entropy():
    from nnzoo.models.alphago import AlphaGoPolicy, example_batch, tiny
    cfg = tiny()
    torch.manual_seed(0)
    m = AlphaGoPolicy(cfg)
    b = example_batch(cfg, 4)
    out = m.loss(b)
    prob = out["logits"].softmax(1)
    assert (prob[~b["legal"]] == 0).all() and torch.allclose(prob.sum(1), torch.ones(4))
    manual = -out["logits"].log_softmax(1)[torch.arange(4), b["move"]].mean()
    assert out["loss"].item() == pytest.approx(manual.item(), rel=1e-6)
    m.cfg.mask_illegal = False
    assert (m.loss(b)["logits"].softmax(1)[~b["legal"]] > 0).all()


# --------------------------------------------------------------------------------------------------- task
@pytest.fixture(scope="module")
def game_folder(tmp_path_factory):
    """Ten games of random moves, and a data folder (where the planes are cached) for this module's tests."""
    folder = tmp_path_factory.mktemp("go-games")
    for i in range(10):
        G.write_game(folder / f"g{i:02d}.sgf", G.random_game(seed=100 + i, moves=24))
    mp = pytest.MonkeyPatch()
    mp.setenv("NNZOO_DATA", str(tmp_path_factory.mktemp("data")))
    yield folder
    mp.undo()


def test_the_task_splits_by_game_and_caches_the_planes(game_folder):
    import os
    from pathlib import Path
    from nnzoo.tasks.go import load_data
    data = load_data(str(game_folder))
    assert data.games == {"train": 8, "val": 1, "test": 1}
    pos = data.positions
    seen = {k: set(pos.game[v].tolist()) for k, v in data.splits.items()}
    assert seen == {"train": set(range(8)), "val": {8}, "test": {9}}
    assert sum(map(len, data.splits.values())) == len(pos) == 240
    assert len(list((Path(os.environ["NNZOO_DATA"]) / "go" / "cache").glob("*.npz"))) == 1
    again = load_data(str(game_folder), val_size=2, test_size=5)  # read from the cache
    assert again.games == {"train": 7, "val": 2, "test": 1} and len(again.splits["test"]) == 5
    assert (again.positions.planes == pos.planes).all()


def test_training_eval_and_predict_end_to_end(game_folder, nnzoo_cli, tmp_path):
    run = tmp_path / "run"
    code, out, err = nnzoo_cli("train", "go-policy", f"data={game_folder}", "filters=8", "layers=3",
                               "batch_size=32", "epochs=1", "tensorboard=false", "--out", run,
                               "--quiet")
    assert code == 0, err
    code, out, err = nnzoo_cli("eval", run, "--json")
    assert code == 0, err
    fig = json.loads(out)
    assert fig["step"] == 192 // 32 and fig["test_positions"] == 24 and fig["test_games"] == 1
    assert 0 <= fig["test_top1_accuracy_percent"] <= fig["test_top5_accuracy_percent"] <= 100
    art = np.load(run / "artifacts.npz")
    assert art["grid:policy"].shape == (4, 1, 3, 19 * 5, 19 * 5) and art["policy_prob"].shape == (4, 19, 19)
    assert np.allclose(art["policy_prob"].sum((1, 2)), 1, atol=1e-4)
    assert [p.name for p in (run / "policy").glob("*.png")] == ["epoch-001.png"]  # drawn after each epoch
    code, out, err = nnzoo_cli("predict", run, game_folder / "g00.sgf", "--json")
    assert code == 0, err
    pred = json.loads(out)[0]
    assert len(pred["top5"]) == 5 and pred["to_move"] in "BW" and G.parse_point(pred["label"]) >= 0
    # bad input: one line, exit 2
    (tmp_path / "bad.sgf").write_text("(;GM[1]SZ[19];B[dd")
    code, out, err = nnzoo_cli("predict", run, tmp_path / "bad.sgf")
    assert code == 2 and "not an SGF file that parses" in err and len(err.strip().splitlines()) == 1
    G.write_game(tmp_path / "small" / "g9.sgf", G.random_game(seed=0, moves=6, size=9))
    code, out, err = nnzoo_cli("train", "go-policy-baseline", f"data={tmp_path / 'small'}", "--out",
                               tmp_path / "run9", "--quiet")
    assert code == 2 and "19x19 only" in err and len(err.strip().splitlines()) == 1
