"""Character language models (task `charlm`): 30 minutes of training each.

epochs is a ceiling, time_limit (minutes) ends the run, and the cosine schedule follows the clock. Batch 32,
not 64 or 128: on 2 CPU cores the fused LSTM reads as many characters per second at any of the three, so the
smallest gives the most updates (BENCHMARKS.md, `shakespeare-lstm`). The three Shakespeare cells have equal
parameter counts (~0.88 M: LSTM 256, GRU 296, RNN 516 units in 2 layers), so their losses compare the cells,
not their sizes.
"""
from nnzoo.recipes import Recipe

_LM_TRAIN = dict(epochs=20, time_limit=30, batch_size=32, lr=3e-3, schedule="cosine", warmup=0.02, grad_clip=1.0,
                 log_every=20)
_LM_QUICK = dict(epochs=1, time_limit=0, train_subset=6000, hidden=128, layers=1)

RECIPES = [
    Recipe("shakespeare-lstm", "charlm", "char-lm", "shakespeare", "2-layer LSTM character model of 38 plays, 30 min",
           model_config=dict(cell="lstm", hidden=256, layers=2, seq_len=128, dropout=0.0),
           train=_LM_TRAIN, quick=_LM_QUICK, metric="test_loss_nats_per_char", target=1.50, lower_is_better=True,
           reference="1.88 nats/char (nanoGPT's small CPU transformer, tiny-Shakespeare)"),
    Recipe("shakespeare-gru", "charlm", "char-lm", "shakespeare", "2-layer GRU, same parameter count and time",
           model_config=dict(cell="gru", hidden=296, layers=2, seq_len=128, dropout=0.0),
           train=_LM_TRAIN, quick=_LM_QUICK, metric="test_loss_nats_per_char", lower_is_better=True,
           reference="compare with shakespeare-lstm and shakespeare-rnn (equal parameters and wall time)"),
    Recipe("shakespeare-rnn", "charlm", "char-lm", "shakespeare", "2-layer vanilla tanh RNN, same parameters and time",
           model_config=dict(cell="rnn", hidden=516, layers=2, seq_len=128, dropout=0.0),
           train=_LM_TRAIN, quick=_LM_QUICK, metric="test_loss_nats_per_char", lower_is_better=True,
           reference="compare with shakespeare-lstm and shakespeare-gru (equal parameters and wall time)"),
    Recipe("pycode-lstm", "charlm", "char-lm", "pycode", "2-layer LSTM on CPython's standard library, 30 min",
           model_config=dict(cell="lstm", hidden=256, layers=2, seq_len=128, dropout=0.0),
           train=_LM_TRAIN, quick=_LM_QUICK, metric="test_loss_nats_per_char", lower_is_better=True,
           reference="no published figure; also reports the share of 500 sampled functions Python's ast parses"),
]
