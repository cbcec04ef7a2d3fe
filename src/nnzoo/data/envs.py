"""Environments for deep Q-learning: gymnasium's classic-control tasks and ale_py's Atari games, checked and
built here, stepped several at a time.

A name is either a gymnasium id with a discrete action space and vector observations (CartPole-v1, Acrobot-v1,
MountainCar-v0, LunarLander-v3 where Box2D is installed, ...) or an Atari game: a ROM name of ale_py's
wheel (breakout, pong, space_invaders, ...), or the same game by a gymnasium id (ALE/Breakout-v5,
BreakoutNoFrameskip-v4), which names the game only: the emulator settings are always those below.

Atari frames come from ale_py's AtariVectorEnv, whose C++ side does the standard preprocessing of Mnih et al.
2015 (and of CleanRL's dqn_atari.py wrappers), nothing of it written here:

  frame skip 4        each action is repeated for 4 emulator frames, the rewards summed
  max-pooling         the observed frame is the pixel-wise max of the last two of them (sprites flicker)
  84x84 grey          luminance, resized to 84x84
  4 frames stacked    the state is the last 4 observed frames (zeros before a game's first)
  up to 30 no-ops     a random number of no-op actions at each reset, so games start differently
  fire on reset       FIRE is pressed at each reset in games that need it to start (Breakout)
  no sticky actions   repeat_action_probability 0, as in Mnih et al. and CleanRL's NoFrameskip-v4
  life loss           in training (`lives_end_episodes`) a lost life is a terminal transition while the game
                      goes on (CleanRL's EpisodicLifeEnv); evaluation plays whole games
  rewards             left unclipped here: the task clips what it trains on and reports the game's score

`Envs` steps n copies together through gymnasium's SyncVectorEnv or AtariVectorEnv. The caller resets a copy
whose episode ended, with a seed of its choosing, so every episode is a function of its seed and its
actions: that is what lets a checkpointed CartPole run rebuild its environments exactly (`Envs.replay`).
"""
from __future__ import annotations

import os

import difflib
import re
from dataclasses import dataclass

import numpy as np

from .store import DataError
from ..errors import UserError

FRAME_SKIP, FRAME_STACK, FRAME_SIZE, NOOP_MAX = 4, 4, 84, 30
"""Mnih et al.'s Atari preprocessing (see the module's docstring)."""
MAX_FRAMES = 108_000
"""Emulator frames before an Atari game is cut (30 minutes at 60 Hz; CleanRL's and Mnih et al.'s limit)."""
SUGGEST = "CartPole-v1, Acrobot-v1, MountainCar-v0 or an Atari game (breakout, pong, space_invaders, ...)"
ALE_INSTALL = "pip install ale-py==0.12.1"
GYM_INSTALL = 'pip install "gymnasium[classic-control]==1.4.0"'


@dataclass(frozen=True)
class EnvSpec:
    """What an environment gives and takes, read once from a real instance."""
    name: str
    """The name as given (data=...)."""
    id: str
    """The gymnasium id, or the Atari ROM's name."""
    pixels: bool
    """Atari: stacked uint8 frames (4, 84, 84); otherwise float vectors."""
    obs_shape: tuple
    """One observation's shape."""
    n_actions: int
    """Discrete actions."""
    actions: tuple
    """Each action's meaning, in order (ALE's names; numbers for a gymnasium task)."""

    @property
    def frame_shape(self) -> tuple:
        """What the replay memory stores per step: the newest frame of a stack, or the whole vector."""
        return self.obs_shape[1:] if self.pixels else self.obs_shape

    @property
    def history(self) -> int:
        """Observations stacked into one state (4 frames for Atari, 1 vector otherwise)."""
        return self.obs_shape[0] if self.pixels else 1


def _gym():
    try:
        import gymnasium
    except ImportError:
        raise DataError(f"gymnasium is not installed; {GYM_INSTALL}") from None
    return gymnasium


def _ale():
    """ale_py, whose import also registers the ALE/... and ...NoFrameskip-v4 ids with gymnasium; None if it is
    not installed."""
    try:
        import ale_py
    except ImportError:
        return None
    return ale_py


def _rom_path(game: str):
    from ale_py import roms
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            path = roms.get_rom_path(game)
    except OSError as e:  # the file is gone, or is not the ROM ale_py ships (ALE_ROMS_DIR pointing elsewhere)
        raise DataError(f"the ROM of {game} is missing or altered ({type(e).__name__}: "
                        f"{str(e).splitlines()[0]}); reinstall ale-py: {ALE_INSTALL} --force-reinstall, or unset "
                        f"ALE_ROMS_DIR") from None
    if path is None or not path.is_file():
        raise DataError(f"the ROM of {game} is missing; reinstall ale-py: {ALE_INSTALL} --force-reinstall")
    return path


def env_spec(name: str) -> EnvSpec:
    """Check a data name and read its spaces; one-line UserError / DataError for every way it can be wrong."""
    if not name:
        raise UserError(f"name an environment with data=..., e.g. data=CartPole-v1; choose one of {SUGGEST}")
    gym, ale = _gym(), _ale()
    if name in gym.registry and str(gym.registry[name].entry_point).startswith("ale_py"):
        return _atari_spec(name, gym.registry[name].kwargs["game"])  # ALE/Breakout-v5 names the game only
    if name not in gym.registry:
        if ale is None and (re.fullmatch(r"[a-z][a-z0-9_]*", name) or name.startswith("ALE/")
                            or "NoFrameskip" in name):
            raise DataError(f"{name} looks like an Atari game, but ale-py (the emulator and its ROMs) is not "
                            f"installed; {ALE_INSTALL}")
        roms = ale.roms.get_all_rom_ids() if ale is not None else []
        if name in roms:
            return _atari_spec(name, name)
        known = [k for k in gym.registry if "/" not in k] + roms  # not ALE/..., phys2d/... (same names)
        near = difflib.get_close_matches(name, known, n=3)
        raise UserError(f"unknown environment {name!r}: not a gymnasium id nor one of ale_py's {len(roms)} Atari "
                        f"games" + (f" (did you mean {', '.join(near)}?)" if near else "") + f"; choose one of "
                        f"{SUGGEST}")
    try:
        env = gym.make(name)
    except gym.error.DependencyNotInstalled as e:
        raise DataError(f"{name} needs a package that is not installed ({str(e).splitlines()[0]})") from None
    except gym.error.Error as e:
        raise UserError(f"cannot make {name} ({str(e).splitlines()[0]}); choose one of {SUGGEST}") from None
    try:
        act, obs = env.action_space, env.observation_space
    finally:
        env.close()
    if not isinstance(act, gym.spaces.Discrete):
        raise UserError(f"{name} has a continuous action space ({act}); DQN needs a discrete action space; "
                        f"e.g. CartPole-v1")
    if not (isinstance(obs, gym.spaces.Box) and len(obs.shape) == 1):
        raise UserError(f"{name}'s observations are {obs}, not a vector; DQN reads vector states (a Box of one "
                        f"dimension) or Atari frames: e.g. CartPole-v1 or breakout")
    return EnvSpec(name, name, False, tuple(obs.shape), int(act.n), tuple(str(i) for i in range(int(act.n))))


def _atari_spec(name: str, game: str) -> EnvSpec:
    import ale_py
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no banner on stderr
    ale = ale_py.ALEInterface()
    ale.loadROM(str(_rom_path(game)))
    actions = tuple(a.name for a in ale.getMinimalActionSet())  # AtariVectorEnv's action set (not the full 18)
    return EnvSpec(name, game, True, (FRAME_STACK, FRAME_SIZE, FRAME_SIZE), len(actions), actions)


@dataclass
class Step:
    """One step of all n environments."""
    obs: np.ndarray
    """(n, *obs_shape): the observation each step led to (the last one of an ended episode)."""
    reward: np.ndarray
    """(n,) the game's own reward (float32)."""
    terminated: np.ndarray
    """(n,) no bootstrapping past this step: the episode ended, or (lives_end_episodes) a life was lost."""
    ended: np.ndarray
    """(n,) the episode is over (terminated for good, or cut by a time limit): reset this copy."""


class Envs:
    """n copies of one environment stepped together. After a step whose `ended` is set for a copy, the caller
    resets that copy (`reset`) before stepping again. `max_steps` cuts episodes after that many steps."""

    def __init__(self, spec: EnvSpec, n: int, *, lives_end_episodes: bool = False, render: bool = False,
                 max_steps: int = 0):
        self.spec, self.n, self.max_steps = spec, n, max_steps
        self.steps = np.zeros(n, dtype=np.int64)
        if spec.pixels:
            from ale_py.vector_env import AtariVectorEnv
            # life_loss_info: terminated on a lost life while the game goes on (episodic_life would restart
            # the whole game at each lost life instead); rewards unclipped, the task clips what it trains on
            self.vec = AtariVectorEnv(spec.id, n, frameskip=FRAME_SKIP, stack_num=FRAME_STACK,
                                      img_height=FRAME_SIZE, img_width=FRAME_SIZE, grayscale=True, maxpool=True,
                                      noop_max=NOOP_MAX, use_fire_reset=True, repeat_action_probability=0.0,
                                      episodic_life=False, life_loss_info=lives_end_episodes,
                                      reward_clipping=False, max_num_frames_per_episode=MAX_FRAMES,
                                      num_threads=1)
        else:
            gym = _gym()
            # pygame draws rgb_array frames off screen: no display or sound to look for (SDL's warnings)
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
            os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
            mode = "rgb_array" if render else None
            self.vec = gym.vector.SyncVectorEnv([lambda: gym.make(spec.id, render_mode=mode) for _ in range(n)])
        self.obs = np.zeros((n, *spec.obs_shape), dtype=np.uint8 if spec.pixels else np.float32)

    def reset(self, seeds: dict[int, int]) -> np.ndarray:
        """Reset the copies named by {index: seed}; returns every copy's current observation (n, ...)."""
        mask = np.zeros(self.n, dtype=bool)
        mask[list(seeds)] = True
        # ALE takes the reset copies' seeds, gymnasium one per copy (None for the others)
        seed = (np.array([seeds[i] for i in sorted(seeds)], dtype=np.int64) if self.spec.pixels
                else [seeds.get(i) for i in range(self.n)])
        # the first reset must be of every copy, without a mask
        obs, _ = self.vec.reset(seed=seed, options=None if mask.all() else {"reset_mask": mask})
        self.obs[mask] = obs[mask]
        self.steps[mask] = 0
        return self.obs.copy()

    def step(self, actions: np.ndarray) -> Step:
        obs, reward, terminated, truncated, info = self.vec.step(np.asarray(actions, dtype=np.int64))
        self.steps += 1
        terminated = np.asarray(terminated, dtype=bool)
        over = terminated
        if self.spec.pixels:
            # with lives_end_episodes a lost life terminates too; the game is over when no life is left
            over = terminated & (np.asarray(info["lives"]) == 0)
        ended = over | np.asarray(truncated, dtype=bool)
        if self.max_steps:
            ended |= self.steps >= self.max_steps
        self.obs[:] = obs
        return Step(self.obs.copy(), np.asarray(reward, dtype=np.float32), terminated, ended)

    def frame(self, i: int) -> np.ndarray:
        """What copy i shows now: an RGB frame (H, W, 3) of a gymnasium task made with render=True, or the
        newest 84x84 grey frame of an Atari game."""
        if self.spec.pixels:
            return self.obs[i, -1].copy()
        return self.vec.envs[i].render()

    def replay(self, seeds: list[int], actions: list[list[int]]) -> np.ndarray:
        """Every copy as it is after a reset with its seed and then its actions: how a checkpointed run rebuilds
        its environments (gymnasium tasks only: ALE's vector environment steps its copies together). Returns
        the observations (n, ...)."""
        if self.spec.pixels:
            raise TypeError("Atari games cannot be replayed one copy at a time")
        self.reset(dict(enumerate(seeds)))
        for i, (env, acts) in enumerate(zip(self.vec.envs, actions)):
            for a in acts:
                self.obs[i], *_ = env.step(int(a))
            self.steps[i] += len(acts)
        return self.obs.copy()

    def close(self) -> None:
        self.vec.close()
