"""Several finished runs of a DQN recipe, one picture: every run's training episodes (return against environment
step, a running mean over 20 episodes) and its greedy evaluations, one colour a seed, one panel a variant (Double
DQN / plain DQN, as the runs' configs say). Prints each run's test return and, per variant, how many seeds
reached the recipe's target.

    for s in 0 1 2 3 4; do nnzoo train cartpole-dqn seed=$s --out runs/dqn-double-s$s; done
    for s in 0 1 2 3 4; do nnzoo train cartpole-dqn seed=$s double=false --out runs/dqn-plain-s$s; done
    python benchmarks/dqn_seeds.py runs/dqn-*-s? --out docs/images/cartpole_dqn_seeds.png [--json OUT]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from nnzoo.train.logging import read_metrics

WINDOW = 20


def read(run: Path) -> dict:
    cfg = json.loads((run / "config.json").read_text())
    episodes, val = [], {}
    for m in read_metrics(run):
        if m["split"] == "charts" and m["name"] == "episodic_return":
            episodes.append((m["env_step"], m["value"]))
        elif m["split"] == "val" and m["name"] in ("mean_return", "env_steps"):
            val.setdefault(m["step"], {})[m["name"]] = m["value"]
    evals = [(v["env_steps"], v["mean_return"]) for _, v in sorted(val.items()) if len(v) == 2]
    test = json.loads((run / "eval.json").read_text())
    return {"run": str(run), "seed": cfg["train"]["seed"], "double": bool(cfg["model_config"]["double"]),
            "recipe": cfg["recipe"], "episodes": episodes,
            "evals": evals, "test_mean_return": test["mean_return"],
            "env_steps": test.get("env_steps")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--target", type=float, default=475.0, help="the return a seed must reach (CartPole: 475)")
    p.add_argument("--out", required=True)
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    runs = sorted((read(r) for r in a.runs), key=lambda r: (not r["double"], r["seed"]))
    variants = [v for v in (True, False) if any(r["double"] == v for r in runs)]
    fig = Figure(figsize=(5.2 * len(variants), 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(variants), sharey=True))
    summary = {}
    for ax, double in zip(axes, variants):
        name = "Double DQN" if double else "DQN"
        mine = [r for r in runs if r["double"] == double]
        for i, r in enumerate(mine):
            colour = f"C{i}"
            steps, ret = np.array(r["episodes"], dtype=float).T
            smooth = np.convolve(ret, np.ones(WINDOW) / WINDOW, mode="valid")
            ax.plot(steps[WINDOW - 1:], smooth, color=colour, lw=1.2,
                    label=f"seed {r['seed']}: test {r['test_mean_return']:.0f}")
            if r["evals"]:
                ex, ey = np.array(r["evals"]).T
                ax.plot(ex, ey, "o", color=colour, ms=4)
        ax.axhline(a.target, color="grey", ls="--", lw=0.8)
        solved = sum(r["test_mean_return"] >= a.target for r in mine)
        ax.set_title(f"{name}: {solved} of {len(mine)} seeds >= {a.target:g}")
        ax.set_xlabel("environment step")
        ax.legend(fontsize=7, loc="upper left")
        summary[name] = {"test_mean_return": {r["seed"]: r["test_mean_return"] for r in mine}, "solved": solved,
                         "seeds": len(mine)}
        print(f"{name}: " + " / ".join(f"{r['test_mean_return']:.1f}" for r in mine)
              + f" (seeds {', '.join(str(r['seed']) for r in mine)}): {solved} of {len(mine)} >= {a.target:g}")
    axes[0].set_ylabel("return")
    fig.suptitle(f"lines: training episodes (mean of {WINDOW}); dots: greedy evaluations", fontsize=8, y=0.99)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    if a.json:
        a.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
