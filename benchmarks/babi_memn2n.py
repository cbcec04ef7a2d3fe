"""babi-memn2n as Sukhbaatar et al. 2015 report it: several runs from different seeds, the best chosen by its
validation error (the paper: "best of 10 runs"), its test error per task beside the paper's Table 1 column
(1k, PE LS RN, joint, 3 hops), on nnzoo's generated bAbI-style data.

    python benchmarks/babi_memn2n.py [--seeds 0 1 2] [--jobs 2] [--out runs/babi-memn2n-seeds] [key=value ...]

Each run is `nnzoo train babi-memn2n seed=S` (one torch thread each; --jobs runs that many at once, one per
core). Runs already finished in --out are read, not retrained. Prints a Markdown table and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

PAPER = [0.0, 11.4, 21.9, 13.4, 14.4, 2.8, 18.3, 9.3, 1.9, 6.5, 0.3, 0.1, 0.2, 6.9, 0.0, 2.7, 40.4, 9.4, 88.0, 0.0]
"""Sukhbaatar et al. 2015, Table 1, 1k training, PE LS RN, joint: test error (%) of tasks 1-20 (mean 12.4)."""


def last_val_error(run: Path) -> float:
    """The run's final validation error (%), from metrics.jsonl."""
    val = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r["value"] for r in val if r["split"] == "val" and r["name"] == "error_percent"][-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--jobs", type=int, default=2, help="runs at once (one thread each)")
    p.add_argument("--out", default="runs/babi-memn2n-seeds")
    p.add_argument("overrides", nargs="*", help="key=value for every run")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    todo = [s for s in args.seeds if not (out / f"seed{s}" / "eval.json").exists()]
    start, running = time.time(), []
    while todo or running:
        while todo and len(running) < args.jobs:
            s = todo.pop(0)
            cmd = [sys.executable, "-m", "nnzoo", "train", "babi-memn2n", "--out", str(out / f"seed{s}"), "--quiet",
                   f"seed={s}", *args.overrides]
            running.append(subprocess.Popen(cmd, env=env))
        time.sleep(5)
        for proc in [r for r in running if r.poll() is not None]:
            running.remove(proc)
            if proc.returncode:
                sys.exit(f"a run failed: {' '.join(proc.args)}")
    runs = {s: json.loads((out / f"seed{s}" / "eval.json").read_text()) for s in args.seeds}
    val = {s: last_val_error(out / f"seed{s}") for s in args.seeds}
    best = min(val, key=val.get)
    fig = runs[best]
    print(f"best of {len(runs)} runs by validation error: seed {best} (val {val[best]:.2f} %); "
          f"{time.time() - start:.0f} s of wall time for the runs trained now\n")
    print("| task | nnzoo best (%) | mean of runs (%) | Sukhbaatar et al. (%) |")
    print("|---:|---:|---:|---:|")
    for t in range(1, 21):
        key = f"test_error_percent_task{t}"
        mean = sum(r[key] for r in runs.values()) / len(runs)
        print(f"| {t} | {fig[key]:.1f} | {mean:.1f} | {PAPER[t - 1]:.1f} |")
    mean_all = sum(r["mean_test_error_percent"] for r in runs.values()) / len(runs)
    print(f"| mean | {fig['mean_test_error_percent']:.1f} | {mean_all:.1f} | 12.4 |")
    print(f"| failed (> 5 %) | {fig['failed_tasks']} | | 11 |")
    print(json.dumps({"best_seed": best, "best_mean_test_error_percent": fig["mean_test_error_percent"],
                      "best_failed_tasks": fig["failed_tasks"], "runs": len(runs),
                      "per_seed_mean_test_error_percent": {s: r["mean_test_error_percent"] for s, r in runs.items()},
                      "per_seed_val_error_percent": val,
                      "train_wall_seconds": {s: r["train_wall_seconds"] for s, r in runs.items()}}))


if __name__ == "__main__":
    main()
