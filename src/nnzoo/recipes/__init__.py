"""Recipes: task + model + data + settings, one module per family, named after the task it runs.

A family module declares its recipes as a module-level list, in the order `nnzoo list` and the tour show them:

    from nnzoo.recipes import Recipe

    RECIPES = [
        Recipe("mnist-cnn", "classify", "cnn", "mnist", "one line for `nnzoo list`",
               model_config=dict(...), train=dict(...), quick=dict(...), target=99.3, reference="..."),
        ...
    ]

and is named once in `registry.RECIPE_MODULES`; `registry.RECIPES` gathers them (a name declared twice is an
error at import). Recipe modules are data: they import nothing from nnzoo but this package, and never torch.
A comment says why a setting was chosen; the measured figures behind it are in BENCHMARKS.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recipe:
    name: str
    task: str
    model: str
    data: str
    summary: str
    model_config: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    quick: dict = field(default_factory=dict)
    """Overrides for the tour's quick version (minutes on 2 CPU cores)."""
    metric: str = "test_accuracy_percent"
    """The headline figure's key in `nnzoo eval --json`."""
    target: float | None = None
    """The figure the issue asks for (a floor for accuracies)."""
    reference: str = ""
    """The published figure beside ours, with its setting."""
    lower_is_better: bool = False
    """The target is a ceiling (a loss), not a floor (an accuracy)."""


# Settings shared by more than one family.
# autoencoders (reconstruct, swap): Adam, batch 128
AE_TRAIN = dict(epochs=20, batch_size=128, lr=1e-3, schedule="cosine", log_every=50)
# GANs (generate, paired, cycle): Adam with DCGAN's beta1 = 0.5 (momentum 0.9 makes the two players
# oscillate), batch 64
GAN_TRAIN = dict(epochs=5, batch_size=64, lr=2e-4, betas=[0.5, 0.999], log_every=50)
# the tour's version of the slower GANs (generate) and the image-to-image models (paired)
I2I_QUICK = dict(epochs=1, train_subset=5000, test_size=2000)
