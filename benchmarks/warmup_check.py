"""Why the cell comparison turns on the learning-rate warm-up: a plain PyTorch loop (torch.nn.RNN / LSTM / GRU,
no nnzoo training code) on the Shakespeare windows, Adam 3e-3 constant after an optional linear warm-up,
gradient norm clipped at 1, fp32, the recipes' sizes (~0.88 M parameters each).

For each cell and each warm-up it prints the spectral radius of the first layer's recurrent matrix W_hh
(the vanilla RNN's; for gated cells the candidate block, whose growth the gates then damp) after 0, 10 and
30 steps, and the loss on 256 held-out 128-character windows every 100 steps. Adam's first updates move
every weight by about lr whatever its gradient's size, so a 516 x 516 recurrent matrix gets a coherent
nudge of norm ~ lr * 516 per step; without a warm-up the RNN's radius leaves the stable region at once.

    python benchmarks/warmup_check.py [--steps 300] [--warmup 0 20] [--cells rnn lstm]
"""
from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from nnzoo.data import load_text

SIZES = {"lstm": 256, "gru": 296, "rnn": 516}
"""Hidden units of shakespeare-lstm / -gru / -rnn (equal parameter counts)."""
GATE = {"lstm": 2, "gru": 2, "rnn": 0}
"""Which H-row block of weight_hh_l0 is the candidate's (PyTorch's gate order: LSTM i f g o, GRU r z n)."""


def run(data, cell: str, warmup: int, steps: int, seed: int, T: int = 128, B: int = 32) -> dict:
    torch.manual_seed(seed)
    V, H = len(data.vocab), SIZES[cell]
    embed = nn.Embedding(V, 64)
    rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell](64, H, 2, batch_first=True)
    head = nn.Linear(H, V)
    if cell == "lstm":  # forget gates open, as the comparison starts them (forget_bias=1)
        with torch.no_grad():
            for name, p in rnn.named_parameters():
                if name.startswith("bias_"):
                    p[H:2 * H] = 1.0 if name.startswith("bias_ih") else 0.0
    params = [*embed.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, 3e-3)
    # lr_s = lr * min(1, (s + 1) / warmup): linear warm-up over `warmup` steps
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) if warmup else 1.0)
    g = torch.Generator().manual_seed(seed + 1)
    val = data.val[:256 * T + 1]
    vx, vy = val[:-1].view(-1, T), val[1:].view(-1, T)  # 256, T
    block = slice(GATE[cell] * H, (GATE[cell] + 1) * H)
    out = {"cell": cell, "warmup_steps": warmup, "seed": seed, "radius": {}, "val_loss": {}}
    t0 = time.time()
    for step in range(steps + 1):
        if step in (0, 10, 30):
            out["radius"][step] = round(float(torch.linalg.eigvals(rnn.weight_hh_l0.detach()[block]).abs().max()), 2)
        if step and step % 100 == 0:
            with torch.no_grad():
                out["val_loss"][step] = round(float(F.cross_entropy(head(rnn(embed(vx))[0]).reshape(-1, V),
                                                                    vy.reshape(-1))), 3)
        if step == steps:
            break
        starts = torch.randint(0, len(data.train) - T - 1, (B,), generator=g)
        w = data.train[starts[:, None] + torch.arange(T + 1)]  # B, T+1
        loss = F.cross_entropy(head(rnn(embed(w[:, :-1]))[0]).reshape(-1, V), w[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
    out["seconds"] = round(time.time() - t0, 1)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=300, help="Adam steps per run (default 300)")
    p.add_argument("--warmup", type=int, nargs="+", default=[0, 20], help="warm-up lengths in steps (default 0 20)")
    p.add_argument("--cells", nargs="+", default=["rnn", "lstm"], choices=sorted(SIZES), help="cells to train")
    p.add_argument("--seed", type=int, default=0, help="weights and batches seed (default 0)")
    args = p.parse_args()
    data = load_text("shakespeare", seed=0)
    for cell in args.cells:
        for warmup in args.warmup:
            print(json.dumps(run(data, cell, warmup, args.steps, args.seed)), flush=True)


if __name__ == "__main__":
    main()
