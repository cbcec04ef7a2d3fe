"""Lecture claim: a single-layer perceptron cannot fit XOR; one hidden layer of two units can.

XOR's positive points (0,1), (1,0) sit on one diagonal of the unit square and its negative points on the other,
so no line puts both positives on one side and both negatives on the other: any linear separator gets at most
3 of the 4 points right. A 2-2-1 net bends the input space with its hidden layer and gets all 4.
"""
from __future__ import annotations

import math
import pathlib

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import torch_threads
from ..models.mlp import MLP, MLPConfig

# 4, 2 inputs and their XOR labels
X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = torch.tensor([0.0, 1.0, 1.0, 0.0])

RESTARTS = 20
"""Seeded initialisations tried for the 2-2-1 net: two hidden units leave little slack, and about a third of the
starts (129 of 400 seeds tried) settle in a local minimum that fits only 2 (rarely 3) of the 4 points; all 20
failing is ~0.32^20 ~ 1e-10 likely."""
HIDDEN_STEPS = 500
HIDDEN_LR = 1.0
PERCEPTRON_EPOCHS = 50
LOGREG_STEPS = 500
LOGREG_LR = 1.0


def _net(hidden: list[int], activation: str = "tanh") -> MLP:
    # One logit per point: P(y=1 | x) = sigmoid(z), which for XOR is the same as a 2-class softmax.
    return MLP(MLPConfig(in_shape=(2,), n_classes=1, hidden=hidden, activation=activation, dropout=0.0))


@torch.no_grad()
def accuracy(model: MLP, x: torch.Tensor = X, y: torch.Tensor = Y) -> float:
    pred = (model(x).squeeze(1) > 0).float()  # B
    return float((pred == y).float().mean())


@torch.no_grad()
def train_perceptron(seed: int, epochs: int = PERCEPTRON_EPOCHS) -> MLP:
    """Rosenblatt's perceptron rule, with Gallant's pocket: on XOR the plain rule never converges (it cycles
    forever), so keep the weights that classified the most points seen so far."""
    torch.manual_seed(seed)
    model = _net([])
    lin = model.net[-1]
    gen = torch.Generator().manual_seed(seed)
    best = (accuracy(model), lin.weight.clone(), lin.bias.clone())
    for _ in range(epochs):
        for i in torch.randperm(len(X), generator=gen).tolist():
            # targets t in {-1, +1}
            t = 2.0 * Y[i] - 1.0
            # misclassified (or on the line) when t (w . x + b) <= 0
            if t * (lin.weight[0] @ X[i] + lin.bias[0]) <= 0:
                # w <- w + t x,  b <- b + t
                lin.weight[0] += t * X[i]
                lin.bias[0] += t
                acc = accuracy(model)
                if acc > best[0]:
                    best = (acc, lin.weight.clone(), lin.bias.clone())
    lin.weight.copy_(best[1])
    lin.bias.copy_(best[2])
    return model


def _gradient_descent(params: list[torch.Tensor], loss_fn, steps: int, lr: float, progress: bool = False,
                      desc: str = "") -> None:
    """Full-batch gradient descent, written out rather than taken from torch.optim, whose first use costs
    seconds of imports that would dwarf this experiment."""
    for _ in tqdm(range(steps), desc=desc, disable=not progress, leave=False):
        grads = torch.autograd.grad(loss_fn(), params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                # w <- w - lr dL/dw
                p.sub_(lr * g)


def train_logistic_regression(seed: int, steps: int = LOGREG_STEPS, lr: float = LOGREG_LR) -> MLP:
    """The same linear model fitted by gradient descent on cross-entropy. The loss is strictly convex and, by the
    symmetry of XOR, its unique minimum is w = 0, b = 0: the best linear fit says P = 0.5 for every point."""
    torch.manual_seed(seed)
    model = _net([])

    def loss():
        # L = -1/4 sum_i [y_i log s(z_i) + (1 - y_i) log(1 - s(z_i))]
        return F.binary_cross_entropy_with_logits(model(X).squeeze(1), Y)

    _gradient_descent(list(model.parameters()), loss, steps, lr)
    return model


def train_hidden2(seeds: list[int], activation: str = "tanh", steps: int = HIDDEN_STEPS,
                  lr: float = HIDDEN_LR, progress: bool = False) -> list[tuple[MLP, float]]:
    """One 2-2-1 net per seed, each initialised as `MLP` does under `torch.manual_seed(seed)` and fitted by
    full-batch gradient descent on cross-entropy; returns (net, final loss) per seed.

    The R nets train side by side as one stacked set of weights: their losses add up, so each net's gradient is
    its own, and gradient descent is elementwise, so this is R independent runs in one pass instead of R Python
    loops of tiny steps."""
    models = []
    for s in seeds:
        torch.manual_seed(s)
        models.append(_net([2], activation))
    hidden = [m.net[1] for m in models]
    out = [m.net[-1] for m in models]
    w1 = torch.stack([l.weight.detach() for l in hidden]).requires_grad_()  # R, H, 2
    b1 = torch.stack([l.bias.detach() for l in hidden]).requires_grad_()  # R, H
    w2 = torch.stack([l.weight.detach()[0] for l in out]).requires_grad_()  # R, H
    b2 = torch.stack([l.bias.detach()[0] for l in out]).requires_grad_()  # R
    act = models[0].net[2]

    def losses() -> torch.Tensor:
        # h = act(W1 x + b1)
        h = act(torch.einsum("bi,rhi->rbh", X, w1) + b1[:, None])  # R, B, H
        # z = w2 . h + b2
        z = torch.einsum("rbh,rh->rb", h, w2) + b2[:, None]  # R, B
        # L_r = -1/4 sum_i [y_i log s(z_ri) + (1 - y_i) log(1 - s(z_ri))]
        return F.binary_cross_entropy_with_logits(z, Y.expand_as(z), reduction="none").mean(1)  # R

    _gradient_descent([w1, b1, w2, b2], lambda: losses().sum(), steps, lr, progress,
                      desc=f"xor 2-2-1 x {len(seeds)} restarts")
    with torch.no_grad():
        final = losses()
        for r in range(len(models)):
            hidden[r].weight.copy_(w1[r])
            hidden[r].bias.copy_(b1[r])
            out[r].weight[0].copy_(w2[r])
            out[r].bias[0].copy_(b2[r])
    return [(m, float(l)) for m, l in zip(models, final)]


def best_linear_accuracy(n_angles: int = 360, n_offsets: int = 401) -> float:
    """Accuracy of the best line found by trying every direction and offset on a grid: an empirical check of the
    3/4 bound, independent of any training rule."""
    theta = torch.arange(n_angles, dtype=torch.float64) * (2 * math.pi / n_angles)
    normals = torch.stack([theta.cos(), theta.sin()], 1)  # A, 2
    offsets = torch.linspace(-2.0, 2.0, n_offsets, dtype=torch.float64)  # O
    # predict 1 where n . x > c
    pred = (X.double() @ normals.T)[None] > offsets[:, None, None]  # O, 4, A
    acc = (pred == Y.bool()[None, :, None]).double().mean(1)  # O, A
    return float(acc.max())


def _draw(ax, model: MLP, title: str) -> None:
    import numpy as np

    # predicted class over a grid covering [-0.5, 1.5]^2
    g = torch.linspace(-0.5, 1.5, 301)
    gx, gy = torch.meshgrid(g, g, indexing="xy")
    grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)  # G*G, 2
    with torch.no_grad():
        z = model(grid).reshape(gx.shape)  # G, G logits
    ax.contourf(gx.numpy(), gy.numpy(), (z > 0).float().numpy(), levels=[-0.5, 0.5, 1.5],
                colors=["#c6dbef", "#fdd0a2"])
    ax.contour(gx.numpy(), gy.numpy(), z.numpy(), levels=[0.0], colors="k", linewidths=1.2)
    with torch.no_grad():
        wrong = ((model(X).squeeze(1) > 0).float() != Y).numpy()  # 4 bools
    xs, ys = X.numpy(), Y.numpy()
    for cls, colour, marker in [(0, "#2171b5", "o"), (1, "#d94801", "s")]:
        m = ys == cls
        ax.scatter(xs[m, 0], xs[m, 1], c=colour, marker=marker, s=160, edgecolors="k", zorder=3)
    if wrong.any():
        ax.scatter(xs[wrong, 0], xs[wrong, 1], s=520, facecolors="none", edgecolors="red", linewidths=2, zorder=4)
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-0.5, 1.5)
    ax.set_xticks(np.arange(-0.5, 1.51, 0.5))
    ax.set_yticks(np.arange(-0.5, 1.51, 0.5))
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title)


def run(out: pathlib.Path, quick: bool = False, seed: int = 0, progress: bool = True) -> dict:
    # quick changes nothing: the whole experiment takes a few seconds.
    # Ops on 4 points are far too small to split across threads, and when the cores are busy the threads'
    # spin-waiting made each step ~8x slower; one thread is fast and steady. The caller's setting comes back after.
    with torch_threads(1):
        return _run(pathlib.Path(out), seed, progress)


def _run(out: pathlib.Path, seed: int, progress: bool) -> dict:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)

    perceptron = train_perceptron(seed)
    logreg = train_logistic_regression(seed)
    with torch.no_grad():
        logreg_gap = float((torch.sigmoid(logreg(X)) - 0.5).abs().max())

    # restart r uses its own seed so every restart is reproducible on its own
    runs = [(loss, accuracy(model), model)
            for model, loss in train_hidden2([seed * RESTARTS + r for r in range(RESTARTS)], progress=progress)]
    solved = sum(acc == 1.0 for _, acc, _ in runs)
    best_loss, best_acc, best = min(runs, key=lambda t: t[0])

    p_acc = accuracy(perceptron)
    best_line = best_linear_accuracy()
    fig, axes = plt.subplots(1, 2, figsize=(11, 6), layout="constrained")
    _draw(axes[0], perceptron, f"Single-layer perceptron (no hidden layer)\naccuracy {p_acc:.0%}")
    _draw(axes[1], best, f"MLP 2-2-1, tanh hidden (best of {RESTARTS} restarts)\n"
                         f"accuracy {best_acc:.0%}; {solved}/{RESTARTS} restarts reach 100%")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles = [Line2D([], [], ls="", marker="o", ms=10, mfc="#2171b5", mec="k", label="point with XOR = 0"),
               Line2D([], [], ls="", marker="s", ms=10, mfc="#d94801", mec="k", label="point with XOR = 1"),
               Patch(fc="#c6dbef", label="predicted 0"), Patch(fc="#fdd0a2", label="predicted 1"),
               Line2D([], [], color="k", lw=1.2, label="decision boundary"),
               Line2D([], [], ls="", marker="o", ms=14, mfc="none", mec="red", mew=2, label="misclassified")]
    fig.legend(handles=handles, loc="outside lower center", ncol=6, fontsize=9, frameon=False)
    fig.suptitle("XOR: no line separates the classes; one hidden layer of 2 units does")
    fig.savefig(out / "xor_decision_regions.png", dpi=120)
    plt.close(fig)

    figures = {
        "perceptron_accuracy": p_acc,
        "linear_best_possible_accuracy": best_line,
        "logistic_regression_max_abs_prob_minus_half": logreg_gap,
        "hidden2_accuracy": best_acc,
        "hidden2_final_loss": best_loss,
        "hidden2_restarts": RESTARTS,
        "hidden2_restarts_solved_fraction": solved / RESTARTS,
    }
    return {
        "figures": figures,
        "images": ["xor_decision_regions.png"],
        "summary": (f"On XOR a single-layer perceptron gets {p_acc:.0%} (no line does better than {best_line:.0%}), while a "
                    f"2-2-1 tanh MLP gets {best_acc:.0%} ({solved} of {RESTARTS} seeded restarts reach 100%)."),
    }
