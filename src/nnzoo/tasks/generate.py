"""Generation: noise -> images, judged by nnzoo's own MNIST classifier. Used by every GAN recipe.

There is no Inception network here (its weights cannot be downloaded offline), so the scores use nnzoo's
MNIST judge (tasks/judge.py) instead, and their names say so:
  fid_classifier           Fréchet distance between the judge's last hidden layer (128 units) on samples and
                           on test digits; `fid_floor_train_vs_test` is the same between two real sets, the best
                           a generator can hope for. Not comparable with published Inception-FIDs.
  inception_score_classifier  exp E KL(p(y|x) || p(y)) under the judge: 10 at best for ten digits
  class shares             the judge's histogram over 10,000 samples: mode coverage (a collapsed GAN draws
                           a few digits only)
  conditional_accuracy     a conditional GAN's samples of class c read as c by the judge
Images that are not 28x28 greyscale cannot be read by the judge: their FID is measured on raw pixels.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ..data import write_image_grid
from ..errors import UserError
from ..eval.metrics import frechet_distance, inception_score
from .base import SampleRequest
from .image import ImageTask
from .judge import JUDGE_SHAPE, judge_dir, judge_features, judge_probs, mnist_judge, prepare_judge

N_SAMPLES = 10_000  # samples behind every test figure (the histogram size)
N_VAL = 2_000  # samples behind the per-epoch validation FID
GEN_BATCH = 500
SHOWN_SAMPLES = 80  # 8 rows of 10 in the sample grids


def sample_labels(model, n: int) -> torch.Tensor | None:
    """Every class in turn (0, 1, ..., 9, 0, ...) for a conditional model; None for an unconditional one."""
    return torch.arange(n) % model.cfg.n_classes if model.cfg.conditional else None


@torch.no_grad()
def draw(model, n: int, seed: int, device, labels: torch.Tensor | None = None, z: torch.Tensor | None = None):
    """n samples in [0, 1] on the CPU from a fixed seed (the run's global random state is left alone)."""
    model.eval()
    if z is None:
        z = torch.randn(n, model.cfg.latent, generator=torch.Generator().manual_seed(seed))
    out = []
    for i in range(0, n, GEN_BATCH):
        y = None if labels is None else labels[i:i + GEN_BATCH].to(device)
        out.append(model.generate(z[i:i + GEN_BATCH].to(device), y).float().cpu())
    return torch.cat(out) if out else torch.zeros(0, *model.cfg.in_shape)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between noise vectors (White 2016): a straight line through N(0, I) passes near
    the origin, where the generator has seen no z; the great circle keeps the norm typical. -> T, latent."""
    omega = torch.arccos((a / a.norm() * b / b.norm()).sum().clamp(-1, 1))
    so = torch.sin(omega)
    if so.abs() < 1e-6:
        return (1 - t)[:, None] * a + t[:, None] * b
    # slerp(a, b; t) = sin((1 - t) w) / sin w * a + sin(t w) / sin w * b
    return (torch.sin((1 - t) * omega) / so)[:, None] * a + (torch.sin(t * omega) / so)[:, None] * b


class Task(ImageTask):
    kind = "generation"
    needs = "a GAN learns images in [0, 1]"

    def __init__(self):
        self._judge = None

    verbs = ("sample",)
    hints = {"predict": "draw samples with: nnzoo sample {run}"}

    def prepare(self, data, verbose: bool = True) -> None:
        prepare_judge(data.shape, verbose)  # before training, and outside the evaluation's no_grad

    def adapt(self, mcfg, data):
        return dataclasses.replace(mcfg, in_shape=tuple(data.shape), n_classes=len(data.classes))

    # -- features the scores compare -------------------------------------------------------------------------
    def judge(self, shape, verbose: bool = True):
        """nnzoo's MNIST classifier for 28x28 greyscale images (trained once, cached); None for other sizes."""
        if tuple(shape) != JUDGE_SHAPE:
            return None
        if self._judge is None:
            self._judge = mnist_judge(verbose=verbose)
        return self._judge

    def features(self, judge, x: torch.Tensor) -> np.ndarray:
        return (judge_features(judge, x) if judge is not None else x.flatten(1)).double().numpy()

    # -- per epoch -------------------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, model, data, split, device, amp_dtype=None) -> dict:
        judge = self.judge(data.shape)
        real = data.split(split)[0][:N_VAL]
        fake = draw(model, len(real), seed=1, device=device, labels=sample_labels(model, len(real)))
        key = "fid_classifier" if judge is not None else "fid_pixels"
        return {key: frechet_distance(self.features(judge, fake), self.features(judge, real))}

    def after_epoch(self, model, data, run_dir, epoch: int, device) -> None:
        """The same noise every epoch, so the grids show one set of samples taking shape."""
        fake = draw(model, SHOWN_SAMPLES, seed=2, device=device, labels=sample_labels(model, SHOWN_SAMPLES))
        write_image_grid(fake, run_dir / "samples" / f"epoch-{epoch:03d}.png", ncols=10)

    # -- the test report -------------------------------------------------------------------------------------
    def test_report(self, model, data, device) -> tuple[dict, dict]:
        judge = self.judge(data.shape)
        n = min(N_SAMPLES, len(data.test_x))  # as many samples as real test images (test_size= cuts both)
        real = data.test_x[:n]
        labels = sample_labels(model, n)
        fake = draw(model, n, seed=3, device=device, labels=labels)
        f_fake, f_real = self.features(judge, fake), self.features(judge, real)
        figures: dict = {}
        if judge is None:
            figures["test_fid_pixels"] = round(frechet_distance(f_fake, f_real), 3)
            figures["fid_floor_train_vs_test_pixels"] = round(
                frechet_distance(self.features(None, data.train_x[:n]), f_real), 3)
        else:
            figures["fid_features"] = ("the last hidden layer (128 units) of nnzoo's MNIST classifier, not Inception-v3: "
                                       "compare with the floor below, not with published FIDs")
            figures["test_fid_classifier"] = round(frechet_distance(f_fake, f_real), 3)
            figures["fid_floor_train_vs_test_classifier"] = round(
                frechet_distance(self.features(judge, data.train_x[:n]), f_real), 3)
            probs = judge_probs(judge, fake)
            figures["inception_score_classifier"] = round(inception_score(probs.numpy()), 3)
            figures["inception_score_real_test"] = round(inception_score(judge_probs(judge, real).numpy()), 3)
            read = probs.argmax(1)
            share = 100 * torch.bincount(read, minlength=10).double() / len(read)
            figures["class_shares_percent"] = [round(float(s), 2) for s in share]
            figures["class_share_min_percent"] = round(float(share.min()), 2)
            figures["class_share_max_percent"] = round(float(share.max()), 2)
            figures["classes_between_5_and_15_percent"] = int(((share >= 5) & (share <= 15)).sum())
            if labels is not None:
                figures["conditional_accuracy_percent"] = round(100 * float((read == labels).double().mean()), 2)
        model.eval()
        test_y = data.test_y[:n] if model.cfg.conditional else None
        # D(x) on real test digits and D(G(z)) on samples: near 0.5 each when D can no longer tell them apart
        figures["d_real_test"] = round(float(model.score(real.to(device), _to(test_y, device)).mean()), 4)
        figures["d_fake_samples"] = round(float(model.score(fake.to(device), _to(labels, device)).mean()), 4)
        figures["samples"] = n
        if len(fake) < SHOWN_SAMPLES:  # a test_size below the grid's 80: the same seed, drawn again
            fake = draw(model, SHOWN_SAMPLES, seed=3, device=device, labels=sample_labels(model, SHOWN_SAMPLES))
        return figures, self._pictures(model, fake, device)

    def _pictures(self, model, fake: torch.Tensor, device) -> dict:
        art = {"grid:samples": fake[:SHOWN_SAMPLES].reshape(8, 10, *fake.shape[1:]).numpy(),
               "grid:samples:title": np.array("Samples" + (" (column c: class c)" if model.cfg.conditional else ""))}
        # 8 pairs of noise vectors, 10 steps along the great circle between each
        g = torch.Generator().manual_seed(4)
        ends = torch.randn(8, 2, model.cfg.latent, generator=g)
        t = torch.linspace(0, 1, 10)
        z = torch.cat([slerp(a, b, t) for a, b in ends])
        labels = (torch.arange(8) % model.cfg.n_classes).repeat_interleave(10) if model.cfg.conditional else None
        path = draw(model, len(z), 0, device, labels=labels, z=z)
        art["grid:interpolation"] = path.reshape(8, 10, *path.shape[1:]).numpy()
        art["grid:interpolation:title"] = np.array("Latent interpolation: each row walks from one noise vector to "
                                                   "another" + (" (class fixed per row)" if labels is not None else ""))
        if model.cfg.conditional:
            # one noise vector per column, every class per row: style held, class changed
            k = model.cfg.n_classes
            z = torch.randn(10, model.cfg.latent, generator=g).repeat(k, 1)
            grid = draw(model, len(z), 0, device, labels=torch.arange(k).repeat_interleave(10), z=z)
            art["grid:classes"] = grid.reshape(k, 10, *grid.shape[1:]).numpy()
            art["grid:classes:rows"] = np.array([f"class {c}" for c in range(k)])
            art["grid:classes:title"] = np.array("One noise vector per column, one class per row")
        return art

    # -- `nnzoo sample` --------------------------------------------------------------------------------------
    def sample(self, model, doc: dict, request: SampleRequest) -> tuple[dict, str]:
        """A grid of n samples (or one per latent vector of the .npy file request.z) as a PNG."""
        n, label, seed, z_file = request.n, request.label, request.seed, request.z
        suffix = "" if label is None else f"-class{label}"
        out = Path(request.out) if request.out else Path(request.run_dir) / f"sample{suffix}.png"
        cfg = model.cfg
        name = doc.get("recipe", "this run")
        if label is not None and not cfg.conditional:
            raise UserError(f"{name} was trained without classes, so --class cannot choose one; drop --class, "
                            "or sample a conditional run (recipe mnist-cgan)")
        if label is not None and not 0 <= label < cfg.n_classes:
            raise UserError(f"--class {label}: this generator was trained on classes 0-{cfg.n_classes - 1}")
        z = None
        if z_file:
            try:
                z = torch.from_numpy(np.load(z_file)).float()
            except (OSError, ValueError) as e:
                raise UserError(f"cannot read latent vectors from {z_file} ({e}); give a .npy array (N, "
                                f"{cfg.latent})") from None
            if z.dim() != 2 or z.shape[1] != cfg.latent:
                raise UserError(f"{z_file} holds latent vectors of shape {tuple(z.shape)} but this generator takes "
                                f"latent={cfg.latent}: give an array (N, {cfg.latent})")
            n = len(z)
        if n < 1:
            raise UserError(f"--n {n}: ask for at least one sample")
        labels = (torch.full((n,), label) if label is not None else sample_labels(model, n))
        images = draw(model, n, seed, torch.device("cpu"), labels=labels, z=z)
        path = write_image_grid(images, out, ncols=10 if cfg.conditional and label is None else 8)
        res = {"file": str(path), "samples": n, "class": label}
        if tuple(cfg.in_shape) == JUDGE_SHAPE and (self._judge is not None or _judge_ready()):
            read = judge_probs(self.judge(cfg.in_shape, verbose=False), images).argmax(1)
            res["judge_reads"] = [int(c) for c in read]
        return res, f"{res['samples']} samples -> {res['file']}"

    def describe(self, data) -> dict:
        return {"classes": list(data.classes)}


def _judge_ready() -> bool:
    from ..train.cache import is_built
    return is_built(judge_dir())


def _to(t, device):
    return None if t is None else t.to(device)
