"""nnzoo's DQN beside CleanRL's dqn.py (github.com/vwxyzjn/cleanrl) on CartPole-v1, one after the other on the
same machine and thread count, with CleanRL's own hyper-parameters on both sides: environment steps per second
and the return at equal steps.

    # CleanRL is read from a folder given here, never copied into nnzoo. Its dqn.py needs gymnasium 0.29 (the
    # vector API before 1.0), tyro and stable-baselines3 (its replay buffer): a side environment, e.g.
    git --git-dir=/path/to/cleanrl.git archive HEAD cleanrl/dqn.py cleanrl_utils | tar -x -C /tmp/cleanrl
    python3.11 -m venv /tmp/crl && echo "$PWD/.venv/lib/python3.11/site-packages" \\
        > /tmp/crl/lib/python3.11/site-packages/nnzoo.pth     # torch, numpy, tensorboard from nnzoo's venv
    /tmp/crl/bin/pip install --no-deps gymnasium==0.29.1 farama-notifications tyro docstring-parser \\
        stable-baselines3
    python benchmarks/dqn_vs_cleanrl.py /tmp/cleanrl --python /tmp/crl/bin/python [--steps 500000]
                                        [--seeds 0] [--threads 1] [--json OUT]

CleanRL's settings (dqn.py's defaults): a 120-84 MLP, Adam lr 2.5e-4, batch 128, memory 10,000, gamma 0.99,
target network every 500 steps, epsilon 1 -> 0.05 over half the run, learning from step 10,000, one update every
10 steps, the squared TD error, no gradient clipping. The one difference: nnzoo steps `--num-envs` CartPole
copies together (10 by default: one forward pass picks 10 actions; still one update per 10 environment
steps), where CleanRL's dqn.py steps one. nnzoo runs `nnzoo train cartpole-dqn` with those keys (one epoch, so that one evaluation at the end is the only pause; its
`env_steps_per_second` leaves the evaluation out, as CleanRL's `SPS` has no evaluation in it).

Return at equal steps: both sides' mean over their last 100 training episodes (epsilon-greedy at 0.05, the
same figure on both sides), and nnzoo's greedy test return over 100 episodes besides.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLEANRL_KEYS = dict(hidden="[120,84]", lr="2.5e-4", batch_size="128", buffer_size="10000", gamma="0.99",
                    target_update="500", start_e="1.0", end_e="0.05", exploration_fraction="0.5",
                    learning_starts="10000", train_frequency="10", gradient_steps="1", huber="false",
                    double="false", grad_clip="0", schedule="constant")
"""nnzoo's keys for CleanRL dqn.py's defaults (num_envs comes from --num-envs)."""


def env_for(threads: int) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


def run_cleanrl(folder: Path, python: str, steps: int, seed: int, threads: int) -> dict:
    """CleanRL's dqn.py as its README runs it (on the CPU); its printed SPS and episodic returns."""
    with tempfile.TemporaryDirectory() as cwd:  # its TensorBoard `runs/` folder goes there
        t0 = time.time()
        out = subprocess.run([python, str(folder / "cleanrl" / "dqn.py"), "--seed", str(seed),
                              "--total-timesteps", str(steps), "--no-cuda"], cwd=cwd, capture_output=True,
                             text=True, env={**env_for(threads), "PYTHONPATH": str(folder)})
        wall = time.time() - t0
    if out.returncode:
        sys.exit(f"CleanRL's dqn.py failed:\n{out.stderr[-3000:]}")
    sps = [int(m) for m in re.findall(r"^SPS: (\d+)", out.stdout, re.M)]
    returns = [float(m) for m in re.findall(r"episodic_return=\[?([-\d.]+)", out.stdout)]
    if not sps or not returns:
        sys.exit("CleanRL's dqn.py printed no SPS or no episodic returns: is it the gymnasium 0.29 side env?")
    return {"env_steps_per_second": sps[-1], "train_mean_return_last_100": sum(returns[-100:]) / len(returns[-100:]),
            "episodes": len(returns), "wall_s": round(wall, 1)}


def run_nnzoo(steps: int, seed: int, threads: int, num_envs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        keys = [f"{k}={v}" for k, v in CLEANRL_KEYS.items()] + [f"num_envs={num_envs}"]
        t0 = time.time()
        out = subprocess.run([sys.executable, "-m", "nnzoo", "train", "cartpole-dqn", f"seed={seed}",
                              f"total_steps={steps}", "epochs=1", "eval_episodes=10", "test_episodes=100",
                              "tensorboard=false", *keys, "--quiet", "--out", str(run)],
                             capture_output=True, text=True, env=env_for(threads), cwd=ROOT)
        wall = time.time() - t0
        if out.returncode:
            sys.exit(f"nnzoo train failed:\n{out.stderr[-3000:]}")
        val = {}
        for line in (run / "metrics.jsonl").read_text().splitlines():
            r = json.loads(line)
            if r["split"] == "val":
                val[r["name"]] = r["value"]
        test = json.loads((run / "eval.json").read_text())
    return {"env_steps_per_second": round(val["env_steps_per_second"]),
            "train_mean_return_last_100": val.get("train_mean_return_last_100"),
            "test_mean_return": test.get("mean_return"), "wall_s": round(wall, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("cleanrl", type=Path, help="a folder holding CleanRL's cleanrl/dqn.py and cleanrl_utils/")
    p.add_argument("--python", default=sys.executable, help="the Python that runs CleanRL (gymnasium 0.29)")
    p.add_argument("--steps", type=int, default=500_000, help="environment steps per run (dqn.py's default)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--threads", type=int, default=1, help="torch threads for each side")
    p.add_argument("--num-envs", type=int, default=10,
                   help="CartPole copies nnzoo steps together (a divisor of train_frequency 10, so the updates "
                        "per environment step stay CleanRL's; 1 steps one at a time as CleanRL does)")
    p.add_argument("--json", type=Path, help="write the results here")
    a = p.parse_args()
    if not (a.cleanrl / "cleanrl" / "dqn.py").exists():
        sys.exit(f"{a.cleanrl} has no cleanrl/dqn.py: give the folder CleanRL's repository is unpacked in")
    import torch
    rows = []
    for seed in a.seeds:
        theirs = run_cleanrl(a.cleanrl, a.python, a.steps, seed, a.threads)
        print(f"seed {seed} CleanRL: {theirs}", flush=True)
        ours = run_nnzoo(a.steps, seed, a.threads, a.num_envs)
        print(f"seed {seed} nnzoo:   {ours}", flush=True)
        rows.append({"seed": seed, "cleanrl": theirs, "nnzoo": ours,
                     "sps_ratio": ours["env_steps_per_second"] / theirs["env_steps_per_second"]})
    summary = {"steps": a.steps, "threads": a.threads, "nnzoo_num_envs": a.num_envs,
               "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
                          f"torch {torch.__version__}",
               "runs": rows, "sps_ratio_mean": sum(r["sps_ratio"] for r in rows) / len(rows)}
    print(json.dumps(summary, indent=2))
    if a.json:
        a.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
