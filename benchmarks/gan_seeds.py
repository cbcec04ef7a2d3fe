"""Several runs of one GAN recipe (different seeds), one figure: the validation classifier-FID after every epoch
and the critic's training curves, so their stability can be seen, not only their final figure. Prints the
final test FIDs as mean +- sample standard deviation.

    python benchmarks/gan_seeds.py RUN [RUN ...] --out docs/images/wgan_gp_seeds.png
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from matplotlib.figure import Figure

from nnzoo.train.logging import read_metrics


def series(run: Path, split: str, name: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for m in read_metrics(run):
        if m["split"] == split and m["name"] == name:
            xs.append(m["epoch"])
            ys.append(m["value"])
    return xs, ys


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+")
    p.add_argument("--curve", default="wasserstein_estimate", help="the training series beside the FID")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    runs = [Path(r) for r in args.runs]
    fig = Figure(figsize=(9, 3.4))
    ax1, ax2 = fig.subplots(1, 2)
    finals = []
    for run in runs:
        ev = json.loads((run / "eval.json").read_text())
        cfg = json.loads((run / "config.json").read_text())
        seed = cfg["train"]["seed"]
        finals.append(ev["test_fid_classifier"])
        ax1.plot(*series(run, "val", "fid_classifier"), marker="o", ms=3, label=f"seed {seed}")
        ax2.plot(*series(run, "train", args.curve), lw=1, label=f"seed {seed}")
    ax1.set(title="Validation classifier-FID", xlabel="epoch", ylabel="FID (lower is better)")
    ax2.set(title=args.curve.replace("_", " "), xlabel="epoch")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, frameon=False)
    mean = statistics.mean(finals)
    std = statistics.stdev(finals) if len(finals) > 1 else 0.0
    fig.suptitle(f"{cfg['recipe']}: final test classifier-FID {mean:.2f} +- {std:.2f} over {len(runs)} seeds")
    fig.subplots_adjust(left=0.08, right=0.98, top=0.82, bottom=0.15, wspace=0.25)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100)
    print(json.dumps({"recipe": cfg["recipe"], "test_fid_classifier": finals, "mean": round(mean, 3),
                      "std": round(std, 3), "figure": args.out}))


if __name__ == "__main__":
    main()
