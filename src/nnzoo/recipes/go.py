"""Go move prediction (task `go`): AlphaGo's policy network (Silver et al. 2016) and a one-layer baseline,
trained to predict GNU Go's moves in games GNU Go plays against itself (data/go.py, docs/go.md).

The paper trained with asynchronous plain SGD (step 0.003 halved every 80 M steps, batch 16, no momentum) for
340 M steps on 50 GPUs, about 5 G position draws. A run here sees ~1/2,000 of that, so Adam with a cosine
schedule (which gets further in few epochs than plain SGD) at batch 256; each position is shown in a random
one of the board's 8 symmetries (augment=1), as the paper's mini-batches were. On 2 CPU cores a step of the
full network takes seconds, so time_limit=29 (minutes) ends training there and the cosine schedule anneals
by the clock; `epochs` is the ceiling a GPU reaches. channels_last=true: the 192-filter convolutions ran
~1.4x faster in NHWC on a bf16 CPU (one thread, bf16, batch 32: 70 -> 92-107 positions a second). Illegal
points are masked out of the softmax (mask_illegal): the target is always legal, so this only spares the
network learning that.
"""
from nnzoo.recipes import Recipe

_TRAIN = dict(epochs=20, time_limit=29.0, batch_size=256, optimizer="adam", lr=1e-3, schedule="cosine",
              warmup=0.02, augment=1, channels_last=True, log_every=50)
_REFERENCE = ("Silver et al. 2016: 57.0 % top-1 on KGS 6-9 dan expert moves (all 48 planes; 55.7 % from the stones "
              "and move history alone), trained on 28.4 M positions; ours imitates GNU Go 3.8 (level 1) playing "
              "itself, not human experts, so the two figures do not compare")

RECIPES = [
    Recipe("go-policy", "go", "alphago-policy", "go-games",
           "AlphaGo's 13-layer policy network (5x5 conv 192, 11 x 3x3 conv 192, 1x1 conv + a bias per point; "
           "3,882,793 weights) predicting GNU Go's self-play moves from 48 feature planes",
           model_config=dict(planes=48, filters=192, layers=13),
           train=_TRAIN,
           # the tour on 2 CPU cores (a step of 256 positions of the full network takes minutes there): a
           # 64-filter network on 2,048 positions, validated on 2 % of the games, tested on 1,000 positions
           quick=dict(epochs=1, time_limit=0.0, train_subset=2048, filters=64, val_size=0.02, test_size=1000),
           metric="test_top1_accuracy_percent", reference=_REFERENCE),
    Recipe("go-policy-baseline", "go", "alphago-policy", "go-games",
           "one-layer baseline: a 5x5 convolution of the 48 planes straight to the move logits (+ a bias per "
           "point), i.e. a linear softmax over each point's neighbourhood",
           model_config=dict(planes=48, layers=1),
           # a linear model: a larger step
           train=dict(_TRAIN, lr=3e-3),
           quick=dict(epochs=1, time_limit=0.0, train_subset=20000, val_size=0.02, test_size=2000),
           metric="test_top1_accuracy_percent", reference=_REFERENCE),
]
