"""Sentence polarity (task `sentiment`, many to one).

Every word's embedding is learnt from scratch (no pretrained vectors), with VADER's human-rated valence of the
token beside it (lexicon) and fastText's character n-grams added to it (subwords), so the test split's unknown
words keep their rating and spelling. `embeddings=RUN` starts the embeddings from a word2vec run's vectors
instead (Kim 2014's non-static CNN: 76.1 % on MR from random vectors, 81.5 % from word2vec's), which needs
embed= the vectors' width: `nnzoo train sentiment-bilstm embeddings=runs/w2v embed=100` for nnzoo's
english-word2vec-sg / -cbow runs (the recipe's own embed=128 is refused with that hint);
benchmarks/sentiment_word2vec.py measures one member with and without (BENCHMARKS.md).
Training adds VADER's other rated sentences to the 8,454 movie ones
(rt-sentences-plus; validation and test are the movie sentences of rt-sentences). Four BiLSTMs side by side,
their probabilities averaged (members=4): their errors differ, so the average is right more often than one
model, which sits at the target by seed; the cost is four times the training time (BENCHMARKS.md,
sentiment-bilstm).
"""
from nnzoo.recipes import Recipe

RECIPES = [
    Recipe("sentiment-bilstm", "sentiment", "bilstm-classifier", "rt-sentences-plus",
           "four bidirectional LSTMs over words, their spelling and VADER valence, max+mean-pooled, probabilities "
           "averaged, on rated Rotten Tomatoes sentences",
           model_config=dict(embed=128, hidden=128, layers=1, pool="max+mean", dropout=0.5, embed_dropout=0.25,
                             lexicon=True, subwords=20000, members=4),
           train=dict(epochs=8, batch_size=64, lr=2e-3, schedule="cosine", grad_clip=1.0, log_every=20),
           # the tour's version: one member, 138 steps on 3,000 sentences without dropout (the full recipe needs
           # minutes)
           quick=dict(epochs=3, train_subset=3000, lr=3e-3, embed_dropout=0.0, dropout=0.2, members=1),
           target=80.0, reference="77.7 % (TF-IDF + logistic regression on this set); eval reports it on our split"),
]
