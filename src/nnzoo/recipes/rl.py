"""Deep Q-learning (task `rl`, model `dqn`): CartPole from its 4 numbers, Atari from its frames.

cartpole-dqn takes rl-baselines3-zoo's tuned DQN for CartPole-v1 (hyperparams/dqn.yml: 50,000 steps, lr 2.3e-3,
batch 64, buffer 100,000, learning_starts 1,000, gamma 0.99, target_update_interval 10, train_freq 256 with
gradient_steps 128, exploration_fraction 0.16 to final eps 0.04, net 256-256), with Stable-Baselines3's DQN
defaults that file leaves implicit: Adam, the Huber loss and gradients clipped to norm 10. Learning in bursts
of 128 updates on a memory of 256 fresh steps is what gets it to 500 within 50,000 steps (CleanRL's dqn.py,
one update every 10 steps at lr 2.5e-4, takes 500,000). Two changes to the zoo's settings, each measured on
seeds 0-4 (BENCHMARKS.md): Double DQN's target and the learning rate falling linearly to zero over the run.
With the zoo's own (plain DQN, constant lr) 3 of 5 seeds reached 475, with the linear lr alone 2 of 5: a seed
that had reached 500 forgot it again. With both, 5 of 5 did.

breakout-dqn takes CleanRL's dqn_atari.py (lr 1e-4, batch 32, buffer 1,000,000, gamma 0.99, target network
every 1,000 steps, learning_starts 80,000, one update every 4 steps, epsilon 1 -> 0.01 over 10 % of the run,
the squared TD error, no gradient clipping), with 4 games stepped together instead of 1 (one forward pass
picks 4 actions: the same updates per environment step, fewer passes), and total_steps cut to what 2 CPU
cores play in about an hour; the full run is `total_steps=10000000 device=cuda`. Scored as Mnih et al. and
CleanRL do, at epsilon 0.05, over 30 whole games.
"""
from nnzoo.recipes import Recipe

# obs_shape and n_actions are the task's to set from the environment; given here so the configs build alone
_CARTPOLE = dict(net="mlp", obs_shape=[4], n_actions=2, hidden=[256, 256], total_steps=50_000, num_envs=1,
                 buffer_size=100_000, learning_starts=1_000, train_frequency=256, gradient_steps=128,
                 target_update=10, gamma=0.99, start_e=1.0, end_e=0.04, exploration_fraction=0.16, huber=True,
                 double=True, eval_episodes=10, test_episodes=100)
_BREAKOUT = dict(net="nature-cnn", obs_shape=[4, 84, 84], n_actions=4, total_steps=600_000, num_envs=4,
                 buffer_size=1_000_000, learning_starts=80_000, train_frequency=4, gradient_steps=1,
                 target_update=1_000, gamma=0.99, start_e=1.0, end_e=0.01, exploration_fraction=0.10,
                 clip_rewards=True, eval_episodes=5, test_episodes=30, eval_epsilon=0.05,
                 # 7,056 bytes a transition: 7.1 GB at 1,000,000, so checkpoints leave the memory out
                 save_replay=False)

RECIPES = [
    Recipe("cartpole-dqn", "rl", "dqn", "CartPole-v1",
           "DQN balancing CartPole from its 4 numbers, 50,000 environment steps (rl-baselines3-zoo's settings)",
           model_config=_CARTPOLE,
           # 4 epochs of 49 rounds: 196 rounds of 256 steps = 50,176 environment steps
           train=dict(epochs=4, batch_size=64, optimizer="adam", lr=2.3e-3, schedule="linear", grad_clip=10.0,
                      precision="fp32", log_every=200),
           quick=dict(total_steps=5_000, epochs=1, test_episodes=20),
           metric="mean_return", target=475.0,
           reference="gymnasium's 'solved' is 475 over 100 episodes; rl-baselines3-zoo: 500 after 50,000 steps; "
                     "CleanRL's dqn.py: 488.7 +- 16.1 after 500,000"),
    Recipe("breakout-dqn", "rl", "dqn", "breakout",
           "DQN playing Breakout from 84x84 frames (CleanRL's dqn_atari settings, an hour on 2 CPU cores)",
           model_config=_BREAKOUT,
           train=dict(epochs=10, batch_size=32, optimizer="adam", lr=1e-4, precision="fp32", log_every=500),
           quick=dict(total_steps=1_000, learning_starts=500, buffer_size=2_000, epochs=1, eval_episodes=1,
                      test_episodes=2, eval_max_steps=500),
           metric="mean_return", target=15.0,
           reference="CleanRL's dqn_atari.py: 366.9 after 10 M steps (GPU); Mnih et al. 2015: 401.2 after 50 M "
                     "frames"),
]
