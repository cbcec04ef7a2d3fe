"""Training settings shared by every recipe. Each field becomes a `key=value` override."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import config as C
from ..errors import UserError

# the names make_optimizer (train/optim.py) builds and pick_precision (train/device.py) takes; a test checks
# that each of them builds
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "adadelta", "rmsprop")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
SCHEDULES = ("constant", "cosine", "step", "onecycle", "linear", "halving")  # make_schedule's (train/optim.py)


@dataclass
class TrainConfig:
    seed: int = C.between(0, 0, 2**32 - 1)
    """Seeds weights, shuffling, dropout and augmentation: the same seed gives the same metrics on CPU.
    0 to 4294967295."""
    data: str = ""
    """Data set: a registered name (see `nnzoo data list`) or a path to an .npz / IDX folder / image folder."""
    epochs: int = C.positive(10)
    """Passes over the training split (at least 1)."""
    batch_size: int = C.positive(128)
    """Examples per optimizer step (summed over processes when distributed); at least 1."""
    optimizer: str = C.choice("adam", OPTIMIZERS)
    """sgd, momentum (SGD with Nesterov momentum), adam, adamw, adadelta or rmsprop."""
    lr: float = C.positive(1e-3)
    """Peak learning rate."""
    momentum: float = C.fraction(0.9, hi_open=True)
    """Momentum for sgd / momentum / rmsprop, in [0, 1)."""
    betas: list = C.floats([0.9, 0.999], 0.0, 1.0, hi_open=True, length=2)
    """Adam / AdamW decay rates (beta1, beta2) of the gradient's running mean and of its square, each in
    [0, 1); GAN recipes take DCGAN's [0.5, 0.999], WGAN-GP [0.5, 0.9]."""
    weight_decay: float = C.nonneg(0.0)
    """L2 penalty (decoupled for adamw); >= 0."""
    schedule: str = C.choice("constant", SCHEDULES)
    """Learning-rate schedule per step: constant, cosine, step (x0.1 at 50 % and 75 %), onecycle, linear
    (down to 1/10,000 of lr at the end, as word2vec.c), or halving (x0.5 at 25 %, 50 % and 75 %: MemN2N's
    halving every 15 of 60 epochs)."""
    warmup: float = C.fraction(0.0, hi_open=True)
    """Fraction of steps spent ramping the learning rate up linearly from 0 (cosine / constant), in [0, 1)."""
    grad_clip: float = C.nonneg(0.0)
    """Clip the global gradient norm to this value (0 turns it off)."""
    tasks: str = ""
    """Which tasks of a multi-task data set to train and test on (bAbI: "1-20", "2,3,17", "2"); "": all."""
    augment: int = C.nonneg(0)
    """Random translation of training images by up to this many pixels (0 turns it off)."""
    precision: str = C.choice("auto", PRECISIONS)
    """fp32, bf16 or fp16 autocast; auto = bf16 on a GPU or CPU with bf16 units, else fp32
    ($NNZOO_CPU_BF16=0 or 1 overrides the CPU's detection)."""
    device: str = "auto"
    """auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, mps."""
    channels_last: bool = False
    """Keep the 4-d weights (conv kernels) in channels-last (NHWC) layout, so convolutions run in it: often
    faster with oneDNN and cuDNN (on a bf16 CPU: AlphaGo's policy network ~1.4x in bf16, GoogLeNet 1.56x in
    fp32; AlexNet / VGG gain little). Figures agree with the default layout up to rounding."""
    log_every: int = C.positive(50)
    """Log the training loss every this many steps (at least 1)."""
    ckpt_every: int = C.nonneg(0)
    """Also checkpoint every this many steps (0: only at the end of each epoch and of the run)."""
    stop_after: int = C.nonneg(0)
    """Stop (as if interrupted) after this many steps of this invocation; `--resume` continues. 0: run to the end."""
    train_subset: int = C.nonneg(0)
    """Train on only this many training examples (a fixed random subset; 0: all). For quick looks."""
    test_size: int = C.nonneg(0)
    """Image tasks: the test report reads only the first this many test examples, and a generator draws as
    many samples (0: the whole test split). For quick looks: the tour's image sections read 2,000; other
    tasks read their whole test split."""
    val_size: float = C.nonneg(0.0)
    """Training examples held out for validation by a fixed seed: a count, or a fraction if below 1;
    0 takes the data set's default (5,000 for MNIST and Fashion-MNIST, 10 % otherwise)."""
    time_limit: float = C.nonneg(0.0)
    """Minutes of training after which the run ends as if its epochs were done (validation, checkpoint, test
    figures follow). The constant / cosine / step schedule then follows whichever is further along, steps or
    minutes, so the learning rate has annealed when time is up. Results depend on the machine's speed;
    0: no limit (epochs alone decide)."""
    tensorboard: bool = True
    """Write TensorBoard events to RUN_DIR/tb."""


def resolve(recipe, cfg_cls, overrides: dict[str, str]):
    """A recipe's (model config of class cfg_cls, train config) with flat `key=value` overrides. A key is looked
    up among the training fields first, then the model's; `model.KEY` / `train.KEY` force one side."""
    mcfg = C.replace(cfg_cls(), recipe.model_config)
    tcfg = C.replace(TrainConfig(), {"data": recipe.data, **recipe.train})
    tnames = {f.name for f in dataclasses.fields(TrainConfig)}
    mnames = {f.name for f in dataclasses.fields(cfg_cls)}
    tvals, mvals = {}, {}
    for key, raw in overrides.items():
        side, _, bare = key.rpartition(".")
        if side in ("", "train") and bare in tnames:
            tvals[bare] = C.parse_field(raw, tcfg, bare)
        elif side in ("", "model") and bare in mnames:
            mvals[bare] = C.parse_field(raw, mcfg, bare)
        else:
            raise UserError(f"unknown key {key!r} for recipe {recipe.name}; training keys: "
                            f"{', '.join(sorted(tnames))}; model keys: {', '.join(sorted(mnames))}")
    return C.replace(mcfg, mvals), C.replace(tcfg, tvals)
