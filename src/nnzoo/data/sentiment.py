"""Sentence polarity: 10,605 Rotten Tomatoes review snippets, each rated by at least 20 people.

The set is the movie part of VADER's ground truth (Hutto & Gilbert, ICWSM 2014): sentence-level snippets of
Pang & Lee's movie reviews, each with the mean of at least 20 independent human ratings on a -4 (very
negative) to +4 (very positive) scale. It ships inside the source distribution of `vaderSentiment` on PyPI
(`additional_resources/hutto_ICWSM_2014.tar.gz` -> `movieReviewSnippets_GroundTruth.txt`, lines
`id <TAB> mean rating <TAB> sentence`), so `nnzoo data install rt-sentences` is one `pip download`.

- label: positive if the mean rating is above 0, negative if below; the 37 sentences rated exactly 0 are
  dropped, leaving 10,568 (5,242 positive, 5,326 negative).
- split: a fixed shuffle (`random.Random(0)`, whatever the run's seed) puts 10 % in test (1,057 sentences),
  10 % in validation (1,057) and the rest in train (8,454). There is no official split of this set.
- tokens: lowercased words (apostrophes inside a word kept: "isn't") and single punctuation marks
  (`tokenize`). Typographic quotes and apostrophes are folded to ASCII first.
- vocabulary: from the training split only, words seen at least MIN_COUNT times; id 0 is padding, id 1 an
  unknown word, so validation and test words unseen in training map to UNK.
- features (`Featurizer`, what the classifier reads): per token its word id, its rating in VADER's lexicon
  (which ships in the same sdist) and hash codes of its character n-grams. The last two are functions of
  the token's letters alone, so a word the training split never had still arrives with them.

`rt-sentences-plus` has the very same validation and test sentences, and adds VADER's other rated sentences
to the training split (Amazon review snippets, New York Times editorial snippets and tweets, rated the same
way; those within EXTRA_MIN_RATING of 0 are left out): 9,387 more training sentences from other domains
for a model that learns every word from scratch.
"""
from __future__ import annotations

import io
import random
import re
import tarfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .store import DataError, is_installed, missing, vader_sdist

PAD, UNK = 0, 1
SPECIALS = ["<pad>", "<unk>"]
MIN_COUNT = 2
"""A word enters the vocabulary if it occurs at least this often in train: words seen once are mostly names
and typos, and mapping them to UNK lets the model learn what an unknown word means."""
VAL_FRAC = TEST_FRAC = 0.10
EXTRA_MIN_RATING = 0.5
"""Extra training sentences (rt-sentences-plus) rated closer to 0 than this are left out: in the other sets
many sentences are neutral (a news fact, a product name), and their sign is noise (validation accuracy
78.7 % with the cut, 77.2 % without, in one 8-epoch run each)."""
CLASSES = ["negative", "positive"]

INNER_TAR = "additional_resources/hutto_ICWSM_2014.tar.gz"
INNER_FILE = "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"
OTHER_FILES = [f"hutto_ICWSM_2014/{n}_GroundTruth.txt" for n in ("amazonReviewSnippets", "nytEditorialSnippets",
                                                                  "tweets")]
"""VADER's other rated sentences (3,708 Amazon review snippets, 5,190 New York Times editorial snippets, 4,200
tweets): extra training sentences for rt-sentences-plus, never validation or test ones."""

LEXICON_FILE = "vaderSentiment/vader_lexicon.txt"
"""VADER's word list (7,517 words, emoticons and slang, each the mean of ten people's -4..+4 ratings), in the
same sdist: the sentiment-bilstm model can read it as a fixed extra input (`lexicon=1`)."""

GRAMS = (3, 5)
"""Character n-gram lengths of a token's subword units, fastText's (Bojanowski et al. 2017) between "<" and
">" marks: "<film>" -> "<fi", "fil", "ilm", "lm>", "<fil", ..., "ilm>", "<film", "film>"."""
MAX_GRAMS = 40
"""At most this many n-grams of one token (its first ones): a 14-letter word has 39; URLs in tweets have
hundreds."""

# words with inner apostrophes ("isn't", "director's"), numbers, or any single non-space non-word character
TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*|[^\sa-z0-9]")
FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})


def tokenize(text: str) -> list[str]:
    """'It''s a gripping, funny film!' -> ["it's", 'a', 'gripping', ',', 'funny', 'film', '!']"""
    # the file writes a double quote as two apostrophes (''Conan''): one quote mark, not two tokens
    text = text.lower().translate(FOLD).replace("''", '"')
    return TOKEN.findall(text)


@dataclass
class SentenceSplits:
    """Sentences as padded id matrices (N, T_max, PAD = 0 after each sentence's end) with 0/1 labels."""
    name: str
    vocab: list[str]
    """id -> word; ids 0 and 1 are <pad> and <unk>."""
    train_x: torch.Tensor  # N, T int64
    train_y: torch.Tensor  # N int64 (0 negative, 1 positive)
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    texts: dict[str, list[str]] = field(default_factory=dict)
    """split -> the raw sentences, in the rows' order (the TF-IDF baseline and the report read them)."""
    ratings: dict[str, torch.Tensor] = field(default_factory=dict)
    """split -> the mean human rating of each sentence, -4 to +4."""
    classes: list[str] = field(default_factory=lambda: list(CLASSES))
    lexicon: dict[str, float] = field(default_factory=dict)
    """VADER's lexicon, token -> mean rating (-4..+4); empty if the set has none."""
    _featurizer: "Featurizer | None" = field(default=None, init=False, repr=False)

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return getattr(self, f"{name}_x"), getattr(self, f"{name}_y")

    def features(self, split: str, idx=None) -> torch.Tensor:
        """The classifier's input for sentences `idx` (all if None) of a split: B, T, 2 + K (`Featurizer`)."""
        if self._featurizer is None:
            self._featurizer = Featurizer(self.vocab, self.lexicon)
        texts = self.texts[split]
        if idx is None:
            return self._featurizer(texts)
        return self._featurizer([texts[i] for i in (idx.tolist() if torch.is_tensor(idx) else idx)])

    def encode(self, sentences: list[str]) -> torch.Tensor:
        return encode(sentences, {w: i for i, w in enumerate(self.vocab)})


def encode(sentences: list[str], table: dict[str, int]) -> torch.Tensor:
    """Sentences -> B, T ids, right-padded with PAD to the longest one (at least 1 column)."""
    rows = [[table.get(w, UNK) for w in tokenize(s)] for s in sentences]
    x = torch.full((len(rows), max([1, *map(len, rows)])), PAD, dtype=torch.int64)
    for i, r in enumerate(rows):
        x[i, :len(r)] = torch.tensor(r, dtype=torch.int64)
    return x


def char_grams(token: str) -> list[str]:
    """fastText's subword units of a token: its n-grams (GRAMS) between word boundary marks < and >."""
    w = f"<{token}>"
    lo, hi = GRAMS
    return [w[i:i + n] for n in range(lo, hi + 1) for i in range(len(w) - n + 1)][:MAX_GRAMS]


class Featurizer:
    """Sentences -> B, T, 2 + K int64 features of each token (zeros past each sentence's end):
    [..., 0] the word id (PAD, UNK or the vocabulary's), [..., 1] the token's VADER rating in tenths (-40..40,
    0 when unrated), [..., 2:] 1 + the CRC-32 of each of its character n-grams (0: none), K the batch's most.
    Everything but the word id is computed from the token's letters, so the model can read an unknown word's
    rating and spelling; the model hashes the codes into its own number of buckets. Each distinct token is
    worked out once and kept (the training batches revisit the same 27,000 tokens every epoch)."""

    def __init__(self, vocab: list[str], lexicon: dict[str, float]):
        self.table = {w: i for i, w in enumerate(vocab)}
        self.lexicon = lexicon
        self.forms = {}  # token -> its row in rows
        self.rows = torch.zeros(1024, 2 + MAX_GRAMS, dtype=torch.int64)  # row 0: padding; doubles when full
        self.n = 1

    def form(self, token: str) -> int:
        i = self.forms.get(token)
        if i is None:
            if self.n == len(self.rows):
                self.rows = torch.cat([self.rows, torch.zeros_like(self.rows)])
            grams = [zlib.crc32(g.encode("utf-8")) + 1 for g in char_grams(token)]
            row = [self.table.get(token, UNK), round(10 * self.lexicon.get(token, 0.0)), *grams]
            i = self.forms[token] = self.n
            self.rows[i, :len(row)] = torch.tensor(row, dtype=torch.int64)
            self.n += 1
        return i

    def __call__(self, sentences: list[str]) -> torch.Tensor:
        ids = [[self.form(t) for t in tokenize(s)] for s in sentences]
        x = torch.zeros(len(ids), max([1, *map(len, ids)]), dtype=torch.int64)  # form 0: padding
        for i, r in enumerate(ids):
            x[i, :len(r)] = torch.tensor(r, dtype=torch.int64)
        feats = self.rows[x]  # B, T, 2 + MAX_GRAMS
        used = (feats[..., 2:] != 0).any(1).any(0)  # the batch's n-gram columns that hold any code
        return feats[..., :2 + int(used.sum())]  # a token's codes fill its first columns


def sdist_member(sdist: Path, suffix: str) -> bytes:
    """The bytes of the sdist's one member whose path ends with `suffix`; a clear DataError if it cannot."""
    try:
        with tarfile.open(sdist) as outer:
            name = next((m for m in outer.getnames() if m.endswith(suffix)), None)
            if name is None:
                raise DataError(f"{sdist} has no {suffix}; reinstall with: nnzoo data install rt-sentences")
            return outer.extractfile(name).read()
    except (tarfile.TarError, OSError, EOFError, KeyError, AttributeError) as e:
        raise DataError(f"cannot read {sdist} ({type(e).__name__}: {e}); delete it and run: "
                        "nnzoo data install rt-sentences") from None


def read_ground_truth(sdist: Path, files: list[str]) -> dict[str, list[tuple[float, str]]]:
    """file -> (mean rating, sentence) of each line, read straight out of the sdist (nothing goes to disk)."""
    inner_bytes = sdist_member(sdist, INNER_TAR)
    try:
        with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
            raws = {f: inner.extractfile(f).read().decode("utf-8") for f in files}
    except (tarfile.TarError, OSError, EOFError, KeyError, AttributeError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read {sdist} ({type(e).__name__}: {e}); delete it and run: "
                        "nnzoo data install rt-sentences") from None
    out = {}
    for f, raw in raws.items():
        out[f] = []
        for n, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split("\t")
            try:
                out[f].append((float(parts[1]), parts[2].strip()))
            except (IndexError, ValueError):
                raise DataError(f"{f} line {n} is not 'id<TAB>rating<TAB>sentence'; delete {sdist} and run: "
                                "nnzoo data install rt-sentences") from None
    return out


def read_lexicon(sdist: Path) -> dict[str, float]:
    """token -> mean rating (-4..+4) from VADER's lexicon inside the sdist (lines 'token<TAB>mean<TAB>...')."""
    try:
        raw = sdist_member(sdist, LEXICON_FILE).decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{LEXICON_FILE} in {sdist} is not UTF-8; delete it and run: "
                        "nnzoo data install rt-sentences") from None
    out = {}
    for n, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            out[parts[0]] = float(parts[1])
        except (IndexError, ValueError):
            raise DataError(f"{LEXICON_FILE} line {n} is not 'token<TAB>rating<TAB>...'; delete {sdist} and run: "
                            "nnzoo data install rt-sentences") from None
    return out


def build(name: str, rated: list[tuple[float, str]], seed: int = 0, min_count: int = MIN_COUNT,
          extra_train: list[tuple[float, str]] = ()) -> SentenceSplits:
    """Label by the rating's sign (zeros dropped), split by a fixed shuffle, vocabulary from train.
    `extra_train` sentences join the training split only, so validation and test stay those of `rated`."""
    rated = [(r, s) for r, s in rated if r != 0 and s]
    if len(rated) < 10:
        raise DataError(f"sentence set {name!r} has {len(rated)} rated sentences; need at least 10")
    rng = random.Random(seed)
    order = list(range(len(rated)))
    rng.shuffle(order)
    n_test, n_val = round(TEST_FRAC * len(rated)), round(VAL_FRAC * len(rated))
    parts = {"test": order[:n_test], "val": order[n_test:n_test + n_val], "train": order[n_test + n_val:]}
    extra = [(r, s) for r, s in extra_train if abs(r) >= EXTRA_MIN_RATING and s]
    if extra:  # appended after the split, then shuffled in, so train's head stays a random subset
        parts["train"] += list(range(len(rated), len(rated) + len(extra)))
        rng.shuffle(parts["train"])
        rated = rated + extra
    counts = Counter(w for i in parts["train"] for w in tokenize(rated[i][1]))
    vocab = SPECIALS + sorted(w for w, c in counts.items() if c >= min_count)
    table = {w: i for i, w in enumerate(vocab)}
    arrays, texts, ratings = {}, {}, {}
    for split, idx in parts.items():
        texts[split] = [rated[i][1] for i in idx]
        ratings[split] = torch.tensor([rated[i][0] for i in idx], dtype=torch.float32)
        arrays[f"{split}_x"] = encode(texts[split], table)
        arrays[f"{split}_y"] = (ratings[split] > 0).long()
    return SentenceSplits(name, vocab, texts=texts, ratings=ratings, **arrays)


def load_rt_sentences(seed: int = 0) -> SentenceSplits:
    if not is_installed("rt-sentences"):
        raise missing("rt-sentences")
    d = build("rt-sentences", read_ground_truth(vader_sdist(), [INNER_FILE])[INNER_FILE], seed=seed)
    d.lexicon = read_lexicon(vader_sdist())
    return d


def load_rt_sentences_plus(seed: int = 0) -> SentenceSplits:
    """rt-sentences with VADER's other rated sentences added to its training split (same validation and test)."""
    if not is_installed("rt-sentences"):
        raise missing("rt-sentences")
    files = read_ground_truth(vader_sdist(), [INNER_FILE, *OTHER_FILES])
    d = build("rt-sentences-plus", files[INNER_FILE], seed=seed,
              extra_train=[x for f in OTHER_FILES for x in files[f]])
    d.lexicon = read_lexicon(vader_sdist())
    return d


SENTENCE_DATASETS = {"rt-sentences": load_rt_sentences, "rt-sentences-plus": load_rt_sentences_plus}


def load_sentences(name: str, seed: int = 0) -> SentenceSplits:
    if name in SENTENCE_DATASETS:
        return SENTENCE_DATASETS[name](seed=seed)
    raise DataError(f"unknown sentence data set {name!r}; choose one of {', '.join(SENTENCE_DATASETS)}")
