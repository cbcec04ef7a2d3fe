"""LSTM vs GRU vs vanilla RNN character models at equal parameter count and equal wall time.

The recipes shakespeare-lstm / -gru / -rnn have ~0.88 M parameters each. This script trains the three at the
same time, one process and one thread each, with the same `time_limit`, so every cell gets the same wall
time and the same share of the machine whatever else it is doing; each at its learning rate in LR (or
--lr). Then it prints one JSON line per cell and a table. The LSTM starts with its forget gates open
(forget_bias=1, as practitioners do; the recipe's own default is PyTorch's init). On a 2-core machine each
process gets about 2/3 of a core, so the losses are higher than those of a recipe trained alone for the
same minutes; the comparison between cells is what this measures. The recipes warm the learning rate up over
the first 2 % of the time, which the vanilla RNN needs (without it Adam's first steps blow its recurrent
matrix's spectral radius up: benchmarks/warmup_check.py); --warmup 0 trains all three without one, which
puts the LSTM ahead of the RNN (BENCHMARKS.md).

    python benchmarks/cell_comparison.py [--minutes 30] [--warmup 0 | --warmup lstm=0] [--out runs/bench/cells]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELLS = ("lstm", "gru", "rnn")
LR = {"lstm": 3e-3, "gru": 3e-3, "rnn": 3e-3}
"""Each cell's Adam learning rate (the recipes' 3e-3 unless --lr says otherwise). In 5-minute runs, one
thread each, the GRU and the RNN did best at 3e-3 and the LSTM at 1e-2 (of 3e-3, 1e-2, 2e-2, 3e-2); over
30 minutes the LSTM at 1e-2 still came last (BENCHMARKS.md), so the default keeps one rate for all."""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=int, default=30, help="training time of each cell in whole minutes (default 30)")
    p.add_argument("--out", default="runs/bench/cells", help="folder for the three runs")
    p.add_argument("--forget-bias", type=float, default=1.0,
                   help="the LSTM's starting forget-gate bias (default 1, Jozefowicz et al. 2015; 0: PyTorch's init)")
    p.add_argument("--lr", action="append", default=[], metavar="CELL=LR",
                   help="override a cell's learning rate, e.g. --lr lstm=0.01 (default: " +
                        ", ".join(f"{c}={v:g}" for c, v in LR.items()) + ")")
    p.add_argument("--warmup", action="append", default=[], metavar="[CELL=]SHARE",
                   help="share of the time spent warming the learning rate up linearly: SHARE for all three "
                        "cells, CELL=SHARE for one, e.g. --warmup 0 or --warmup lstm=0 (default: the recipes' 0.02)")
    p.add_argument("--reuse", action="store_true", help="only evaluate runs already in --out")
    args = p.parse_args()
    lr, warmup = dict(LR), {}
    for item in args.warmup:
        cell, _, value = item.rpartition("=")
        try:
            if cell and cell not in CELLS:
                raise ValueError
            warmup.update({c: float(value) for c in ([cell] if cell else CELLS)})
        except ValueError:
            p.error(f"--warmup {item!r}: write SHARE or CELL=SHARE with CELL one of {', '.join(CELLS)}, e.g. --warmup 0")
    for item in args.lr:
        cell, _, value = item.partition("=")
        try:
            if cell not in CELLS:
                raise ValueError
            lr[cell] = float(value)
        except ValueError:
            p.error(f"--lr {item!r}: write CELL=LR with CELL one of {', '.join(CELLS)}, e.g. --lr lstm=0.01")
    out = ROOT / args.out
    nnzoo = [sys.executable, "-m", "nnzoo"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    t0 = time.time()
    if not args.reuse:
        procs = []
        for cell in CELLS:
            run_dir = out / f"shakespeare-{cell}"
            if run_dir.exists():
                sys.exit(f"{run_dir} exists; remove it or pass --reuse")
            cmd = nnzoo + ["train", f"shakespeare-{cell}", "--out", str(run_dir), "--quiet",
                           f"time_limit={args.minutes}", f"lr={lr[cell]}", "tensorboard=false"]
            if cell == "lstm":
                cmd.append(f"forget_bias={args.forget_bias}")
            if cell in warmup:
                cmd.append(f"warmup={warmup[cell]}")
            procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL))
        if any(pr.wait() for pr in procs):
            sys.exit("a training run failed; see the messages above")
    rows = []
    for cell in CELLS:
        run_dir = out / f"shakespeare-{cell}"
        js = subprocess.run(nnzoo + ["eval", str(run_dir), "--json", "--no-write"], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=True).stdout
        f = json.loads(js)
        train = json.loads((run_dir / "config.json").read_text())["train"]
        row = {"cell": cell, "recipe": f"shakespeare-{cell}", "lr": train["lr"], "warmup": train["warmup"],
               "precision": f.get("train_precision", "?"), "steps": f["step"],
               "train_wall_seconds": f["train_wall_seconds"], "test_loss_nats_per_char": f["test_loss_nats_per_char"],
               "test_bits_per_char": f["test_bits_per_char"], "parameters": _params(run_dir)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{'cell':6s} {'params':>9s} {'lr':>7s} {'steps':>6s} {'minutes':>8s} {'test nats/char':>15s}")
    for r in rows:
        print(f"{r['cell']:6s} {r['parameters']:9,d} {r['lr']:7g} {r['steps']:6d} {r['train_wall_seconds'] / 60:8.1f} "
              f"{r['test_loss_nats_per_char']:15.3f}")
    print(f"\nwall time of the whole comparison: {time.time() - t0:.0f} s")


def _params(run_dir: Path) -> int:
    from nnzoo import runs
    return sum(p.numel() for p in runs.load_run(run_dir)[3].parameters())


if __name__ == "__main__":
    main()
