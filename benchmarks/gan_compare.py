"""Two image-to-image runs on the same test digits, one figure: their outputs in adjacent rows between the
input and the target (pix2pix L1 alone vs L1 + GAN; SRResNet vs SRGAN with bicubic beside them).

    python benchmarks/gan_compare.py RUN_A RUN_B --labels "L1 alone" "L1 + GAN" --out docs/images/pix2pix.png
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np

from nnzoo.report.plots import image_grids


def rows_of(run: Path) -> dict[str, np.ndarray]:
    art = np.load(run / "artifacts.npz")
    names = [str(n) for n in art["grid:translations:rows"]]
    return dict(zip(names, art["grid:translations"]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_a")
    p.add_argument("run_b")
    p.add_argument("--labels", nargs=2, default=["A", "B"])
    p.add_argument("--title", default="The same test digits through two models")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    a, b = rows_of(Path(args.run_a)), rows_of(Path(args.run_b))
    names = ["input"] + (["bicubic"] if "bicubic" in a else []) + [args.labels[0], args.labels[1], "target"]
    grid = [a["input"]] + ([a["bicubic"]] if "bicubic" in a else []) + [a["output"], b["output"], a["target"]]
    tmp = Path(tempfile.mkdtemp(prefix="nnzoo-compare-"))
    np.savez(tmp / "artifacts.npz", **{"grid:compare": np.stack(grid), "grid:compare:rows": np.array(names),
                                       "grid:compare:title": np.array(args.title)})
    (png,) = image_grids(tmp)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(png), args.out)
    shutil.rmtree(tmp)
    print(args.out)


if __name__ == "__main__":
    main()
