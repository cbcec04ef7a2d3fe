"""Lecture claim: in deep sigmoid MLPs the gradient vanishes towards the early layers and training stalls;
ReLU nets train.

Backprop multiplies the error signal by W_l^T diag(f'(a_l)) once per layer on its way down. The sigmoid's slope
is at most 1/4, so with weights of the usual scale the signal shrinks by a constant factor per layer and the
first layers of a 10-layer net get gradients ~1e-8 of the last one's: they do not move, and the net stays at
chance. ReLU's slope is 1 where the unit is on, so nothing forces the signal to shrink.

The experiment keeps the lecture's plain setting (SGD, one learning rate, no batch norm, no dropout) and varies
depth and activation, under two initialisations of the same nets:

* PyTorch's default, w ~ U(-1/sqrt(n_in), 1/sqrt(n_in)), i.e. Var w = 1/(3 n_in). Even for ReLU this shrinks
  the signal: each layer scales its variance by n_in Var w / 2 = 1/6 (ReLU zeroes half of it), so a 10-layer
  ReLU net starts with nearly constant outputs and, past ~6 layers, also stalls within the budget, although
  its first-to-last gradient ratio is ~1e-2 rather than sigmoid's ~1e-7.
* He (Kaiming) init, w ~ N(0, 2/n_in), which keeps the ReLU signal's variance constant with depth: there the
  deep ReLU net trains and the deep sigmoid net still does not, so the activation, not the init, is to blame.
"""
from __future__ import annotations

import pathlib

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import torch_threads
from ..models.mlp import MLP, MLPConfig

WIDTH = 128
LR = 0.2
"""Large enough that shallow sigmoid nets leave their initial plateau within the budget (at 0.1 a 2-layer sigmoid
net reaches only ~20 % after an epoch), small enough that deep He-init ReLU nets do not diverge (at 0.5 they
do)."""
BATCH = 128
QUICK_STEPS = 200
"""Quick mode's budget; full mode runs one epoch of the 55,000 training images (429 steps)."""
FULL_DEPTHS = list(range(2, 11))
QUICK_DEPTHS = [2, 4, 6, 8, 10]
GRAD_BATCH = 512
"""Training images in the fixed batch the gradient norms are measured on."""
ACTIVATIONS = ("sigmoid", "relu")
INITS = ("default", "he")


def make_mlp(depth: int, activation: str, init: str = "default", in_shape: tuple = (1, 28, 28),
             width: int = WIDTH, n_classes: int = 10) -> MLP:
    """`depth` hidden layers of `width` units, no dropout; init "default" leaves PyTorch's init alone."""
    model = MLP(MLPConfig(in_shape=in_shape, n_classes=n_classes, hidden=[width] * depth,
                          activation=activation, dropout=0.0))
    if init == "he":
        for m in model.modules():
            if isinstance(m, nn.Linear):
                # w ~ N(0, 2 / n_in): the variance a ReLU layer halves is doubled back
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)
    elif init != "default":
        raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    return model


def layer_grad_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """||dL/dW_l||_F for the weight of every nn.Linear in `model`, input side first (for an MLP the last entry
    is the output layer), with L the mean cross-entropy of `model(x)` against labels `y`. Leaves .grad alone."""
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    # L = -1/B sum_b log softmax(z_b)[y_b]
    loss = F.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, weights)
    return [float(g.norm()) for g in grads]


def first_to_last_ratio(norms: list[float], depth: int) -> float:
    """First hidden layer's gradient norm over the last hidden layer's (entries 0 and depth-1 of
    `layer_grad_norms` for an MLP with `depth` hidden layers): ~1 when the gradient reaches the early layers."""
    return norms[0] / norms[depth - 1]


def train_sgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, gen: torch.Generator,
              lr: float = LR, batch: int = BATCH, bar=None) -> None:
    """Plain minibatch SGD on cross-entropy over x (N, ...) and labels y (N), batches drawn without replacement by
    `gen`, so nets trained with equally seeded generators see the same batches."""
    params = list(model.parameters())
    order = torch.randperm(len(x), generator=gen)
    pos = 0
    for _ in range(steps):
        if pos + batch > len(order):
            order, pos = torch.randperm(len(x), generator=gen), 0
        idx = order[pos:pos + batch]  # B
        pos += batch
        # L = -1/B sum_b log softmax(z_b)[y_b]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                # w <- w - lr dL/dw
                p.sub_(lr * g)
        if bar is not None:
            bar.update(1)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk: int = 2500) -> float:
    correct = sum(int((model(x[i:i + chunk]).argmax(1) == y[i:i + chunk]).sum()) for i in range(0, len(x), chunk))
    return correct / len(x)


def _key(activation: str, init: str, depth: int, what: str) -> str:
    return f"{activation}_{init}_init_depth{depth}_{what}"


STYLE = {("sigmoid", "default"): dict(color="#d62728", ls="-", marker="o"),
         ("relu", "default"): dict(color="#1f77b4", ls="-", marker="s"),
         ("sigmoid", "he"): dict(color="#d62728", ls="--", marker="o", mfc="none"),
         ("relu", "he"): dict(color="#1f77b4", ls="--", marker="s", mfc="none")}
INIT_LABEL = {"default": "PyTorch default init", "he": "He init"}


def _plot(path: pathlib.Path, depths: list[int], norms: dict, ratios: dict, accs: dict, steps: int) -> None:
    import matplotlib.pyplot as plt

    deepest = depths[-1]
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.4), layout="constrained")
    ax = axes[0]
    for (act, init), style in STYLE.items():
        n = norms[act, init, deepest]
        ax.plot(range(1, len(n) + 1), n, label=f"{act}, {INIT_LABEL[init]}", **style)
    ax.set_yscale("log")
    ax.set_xticks(range(1, deepest + 2))
    ax.set_xticklabels([str(i) for i in range(1, deepest + 1)] + ["out"])
    ax.set_xlabel("layer (1 = next to the input, out = output layer)")
    ax.set_ylabel(r"$\|\partial L / \partial W_l\|$ at initialisation (log)")
    ax.set_title(f"Gradient norm per layer, {deepest} hidden layers")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=9)

    ax = axes[1]
    for (act, init), style in STYLE.items():
        ax.plot(depths, [ratios[act, init, d] for d in depths], label=f"{act}, {INIT_LABEL[init]}", **style)
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_xticks(depths)
    ax.set_xlabel("hidden layers")
    ax.set_ylabel("first / last hidden layer gradient norm (log)")
    ax.set_title("How much gradient reaches the first layer")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=9)

    ax = axes[2]
    for (act, init), style in STYLE.items():
        ax.plot(depths, [accs[act, init, d] for d in depths], label=f"{act}, {INIT_LABEL[init]}", **style)
    ax.axhline(0.1, color="grey", lw=0.8, ls=":", label="chance (10 classes)")
    ax.set_ylim(0, 1)
    ax.set_xticks(depths)
    ax.set_xlabel("hidden layers")
    ax.set_ylabel("MNIST validation accuracy")
    ax.set_title(f"After {steps} SGD steps (lr {LR}, batch {BATCH})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9)
    fig.suptitle(f"Vanishing gradients: MLPs of width {WIDTH} on MNIST, sigmoid vs ReLU")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(out: pathlib.Path, quick: bool = False, seed: int = 0, progress: bool = True) -> dict:
    # One thread: these matmuls are small, and on a 2-core machine with anything else running, two spin-waiting
    # threads made a training step ~20x slower than one thread did. The caller's setting comes back after.
    with torch_threads(1):
        return _run(pathlib.Path(out), quick, seed, progress)


def _run(out: pathlib.Path, quick: bool, seed: int, progress: bool) -> dict:
    import matplotlib
    matplotlib.use("Agg")
    from ..data import load_images

    out.mkdir(parents=True, exist_ok=True)
    s = load_images("mnist")
    depths = QUICK_DEPTHS if quick else FULL_DEPTHS
    steps = QUICK_STEPS if quick else len(s.train_x) // BATCH
    probe = torch.randperm(len(s.train_x), generator=torch.Generator().manual_seed(seed))[:GRAD_BATCH]
    gx, gy = s.train_x[probe], s.train_y[probe]  # GRAD_BATCH, 1, 28, 28 and GRAD_BATCH

    norms, ratios, accs = {}, {}, {}
    arms = [(act, init, d) for init in INITS for act in ACTIVATIONS for d in depths]
    with tqdm(total=len(arms) * steps, desc="vanishing gradients", unit="step", disable=not progress) as bar:
        for act, init, d in arms:
            bar.set_postfix_str(f"{act}, {init} init, {d} layers")
            # the same seed for every net: same init draws, same batches, only depth/activation/init differ
            torch.manual_seed(seed)
            model = make_mlp(d, act, init)
            norms[act, init, d] = layer_grad_norms(model, gx, gy)
            ratios[act, init, d] = first_to_last_ratio(norms[act, init, d], d)
            train_sgd(model, s.train_x, s.train_y, steps, torch.Generator().manual_seed(seed), bar=bar)
            accs[act, init, d] = accuracy(model, s.val_x, s.val_y)

    _plot(out / "vanishing_gradients.png", depths, norms, ratios, accs, steps)
    deepest = depths[-1]
    figures = {}
    for init in INITS:
        for act in ACTIVATIONS:
            figures[_key(act, init, deepest, "first_to_last_grad_ratio")] = ratios[act, init, deepest]
    for init in INITS:
        for act in ACTIVATIONS:
            for d in depths:
                figures[_key(act, init, d, "val_accuracy")] = accs[act, init, d]
    figures["train_steps"] = steps
    return {
        "figures": figures,
        "images": ["vanishing_gradients.png"],
        "summary": (f"At {deepest} hidden layers the first layer of a sigmoid MLP gets "
                    f"{ratios['sigmoid', 'default', deepest]:.0e} of the last hidden layer's gradient and stays at "
                    f"{accs['sigmoid', 'default', deepest]:.0%} validation accuracy after {steps} SGD steps, with "
                    f"PyTorch's default init or He init ({accs['sigmoid', 'he', deepest]:.0%}); a ReLU MLP trains "
                    f"to {accs['relu', 'he', deepest]:.0%} with He init, but with the default init its signal "
                    f"shrinks too and it reaches {accs['relu', 'default', deepest]:.0%}."),
    }
