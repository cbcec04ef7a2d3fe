"""Image classification: MNIST-like data -> logits. Used by the MLP and CNN recipes."""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from ..data import load_images
from ..eval import metrics
from ..train.device import autocast
from .base import SetTask
from .image import read_images


def shift_images(x: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Translate each image by its own random (dy, dx) in [-max_shift, max_shift], filling with zeros.
    x: B, C, H, W. One gather, no Python loop over the batch."""
    B, C, H, W = x.shape
    s = max_shift
    padded = F.pad(x, (s, s, s, s))
    dy = torch.randint(0, 2 * s + 1, (B, 1, 1))
    dx = torch.randint(0, 2 * s + 1, (B, 1, 1))
    rows = torch.arange(H).view(1, H, 1) + dy  # B, H, 1
    cols = torch.arange(W).view(1, 1, W) + dx  # B, 1, W
    b = torch.arange(B).view(B, 1, 1)
    return padded.permute(0, 2, 3, 1)[b, rows, cols].permute(0, 3, 1, 2).contiguous()  # B, C, H, W


class Task(SetTask):
    kind = "image classification"
    unit = "img"
    verbs = ("predict",)

    def load(self, tcfg):
        # the validation split is carved by a fixed seed (0), whatever the run's seed
        return load_images(tcfg.data, seed=0, val_size=tcfg.val_size)

    def adapt(self, mcfg, data):
        """Fit the model's input shape and class count to the data set (so `data=` can switch sets)."""
        n_classes = max(len(data.classes), int(data.train_y.max()) + 1)
        return dataclasses.replace(mcfg, in_shape=tuple(data.shape), n_classes=n_classes)

    def train_size(self, data) -> int:
        return len(data.train_x)

    def make_batch(self, data, idx, device, cfg):
        x, y = data.train_x[idx], data.train_y[idx]
        if cfg.augment:
            x = shift_images(x, cfg.augment)
        return x.to(device, non_blocking=True), y.to(device, non_blocking=True)

    @torch.no_grad()
    def predict_logits(self, model, x, device, amp_dtype=None, batch_size=1000):
        model.eval()
        outs = []
        for i in range(0, len(x), batch_size):
            with autocast(device, amp_dtype):
                outs.append(model(x[i:i + batch_size].to(device)).float().cpu())
        return torch.cat(outs) if outs else torch.zeros(0)

    def evaluate(self, model, data, split, device, amp_dtype=None) -> dict:
        x, y = data.split(split)
        logits = self.predict_logits(model, x, device, amp_dtype)
        return {"loss": float(F.cross_entropy(logits, y)), "accuracy": metrics.accuracy(logits, y)}

    def test_report(self, model, data, device) -> tuple[dict, dict]:
        """Figures for eval.json and arrays for the pictures (artifacts.npz)."""
        x, y = data.test_x, data.test_y
        logits = self.predict_logits(model, x, device)
        pred = logits.argmax(1)
        prob = logits.softmax(1).max(1).values
        acc = metrics.accuracy(logits, y)
        figures = {"test_accuracy": acc, "test_accuracy_percent": round(100 * acc, 2),
                   "test_error_percent": round(100 * (1 - acc), 2),
                   "test_loss": float(F.cross_entropy(logits, y)), "test_examples": len(y)}
        wrong = (pred != y).nonzero().flatten()[:32]
        k = len(data.classes)
        art = {"confusion": metrics.confusion_matrix(pred, y, k), "classes": np.array(data.classes),
               "mis_images": x[wrong].numpy(), "mis_true": y[wrong].numpy(), "mis_pred": pred[wrong].numpy(),
               "mis_prob": prob[wrong].numpy()}
        art.update(self._pictures(model, x[:1].to(device), data.shape))
        return figures, art

    @torch.no_grad()
    def _pictures(self, model, x1, shape) -> dict:
        art = {}
        if hasattr(model, "first_filters"):
            art["filters"] = model.first_filters().float().cpu().numpy()
        else:  # an MLP's first-layer weights, one row per unit, drawn as an image of the input
            first = next(m for m in model.modules() if isinstance(m, torch.nn.Linear))
            art["filters"] = first.weight.detach()[:64].reshape(-1, *shape).float().cpu().numpy()
        if hasattr(model, "feature_maps"):
            model.eval()
            maps = model.feature_maps(x1)
            art["fmap_input"] = x1[0].cpu().numpy()
            art["fmap_names"] = np.array([name for name, _ in maps])
            for i, (_, m) in enumerate(maps):
                art[f"fmap_{i}"] = m[0].float().cpu().numpy()
        return art

    def describe(self, data) -> dict:
        """What config.json records about the data, so predictions can name classes without the data."""
        return {"classes": list(data.classes)}

    def predict(self, model, mcfg, doc: dict, files: list[str], invert: bool = False) -> list[dict]:
        """The class of each image file, with its probability."""
        classes = doc.get("classes") or [str(i) for i in range(mcfg.n_classes)]
        xs = read_images(files, mcfg.in_shape, invert)
        logits = self.predict_logits(model, torch.stack(xs), torch.device("cpu"))
        prob = logits.softmax(1)
        out = []
        for f, p in zip(files, prob):
            top = int(p.argmax())
            out.append({"file": str(f), "label": classes[top] if top < len(classes) else str(top),
                        "class": top, "probability": round(float(p[top]), 4)})
        return out
