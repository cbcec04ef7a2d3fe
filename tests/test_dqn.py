"""Deep Q-learning (models/dqn.py, tasks/rl.py, data/envs.py): the loss on a hand example (plain, Double DQN,
Huber, the target network), the replay memory's frame storage and its stacks against the emulator's own,
the epsilon schedule, one-line errors for environments DQN cannot use, exact resume after SIGKILL, a tiny
CartPole run that learns, and `nnzoo play`.

Run as a script it is the killed half of the resume test: `python test_dqn.py RUN_DIR KILL_AT THREADS`
trains the RESUME settings until the checkpoint of step KILL_AT is written, then dies by SIGKILL."""
import dataclasses
import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
RESUME = ["total_steps=600", "learning_starts=100", "train_frequency=20", "gradient_steps=4", "num_envs=2",
          "buffer_size=200", "hidden=[32]", "target_update=50", "batch_size=16", "epochs=2", "eval_episodes=2",
          "test_episodes=2", "log_every=5", "tensorboard=false"]
"""120 loop steps (30 rounds of 20 environment steps and 4 updates), 2 CartPole copies, 100 rows each: the
rings wrap and dozens of episodes end before the kill."""
LEARN = ["hidden=[64,64]", "total_steps=4096", "train_frequency=64", "gradient_steps=32", "learning_starts=256",
         "target_update=10", "buffer_size=10000", "exploration_fraction=0.2", "epochs=2", "eval_episodes=5",
         "test_episodes=10", "log_every=20", "tensorboard=false"]
"""cartpole-dqn's rl-baselines3-zoo settings, shrunk to a few seconds."""


def train(run_dir, settings, resume: bool = False):
    from nnzoo import registry, runs
    from nnzoo.config import parse_overrides
    recipe = registry.get_recipe("cartpole-dqn")
    mcfg, tcfg = registry.resolve(recipe, parse_overrides(settings))
    return runs.train(Path(run_dir), recipe, mcfg, tcfg, resume=resume, verbose=False)


# ------------------------------------------------------------------------------------------------ the loss
def hand_model(huber=False, double=False):
    """Q(s; theta) = W s + b with W = [[0, 1], [2, 0]], b = [1, 0]; theta^- = the identity, Q(s; theta^-) = s."""
    from nnzoo.models.dqn import DQN, DQNConfig
    m = DQN(DQNConfig(obs_shape=[2], n_actions=2, hidden=[], gamma=0.9, huber=huber, double=double))
    with torch.no_grad():
        m.q.head.weight.copy_(torch.eye(2))
        m.q.head.bias.zero_()
        m.sync_target()
        m.q.head.weight.copy_(torch.tensor([[0.0, 1.0], [2.0, 0.0]]))
        m.q.head.bias.copy_(torch.tensor([1.0, 0.0]))
    return m


# s = [1, 2], a = 1: Q(s; theta) = [3, 2], Q(s, a) = 2; s' = [1, 3]: Q(s'; theta) = [4, 2] (argmax 0),
# Q(s'; theta^-) = [1, 3]; r = 0.5, gamma = 0.9. Then a terminal one: s = [0.5, 0], a = 0, Q(s, a) = 1, r = 1.5.
BATCH = (torch.tensor([[1.0, 2.0], [0.5, 0.0]]), torch.tensor([1, 0]), torch.tensor([0.5, 1.5]),
         torch.tensor([[1.0, 3.0], [10.0, -10.0]]), torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize("huber,double,want", [
    # DQN: y = 0.5 + 0.9 max(1, 3) = 3.2, TD 1.2; terminal: y = 1.5, TD 0.5
    (False, False, (1.2 ** 2 + 0.5 ** 2) / 2),
    (True, False, ((1.2 - 0.5) + 0.5 * 0.5 ** 2) / 2),  # Huber: |d| - 1/2 beyond 1, d^2 / 2 within
    # Double DQN: a' = argmax Q(s'; theta) = 0, valued by theta^-: y = 0.5 + 0.9 * 1 = 1.4, TD -0.6
    (False, True, (0.6 ** 2 + 0.5 ** 2) / 2),
    (True, True, (0.5 * 0.6 ** 2 + 0.5 * 0.5 ** 2) / 2),
])
def test_loss_golden_values(huber, double, want):
    m = hand_model(huber, double)
    out = m.loss(BATCH)
    assert out["loss"].item() == pytest.approx(want, abs=1e-6)
    assert out["q_mean"].item() == pytest.approx((2.0 + 1.0) / 2)


def test_the_target_network_is_a_buffer_copy_synced_on_demand():
    m = hand_model()
    assert not any("target" in n for n, _ in m.named_parameters())  # no optimizer ever sees theta^-
    x = torch.tensor([[1.0, 3.0]])
    assert torch.equal(m.target_q(x), x)  # still the identity
    m.loss(BATCH)["loss"].backward()
    assert all(b.grad is None for b in m.target.buffers())
    m.sync_target()
    assert torch.equal(m.target_q(x), m(x))
    # after the sync the target is the online network: y = 0.5 + 0.9 max(4, 2) = 4.1, TD 2.1
    assert m.loss(BATCH)["loss"].item() == pytest.approx((2.1 ** 2 + 0.5 ** 2) / 2, abs=1e-6)
    # and the sync is a copy: training theta afterwards leaves theta^- where it was
    with torch.no_grad():
        m.q.head.weight.add_(1.0)
    assert not torch.equal(m.target_q(x), m(x))


def test_the_nature_cnn_has_mnih_et_al_s_shape_and_reads_bytes():
    from nnzoo.models.dqn import DQN, DQNConfig, example_batch
    m = DQN(DQNConfig(net="nature-cnn", obs_shape=[4, 84, 84], n_actions=4))
    convs = [l for l in m.q.torso.convs if isinstance(l, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [(32, (8, 8), (4, 4)), (64, (4, 4), (2, 2)),
                                                                        (64, (3, 3), (1, 1))]
    assert m.q.torso.fc[0].in_features == 64 * 7 * 7 and m.features(torch.zeros(2, 4, 84, 84)).shape == (2, 512)
    s = example_batch(m.cfg, 3)[0]
    assert s.dtype == torch.uint8
    # the model scales bytes itself: the same frames as floats in [0, 1] times 255 give the same Q-values
    assert torch.allclose(m(s), m(s.float()), atol=1e-6)
    with pytest.raises(ValueError, match="nature-cnn reads stacked frames"):
        DQN(DQNConfig(net="nature-cnn", obs_shape=[4], n_actions=2))


# --------------------------------------------------------------------------------------- replay memory
def test_frames_are_stored_once_and_stacks_stop_at_episode_starts():
    from nnzoo.tasks.rl import ReplayMemory
    mem = ReplayMemory(capacity=10, n_envs=1, frame_shape=(2, 2), frame_dtype=np.uint8, history=4)
    assert mem.frames.shape == (1, 10, 2, 2)  # one frame a row, not a stack of four
    e = np.array([0])
    frame = lambda v: np.full((1, 2, 2), v, dtype=np.uint8)  # noqa: E731
    # episode 1: observations 1..5 (5 is its last), episode 2: 6, 7, 8
    mem.add(e, frame(1), first=True)
    for v in (2, 3, 4, 5):
        mem.record(np.array([v % 2]), np.array([float(v)]), np.array([v == 5]))
        mem.add(e, frame(v), first=False)
    mem.add(e, frame(6), first=True)  # the reset: row 4 (frame 5) is a final observation, never acted from
    for v in (7, 8):
        mem.record(np.array([0]), np.array([0.0]), np.array([False]))
        mem.add(e, frame(v), first=False)
    top = lambda s: s[:, :, 0, 0].tolist()  # noqa: E731  # each frame's value
    assert top(mem.states(np.array([0, 0, 0, 0]), np.array([0, 1, 3, 4]))) == [
        [0, 0, 0, 1], [0, 0, 1, 2], [1, 2, 3, 4], [2, 3, 4, 5]]
    # after the reset the stack holds no frame of the episode before
    assert top(mem.states(np.array([0, 0, 0]), np.array([5, 6, 7]))) == [[0, 0, 0, 6], [0, 0, 6, 7], [0, 6, 7, 8]]
    valid = mem.valid(np.zeros(10, dtype=np.int64), np.arange(10))
    assert valid.tolist() == [True, True, True, True, False, True, True, False, False, False]
    s, a, r, s2, done = mem.sample(200, torch.Generator().manual_seed(0))
    assert set(s[:, -1, 0, 0]) == {1, 2, 3, 4, 6, 7}
    assert np.array_equal(s2[:, -1, 0, 0], np.where(s[:, -1, 0, 0] == 4, 5, s[:, -1, 0, 0] + 1))
    assert np.array_equal(done, s[:, -1, 0, 0] == 4) and np.array_equal(r[done], np.full(done.sum(), 5.0))
    # 3 more rows: frame 11 overwrites row 0, the oldest rows 1..3 now have a history of new frames
    for v in (9, 10, 11):
        mem.record(np.array([0]), np.array([0.0]), np.array([False]))
        mem.add(e, frame(v), first=False)
    assert mem.valid(np.zeros(10, dtype=np.int64), np.arange(10)).tolist() == [
        False, False, False, False, False, True, True, True, True, True]
    assert top(mem.states(np.array([0]), np.array([0]))) == [[8, 9, 10, 11]]


@pytest.mark.filterwarnings("ignore")
def test_rebuilt_stacks_are_the_emulator_s_own_through_lost_lives_and_new_games():
    """The memory keeps one 84x84 frame a step; the state it rebuilds from 4 rows equals the 4-frame stack
    ale_py's AtariVectorEnv showed the agent, at every step, across lost lives (the stack goes on) and game
    over (a new game, zeros before its first frame)."""
    import dataclasses
    from nnzoo.data.envs import Envs, env_spec
    from nnzoo.models.dqn import DQN, DQNConfig
    from nnzoo.tasks.rl import Task
    spec = env_spec("breakout")
    task = Task()
    cfg = task.adapt(DQNConfig(net="nature-cnn", num_envs=2, buffer_size=4000, train_frequency=2, start_e=1.0,
                               end_e=1.0), spec)
    torch.manual_seed(0)
    model = DQN(dataclasses.replace(cfg))
    envs = Envs(spec, 2, lives_end_episodes=True)
    try:
        task.begin(envs, spec, model, seed=3)
        for step in range(1500):
            task.act(model, envs, spec, 3, "cpu", step, 100)
            assert np.array_equal(task.memory.states(np.arange(2), task.memory.current()), task.obs), step
            if task.episodes.sum() >= 1:  # a game is over: 5 lives lost in it
                break
    finally:
        envs.close()
    assert task.episodes.sum() >= 1 and (task.memory.terminal & task.memory.acted).sum() >= 5
    assert task.memory.first.sum() == 2 + task.episodes.sum()  # the two first games and each new one
    assert task.memory.frames.dtype == np.uint8 and task.memory.frames.shape[2:] == (84, 84)


def test_epsilon_falls_linearly_then_stays():
    from nnzoo.models.dqn import DQNConfig
    from nnzoo.tasks.rl import epsilon
    k = DQNConfig(total_steps=1000, start_e=1.0, end_e=0.05, exploration_fraction=0.5)
    got = [epsilon(t, k) for t in (0, 250, 500, 900)]
    assert got == pytest.approx([1.0, 0.525, 0.05, 0.05])
    assert epsilon(10, DQNConfig(exploration_fraction=0.0, end_e=0.1)) == 0.1


def test_while_every_copy_explores_the_network_is_not_asked(monkeypatch):
    """At epsilon 1 no action is greedy, so act() skips the forward pass (CleanRL's shortcut), and the actions
    are the explore generator's alone; below 1 the network acts where a copy does not explore."""
    from nnzoo import registry
    from nnzoo.config import parse_overrides
    from nnzoo.data.envs import Envs
    from nnzoo.models.dqn import DQN
    from nnzoo.tasks.rl import Task
    recipe = registry.get_recipe("cartpole-dqn")
    mcfg, tcfg = registry.resolve(recipe, parse_overrides(["num_envs=2", "train_frequency=256", "hidden=[8]",
                                                           "start_e=1.0", "end_e=1.0"]))
    task = Task()
    data = task.load(tcfg)
    mcfg = task.adapt(mcfg, data)
    model = registry.create_model("dqn", mcfg)
    calls = []
    real_act = DQN.act
    monkeypatch.setattr(DQN, "act", lambda self, s: calls.append(1) or real_act(self, s))
    envs = Envs(data, 2)
    try:
        task.begin(envs, data, model, 0)
        for _ in range(20):
            task.act(model, envs, data, 0, torch.device("cpu"), 1, 10)
        assert calls == [] and task.env_steps == 40
        task.keys = dataclasses.replace(task.keys, start_e=0.5, end_e=0.5)
        for _ in range(20):
            task.act(model, envs, data, 0, torch.device("cpu"), 1, 10)
        assert 0 < len(calls) <= 20
    finally:
        envs.close()


def test_adam_takes_its_fused_kernel_for_float_weights_on_a_cpu():
    from nnzoo.train.config import TrainConfig
    from nnzoo.train.optim import fusable, make_optimizer
    net = torch.nn.Linear(3, 2)
    opt = make_optimizer(net.parameters(), TrainConfig(optimizer="adam"))
    assert opt.param_groups[0]["fused"] is True
    assert not fusable([torch.zeros(2, dtype=torch.int64)]) and not fusable([])


def test_the_progress_bar_shows_the_recent_return_and_epsilon():
    """The training bar's postfix (Task.progress): nothing before the stream starts, then the mean return of the
    last 100 episodes (none yet: left out) and epsilon at the current environment step."""
    from nnzoo.models.dqn import DQNConfig
    from nnzoo.tasks.rl import Task
    t = Task()
    assert t.progress() == {}
    t.keys = DQNConfig(total_steps=1000, start_e=1.0, end_e=0.05, exploration_fraction=0.5)
    t.env_steps = 250
    assert t.progress() == {"eps": "0.525"}
    t.recent = [10.0, 21.0]
    assert t.progress() == {"return": "15.5", "eps": "0.525"}

# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("name,match", [
    ("CartPol-v1", r"unknown environment 'CartPol-v1'.*did you mean CartPole-v1"),
    ("breakoutt", r"unknown environment 'breakoutt'.*did you mean breakout"),
    ("Pendulum-v1", r"continuous action space .*DQN needs a discrete action space; e.g. CartPole-v1"),
    ("FrozenLake-v1", r"not a vector"),
])
def test_an_environment_dqn_cannot_use_is_one_line(name, match):
    from nnzoo.data.envs import env_spec
    from nnzoo.errors import UserError
    with pytest.raises(UserError, match=match) as e:
        env_spec(name)
    assert "\n" not in str(e.value)


def test_a_missing_rom_is_one_line(tmp_path, monkeypatch, capsys):
    from nnzoo.data import DataError
    from nnzoo.data.envs import env_spec
    monkeypatch.setenv("ALE_ROMS_DIR", str(tmp_path))  # an empty ROM folder
    with pytest.raises(DataError, match=r"the ROM of breakout is missing.*pip install ale-py==0.12.1") as e:
        env_spec("breakout")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("recipe,extra,match", [
    ("cartpole-dqn", ["data=breakout"], "breakout gives 4 stacked 84x84 frames but net=mlp reads vectors; use "
                                        "net=nature-cnn"),
    ("breakout-dqn", ["data=CartPole-v1"], "CartPole-v1 gives vectors of 4 numbers but net=nature-cnn reads "
                                           "84x84 frames; use net=mlp"),
    ("cartpole-dqn", ["data=MountainCarContinuous-v0"], "DQN needs a discrete action space; e.g. CartPole-v1"),
    ("cartpole-dqn", ["num_envs=3"], "train_frequency=256 is not a multiple of num_envs=3"),
])
def test_a_mismatch_stops_the_command_in_one_line(recipe, extra, match, nnzoo_cli, tmp_path):
    code, out, err = nnzoo_cli("train", recipe, "--out", tmp_path / "r", "--quiet", *extra)
    assert code == 2 and match in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------------------- exact resume
def killed_run(run, k: int) -> None:
    p = subprocess.run([sys.executable, __file__, str(run), str(k), str(torch.get_num_threads())], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == -signal.SIGKILL, p.stderr[-3000:]
    from nnzoo.train import checkpoint
    assert int(checkpoint.load_state(checkpoint.latest(run))["step"]) == k


def weights(run):
    from safetensors.torch import load_file
    from nnzoo.train import checkpoint
    return load_file(str(checkpoint.latest(run) / "model.safetensors"))


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    run = tmp_path_factory.mktemp("straight") / "run"
    return train(run, RESUME), weights(run)


@pytest.fixture(scope="module")
def killed(straight, tmp_path_factory):
    """A run killed by SIGKILL after the checkpoint of step N/2 + 1: mid-epoch and inside a round of 4 gradient
    steps, with episodes under way and the memory's rings wrapped. Each test resumes a copy of it."""
    k = straight[0].total_steps // 2 + 1
    assert k % 4
    run = tmp_path_factory.mktemp("killed") / "run"
    killed_run(run, k)
    return run


def test_killed_and_resumed_equals_straight(straight, killed, tmp_path):
    """N steps straight == killed and resumed: bit-identical weights, target network and environment-step
    count included."""
    import shutil
    result, want = straight
    shutil.copytree(killed, tmp_path / "r")
    done = train(tmp_path / "r", RESUME, resume=True)
    assert done.finished and done.step == result.step
    got = weights(tmp_path / "r")
    assert got.keys() == want.keys() and any(key.startswith("target.") for key in got)
    assert all(torch.equal(got[key], want[key]) for key in got), "the resumed run drifted from the straight one"
    assert int(got["env_steps"]) == 600


def test_without_the_task_state_it_drifts(straight, killed, tmp_path, monkeypatch):
    """The control: the same resume with the task's checkpointed state (memory, environments, generator,
    schedule) thrown away drifts, so the test above checks the state, not luck."""
    import shutil
    from nnzoo.tasks import rl
    from nnzoo.tasks.base import Task
    shutil.copytree(killed, tmp_path / "r")
    monkeypatch.setattr(rl.Task, "load_state_dict", Task.load_state_dict)
    train(tmp_path / "r", RESUME, resume=True)
    got, want = weights(tmp_path / "r"), straight[1]
    assert not all(torch.equal(got[key], want[key]) for key in got)


@pytest.mark.filterwarnings("ignore")
def test_an_atari_run_resumes_with_new_games_and_refills_its_memory(nnzoo_cli, tmp_path):
    """Breakout's memory is left out of checkpoints (save_replay=false): the resumed run plays new games and
    updates again once learning_starts new steps are in memory; it reaches its end and reports."""
    tiny = ["total_steps=96", "learning_starts=16", "num_envs=2", "train_frequency=2", "buffer_size=200",
            "batch_size=4", "epochs=1", "eval_episodes=1", "test_episodes=1", "eval_max_steps=10", "log_every=4",
            "tensorboard=false"]
    run = tmp_path / "r"
    code, _, err = nnzoo_cli("train", "breakout-dqn", "--out", run, "--quiet", *tiny, "stop_after=24")
    assert code == 0, err
    from nnzoo.train import checkpoint
    assert "memory" not in checkpoint.load_state(checkpoint.latest(run))["task"]
    code, out, err = nnzoo_cli("train", "--resume", run, "--quiet")
    assert code == 0, err
    from nnzoo.train.logging import read_metrics
    losses = [r["step"] for r in read_metrics(run) if r["split"] == "train" and r["name"] == "loss"]
    # updates before the stop (from env step 16, loop step 8) and again after the refill (env step 48 + 16)
    assert losses[0] <= 12 and max(losses) == 48 and not [s for s in losses if 24 < s < 32]
    assert json.loads(nnzoo_cli("eval", run, "--json")[1])["env_steps"] == 96


# ------------------------------------------------------------------------------------ learning, play
@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    from nnzoo.runs import evaluate_run
    run = tmp_path_factory.mktemp("learn") / "run"
    result = train(run, LEARN)
    return run, result, evaluate_run(run)


def test_a_tiny_cartpole_run_learns(learned):
    """4,096 environment steps: the greedy return is well above a random policy's (about 22; 150 to 180 measured
    with seeds 0 and 1), the Q-values grow towards the discounted return of the pole staying up, every episode
    is charted."""
    from nnzoo.train.logging import read_metrics
    run, result, figures = learned
    assert figures["env_steps"] == 4096 and figures["test_episodes"] == 10
    assert figures["mean_return"] > 60, figures
    recs = read_metrics(run)
    q = [r["value"] for r in recs if r["split"] == "train" and r["name"] == "q_mean"]
    assert q[-1] > 3 * q[0] and q[-1] > 5
    returns = [r for r in recs if r["split"] == "charts" and r["name"] == "episodic_return"]
    lengths = [r for r in recs if r["split"] == "charts" and r["name"] == "episodic_length"]
    assert len(returns) == len(lengths) > 30
    assert all(r["value"] == l["value"] for r, l in zip(returns, lengths))  # CartPole: +1 a step
    assert [r["env_step"] for r in returns] == sorted(r["env_step"] for r in returns)
    val = [r for r in recs if r["split"] == "val"]
    assert {"mean_return", "epsilon", "env_steps_per_second"} <= {r["name"] for r in val}


def test_nnzoo_play_prints_returns_and_writes_a_gif(learned, nnzoo_cli, tmp_path):
    from PIL import Image
    run = learned[0]
    code, out, err = nnzoo_cli("play", run, "--episodes", "3", "--gif", tmp_path / "p.gif", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert len(res["returns"]) == 3 and res["epsilon"] == 0.0 and res["env"] == "CartPole-v1"
    with Image.open(res["gif"]) as gif:
        # every second frame of the first episode (CartPole's 50 Hz shown at 25 frames a second)
        assert gif.n_frames > res["lengths"][0] // 4 and gif.size == (300, 200)
    code, out, err = nnzoo_cli("play", run, "--episodes", "2")
    assert code == 0 and out.count("episode ") == 2 and "mean return" in out
    # the same seed, the same games
    code2, out2, _ = nnzoo_cli("play", run, "--episodes", "2")
    assert out2 == out


def test_play_refuses_bad_input_in_one_line(learned, nnzoo_cli, tmp_path):
    run = learned[0]
    for args, match in ((["--episodes", "0"], "--episodes must be 1 or more"),
                        (["--gif", tmp_path], "is a folder"),
                        (["--gif", tmp_path / "no" / "x.gif"], "does not exist"),
                        (["--epsilon", "2"], "--epsilon must be in [0, 1]")):
        code, out, err = nnzoo_cli("play", run, *args)
        assert code == 2 and match in err and err.count("\n") == 1, err
    from nnzoo import registry
    from nnzoo.errors import UserError
    with pytest.raises(UserError, match="is a mnist-cnn run, which acts in no environment; play with a run of "
                                        "cartpole-dqn"):
        registry.get_task("classify").refuse("play", "runs/x", "mnist-cnn")


# ------------------------------------------------------------------------------------ dqn-representation
def test_knn_r2_is_one_for_a_smooth_value_and_near_zero_for_noise():
    from nnzoo.experiments.dqn_representation import knn_r2
    rng = np.random.default_rng(0)
    pts = rng.uniform(size=(400, 2))
    assert knn_r2(pts, 3.0 * pts[:, 0]) > 0.98
    assert knn_r2(pts, rng.normal(size=400)) < 0.1


def test_dqn_representation_maps_an_agent_s_states(learned, tmp_path):
    """The quick experiment on the tiny CartPole agent: one state in `stride` of 10 greedy games, their layer
    (64 units here), V's range, both neighbour R^2 figures and the picture; a missing run is one line."""
    from nnzoo.errors import UserError
    from nnzoo.experiments import dqn_representation as dr
    res = dr.run(tmp_path / "out", quick=True, progress=False, run_dir=str(learned[0]))
    f = res["figures"]
    assert f["hidden_units"] == 64 and f["episodes"] == dr.QUICK["episodes"]
    assert 2 * dr.K <= f["states"] <= dr.QUICK["states"]
    assert f["v_min"] <= f["v_max"] and -1.0 <= f["v_knn10_r2_tsne"] <= 1.0
    assert 0.5 < f["tsne_trustworthiness_k10"] <= 1.0
    assert (tmp_path / "out" / res["images"][0]).stat().st_size > 10_000
    with pytest.raises(UserError):
        dr.run(tmp_path / "out2", quick=True, progress=False, run_dir=str(tmp_path / "missing"))


if __name__ == "__main__":  # train RESUME until the checkpoint of step KILL_AT is written, then die by SIGKILL
    from streams import die_after_checkpoint
    run, kill_at, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)  # the straight run's thread count: the same sums in the same order
    die_after_checkpoint(kill_at)
    train(run, RESUME + [f"ckpt_every={kill_at}"])
    sys.exit("the run ended before the step it was to be killed at")
