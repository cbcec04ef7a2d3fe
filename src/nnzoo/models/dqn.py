"""Deep Q-network (Mnih et al. 2015, "Human-level control through deep reinforcement learning"), with Double DQN
(van Hasselt, Guez & Silver 2016) as a flag.

A Q-network maps a state s to one value per action, Q(s, .; theta), the expected discounted return of taking
that action and acting well afterwards. It is trained by regression on transitions (s, a, r, s', done) drawn
from a replay memory (tasks/rl.py) towards a target computed with an older copy of its weights, theta^-:

    L(theta) = E_{(s, a, r, s') ~ D} [ (r + gamma max_a' Q(s', a'; theta^-) - Q(s, a; theta))^2 ]

With `huber` the square becomes the Huber loss (smooth L1 with its kink at 1): the same near 0, linear beyond
1, so one large TD error cannot blow a step up (Mnih et al. clip the error term to [-1, 1], which is this
loss's gradient). With `double` the next action is picked by the online network and valued by the target one,
a' = argmax_a Q(s', a; theta), y = r + gamma Q(s', a'; theta^-), which removes most of max's upward bias.

theta^- is not a second model: it is a copy of the network whose weights are buffers instead of parameters,
`sync_target()` copies theta into them (the task calls it every `target_update` environment steps). So the
checkpoint holds both, and no optimizer ever sees theta^-.

Two networks, by `net`: Mnih et al.'s Nature CNN for 4 stacked 84x84 grey frames (uint8, scaled by 1/255
here, so the replay memory keeps bytes), and an MLP for vector states (CartPole's 4 numbers).

Batches, from tasks/rl.py or `example_batch`: (s, a, r, s', done) with s and s' (B, *obs_shape) (uint8 frames
or float vectors), a (B,) int64, r (B,) float (clipped to its sign for Atari by the task), done (B,) float,
1 where the episode terminated after a (no bootstrap from s').
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from ..nn.conv import conv_out
from .base import Model

NETS = ("mlp", "nature-cnn")


@dataclass
class RLKeys:
    """The training stream's settings (tasks/rl.py reads them), carried in the model's config so that
    config.json holds everything a run was trained with. Counts of steps are environment steps, all
    environments together (as CleanRL's global_step and Stable-Baselines3's num_timesteps)."""
    total_steps: int = C.positive(500_000)
    """Environment steps to train for (rounded up to whole rounds of train_frequency and whole epochs)."""
    num_envs: int = C.positive(1)
    """Environments stepped together (one batched forward pass picks all their actions)."""
    buffer_size: int = C.positive(10_000)
    """Transitions the replay memory holds (split evenly between the environments); the oldest go first."""
    learning_starts: int = C.nonneg(10_000)
    """Environment steps of acting before the first gradient step (the memory fills first)."""
    train_frequency: int = C.positive(10)
    """Environment steps between rounds of gradient steps (a multiple of num_envs)."""
    gradient_steps: int = C.positive(1)
    """Gradient steps per round, each on a fresh minibatch of batch_size transitions."""
    start_e: float = C.fraction(1.0)
    """Epsilon of epsilon-greedy acting at the start: the chance of a uniformly random action."""
    end_e: float = C.fraction(0.05)
    """Epsilon at the end of the linear decay, kept from then on."""
    exploration_fraction: float = C.fraction(0.5)
    """Share of total_steps over which epsilon falls linearly from start_e to end_e."""
    clip_rewards: bool = False
    """Train on sign(r) (Mnih et al.'s Atari setting: one learning rate for every game's score scale); the
    returns reported are always the game's own."""
    eval_episodes: int = C.positive(10)
    """Episodes behind each epoch's validation figures (the mean return)."""
    test_episodes: int = C.positive(100)
    """Episodes behind `nnzoo eval`'s figures (gymnasium's CartPole 'solved' reads 100)."""
    eval_epsilon: float = C.fraction(0.0)
    """Epsilon while evaluating: 0 is greedy; Mnih et al. and CleanRL score Atari at 0.05."""
    eval_max_steps: int = C.nonneg(0)
    """Cut evaluation episodes after this many agent steps (0: the environment's own limit)."""
    save_replay: bool = True
    """Keep the replay memory in every checkpoint, so a resumed run is exact. Atari's is large: 7,056 bytes
    a transition (one 84x84 frame), 7.1 GB at buffer_size=1,000,000."""


@dataclass
class DQNConfig(RLKeys):
    net: str = C.choice("mlp", NETS)
    """mlp for vector states (CartPole), nature-cnn for 4 stacked 84x84 frames (Atari)."""
    obs_shape: list = C.ints([4])
    """One state's shape (set by the task from the environment): [4] for CartPole, [4, 84, 84] for Atari."""
    n_actions: int = C.positive(2)
    """Discrete actions of the environment (set by the task)."""
    hidden: list = C.ints([120, 84])
    """mlp: widths of the hidden layers (CleanRL's dqn.py: 120, 84; rl-baselines3-zoo: 256, 256)."""
    gamma: float = C.fraction(0.99)
    """Discount of future rewards."""
    huber: bool = False
    """Huber (smooth L1) instead of the squared TD error (Stable-Baselines3's and Mnih et al.'s clipped
    error; CleanRL uses the square)."""
    double: bool = False
    """Double DQN: the online network picks the next action, the target network values it."""
    target_update: int = C.positive(500)
    """C: environment steps between copies of theta into the target network theta^-."""


class NatureCNN(nn.Module):
    """Mnih et al. 2015's torso: 32 8x8 filters stride 4, 64 4x4 stride 2, 64 3x3 stride 1, 512 units, each
    followed by a ReLU. Reads frames (B, 4, 84, 84) of grey levels 0..255 and scales them to [0, 1] itself."""

    def __init__(self, obs_shape, width: int = 512):
        super().__init__()
        c, h, w = obs_shape
        self.convs = nn.Sequential(nn.Conv2d(c, 32, 8, stride=4), nn.ReLU(), nn.Conv2d(32, 64, 4, stride=2),
                                   nn.ReLU(), nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(), nn.Flatten())
        # O = (W - K + 2P)/S + 1: 84 -> 20 -> 9 -> 7
        for k, s in ((8, 4), (4, 2), (3, 1)):
            h, w = conv_out(h, k, 0, s), conv_out(w, k, 0, s)
        self.fc = nn.Sequential(nn.Linear(64 * h * w, width), nn.ReLU())
        self.width = width

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.fc(self.convs(frames / 255.0))  # B, 4, 84, 84 in [0, 1] -> B, 512


class MLPTorso(nn.Module):
    """Linear + ReLU layers over a state vector (B, D)."""

    def __init__(self, obs_shape, hidden):
        super().__init__()
        layers, d = [nn.Flatten()], 1
        for n in obs_shape:
            d *= n
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU()]
            d = h
        self.net = nn.Sequential(*layers)
        self.width = d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # B, D -> B, hidden[-1]


def frozen_copy(net: nn.Module) -> nn.Module:
    """theta^-: a copy of `net` whose weights are buffers, not parameters, so the checkpoint saves them and no
    optimizer sees them; it runs the same forward as `net` (a Linear finds its weight among its buffers)."""
    twin = copy.deepcopy(net)
    for mod in twin.modules():
        for name, p in list(mod.named_parameters(recurse=False)):
            delattr(mod, name)
            mod.register_buffer(name, p.detach().clone())
    return twin


class QNet(nn.Module):
    """torso -> one linear output per action: Q(s, .)."""

    def __init__(self, cfg: DQNConfig):
        super().__init__()
        self.torso = NatureCNN(cfg.obs_shape) if cfg.net == "nature-cnn" else MLPTorso(cfg.obs_shape, cfg.hidden)
        self.head = nn.Linear(self.torso.width, cfg.n_actions)

    def hidden(self, s: torch.Tensor) -> torch.Tensor:
        # uint8 frames become floats 0..255 here (the memory keeps bytes); float states keep their values
        return self.torso(s.to(self.head.weight.dtype))

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden(s))  # B, actions


class DQN(Model):
    def __init__(self, cfg: DQNConfig):
        super().__init__()
        if cfg.net == "nature-cnn" and len(cfg.obs_shape) != 3:
            raise ValueError(f"net=nature-cnn reads stacked frames (C, H, W) but obs_shape={cfg.obs_shape}; "
                             f"use net=mlp for vector states")
        self.cfg = cfg
        self.q = QNet(cfg)
        self.target = frozen_copy(self.q)  # theta^- = theta at the start
        # environment steps this network has been trained with (the task's stream counts them; the test report
        # reads them back from the checkpoint)
        self.register_buffer("env_steps", torch.zeros((), dtype=torch.int64))

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        """Q(s, .; theta): (B, *obs_shape) -> (B, actions)."""
        return self.q(s)

    def features(self, s: torch.Tensor) -> torch.Tensor:
        """The last hidden layer (B, 512 for the Nature CNN): what Mnih et al.'s fig. 4 maps with t-SNE."""
        return self.q.hidden(s)

    def target_q(self, s: torch.Tensor) -> torch.Tensor:
        """Q(s, .; theta^-): the same network with the target's weights."""
        return self.target(s)

    @torch.no_grad()
    def sync_target(self) -> None:
        """theta^- <- theta."""
        for name, p in self.q.named_parameters():
            self.target.get_buffer(name).copy_(p)

    @torch.no_grad()
    def act(self, s: torch.Tensor) -> torch.Tensor:
        """The greedy actions argmax_a Q(s, a; theta): (B,) int64."""
        return self.q(s).argmax(1)

    def loss(self, batch) -> dict:
        s, a, r, s2, done = batch
        q_sa = self.q(s).gather(1, a[:, None]).squeeze(1)  # Q(s, a; theta), B
        with torch.no_grad():
            if self.cfg.double:
                # a' = argmax_a Q(s', a; theta), valued by theta^-
                a2 = self.q(s2).argmax(1, keepdim=True)
                q_next = self.target_q(s2).gather(1, a2).squeeze(1)
            else:
                # max_a' Q(s', a'; theta^-)
                q_next = self.target_q(s2).max(1).values
            # y = r + gamma max_a' Q(s', a'; theta^-), and y = r where the episode terminated; in float32 at
            # least (bf16 autocast keeps 3 digits of a return near 100)
            dt = torch.promote_types(q_sa.dtype, torch.float32)
            y = r.to(dt) + self.cfg.gamma * (1.0 - done.to(dt)) * q_next.to(dt)
        # L = E[(y - Q(s, a; theta))^2], or its Huber form
        q_sa = q_sa.to(dt)
        loss = F.smooth_l1_loss(q_sa, y) if self.cfg.huber else F.mse_loss(q_sa, y)
        return {"loss": loss, "q_mean": q_sa.detach().mean()}


def tiny() -> DQNConfig:
    return DQNConfig(obs_shape=[4], n_actions=3, hidden=[16, 16])


def example_batch(cfg: DQNConfig, n: int = 16):
    """(s, a, r, s', done) for tests: random states of the config's shape (uint8 frames for the Nature CNN),
    every action taken, random rewards, every fourth transition terminal."""
    g = torch.Generator().manual_seed(0)

    def states():
        if cfg.net == "nature-cnn":
            return torch.randint(0, 256, (n, *cfg.obs_shape), generator=g, dtype=torch.uint8)
        return torch.randn(n, *cfg.obs_shape, generator=g)
    s, s2 = states(), states()
    a = torch.arange(n) % cfg.n_actions
    r = torch.randn(n, generator=g)
    done = (torch.arange(n) % 4 == 3).float()
    return s, a, r, s2, done
