"""Images in [0, 1] as a finite training set: what every image-making family (autoencoders, GANs, image to
image, swaps) reads."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ..data import load_images, read_image
from ..errors import UserError
from .base import SetTask

MIN_TEST = 100  # the smallest test_size the pictures (up to 80 samples in a grid) can be drawn from


def load_split_images(name: str, tcfg):
    """An image set with the training keys' validation share and test_size (its first N test images) applied."""
    if 0 < tcfg.test_size < MIN_TEST:
        raise UserError(f"test_size={tcfg.test_size}: the report's pictures need at least {MIN_TEST} test "
                        f"images; use test_size=0 (all) or at least {MIN_TEST}")
    return load_images(name, seed=0, val_size=tcfg.val_size).head_test(tcfg.test_size)


def check_files(files: list[str]) -> None:
    """Every input of `nnzoo predict` must be an image file."""
    for f in files:
        if not Path(f).is_file():
            raise UserError(f"no such image file {f}")


def read_images(files: list[str], shape, invert: bool = False) -> list:
    """The user's image files as tensors C, H, W in [0, 1] (1 - x with invert), each of the model's shape."""
    check_files(files)
    c, h, w = (int(d) for d in shape)
    out = []
    for f in files:
        img = read_image(f, channels=c)
        if tuple(img.shape) != (c, h, w):
            raise UserError(f"{f} is {img.shape[2]}x{img.shape[1]} pixels but the model expects {w}x{h} "
                            f"({'grey' if c == 1 else 'RGB'}); resize it first")
        out.append(1.0 - img if invert else img)
    return out


class ImageTask(SetTask):
    """Images in, images out (or noise in, images out): the data side every image-making family shares. Pixels
    must lie in [0, 1] (`needs` says why, in the error)."""
    unit = "img"
    needs = "an autoencoder reconstructs images in [0, 1]"

    def load(self, tcfg):
        data = load_split_images(tcfg.data, tcfg)
        for split in ("train", "test"):
            x = data.split(split)[0]
            if len(x) and (float(x.min()) < 0 or float(x.max()) > 1):
                raise UserError(f"{tcfg.data}: {split} pixels range over [{float(x.min()):.3g}, "
                                f"{float(x.max()):.3g}]; {self.needs}: rescale them")
        return data

    def adapt(self, mcfg, data):
        return dataclasses.replace(mcfg, in_shape=tuple(data.shape))

    def train_size(self, data) -> int:
        return len(data.train_x)

    def make_batch(self, data, idx, device, tcfg):
        return data.train_x[idx].to(device, non_blocking=True), data.train_y[idx].to(device, non_blocking=True)
