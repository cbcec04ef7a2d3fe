"""Recurrent speed: tokens per second for forward + backward of a 2-layer LSTM, side by side in one run
(alternating, so drift hits all alike): torch.nn.LSTM, nnzoo's fast path (the same fused kernel on the
cells' parameters) and nnzoo's per-step path (the cells' equations, one time step after another), all in
fp32 with the same weights; plus the per-step path under bf16 autocast where the CPU has bf16 units.

    python benchmarks/recurrent_speed.py [--quick] [--repeats N] [--threads 2] [--budget 150]

Full size: batch 64 x sequence 128, input = hidden = 512, 2 layers. --quick: 16 x 32, 128 units.
Prints one JSON line: tokens/s per implementation (best of the repeats) and the time ratio per-step / fused.
"""
from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn as nn

from nnzoo.nn.recurrent import Recurrent
from nnzoo.train.device import cpu_has_bf16


def step_time(module, x, autocast: bool) -> float:
    """Seconds for one forward + backward (gradient of the sum of the outputs, so every weight gets one)."""
    module.zero_grad(set_to_none=True)
    t0 = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        out, _ = module(x)
    out.float().sum().backward()
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes: batch 16, seq 32, hidden 128")
    p.add_argument("--repeats", type=int, default=None, help="timed rounds after one warm-up round "
                   "(default 3; --quick 10)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--budget", type=float, default=150.0,
                   help="seconds; fewer repeats are timed if the warm-up round shows they would not fit")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    b, t, h, layers = (16, 32, 128, 2) if args.quick else (64, 128, 512, 2)
    torch.manual_seed(0)
    ref = nn.LSTM(h, h, num_layers=layers)
    fast = Recurrent("lstm", h, h, num_layers=layers, fast=True).copy_from_torch(ref)
    per_step = Recurrent("lstm", h, h, num_layers=layers, fast=False).copy_from_torch(ref)
    x = torch.randn(t, b, h)
    runs = {"torch_lstm": (ref, False), "nnzoo_fast": (fast, False), "nnzoo_per_step": (per_step, False)}
    bf16 = cpu_has_bf16()
    if bf16:
        runs["nnzoo_per_step_bf16"] = (per_step, True)

    start = time.perf_counter()
    for module, autocast in runs.values():  # warm-up: allocator, thread pool, first-call dispatch
        step_time(module, x, autocast)
    round_s = time.perf_counter() - start
    wanted = args.repeats or (10 if args.quick else 3)
    repeats = max(1, min(wanted, int((args.budget - round_s) / round_s)))
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (module, autocast) in runs.items():
            times[name].append(step_time(module, x, autocast))
    best = {name: min(v) for name, v in times.items()}
    tokens = b * t
    result = {
        "benchmark": "recurrent_speed", "mode": "lstm", "batch": b, "seq": t, "input": h, "hidden": h,
        "layers": layers, "dtype": "fp32", "threads": torch.get_num_threads(), "repeats": repeats,
        "tokens_per_s": {name: round(tokens / s, 1) for name, s in best.items()},
        "seconds_per_step": {name: round(s, 4) for name, s in best.items()},
        # > 1: how many times longer the per-step path takes than PyTorch's fused kernel
        "time_ratio_per_step_over_fused": round(best["nnzoo_per_step"] / best["torch_lstm"], 3),
        "time_ratio_fast_over_torch": round(best["nnzoo_fast"] / best["torch_lstm"], 3),
        "bf16": ("per-step path under bf16 autocast measured" if bf16 else
                 "skipped: this CPU has no bf16 units (AVX512-BF16 / AMX); bf16 would be emulated"),
        "all_runs": {name: [round(s, 4) for s in v] for name, v in times.items()},
        "wall_s": round(time.perf_counter() - start, 1),
    }
    if bf16:
        result["time_ratio_per_step_bf16_over_fp32"] = round(best["nnzoo_per_step_bf16"] / best["nnzoo_per_step"], 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
