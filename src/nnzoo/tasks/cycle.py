"""Unpaired translation between two image sources (models/cyclegan.py), on the swap task's data: `A+B`, every
batch half A and half B (tasks/swap.py). The test report translates each source's test digits into the other
style and back, and asks nnzoo's MNIST classifier whether the digit kept its class on the way.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..eval.metrics import psnr_db
from . import swap
from .judge import judge_labels, mnist_judge
from .reconstruct import EVAL_BATCH, SHOWN


@torch.no_grad()
def translate_all(model, x: torch.Tensor, to: int, device) -> torch.Tensor:
    model.eval()
    return torch.cat([model.translate(x[i:i + EVAL_BATCH].to(device), to).float().cpu()
                      for i in range(0, len(x), EVAL_BATCH)])


class Task(swap.Task):
    kind = "unpaired translation"

    def adapt(self, mcfg, data):
        return dataclasses.replace(mcfg, in_shape=tuple(data.shape))

    @torch.no_grad()
    def evaluate(self, model, data, split, device, amp_dtype=None) -> dict:
        out = {}
        for s, part in enumerate(data.sets):
            x = part.split(split)[0][:1000]
            back = translate_all(model, translate_all(model, x, 1 - s, device), s, device)
            out[f"cycle_l1_{data.names[s]}"] = float((back - x).abs().mean())
        return out

    def test_report(self, model, data, device) -> tuple[dict, dict]:
        judge = mnist_judge()
        figures: dict = {}
        rows, names = [], []
        for s, part in enumerate(data.sets):
            x, y = part.test_x, part.test_y
            a, b = data.names[s], data.names[1 - s]
            there = translate_all(model, x, 1 - s, device)
            back = translate_all(model, there, s, device)
            figures[f"judge_accuracy_on_{a}_percent"] = round(100 * float((judge_labels(judge, x) == y).float().mean()), 2)
            figures[f"translate_{a}_to_{b}_class_kept_percent"] = round(
                100 * float((judge_labels(judge, there) == y).float().mean()), 2)
            figures[f"cycle_psnr_{a}_db"] = round(float(psnr_db(back, x).mean()), 3)
            rows += [x[:SHOWN], there[:SHOWN], back[:SHOWN]]
            names += [a, f"{a} -> {b}", f"{a} -> {b} -> {a}"]
        figures["test_examples"] = sum(len(p.test_x) for p in data.sets)
        art = {"grid:translations": torch.stack(rows).numpy(), "grid:translations:rows": np.array(names),
               "grid:translations:title": np.array("Each source's test digits in the other's style, and back")}
        return figures, art
