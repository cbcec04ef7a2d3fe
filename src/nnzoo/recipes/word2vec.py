"""Word vectors (task `word2vec`): skip-gram and CBOW with negative sampling on the english-text corpus.

gensim's settings, so the two compare side by side (benchmarks/word2vec_vs_gensim.py): 100-d vectors, window
5, 5 noise words, min_count 5, subsampling t = 1e-3, 5 epochs, plain SGD from lr 0.025 falling linearly to
1/10,000 of it (gensim's alpha for both architectures; word2vec.c starts CBOW at 0.05). A step is a chunk of
50,000 words: about 250 steps an epoch, each a call of the fused CPU loop (models/word2vec.py).
"""
from nnzoo.recipes import Recipe

W2V = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5)
# fp32: the fused loop computes in float32 whatever autocast says (precision=bf16 only reaches the autograd path)
TRAIN = dict(epochs=5, batch_size=50_000, optimizer="sgd", lr=0.025, schedule="linear", log_every=10, precision="fp32")
# the tour's version: the first million words, one epoch (a few seconds)
QUICK = dict(epochs=1, train_subset=1_000_000)

RECIPES = [
    Recipe("english-word2vec-sg", "word2vec", "word2vec", "english-text",
           "skip-gram, negative sampling (k=5), 100-d, on 12 M words of English; analogies and similarity",
           model_config=dict(architecture="skip-gram", **W2V), train=TRAIN, quick=QUICK,
           metric="analogy_accuracy", target=None,
           reference="gensim 4.4.0 Word2Vec(sg=1) on the same corpus and settings; see BENCHMARKS.md"),
    Recipe("english-word2vec-cbow", "word2vec", "word2vec", "english-text",
           "continuous bag of words, negative sampling (k=5), 100-d, on 12 M words of English",
           model_config=dict(architecture="cbow", **W2V), train=TRAIN, quick=QUICK,
           metric="analogy_accuracy", target=None,
           reference="gensim 4.4.0 Word2Vec(sg=0) on the same corpus and settings; see BENCHMARKS.md"),
]
