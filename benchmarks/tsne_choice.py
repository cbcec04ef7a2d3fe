"""Which t-SNE the cnn-features experiment uses: scikit-learn's (Barnes-Hut) or openTSNE's (FFT-accelerated
interpolation above a few thousand points), measured in one run on the same points.

The points are the last hidden layer (`CNN.penultimate`) of the experiment's own MNIST CNN, or of `--run`'s,
for the first N test digits; each library runs with its defaults as `cnn_features.tsne_map` calls it
(perplexity 30, PCA initialisation, learning rate 'auto', the same seed and thread count). For each it prints
the wall time of the embedding alone, its trustworthiness (k = 10) and the 10-NN accuracy of the 2-D map (half
the points classify the other half). Pick the faster where the trustworthiness is the same (within 0.005) and
set `cnn_features.TSNE_LIBRARY`. openTSNE is not a dependency of nnzoo: `pip install openTSNE==1.0.4` first.

    OMP_NUM_THREADS=1 python benchmarks/tsne_choice.py [--run RUN_DIR] [--points 10000 1000] [--threads 1]
        [--order openTSNE sklearn]
"""
from __future__ import annotations

import argparse
import json
import pathlib
import time

import torch

from nnzoo.data import load_images
from nnzoo.experiments import cnn_features as cf
from nnzoo.experiments.ae_codes import knn_accuracy

LIBRARIES = ("sklearn", "openTSNE")
SAME = 0.005
"""Trustworthiness differences below this count as equal."""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", help="an mnist-cnn run folder (default: the experiment's cached full-recipe CNN)")
    p.add_argument("--points", type=int, nargs="+", default=[cf.FULL["tsne"], cf.QUICK["tsne"]])
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--metric", default="euclidean", choices=("euclidean", "cosine"))
    p.add_argument("--order", nargs=2, default=list(LIBRARIES), choices=LIBRARIES,
                   help="which library runs first (to check that the order does not decide)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    import openTSNE  # noqa: F401  (fails here, not half-way, when it is not installed)
    import sklearn.manifold  # noqa: F401  (imports outside the timings)

    if args.run:
        from nnzoo.runs import load_run
        cf._check_run(pathlib.Path(args.run))
        about, model = args.run, load_run(pathlib.Path(args.run))[3]
    else:
        about, model = cf.feature_cnn(quick=False, progress=True)
    data = load_images("mnist", seed=0)
    n_max = max(args.points)
    x = cf.penultimate_features(model, data.test_x[:n_max])
    y = data.test_y[:n_max].numpy()
    print(f"features: {about}; {x.shape[1]} units; threads {args.threads}; metric {args.metric}")
    print(f"{'points':>7} {'library':>9} {'seconds':>8} {'trust k10':>10} {'map 10-NN':>10}")
    rows = []
    for n in args.points:
        for lib in args.order:
            start = time.perf_counter()
            z = cf.tsne_map(x[:n], lib, args.seed, args.threads, args.metric)
            secs = time.perf_counter() - start
            row = {"points": n, "library": lib, "seconds": round(secs, 1),
                   "trustworthiness_k10": round(cf.trustworthiness(x[:n], z, args.metric), 4),
                   "map_knn10_accuracy": round(knn_accuracy(z, y[:n], cf.K), 4), "threads": args.threads}
            rows.append(row)
            print(f"{n:>7} {lib:>9} {row['seconds']:>8.1f} {row['trustworthiness_k10']:>10.4f} "
                  f"{row['map_knn10_accuracy']:>10.4f}", flush=True)
        a, b = rows[-2], rows[-1]
        same = abs(a["trustworthiness_k10"] - b["trustworthiness_k10"]) < SAME
        best = (min((a, b), key=lambda r: r["seconds"]) if same else
                max((a, b), key=lambda r: r["trustworthiness_k10"]))
        print(f"{n:>7} points: {'equal' if same else 'unequal'} trustworthiness -> {best['library']}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
