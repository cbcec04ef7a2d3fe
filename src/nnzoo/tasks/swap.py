"""Two image sources through one encoder and a decoder each (models/swap_autoencoder.py).

Data `A+B` names the two sources (recipe digits-swap-ae: mnist+digits28). Every batch is half A and half B,
whatever their sizes (scikit-learn's digits are 1,437 training images to MNIST's 55,000, so B's are drawn
again and again). The test report swaps: B's test digits drawn by A's decoder and the reverse, each read by
nnzoo's MNIST classifier (tasks/judge.py), beside how well that judge reads the real images of each source.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import UserError
from ..eval.metrics import psnr_db
from .base import SetTask
from .classify import shift_images
from .image import load_split_images
from .judge import judge_labels, mnist_judge, prepare_judge
from .reconstruct import EVAL_BATCH, SHOWN


@dataclass
class TwoSources:
    names: list
    sets: list  # ImageSplits per source

    @property
    def shape(self):
        return self.sets[0].shape

    @property
    def classes(self):
        return self.sets[0].classes


class Task(SetTask):
    kind = "two-source reconstruction"
    unit = "img"

    def load(self, tcfg):
        names = tcfg.data.split("+")
        if len(names) != 2:
            raise UserError(f"data={tcfg.data!r}: a swap autoencoder needs two sources written A+B, "
                            "e.g. data=mnist+digits28")
        sets = [load_split_images(n, tcfg) for n in names]
        if sets[0].shape != sets[1].shape:
            raise UserError(f"{names[0]} images are {sets[0].shape} but {names[1]} images are {sets[1].shape}; "
                            "both sources must have the same size")
        return TwoSources(names, sets)

    def prepare(self, data, verbose: bool = True) -> None:
        prepare_judge(data.shape, verbose)  # the test report's judge

    def adapt(self, mcfg, data):
        return dataclasses.replace(mcfg, in_shape=tuple(data.shape), sources=2)

    def train_size(self, data) -> int:
        return len(data.sets[0].train_x)

    def make_batch(self, data, idx, device, cfg):
        half = len(idx) // 2
        a, b = data.sets
        ib = idx[half:] % len(b.train_x)  # idx is a random permutation, so this is a random draw from B
        x = torch.cat([a.train_x[idx[:half]], b.train_x[ib]])
        y = torch.cat([a.train_y[idx[:half]], b.train_y[ib]])
        src = torch.cat([torch.zeros(half, dtype=torch.long), torch.ones(len(ib), dtype=torch.long)])
        if cfg.augment:  # B's few images, shifted, count as more
            x = shift_images(x, cfg.augment)
        return x.to(device), y.to(device), src.to(device)

    @torch.no_grad()
    def evaluate(self, model, data, split, device, amp_dtype=None) -> dict:
        model.eval()
        out = {}
        for s, part in enumerate(data.sets):
            x = part.split(split)[0]
            x_hat = self._draw(model, x, s, device)
            bce = torch.nn.functional.binary_cross_entropy(x_hat.clamp(1e-6, 1 - 1e-6), x, reduction="none")
            out[f"reconstruction_{s}"] = float(bce.flatten(1).sum(1).mean())
        out["loss"] = sum(out.values()) / len(data.sets)
        return out

    @torch.no_grad()
    def _draw(self, model, x, source: int, device) -> torch.Tensor:
        model.eval()
        return torch.cat([model(x[i:i + EVAL_BATCH].to(device), source).float().cpu()
                          for i in range(0, len(x), EVAL_BATCH)])

    def test_report(self, model, data, device) -> tuple[dict, dict]:
        judge = mnist_judge()
        figures: dict = {}
        rows, names = [], []
        for s, part in enumerate(data.sets):
            other = 1 - s
            x, y = part.test_x, part.test_y
            own = self._draw(model, x, s, device)
            swapped = self._draw(model, x, other, device)
            a, b = data.names[s], data.names[other]
            figures[f"test_psnr_{a}_db"] = round(float(psnr_db(own, x).mean()), 3)
            figures[f"judge_accuracy_on_{a}_percent"] = round(100 * float((judge_labels(judge, x) == y).float().mean()), 2)
            figures[f"swap_{a}_to_{b}_class_kept_percent"] = round(
                100 * float((judge_labels(judge, swapped) == y).float().mean()), 2)
            rows += [x[:SHOWN], own[:SHOWN], swapped[:SHOWN]]
            names += [f"{a}", f"{a} -> {a} decoder", f"{a} -> {b} decoder"]
        figures["test_examples"] = sum(len(p.test_x) for p in data.sets)
        art = {"grid:swaps": torch.stack(rows).numpy(), "grid:swaps:rows": np.array(names),
               "grid:swaps:title": np.array("One encoder, two decoders: each source's test digits redrawn in "
                                            "its own style and in the other's")}
        return figures, art

    def describe(self, data) -> dict:
        return {"classes": list(data.classes), "sources": list(data.names)}
