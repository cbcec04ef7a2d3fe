"""Image to image on pairs made from one data set: the model damages each clean digit itself (`degrade`: mask
its lower half, keep only its edges, shrink it to 7x7) and learns to draw the clean one back (`translate`).
Used by pix2pix and the super-resolution recipes.

The test report puts every output beside its target, as the papers' tables do:
  PSNR and SSIM        pixel fidelity (SSIM: Wang et al. 2004, 11x11 Gaussian window)
  bicubic              the same figures for bicubic upsampling, when the model has such a baseline (SR)
  class kept           the share of outputs nnzoo's MNIST classifier reads as the target's class (and of the
                       damaged inputs, after the baseline, for comparison)
  classifier-FID       how far the outputs' classifier features lie from real test digits' (sharp, digit-like
                       outputs score low; a blurred average scores high), beside the floor between two real sets
"""
from __future__ import annotations

import numpy as np
import torch

from ..data import read_image, write_image_grid
from ..errors import UserError
from ..eval.metrics import frechet_distance, psnr_db, ssim
from .image import ImageTask, check_files
from .judge import JUDGE_SHAPE, judge_features, judge_labels, mnist_judge, prepare_judge
from .reconstruct import EVAL_BATCH

SHOWN = 12


@torch.no_grad()
def translate_all(model, src: torch.Tensor, device) -> torch.Tensor:
    model.eval()
    return torch.cat([model.translate(src[i:i + EVAL_BATCH].to(device)).float().cpu()
                      for i in range(0, len(src), EVAL_BATCH)])


class Task(ImageTask):
    kind = "image to image"
    needs = "image-to-image models work on images in [0, 1]"

    verbs = ("predict",)

    def prepare(self, data, verbose: bool = True) -> None:
        prepare_judge(data.shape, verbose)  # SRGAN's feature loss and the test report read it

    def attach(self, model, data, device) -> None:
        """SRGAN's content loss reads nnzoo's MNIST classifier: train it once if needed, hand it over frozen."""
        if getattr(model.cfg, "feature_weight", 0) > 0:
            if tuple(data.shape) != JUDGE_SHAPE:
                raise UserError(f"feature_weight > 0 needs 28x28 greyscale digits for nnzoo's MNIST classifier, "
                                f"but the data are {tuple(data.shape)}; set feature_weight=0")
            model.attach_features(mnist_judge().to(device))  # a fresh copy from disk on every call

    @torch.no_grad()
    def evaluate(self, model, data, split, device, amp_dtype=None) -> dict:
        x = data.split(split)[0][:2000]
        out = translate_all(model, model.degrade(x), device)
        return {"l1": float((out - x).abs().mean()), "psnr_db": float(psnr_db(out, x).mean())}

    def test_report(self, model, data, device) -> tuple[dict, dict]:
        x, y = data.test_x, data.test_y
        with torch.no_grad():
            src = model.degrade(x)
        out = translate_all(model, src, device)
        figures = {"test_psnr_db": round(float(psnr_db(out, x).mean()), 3),
                   "test_ssim": round(float(ssim(out, x).mean()), 4),
                   "test_l1": round(float((out - x).abs().mean()), 5)}
        base = None
        if hasattr(model, "baseline"):
            base = model.baseline(src)
            figures["bicubic_psnr_db"] = round(float(psnr_db(base, x).mean()), 3)
            figures["bicubic_ssim"] = round(float(ssim(base, x).mean()), 4)
        if tuple(data.shape) == JUDGE_SHAPE:
            judge = mnist_judge()
            figures["class_kept_percent"] = round(100 * float((judge_labels(judge, out) == y).float().mean()), 2)
            shown_in = base if base is not None else src
            figures["class_kept_input_percent"] = round(
                100 * float((judge_labels(judge, shown_in) == y).float().mean()), 2)
            real = judge_features(judge, x).double().numpy()
            figures["test_fid_classifier"] = round(frechet_distance(judge_features(judge, out).double().numpy(), real), 3)
            figures["fid_floor_train_vs_test_classifier"] = round(frechet_distance(
                judge_features(judge, data.train_x[:len(x)]).double().numpy(), real), 3)
        figures["test_examples"] = len(x)
        rows = [_fit(src[:SHOWN], x.shape[-2:]), out[:SHOWN], x[:SHOWN]]
        names = ["input", "output", "target"]
        if base is not None:
            rows.insert(1, base[:SHOWN])
            names.insert(1, "bicubic")
        art = {"grid:translations": torch.stack(rows).numpy(), "grid:translations:rows": np.array(names),
               "grid:translations:title": np.array("Test digits: what the model is given, what it draws, the truth")}
        return figures, art

    def predict(self, model, mcfg, doc, files, invert=False) -> list[dict]:
        """Each image file -> the model's output, written beside it as NAME.out.png."""
        check_files(files)
        want = tuple(model.degrade(torch.zeros(1, *mcfg.in_shape)).shape[1:])
        preds = []
        for f in files:
            img = read_image(f, channels=want[0])
            if invert:
                img = 1 - img
            if tuple(img.shape) != want:
                raise UserError(f"{f} is {img.shape[2]}x{img.shape[1]} pixels but this {doc.get('recipe', 'model')} "
                                f"run takes {want[2]}x{want[1]} inputs; resize it first")
            out = translate_all(model, img[None], torch.device("cpu"))
            path = write_image_grid(out, str(f).rsplit(".", 1)[0] + ".out.png", ncols=1, scale=4, pad=0)
            preds.append({"file": str(f), "label": str(path), "output": str(path)})
        return preds

    def describe(self, data) -> dict:
        return {"classes": list(data.classes)}


def _fit(img: torch.Tensor, size) -> torch.Tensor:
    """A small input (super-resolution's 7x7) drawn at the target's size with square pixels, for the grid."""
    if tuple(img.shape[-2:]) == tuple(size):
        return img
    return torch.nn.functional.interpolate(img, size=tuple(size), mode="nearest")
