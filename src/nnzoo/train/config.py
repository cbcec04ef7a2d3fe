"""Training settings shared by every recipe. Each field becomes a `key=value` override."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TrainConfig:
    seed: int = 0
    """Seeds weights, shuffling, dropout and augmentation: the same seed gives the same metrics on CPU."""
    data: str = ""
    """Data set: a registered name (see `nnzoo data list`) or a path to an .npz / IDX folder / image folder."""
    epochs: int = 10
    """Passes over the training split."""
    batch_size: int = 128
    """Examples per optimizer step (summed over processes when distributed)."""
    optimizer: str = "adam"
    """sgd, momentum (SGD with Nesterov momentum), adam, adamw, adadelta or rmsprop."""
    lr: float = 1e-3
    """Peak learning rate."""
    momentum: float = 0.9
    """Momentum for sgd / momentum / rmsprop."""
    betas: list = field(default_factory=lambda: [0.9, 0.999])
    """Adam / AdamW decay rates (beta1, beta2) of the gradient's running mean and of its square; GAN recipes
    take DCGAN's [0.5, 0.999], WGAN-GP [0.5, 0.9]."""
    weight_decay: float = 0.0
    """L2 penalty (decoupled for adamw)."""
    schedule: str = "constant"
    """Learning-rate schedule per step: constant, cosine, step (x0.1 at 50 % and 75 %), or onecycle."""
    warmup: float = 0.0
    """Fraction of steps spent ramping the learning rate up linearly from 0 (cosine / constant)."""
    grad_clip: float = 0.0
    """Clip the global gradient norm to this value (0 turns it off)."""
    augment: int = 0
    """Random translation of training images by up to this many pixels (0 turns it off)."""
    precision: str = "auto"
    """fp32, bf16 or fp16 autocast; auto = bf16 on a GPU or CPU with bf16 units, else fp32."""
    device: str = "auto"
    """auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, mps."""
    log_every: int = 50
    """Log the training loss every this many steps."""
    ckpt_every: int = 0
    """Also checkpoint every this many steps (0: only at the end of each epoch and of the run)."""
    stop_after: int = 0
    """Stop (as if interrupted) after this many steps of this invocation; `--resume` continues. 0: run to the end."""
    train_subset: int = 0
    """Train on only this many training examples (a fixed random subset; 0: all). For quick looks."""
    val_size: float = 0.0
    """Training examples held out for validation by a fixed seed: a count, or a fraction if below 1;
    0 takes the data set's default (5,000 for MNIST and Fashion-MNIST, 10 % otherwise)."""
    time_limit: float = 0.0
    """Minutes of training after which the run ends as if its epochs were done (validation, checkpoint, test
    figures follow). The constant / cosine / step schedule then follows whichever is further along, steps or
    minutes, so the learning rate has annealed when time is up. Results depend on the machine's speed;
    0: no limit (epochs alone decide)."""
    tensorboard: bool = True
    """Write TensorBoard events to RUN_DIR/tb."""
