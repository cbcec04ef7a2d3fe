"""Neural Turing Machines on Graves et al.'s algorithmic tasks (task `algorithmic`), and the LSTM baseline.

The NTM is pytorch-ntm's copy machine: a 100-unit LSTM controller, 128 x 20 memory, one read and one write
head (62,660 weights); the LSTM has one layer of 119 units (62,840 weights). Training sequences are drawn
fresh every step, so "epochs" only says how often validation runs: epochs x epoch_sequences is the budget in
sequences. fp32 throughout: the sharpening's power and the cosine's norms are where bf16 would round.
"""
from nnzoo.recipes import Recipe

_NTM = dict(controller=100, memory_slots=128, memory_width=20, read_heads=1, write_heads=1)
_TRAIN = dict(epochs=30, batch_size=16, optimizer="adam", lr=3e-3, grad_clip=10.0, precision="fp32",
              log_every=20)
_QUICK = dict(epochs=1, epoch_sequences=640)

RECIPES = [
    Recipe("ntm-copy", "algorithmic", "ntm", "copy", "NTM copying 1-20 random 8-bit vectors, 30,000 sequences",
           model_config=dict(_NTM, min_len=1, max_len=20, epoch_sequences=1000), train=_TRAIN, quick=_QUICK,
           metric="copy_error_bits_per_seq_len20", target=0.1, lower_is_better=True,
           reference="Graves et al. 2014 fig. 3: NTM-LSTM cost near 0 after ~200k sequences (batch 1); "
                     "pytorch-ntm: converges in under 30k sequences"),
    Recipe("ntm-repeat-copy", "algorithmic", "ntm", "repeat-copy",
           "NTM repeating 1-10 vectors 1-10 times, then an end marker",
           model_config=dict(_NTM, min_len=1, max_len=10, min_repeats=1, max_repeats=10, epoch_sequences=2000),
           train=dict(_TRAIN, epochs=30), quick=_QUICK, metric="repeat_copy_error_bits_per_seq_len10_rep10",
           lower_is_better=True, reference="Graves et al. 2014 fig. 7: NTM cost near 0 after ~100k sequences"),
    Recipe("ntm-recall", "algorithmic", "ntm", "associative-recall",
           "NTM recalling the item after a query among 2-6 items of 3 vectors",
           model_config=dict(_NTM, bits=6, min_len=2, max_len=6, epoch_sequences=2000),
           train=dict(_TRAIN, epochs=30), quick=_QUICK, metric="recall_error_bits_per_seq_items6",
           lower_is_better=True, reference="Graves et al. 2014 fig. 11: NTM cost near 0 after ~300k sequences"),
    Recipe("lstm-copy", "algorithmic", "seq-lstm", "copy",
           "LSTM baseline on copy: as many weights as ntm-copy, trained as long",
           model_config=dict(hidden=119, layers=1, min_len=1, max_len=20, epoch_sequences=1000), train=_TRAIN,
           quick=_QUICK, metric="copy_error_bits_per_seq_len20", lower_is_better=True,
           reference="Graves et al. 2014 fig. 3: a 3 x 256 LSTM is still far above 0 after 1M sequences"),
    Recipe("lstm-repeat-copy", "algorithmic", "seq-lstm", "repeat-copy",
           "LSTM baseline on repeat copy: the ntm-repeat-copy sequences, as long",
           model_config=dict(hidden=119, layers=1, min_len=1, max_len=10, min_repeats=1, max_repeats=10,
                             epoch_sequences=2000), train=dict(_TRAIN, epochs=30), quick=_QUICK,
           metric="repeat_copy_error_bits_per_seq_len10_rep10", lower_is_better=True,
           reference="Graves et al. 2014 fig. 7: the LSTM learns repeat copy far more slowly than the NTM"),
    Recipe("lstm-recall", "algorithmic", "seq-lstm", "associative-recall",
           "LSTM baseline on associative recall: the ntm-recall sequences, as long",
           model_config=dict(hidden=119, layers=1, bits=6, min_len=2, max_len=6, epoch_sequences=2000),
           train=dict(_TRAIN, epochs=30), quick=_QUICK, metric="recall_error_bits_per_seq_items6",
           lower_is_better=True,
           reference="Graves et al. 2014 fig. 11: the LSTM stays far above the NTM after 1M sequences"),
]
