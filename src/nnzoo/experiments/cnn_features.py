"""Lecture claim: the last hidden layer of a trained CNN is a representation, not just a step towards the
class scores. Take `mnist-cnn`'s 128 units before its final linear layer (`CNN.penultimate`) as a feature
vector of each image and ask what it is good for without the classifier on top:

  kNN           10-nearest-neighbour accuracy on the 10,000 test digits, the 60,000 training digits as the
                gallery: features against raw pixels (goal >= 99.3 % against pixels' ~97 %)
  linear probe  a logistic regression on the frozen features
  transfer      a logistic regression on frozen MNIST features of Fashion-MNIST images, beside one on raw
                pixels and beside the same CNN recipe trained on Fashion-MNIST itself
  t-SNE         a 2-D map of test digits' features, coloured by class: its trustworthiness (k = 10, goal
                >= 0.95: how few of a point's 10 map neighbours are strangers in feature space) and the map's
                own 10-NN accuracy

The CNN: `--run RUN_DIR` of an mnist-cnn run; else the full mnist-cnn recipe (12 epochs, 99.6 % test accuracy),
trained once and kept under `<data>/features/mnist-cnn` (train/cache.py); quick mode reads the MNIST judge
(2 epochs of the same recipe, tasks/judge.py), which the tour's GAN sections build anyway. The judge's
features sit at the goal's edge (99.27 % euclidean, 99.39 % cosine on the test digits; the validation split
prefers euclidean), the full recipe's clear it (99.55 %), hence the cached full one.

The kNN distance, euclidean or cosine (= euclidean on L2-normalised vectors), is chosen per representation
on the validation split (gallery: the other 55,000 training digits), never on the test digits. The linear
classifiers are scikit-learn's L2-regularised logistic regression (C = 1, lbfgs), on standardised features;
pixels keep their common [0, 1] scale (standardising lifts rare border pixels to huge values and left lbfgs
unconverged after 1,000 iterations on Fashion-MNIST). t-SNE is `TSNE_LIBRARY`'s, chosen by
benchmarks/tsne_choice.py.
"""
from __future__ import annotations

import pathlib
import sys
import tempfile
import time

import numpy as np
import torch

from . import cached_recipe_run, train_recipe
from ..errors import UserError

K = 10
"""Neighbours of the kNN classifiers and of the trustworthiness."""
RECIPE = "mnist-cnn"
FEATURE_CNN_OVERRIDES = ["tensorboard=false"]
"""The cached feature CNN (full mode without --run): the recipe as it stands, seed 0."""
FASHION_DATA = "fashion-mnist"
FASHION_CNN_OVERRIDES = {False: [f"data={FASHION_DATA}", "tensorboard=false"],
                         True: [f"data={FASHION_DATA}", "tensorboard=false", "epochs=1"]}
"""The Fashion-MNIST CNN (full: the mnist-cnn recipe on Fashion-MNIST, cached; quick: one epoch, thrown away)."""
FULL = dict(gallery=0, val=0, test=0, fashion_train=0, fashion_test=0, tsne=10_000)
QUICK = dict(gallery=10_000, val=1_000, test=2_000, fashion_train=10_000, fashion_test=2_000, tsne=1_000)
"""How many images each part reads (0: all): MNIST's gallery (training digits), validation digits (the kNN
metric's choice) and test digits, Fashion-MNIST's training and test images, test digits in the t-SNE map."""
TSNE_LIBRARY = "openTSNE"
"""'sklearn' or 'openTSNE': the faster at equal trustworthiness in benchmarks/tsne_choice.py. openTSNE 1.0.4:
42 s against scikit-learn 1.9.1's 57 s for 10,000 test digits' features, 2.8 s against 3.8 s for 1,000, both
at trustworthiness 0.9965 / 0.993 (one thread, a shared 2-core machine)."""
PERPLEXITY = 30.0
GOALS = {"knn10_accuracy_features": 0.993, "tsne_trustworthiness_k10": 0.95}
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf"]


# ---- the pieces, each usable alone (benchmarks/tsne_choice.py reads them) ----

@torch.no_grad()
def penultimate_features(model, x: torch.Tensor, batch: int = 1000) -> np.ndarray:
    """CNN.penultimate of images (N, C, H, W) in [0, 1], in eval mode: (N, D) float32."""
    model.eval()
    if not len(x):
        return np.zeros((0, model.head[-1].in_features), np.float32)
    return torch.cat([model.penultimate(x[i:i + batch]) for i in range(0, len(x), batch)]).float().numpy()


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)


def knn_score(gallery, gallery_y, queries, queries_y, metric: str, k: int = K) -> float:
    """Accuracy of a k-NN classifier (majority of the k nearest gallery points) on the queries; metric
    'euclidean' or 'cosine' (euclidean between L2-normalised vectors: the same neighbours)."""
    from sklearn.neighbors import KNeighborsClassifier
    if metric == "cosine":
        gallery, queries = _unit(gallery), _unit(queries)
    clf = KNeighborsClassifier(k, algorithm="brute").fit(gallery, gallery_y)
    return float(clf.score(queries, queries_y))


def pick_metric(train, train_y, val, val_y, k: int = K) -> str:
    """'euclidean' or 'cosine', whichever classifies the validation points better (euclidean on a tie)."""
    scores = {m: knn_score(train, train_y, val, val_y, m, k) for m in ("euclidean", "cosine")}
    return max(scores, key=lambda m: (scores[m], m == "euclidean"))


def linear_probe(x_train, y_train, x_test, y_test, standardise: bool = True) -> float:
    """Test accuracy of an L2-regularised multinomial logistic regression (scikit-learn, C = 1, lbfgs)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    steps = ([StandardScaler()] if standardise else []) + [LogisticRegression(max_iter=1000)]
    return float(make_pipeline(*steps).fit(x_train, y_train).score(x_test, y_test))


def tsne_map(x: np.ndarray, library: str = TSNE_LIBRARY, seed: int = 0, threads: int = 1,
             metric: str = "euclidean") -> np.ndarray:
    """A 2-D t-SNE map (N, 2) of x by a maintained library with its default optimiser settings: perplexity
    30, PCA initialisation, learning rate N / early exaggeration ('auto')."""
    x = _unit(x) if metric == "cosine" else x
    x = np.ascontiguousarray(x, dtype=np.float64)
    perplexity = min(PERPLEXITY, (len(x) - 1) / 3.0)  # both libraries need 3 perplexity neighbours per point
    if library == "openTSNE":
        from openTSNE import TSNE
        return np.asarray(TSNE(2, perplexity=perplexity, initialization="pca", random_state=seed,
                               n_jobs=threads).fit(x))
    if library == "sklearn":
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits
        with threadpool_limits(threads):  # its Barnes-Hut gradient runs on OpenMP threads
            return TSNE(2, perplexity=perplexity, init="pca", random_state=seed, n_jobs=threads).fit_transform(x)
    raise ValueError(f"unknown t-SNE library {library!r}; choose sklearn or openTSNE")


def trustworthiness(x: np.ndarray, z: np.ndarray, metric: str = "euclidean", k: int = K) -> float:
    """scikit-learn's trustworthiness of the map z of x: 1 - how far (in rank) the k map neighbours of each
    point are from being its k neighbours in x; 1 when every map neighbour is a true one."""
    from sklearn.manifold import trustworthiness as tw
    return float(tw(_unit(x) if metric == "cosine" else x, z, n_neighbors=k))


# ---- the networks ----

def _check_run(run_dir: pathlib.Path) -> dict:
    from ..runs import read_config
    doc = read_config(run_dir)
    if doc["recipe"] != RECIPE:
        raise UserError(f"{run_dir} is a {doc['recipe']} run; cnn-features reads the last hidden layer of an "
                        f"{RECIPE} run (e.g. nnzoo train {RECIPE}), or give no --run to use its own")
    if doc.get("data") != "mnist":
        raise UserError(f"{run_dir} is an {RECIPE} run trained on {doc.get('data')!r}, not MNIST; cnn-features "
                        f"compares MNIST features: give an {RECIPE} run on mnist")
    return doc


def feature_cnn(quick: bool, progress: bool) -> tuple[str, torch.nn.Module]:
    """(what it is, the CNN) when no --run is given: the judge (quick) or the cached full recipe."""
    from ..data import data_root
    from ..runs import load_run
    if quick:
        from ..tasks.judge import JUDGE_EPOCHS, ensure_judge, load_judge
        folder = ensure_judge(progress)
        return f"the MNIST judge ({JUDGE_EPOCHS} epochs of {RECIPE}, {folder})", load_judge(folder)
    folder = cached_recipe_run(data_root() / "features" / RECIPE, RECIPE, FEATURE_CNN_OVERRIDES, 0, progress,
                               f"the feature CNN ({RECIPE}, full recipe)")
    return f"{RECIPE}, full recipe ({folder})", load_run(folder)[3]


def fashion_cnn(quick: bool, seed: int, progress: bool, test_x: torch.Tensor,
                test_y: torch.Tensor) -> tuple[str, float]:
    """(what it is, test accuracy) of the mnist-cnn recipe trained on Fashion-MNIST."""
    from ..data import data_root
    from ..runs import load_run
    overrides = FASHION_CNN_OVERRIDES[quick]
    if quick:  # a short run, thrown away
        with tempfile.TemporaryDirectory(prefix="fashion-cnn-") as tmp:
            train_recipe(pathlib.Path(tmp) / "run", RECIPE, overrides + [f"seed={seed}"], progress)
            model = load_run(pathlib.Path(tmp) / "run")[3]
        about = f"{RECIPE} on Fashion-MNIST, quick: {' '.join(overrides[2:])}"
    else:
        folder = cached_recipe_run(data_root() / "features" / f"{RECIPE}-on-{FASHION_DATA}", RECIPE, overrides, 0,
                                   progress, f"an {RECIPE} on Fashion-MNIST")
        model = load_run(folder)[3]
        about = f"{RECIPE}, full recipe on Fashion-MNIST ({folder})"
    with torch.no_grad():
        model.eval()
        pred = torch.cat([model(test_x[i:i + 1000]).argmax(1) for i in range(0, len(test_x), 1000)])
    return about, float((pred == test_y).float().mean())


def _load_fashion():
    """Fashion-MNIST, or None when it is not installed."""
    from ..data import load_images
    from ..data.store import DataMissing
    try:
        return load_images(FASHION_DATA, seed=0)
    except DataMissing:
        return None


# ---- the experiment ----

def _head(n: int) -> slice:
    return slice(None) if n == 0 else slice(0, n)


def run(out: pathlib.Path, quick: bool = False, seed: int = 0, progress: bool = True,
        run_dir: str | None = None) -> dict:
    from ..data import load_images
    from .ae_codes import knn_accuracy

    out = pathlib.Path(out)
    size = QUICK if quick else FULL
    threads = torch.get_num_threads()
    say = (lambda msg: print(f"cnn-features: {msg}", file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    if run_dir:
        from ..runs import load_run
        _check_run(pathlib.Path(run_dir))  # before anything is read or trained
        about, model = f"--run {run_dir}", load_run(pathlib.Path(run_dir))[3]
    else:
        about, model = feature_cnn(quick, progress)
    out.mkdir(parents=True, exist_ok=True)

    data = load_images("mnist", seed=0)
    g, v, t = _head(size["gallery"]), _head(size["val"]), _head(size["test"])
    tr_x, tr_y = data.train_x[g], data.train_y[g].numpy()
    va_x, va_y = data.val_x[v], data.val_y[v].numpy()
    te_x, te_y = data.test_x[t], data.test_y[t].numpy()
    say(f"features of {len(tr_x) + len(va_x) + len(te_x):,} digits")
    f_tr, f_va, f_te = (penultimate_features(model, x) for x in (tr_x, va_x, te_x))
    with torch.no_grad():
        logits = model.head[-1](torch.from_numpy(f_te))
    p_tr, p_va, p_te = (x.flatten(1).numpy() for x in (tr_x, va_x, te_x))
    # the gallery and the probe's training set: every training digit (train + validation, 60,000 in full)
    gal_f, gal_p, gal_y = np.concatenate([f_tr, f_va]), np.concatenate([p_tr, p_va]), np.concatenate([tr_y, va_y])

    say("kNN, features and pixels")
    metric_f = pick_metric(f_tr, tr_y, f_va, va_y)
    metric_p = pick_metric(p_tr, tr_y, p_va, va_y)
    figures = {"knn10_accuracy_features": round(knn_score(gal_f, gal_y, f_te, te_y, metric_f), 4),
               "knn10_accuracy_pixels": round(knn_score(gal_p, gal_y, p_te, te_y, metric_p), 4),
               "knn10_metric_features": metric_f, "knn10_metric_pixels": metric_p}
    say("linear probe")
    figures["linear_probe_accuracy"] = round(linear_probe(gal_f, gal_y, f_te, te_y), 4)
    figures["cnn_softmax_accuracy"] = round(float((logits.argmax(1).numpy() == te_y).mean()), 4)

    fashion = _load_fashion()
    fashion_about = None
    if fashion is None:
        figures.update({"fashion_linear_accuracy_on_mnist_features": None, "fashion_linear_accuracy_on_pixels": None,
                        "fashion_cnn_accuracy": None})
    else:
        ft, fe = _head(size["fashion_train"]), _head(size["fashion_test"])
        fx = torch.cat([fashion.train_x, fashion.val_x])[ft]
        fy = torch.cat([fashion.train_y, fashion.val_y])[ft].numpy()
        fx_te, fy_te = fashion.test_x[fe], fashion.test_y[fe]
        say(f"Fashion-MNIST: linear classifiers on {len(fx):,} images")
        figures["fashion_linear_accuracy_on_mnist_features"] = round(linear_probe(
            penultimate_features(model, fx), fy, penultimate_features(model, fx_te), fy_te.numpy()), 4)
        figures["fashion_linear_accuracy_on_pixels"] = round(linear_probe(
            fx.flatten(1).numpy(), fy, fx_te.flatten(1).numpy(), fy_te.numpy(), standardise=False), 4)
        say("Fashion-MNIST: a CNN of its own")
        fashion_about, acc = fashion_cnn(quick, seed, progress, fx_te, fy_te)
        figures["fashion_cnn_accuracy"] = round(acc, 4)

    n = min(size["tsne"], len(f_te))
    say(f"t-SNE ({TSNE_LIBRARY}) of {n:,} test digits' features")
    start = time.perf_counter()
    z = tsne_map(f_te[:n], TSNE_LIBRARY, seed, threads, metric_f)
    figures["tsne_seconds"] = round(time.perf_counter() - start, 1)
    figures["tsne_trustworthiness_k10"] = round(trustworthiness(f_te[:n], z, metric_f), 4)
    figures["tsne_knn10_accuracy"] = round(knn_accuracy(z, te_y[:n], K), 4)
    figures["tsne_library"] = TSNE_LIBRARY
    figures["tsne_points"] = n
    figures = {**{k: figures[k] for k in ("knn10_accuracy_features", "knn10_accuracy_pixels", "linear_probe_accuracy",
                                          "cnn_softmax_accuracy", "fashion_linear_accuracy_on_mnist_features",
                                          "fashion_linear_accuracy_on_pixels", "fashion_cnn_accuracy",
                                          "tsne_trustworthiness_k10", "tsne_knn10_accuracy")},
               **figures}
    figures.update({"feature_cnn": about, "feature_dim": int(f_te.shape[1]), "gallery_digits": len(gal_y),
                    "test_digits": len(te_y), "fashion_train_images": None if fashion is None else len(fy),
                    "fashion_test_images": None if fashion is None else len(fy_te), "fashion_cnn": fashion_about,
                    "threads": threads})

    images = [_plot_map(out / "cnn_features_tsne.png", z, te_y[:n], figures),
              _plot_bars(out / "cnn_features_accuracy.png", figures)]
    return {"figures": figures, "images": images, "summary": _summary(figures)}


def _mark(f: dict, key: str) -> str:
    return "goal met" if f[key] >= GOALS[key] else "below the goal"


def _summary(f: dict) -> str:
    s = (f"The {f['feature_dim']}-unit last hidden layer of {f['feature_cnn']} as a feature vector. 10-NN accuracy "
         f"on {f['test_digits']:,} MNIST test digits ({f['gallery_digits']:,} training digits as the gallery): "
         f"features {f['knn10_accuracy_features']:.2%} ({f['knn10_metric_features']}; goal >= "
         f"{GOALS['knn10_accuracy_features']:.1%}: {_mark(f, 'knn10_accuracy_features')}), raw pixels "
         f"{f['knn10_accuracy_pixels']:.2%} ({f['knn10_metric_pixels']}); a linear probe on the features "
         f"{f['linear_probe_accuracy']:.2%} (the CNN's own classifier {f['cnn_softmax_accuracy']:.2%}). ")
    if f["fashion_cnn_accuracy"] is None:
        s += ("Fashion-MNIST transfer: not measured, Fashion-MNIST is not installed (run: nnzoo data install "
              "fashion-mnist). ")
    else:
        s += (f"Fashion-MNIST ({f['fashion_test_images']:,} test images): a linear classifier on frozen MNIST "
              f"features {f['fashion_linear_accuracy_on_mnist_features']:.2%}, on raw pixels "
              f"{f['fashion_linear_accuracy_on_pixels']:.2%}, a CNN trained on Fashion-MNIST "
              f"{f['fashion_cnn_accuracy']:.2%}"
              + ("; features learnt for digits transfer to clothes worse than the pixels themselves. "
                 if f["fashion_linear_accuracy_on_mnist_features"] < f["fashion_linear_accuracy_on_pixels"] else ". "))
    s += (f"t-SNE ({f['tsne_library']}, {f['tsne_points']:,} test digits, {f['tsne_seconds']:.0f} s): "
          f"trustworthiness (k = {K}) {f['tsne_trustworthiness_k10']:.3f} (goal >= "
          f"{GOALS['tsne_trustworthiness_k10']}: {_mark(f, 'tsne_trustworthiness_k10')}), 10-NN accuracy in the "
          f"2-D map {f['tsne_knn10_accuracy']:.2%}.")
    return s


def _plot_map(path: pathlib.Path, z: np.ndarray, y: np.ndarray, f: dict) -> str:
    from matplotlib.figure import Figure
    fig = Figure(figsize=(7.5, 6.5))
    ax = fig.subplots()
    for c in range(10):
        pts = z[y == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=3 if len(z) > 2000 else 8, color=COLORS[c], label=str(c), rasterized=True)
        if len(pts):  # the class's label at its median point
            mx, my = np.median(pts, axis=0)
            ax.text(mx, my, str(c), fontsize=14, weight="bold", ha="center", va="center",
                    bbox=dict(boxstyle="circle,pad=0.2", fc="white", ec=COLORS[c], alpha=0.8))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(markerscale=4, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), title="digit")
    ax.set_title(f"t-SNE ({f['tsne_library']}) of the CNN's last hidden layer, {f['tsne_points']:,} MNIST test "
                 f"digits\ntrustworthiness (k = {K}) {f['tsne_trustworthiness_k10']:.3f}, 10-NN accuracy in the map "
                 f"{f['tsne_knn10_accuracy']:.1%}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path.name


def _plot_bars(path: pathlib.Path, f: dict) -> str:
    from matplotlib.figure import Figure
    groups = [("MNIST", [("10-NN, pixels", f["knn10_accuracy_pixels"]),
                         ("10-NN, CNN features", f["knn10_accuracy_features"]),
                         ("linear probe, features", f["linear_probe_accuracy"]),
                         ("the CNN itself", f["cnn_softmax_accuracy"])]),
              ("Fashion-MNIST", [("linear, pixels", f["fashion_linear_accuracy_on_pixels"]),
                                 ("linear, MNIST-CNN features", f["fashion_linear_accuracy_on_mnist_features"]),
                                 ("CNN trained on Fashion", f["fashion_cnn_accuracy"])])]
    fig = Figure(figsize=(11, 4))
    axes = fig.subplots(1, 2, gridspec_kw=dict(width_ratios=[4, 3]))
    for ax, (title, bars) in zip(axes, groups):
        names = [b[0] for b in bars]
        vals = [np.nan if b[1] is None else 100 * b[1] for b in bars]
        finite = [v for v in vals if np.isfinite(v)]
        lo = max(0.0, (min(finite) if finite else 90.0) - 5)
        ax.bar(range(len(bars)), np.nan_to_num(vals), color=["#999999"] + ["#1f77b4"] * (len(bars) - 1))
        for i, v in enumerate(vals):
            ax.text(i, (v if np.isfinite(v) else lo) + 0.3,
                    f"{v:.2f} %" if np.isfinite(v) else "not installed:\nnnzoo data install\nfashion-mnist",
                    ha="center", va="bottom", fontsize=9 if np.isfinite(v) else 8)
        ax.set_ylim(lo, 100.5)
        ax.set_xticks(range(len(bars)), names, fontsize=8, rotation=12)
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(title)
    goal = 100 * GOALS["knn10_accuracy_features"]
    axes[0].axhline(goal, color="#d62728", lw=0.8, ls="--")
    axes[0].text(-0.4, goal - 0.1, f"goal of the features' 10-NN: {goal:.1f} %", color="#d62728", fontsize=7,
                 ha="left", va="top")
    fig.suptitle("What the last hidden layer of an MNIST CNN is good for", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path.name
