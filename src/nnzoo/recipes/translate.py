"""English -> Spanish (task `translate`, many to many, unaligned): short verses of two public-domain Bibles,
split by book. The two recipes share encoder, decoder, read-out and training; only the decoder's view of the
source differs, so their BLEU gap is the attention's.

A bidirectional GRU encoder and a GRU decoder of 128 units, 64-wide word embeddings, for 8 epochs rather than
a 256-unit model for 4 in the same time: attention needs the epochs to learn to align (BENCHMARKS.md, "Notes
behind the recipes' settings"). length_alpha 0.5: chosen on validation BLEU against 1.0.
"""
from nnzoo.recipes import Recipe

_MT_MODEL = dict(cell="gru", embed=64, hidden=128, attn_size=64, layers=1, bidirectional=True, dropout=0.2,
                 beam=5, length_alpha=0.5)
_MT_TRAIN = dict(epochs=8, batch_size=64, lr=3e-3, schedule="cosine", warmup=0.02, grad_clip=1.0, log_every=20)
_MT_QUICK = dict(epochs=1, train_subset=2000, embed=64, hidden=64, attn_size=64, beam=3, max_len=30)

RECIPES = [
    Recipe("translate-en-es", "translate", "seq2seq", "bible-en-es",
           "encoder-decoder: the encoder's final state starts the decoder (Sutskever et al. 2014), GRU 128",
           model_config=dict(_MT_MODEL, attention="none"), train=_MT_TRAIN, quick=_MT_QUICK,
           metric="test_bleu_beam",
           reference="Sutskever et al. 2014: 30.6 BLEU one 4x1000 LSTM, 34.8 five (WMT'14 En-Fr, 12 M pairs)"),
    Recipe("translate-en-es-attention", "translate", "seq2seq", "bible-en-es",
           "the same with Bahdanau's additive attention over the encoder states at every step",
           model_config=dict(_MT_MODEL, attention="bahdanau"), train=_MT_TRAIN, quick=_MT_QUICK,
           metric="test_bleu_beam",
           reference="Bahdanau et al. 2015: 26.75 BLEU vs 17.82 without attention (WMT'14 En-Fr, 12 M pairs)"),
]
