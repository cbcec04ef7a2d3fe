"""Deep Q-learning in an environment (task `rl`): the model makes its own training data by acting.

The algorithm, as CleanRL's dqn.py lays it out on one page, lives in `Task.train_batches`:

    for each round of train_frequency environment steps (all environments together):
        each vector step: epsilon = linear schedule of the environment steps taken
                          a = random action with probability epsilon, else argmax_a Q(s, a; theta), per copy
                          step every copy; store (s, a, r, s', terminated) in the replay memory
                          every target_update environment steps: theta^- <- theta
                          a copy whose episode ended: log its return and length, reset it with the next seed
        then gradient_steps minibatches of batch_size transitions drawn uniformly from the memory (steps
        before learning_starts have none: a loop step without an update)

One loop step is one gradient step (or one step without a batch while the memory fills); the first of a
round's `gradient_steps` loop steps steps the environments. The progress bar counts environment steps.

The replay memory (`ReplayMemory`) is preallocated numpy arrays, one ring per environment copy; each row is
one observation and what was done from it. For Atari a row holds only the newest 84x84 frame (7,056 bytes),
not the 4-frame state, and states are rebuilt by index from 4 consecutive rows, with the frames before an
episode's first row zeroed, as the emulator's own stack has them.

Every episode is seeded: copy i's k-th episode starts from a seed of (seed, i, k). So the environments'
state is their episodes' seeds and the actions since, and a checkpoint holds that, the replay memory, the
exploration generator and the schedule's position: a resumed CartPole run is bit-identical to a straight
one. Atari's vector environment cannot replay one copy alone, so a resumed Atari run starts new games and,
unless save_replay=true, an empty memory, which it fills for learning_starts steps before updating again: it
continues, but not exactly.

Figures: each epoch's validation is the mean return of `eval_episodes` episodes played with `eval_epsilon`
(greedy by default) on fixed seeds; `nnzoo eval` plays `test_episodes`. Each finished training episode's
return and length are logged as charts/episodic_return and charts/episodic_length (CleanRL's names) to
metrics.jsonl (split "charts", with the environment step) and TensorBoard (against the environment step),
written at each epoch's end.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from ..data.envs import EnvSpec, Envs, env_spec
from ..errors import UserError
from ..train.stream import Epoch
from .base import Task as BaseTask

EVAL_SEED, TEST_SEED = 9_001, 9_002
"""The evaluation episodes' own seeds, apart from every training seed: every run is scored on the same games."""
EVAL_ENVS = 16
"""Most environment copies an evaluation plays at once."""
GIF_FRAMES = 2_000
"""Most frames of a GIF (a long Atari game is cut)."""
SEED_MOD = 2**31 - 1
"""Episode seeds stay below 2^31 (ALE reads them as 32-bit integers)."""


def seed_of(*parts: int) -> int:
    """One seed from several integers (run seed, copy, episode): distinct tuples, unrelated games."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1, np.uint32)[0]) % SEED_MOD


def epsilon(env_steps: int, keys) -> float:
    """CleanRL's linear_schedule: from start_e at step 0 to end_e after exploration_fraction * total_steps
    environment steps, then flat."""
    duration = keys.exploration_fraction * keys.total_steps
    if duration <= 0:
        return keys.end_e
    # eps(t) = start_e + (end_e - start_e) min(1, t / duration)
    return keys.start_e + (keys.end_e - keys.start_e) * min(1.0, env_steps / duration)


class ReplayMemory:
    """One ring of `per_env` rows per environment copy. Row t of copy e holds an observation (a frame) and,
    once the copy has acted from it, the action, the reward and whether that step terminated; row t + 1
    then holds the observation it led to. `first` marks an episode's first row, where a stacked state stops.

    A transition (e, t) can be drawn when the copy acted from row t (`acted`: not a final observation, whose
    successor is the next episode's first row) and, once the ring has wrapped, its history rows t - H + 1
    .. t are not the newest rows written over the oldest."""

    def __init__(self, capacity: int, n_envs: int, frame_shape: tuple, frame_dtype, history: int):
        self.E, self.P, self.H = n_envs, capacity // n_envs, history
        if self.P < history + 1:
            raise UserError(f"buffer_size={capacity} gives {self.P} rows per environment, fewer than a state "
                            f"and its successor need ({history + 1}); raise buffer_size or lower num_envs")
        self.frames = np.zeros((self.E, self.P, *frame_shape), dtype=frame_dtype)
        self.actions = np.zeros((self.E, self.P), dtype=np.int64)
        self.rewards = np.zeros((self.E, self.P), dtype=np.float32)
        self.terminal = np.zeros((self.E, self.P), dtype=bool)
        self.acted = np.zeros((self.E, self.P), dtype=bool)
        self.first = np.zeros((self.E, self.P), dtype=bool)
        self.pos = np.zeros(self.E, dtype=np.int64)  # the row each copy writes next
        self.count = np.zeros(self.E, dtype=np.int64)  # rows written, at most P

    def add(self, envs: np.ndarray, frames: np.ndarray, first: bool) -> None:
        """A new observation for each copy in `envs` (its current row from now on)."""
        rows = self.pos[envs]
        self.frames[envs, rows] = frames
        self.first[envs, rows] = first
        self.acted[envs, rows] = False
        self.pos[envs] = (rows + 1) % self.P
        self.count[envs] = np.minimum(self.count[envs] + 1, self.P)

    def current(self) -> np.ndarray:
        """Each copy's newest row (its current observation)."""
        return (self.pos - 1) % self.P

    def record(self, actions: np.ndarray, rewards: np.ndarray, terminal: np.ndarray) -> None:
        """What every copy did from its current row; the caller adds the observations they led to next."""
        e, t = np.arange(self.E), self.current()
        self.actions[e, t], self.rewards[e, t], self.terminal[e, t] = actions, rewards, terminal
        self.acted[e, t] = True

    def valid(self, e: np.ndarray, t: np.ndarray) -> np.ndarray:
        ok = (t < self.count[e]) & self.acted[e, t]
        # age 0 is the oldest row of a full ring: rows younger than H - 1 have had their history overwritten
        age = np.where(self.count[e] == self.P, (t - self.pos[e]) % self.P, t)
        return ok & ((self.count[e] < self.P) | (age >= self.H - 1))

    def states(self, e: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The states at rows t of copies e: (B, *frame) for H = 1, else (B, H, *frame), oldest frame first,
        frames from before the episode's first row zeroed."""
        if self.H == 1:
            return self.frames[e, t]
        idx = (t[:, None] + np.arange(1 - self.H, 1)) % self.P  # B, H
        x = self.frames[e[:, None], idx]  # B, H, 84, 84
        f = self.first[e[:, None], idx]  # B, H
        # frame j belongs to the state unless an episode starts at a later row of the window
        later = np.flip(np.cumsum(np.flip(f[:, 1:], 1), 1), 1) > 0  # B, H - 1
        x[:, :-1][later] = 0
        return x

    def sample(self, n: int, gen: torch.Generator):
        """n transitions drawn uniformly among the valid ones (rejection: draw rows, keep the valid)."""
        if not self.acted.any():
            raise RuntimeError("the replay memory holds no transition yet")
        # rows 0 .. count - 1 of each ring are the written ones: number them all one after another
        ends = np.cumsum(self.count)
        es, ts = [], []
        have = 0
        while have < n:
            flat = torch.randint(0, int(ends[-1]), (2 * n,), generator=gen).numpy()
            e = np.searchsorted(ends, flat, side="right")
            t = flat - (ends[e] - self.count[e])
            keep = self.valid(e, t)
            es.append(e[keep])
            ts.append(t[keep])
            have += int(keep.sum())
        e, t = np.concatenate(es)[:n], np.concatenate(ts)[:n]
        return (self.states(e, t), self.actions[e, t], self.rewards[e, t], self.states(e, (t + 1) % self.P),
                self.terminal[e, t])

    # tensors only, so a checkpoint loads with weights_only; rows past the most any copy wrote are not saved
    FIELDS = ("frames", "actions", "rewards", "terminal", "acted", "first")

    def state_dict(self) -> dict:
        used = int(self.count.max())
        out = {k: torch.from_numpy(getattr(self, k)[:, :used]) for k in self.FIELDS}
        return {**out, "pos": torch.from_numpy(self.pos), "count": torch.from_numpy(self.count)}

    def load_state_dict(self, state: dict) -> None:
        used = state["frames"].shape[1]
        if state["frames"].shape[0] != self.E or used > self.P:
            raise UserError("the checkpoint's replay memory does not fit this run's buffer_size / num_envs")
        for k in self.FIELDS:
            getattr(self, k)[:, :used] = state[k].numpy()
        self.pos[:], self.count[:] = state["pos"].numpy(), state["count"].numpy()


def to_tensors(batch, device) -> tuple:
    s, a, r, s2, done = batch
    return (torch.from_numpy(s).to(device), torch.from_numpy(a).to(device), torch.from_numpy(r).to(device),
            torch.from_numpy(s2).to(device), torch.from_numpy(done.astype(np.float32)).to(device))


@torch.no_grad()
def play_episodes(model, spec: EnvSpec, n: int, seed: int, eps: float, device, max_steps: int = 0,
                  record: bool = False) -> dict:
    """n episodes of the model acting epsilon-greedily, up to EVAL_ENVS at once: their returns and lengths in
    episode order and, with record, the frames of episode 0. Episode k's game and its random actions come
    from seeds of (seed, k) alone, whichever copy plays it and however many episodes are asked for."""
    model.eval()
    k = min(n, EVAL_ENVS)
    envs = Envs(spec, k, render=record and not spec.pixels, max_steps=max_steps)
    gens = [torch.Generator().manual_seed(seed_of(seed, i, 1)) for i in range(k)]  # each episode's own
    returns, lengths, frames = [0.0] * n, [0] * n, []
    try:
        obs = envs.reset({i: seed_of(seed, i) for i in range(k)})
        episode = np.arange(k)  # which episode each copy plays (n or more: done, idle)
        started, done = k, 0
        ret, length = np.zeros(k), np.zeros(k, dtype=np.int64)
        if record:
            frames.append(envs.frame(0))
        while done < n:
            a = model.act(torch.from_numpy(obs).to(device)).cpu()
            if eps > 0:
                for i, g in enumerate(gens):
                    if float(torch.rand((), generator=g)) < eps:
                        a[i] = int(torch.randint(0, spec.n_actions, (), generator=g))
            st = envs.step(a.numpy())
            ret += st.reward
            length += 1
            if record and episode[0] == 0 and len(frames) < GIF_FRAMES:
                frames.append(envs.frame(0))
            obs = st.obs
            reset = {}
            for i in np.flatnonzero(st.ended & (episode < n)):
                returns[episode[i]], lengths[episode[i]] = float(ret[i]), int(length[i])
                done += 1
                ret[i], length[i] = 0.0, 0
                episode[i] = started
                if started < n:
                    reset[int(i)] = seed_of(seed, started)
                    gens[i].manual_seed(seed_of(seed, started, 1))
                started += 1
            if reset:
                obs = envs.reset(reset)
    finally:
        envs.close()
    return {"returns": returns, "lengths": lengths, "frames": frames}


def write_gif(frames: list, path: Path, pixels: bool) -> Path:
    """An animated GIF: Atari's 84x84 grey frames at twice the size and 15 frames a second (60 Hz / frame
    skip 4); CartPole's renders at half size, every second one, at 25 a second (its 50 Hz clock)."""
    from PIL import Image
    if pixels:
        images = [Image.fromarray(f).resize((168, 168), Image.NEAREST) for f in frames]
        ms = 67
    else:
        images = [Image.fromarray(f).resize((f.shape[1] // 2, f.shape[0] // 2)) for f in frames[::2]]
        ms = 40
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=ms, loop=0)
    return path


class Task(BaseTask):
    kind = "deep Q-learning"
    unit = "env step"
    verbs = ("play",)
    hints = {"predict": "watch the agent play with: nnzoo play {run} --episodes 10 --gif play.gif",
             "sample": "watch the agent play with: nnzoo play {run} --episodes 10 --gif play.gif"}

    def __init__(self):
        self.keys = None  # the model config (set by adapt)
        self.memory: ReplayMemory | None = None
        self.explore: torch.Generator | None = None  # epsilon-greedy draws and the memory's samples
        self.env_steps = 0
        self.episodes = None  # episodes started per copy (the next seed's index)
        self.since_reset: list[list[int]] = []  # each copy's actions in its current episode
        self.ep_return = self.ep_length = None
        self.obs = None
        self.restored: dict | None = None
        self.refill_until = 0  # a resumed run whose memory was not saved updates again from this env step
        self.pending: list[dict] = []  # charts records not yet written (after_epoch writes them)
        self.recent: list[float] = []  # the last 100 training episodes' returns
        self.clock = None  # (time, env steps) where the current throughput measurement started
        self.tensorboard = False
        self.writer = None

    # ---------------------------------------------------------------------------------------- data, model
    def load(self, tcfg) -> EnvSpec:
        return env_spec(tcfg.data)

    def adapt(self, mcfg, data: EnvSpec):
        import dataclasses
        if data.pixels and mcfg.net != "nature-cnn":
            raise UserError(f"{data.name} gives 4 stacked 84x84 frames but net={mcfg.net} reads vectors; use "
                            f"net=nature-cnn (as the breakout-dqn recipe does)")
        if not data.pixels and mcfg.net == "nature-cnn":
            raise UserError(f"{data.name} gives vectors of {data.obs_shape[0]} numbers but net=nature-cnn reads "
                            f"84x84 frames; use net=mlp (as the cartpole-dqn recipe does)")
        if mcfg.train_frequency % mcfg.num_envs:
            raise UserError(f"train_frequency={mcfg.train_frequency} is not a multiple of num_envs="
                            f"{mcfg.num_envs} (each vector step is num_envs environment steps); e.g. "
                            f"train_frequency={mcfg.num_envs * max(1, round(mcfg.train_frequency / mcfg.num_envs))}")
        self.keys = dataclasses.replace(mcfg, obs_shape=list(data.obs_shape), n_actions=data.n_actions)
        return self.keys

    def describe(self, data: EnvSpec) -> dict:
        return {"env": data.id, "pixels": data.pixels, "actions": list(data.actions)}

    # ------------------------------------------------------------------------------------ the stream
    def epoch(self, data, tcfg, world: int) -> Epoch:
        k = self.keys
        if world > 1:
            raise UserError("DQN trains in one process (the environments are the batch); run it without torchrun")
        rounds = math.ceil(k.total_steps / k.train_frequency)
        per_epoch = math.ceil(rounds / tcfg.epochs)
        # the progress bar counts environment steps: train_frequency of them per round of gradient_steps
        return Epoch(steps=per_epoch * k.gradient_steps, batch=max(1, k.train_frequency // k.gradient_steps))

    def train_batches(self, data: EnvSpec, model, tcfg, start, rank, world, device, salt=0):
        k = self.keys
        steps_per_epoch = self.epoch(data, tcfg, world).steps
        self.tensorboard = tcfg.tensorboard
        envs = Envs(data, k.num_envs, lives_end_episodes=data.pixels)
        try:
            self.begin(envs, data, model, tcfg.seed)
            step = start
            while True:
                if step % k.gradient_steps == 0:  # a new round: step the environments first
                    goal = (step // k.gradient_steps + 1) * k.train_frequency
                    while self.env_steps < goal:
                        self.act(model, envs, data, tcfg.seed, device, step + 1, steps_per_epoch)
                if self.env_steps < max(k.learning_starts, self.refill_until):
                    yield None
                else:
                    yield to_tensors(self.memory.sample(tcfg.batch_size, self.explore), device)
                step += 1
        finally:
            envs.close()

    def begin(self, envs: Envs, data: EnvSpec, model, seed: int) -> None:
        """The stream's state at its start: fresh, or rebuilt from a checkpoint's (load_state_dict)."""
        k, E = self.keys, self.keys.num_envs
        self.memory = ReplayMemory(k.buffer_size, E, data.frame_shape,
                                   np.uint8 if data.pixels else np.float32, data.history)
        everyone = np.arange(E)
        st = self.restored
        self.restored = None
        if st is None:
            self.explore = torch.Generator().manual_seed(seed_of(seed, 1_000_003))
            self.env_steps, self.episodes = 0, np.zeros(E, dtype=np.int64)
            self.ep_return, self.ep_length = np.zeros(E), np.zeros(E, dtype=np.int64)
            self.since_reset = [[] for _ in range(E)]
            self.obs = envs.reset({i: seed_of(seed, i, 0) for i in range(E)})
            self.memory.add(everyone, self.frames(self.obs, data), first=True)
        else:
            self.explore = torch.Generator()
            self.explore.set_state(st["explore"])
            self.env_steps = int(st["env_steps"])
            self.episodes = st["episodes"].numpy().copy()
            self.ep_return, self.ep_length = st["ep_return"].numpy().copy(), st["ep_length"].numpy().copy()
            self.since_reset = [a.tolist() for a in st["since_reset"]]
            self.pending, self.recent = list(st["pending"]), list(st["recent"])
            self.refill_until = int(st["refill_until"])
            if "memory" in st:
                self.memory.load_state_dict(st["memory"])
            else:  # the memory was not saved (save_replay=false): fill it again before the next update
                self.refill_until = self.env_steps + k.learning_starts
            if data.pixels:
                # the games cannot be rebuilt one copy at a time: new ones, from the next seeds
                self.episodes += 1
                self.ep_return[:], self.ep_length[:] = 0.0, 0
                self.since_reset = [[] for _ in range(E)]
                self.obs = envs.reset({i: seed_of(seed, i, int(self.episodes[i])) for i in range(E)})
                self.memory.add(everyone, self.frames(self.obs, data), first=True)
            else:
                self.obs = envs.replay([seed_of(seed, i, int(self.episodes[i])) for i in range(E)], self.since_reset)
                if not np.array_equal(self.obs, st["obs"].numpy()):
                    raise UserError(f"{data.name} did not replay to the checkpoint's state (is it deterministic "
                                    f"given its seed?); start a new run")
                if "memory" not in st:
                    self.memory.add(everyone, self.frames(self.obs, data), first=True)
        model.env_steps.fill_(self.env_steps)
        self.clock = (time.time(), self.env_steps)

    @staticmethod
    def frames(obs: np.ndarray, data: EnvSpec) -> np.ndarray:
        """What the memory keeps of an observation: the newest frame of an Atari stack, a whole vector."""
        return obs[:, -1] if data.pixels else obs

    def act(self, model, envs: Envs, data: EnvSpec, seed: int, device, log_step: int, steps_per_epoch: int):
        """One vector step of every copy, stored in the memory."""
        k, E = self.keys, self.keys.num_envs
        eps = epsilon(self.env_steps, k)
        explore = (torch.rand(E, generator=self.explore) < eps).numpy()
        a = torch.randint(0, data.n_actions, (E,), generator=self.explore).numpy()
        if not explore.all():  # the network's forward only where some copy acts greedily (CleanRL's shortcut)
            greedy = model.act(torch.from_numpy(self.obs).to(device)).cpu().numpy()
            a = np.where(explore, a, greedy)
        st = envs.step(a)
        self.memory.record(a, np.sign(st.reward) if k.clip_rewards else st.reward, st.terminated)
        everyone = np.arange(E)
        self.memory.add(everyone, self.frames(st.obs, data), first=False)
        for i in range(E):
            self.since_reset[i].append(int(a[i]))
        self.ep_return += st.reward
        self.ep_length += 1
        before, self.env_steps = self.env_steps, self.env_steps + E
        model.env_steps.fill_(self.env_steps)
        if self.env_steps // k.target_update != before // k.target_update:  # every C environment steps
            model.sync_target()
        ended = np.flatnonzero(st.ended)
        obs = st.obs
        if len(ended):
            for i in ended:
                self.log_episode(float(self.ep_return[i]), int(self.ep_length[i]), log_step, steps_per_epoch)
                self.ep_return[i], self.ep_length[i] = 0.0, 0
                self.episodes[i] += 1
                self.since_reset[i] = []
            obs = envs.reset({int(i): seed_of(seed, int(i), int(self.episodes[i])) for i in ended})
            self.memory.add(ended, self.frames(obs[ended], data), first=True)
        self.obs = obs

    def progress(self) -> dict[str, str]:
        """The bar's figures besides its environment steps per second: the last 100 episodes' mean return
        (while exploring) and epsilon now."""
        if self.keys is None:
            return {}
        out = {"return": f"{np.mean(self.recent):.1f}"} if self.recent else {}
        return {**out, "eps": f"{epsilon(self.env_steps, self.keys):.3f}"}

    def log_episode(self, ret: float, length: int, step: int, steps_per_epoch: int) -> None:
        self.recent = (self.recent + [ret])[-100:]
        for name, value in (("episodic_return", ret), ("episodic_length", length)):
            self.pending.append({"step": step, "epoch": round(step / steps_per_epoch, 4), "split": "charts",
                                 "name": name, "value": float(value), "env_step": self.env_steps})

    def state_dict(self) -> dict:
        if self.explore is None:  # before the stream started
            return {}
        st = {"explore": self.explore.get_state(), "env_steps": self.env_steps,
              "episodes": torch.from_numpy(self.episodes.copy()), "ep_return": torch.from_numpy(self.ep_return.copy()),
              "ep_length": torch.from_numpy(self.ep_length.copy()),
              "since_reset": [torch.tensor(a, dtype=torch.int64) for a in self.since_reset],
              "obs": torch.from_numpy(self.obs.copy()), "pending": list(self.pending), "recent": list(self.recent),
              "refill_until": self.refill_until}
        if self.keys.save_replay:
            st["memory"] = self.memory.state_dict()
        return st

    def load_state_dict(self, state: dict) -> None:
        self.restored = state or None

    # ------------------------------------------------------------------------------------- figures
    def evaluate(self, model, data, split, device, amp_dtype=None) -> dict:
        k = model.cfg
        now = time.time()
        then, steps_then = self.clock or (now, self.env_steps)
        res = play_episodes(model, data, k.eval_episodes, EVAL_SEED, k.eval_epsilon, device, k.eval_max_steps)
        self.clock = (time.time(), self.env_steps)  # the evaluation's own time is not training throughput
        out = {"mean_return": float(np.mean(res["returns"])), "env_steps": float(self.env_steps),
               "epsilon": epsilon(self.env_steps, k),
               "env_steps_per_second": (self.env_steps - steps_then) / max(now - then, 1e-9)}
        if self.recent:
            out["train_mean_return_last_100"] = float(np.mean(self.recent))
        return out

    def after_epoch(self, model, data, run_dir, epoch: int, device) -> None:
        """Write the finished episodes' charts records (the loop gives a task no logger of its own)."""
        if not self.pending:
            return
        with open(Path(run_dir) / "metrics.jsonl", "a") as f:
            for rec in self.pending:
                f.write(json.dumps(rec) + "\n")
        if self.tensorboard:
            if self.writer is None:
                from torch.utils.tensorboard import SummaryWriter
                self.writer = SummaryWriter(str(Path(run_dir) / "tb"))
            for rec in self.pending:
                self.writer.add_scalar(f"charts/{rec['name']}", rec["value"], rec["env_step"])
            self.writer.flush()
        self.pending = []

    def test_report(self, model, data, device) -> tuple[dict, dict]:
        k = model.cfg
        t = time.time()
        res = play_episodes(model, data, k.test_episodes, TEST_SEED, k.eval_epsilon, device, k.eval_max_steps)
        wall = time.time() - t
        r = np.array(res["returns"])
        figures = {"mean_return": round(float(r.mean()), 2), "std_return": round(float(r.std()), 2),
                   "min_return": float(r.min()), "max_return": float(r.max()),
                   "mean_episode_length": round(float(np.mean(res["lengths"])), 1),
                   "test_episodes": k.test_episodes, "test_epsilon": k.eval_epsilon,
                   "env_steps": int(model.env_steps), "env": data.id,
                   "test_env_steps_per_second": round(sum(res["lengths"]) / max(wall, 1e-9), 1),
                   "parameters": sum(p.numel() for p in model.parameters())}
        return figures, {"test_returns": r, "test_lengths": np.array(res["lengths"])}

    # --------------------------------------------------------------------------------------- play
    def play(self, model, doc: dict, episodes: int = 10, seed: int = 0, gif=None, epsilon: float | None = None) -> dict:
        """`episodes` episodes from seeds of (seed, k) with the run's eval_epsilon (greedy unless told), their
        returns, and a GIF of the first."""
        spec = env_spec(doc.get("data", ""))
        k = model.cfg
        eps = k.eval_epsilon if epsilon is None else epsilon
        res = play_episodes(model, spec, episodes, seed, eps, torch.device("cpu"), k.eval_max_steps,
                            record=gif is not None)
        out = {"env": spec.id, "episodes": episodes, "epsilon": eps, "returns": res["returns"],
               "lengths": res["lengths"], "mean_return": float(np.mean(res["returns"])),
               "std_return": float(np.std(res["returns"]))}
        if gif is not None:
            out["gif"] = str(write_gif(res["frames"], gif, spec.pixels))
        return out
