"""Reconstructions of the same test digits by two autoencoder runs at the same code size, and by PCA with as
many components, in one figure (issue: convolutional vs MLP autoencoder).

    python benchmarks/ae_compare.py runs/bench/mnist-ae runs/bench/mnist-conv-ae --out runs/bench/ae_compare.png
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs=2, type=Path, help="two reconstruction run folders (after `nnzoo eval`)")
    p.add_argument("--out", type=Path, required=True, help="PNG to write")
    args = p.parse_args()
    from nnzoo.report.plots import image_grids
    rows, names, sizes = [], [], set()
    for i, run in enumerate(args.runs):
        art = np.load(run / "artifacts.npz")
        fig = json.loads((run / "eval.json").read_text())
        grid = art["grid:reconstructions"]  # input, model, PCA
        if i == 0:
            rows.append(grid[0])
            names.append("input")
        rows.append(grid[1])
        names.append(f"{run.name}: {fig['test_squared_error_per_image']:.2f}")
        sizes.add(fig["code_size"])
        pca = (grid[2], f"PCA, {fig['pca_components']} comp.: {fig['pca_squared_error_per_image']:.2f}")
    rows.append(pca[0])
    names.append(pca[1])
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "artifacts.npz", **{
            "grid:compare": np.stack(rows), "grid:compare:rows": np.array(names),
            "grid:compare:title": np.array(f"Test reconstructions at code size {'/'.join(map(str, sorted(sizes)))}; "
                                           "row label: squared error per image")})
        (png,) = image_grids(tmp)
        args.out.write_bytes(png.read_bytes())
    print(args.out)


if __name__ == "__main__":
    main()
