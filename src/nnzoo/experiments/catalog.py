"""Every experiment, one line each, imported lazily (experiments train recipes and read runs, so this table sits
above the registry and the run folders, not in the registry)."""
from __future__ import annotations

import importlib

from ..errors import UserError

# name -> module with run(out, quick, seed, progress) -> {"figures", "images", "summary"}
EXPERIMENTS = {
    "xor": "nnzoo.experiments.xor",
    "vanishing-gradients": "nnzoo.experiments.vanishing_gradients",
    "lstm-gates": "nnzoo.experiments.lstm_gates",
    "rnn-gradients": "nnzoo.experiments.rnn_gradients",
    "long-memory": "nnzoo.experiments.long_memory",
    "ae-regularisers": "nnzoo.experiments.ae_regularisers",
    "ae-codes": "nnzoo.experiments.ae_codes",
    "cnn-features": "nnzoo.experiments.cnn_features",
    "cnn-parameters": "nnzoo.experiments.cnn_parameters",
    "word-analogies": "nnzoo.experiments.word_analogies",
    "memory-addressing": "nnzoo.experiments.memory_addressing",
    "ntm-generalisation": "nnzoo.experiments.ntm_generalisation",
    "dqn-representation": "nnzoo.experiments.dqn_representation",
}


def get_experiment(name: str):
    if name not in EXPERIMENTS:
        raise UserError(f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)}")
    return importlib.import_module(EXPERIMENTS[name])
