"""English -> Spanish sentence pairs: the verses of two public-domain Bibles, aligned by verse reference.

Source: Debian's SWORD modules `sword-text-web` (World English Bible, module engWEB2015eb) and
`sword-text-sparv` (Reina-Valera 1909, module spaRV1909eb), read with `diatheke`:

    diatheke -b engWEB2015eb -f OSIS  -k "Genesis 1:1 - Revelation of John 22:21"
    diatheke -b spaRV1909eb  -f plain -k "Genesis 1:1 - Revelation of John 22:21"

Each prints one verse per line, `Book C:V: text`. The English OSIS wraps words in `<w>` tags, ends each verse
with a `<milestone/>`, and (a diatheke quirk) repeats a psalm's heading in front of every verse of the psalm;
the Spanish text carries Strong's numbers as `<G5547>` / `<H430>`. `parse_verses` finds the reference of
each line among the 66 books of BOOKS (so headings and the English module's deuterocanonical books fall
away), strips every tag with a regex and collapses the spaces. `align` keeps the references both texts
have, both non-empty: 31,077 pairs (shared/DATA.md noted 31,075). The first `load` exports them once (about 30 s) into
`<data root>/bible-en-es/pairs.tsv` (`book <TAB> chapter <TAB> verse <TAB> English <TAB> Spanish`); later
loads read that file and never call diatheke.

- filter: English verses of at most MAX_WORDS = 20 words, split on spaces: 13,402 pairs (DATA.md's 10,060
  was counted some other way; counting punctuation marks as words gives 9,402), and of those the pairs whose
  Spanish has at most MAX_TARGET_WORDS = 30 words: 13,370.
- split: by book, so no verse of a test book was seen in training (`split_books`): the books are shuffled
  with `random.Random(0)` and dealt to test, then validation, while each stays within its 10 % share;
  every other book trains. On the real data:
  test (1,334 pairs, 12 books): Joshua, II Kings, Nehemiah, Esther, Jeremiah, Nahum, Mark,
  I Thessalonians, I Timothy, II Peter, III John, Jude;
  val (1,337 pairs, 13 books): Genesis, Ezra, Lamentations, Daniel, Amos, Haggai, Malachi, II Corinthians,
  Galatians, Colossians, Titus, II John, Revelation of John;
  train (10,699 pairs): the other 41 books. Repeated formulas ("Yahweh spoke to Moses, saying,") still
  occur across books: 0.8 % of the test verses' English also occurs in train (the report counts it).
- tokens: lowercased words (letters with their accents, inner apostrophes kept: "god's"), numbers and
  single punctuation marks, one regex for both languages (`tokenize`); typographic quotes folded to ASCII.
- vocabularies: one per language from the training split only: English words seen at least SRC_MIN_COUNT = 2
  times (4,856 ids), Spanish words at least TGT_MIN_COUNT = 3 times (4,288 ids); ids 0-3 are <pad>, <bos>,
  <eos>, <unk>.
"""
from __future__ import annotations

import random
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .store import DataError, bible_pairs_file, is_installed, missing

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]
SRC_MIN_COUNT = 2
"""An English word enters the vocabulary if it occurs at least this often in the training split: words seen
once are mostly names, and mapping them to <unk> teaches the model what an unknown word is."""
TGT_MIN_COUNT = 3
"""The same for Spanish, one higher: the output layer scores every Spanish word at every step and is most
of the training time; 3 instead of 2 cuts it from 6,489 to 4,284 words (test words unknown: 8.0 -> 9.6 %)."""
MAX_WORDS = 20
"""Keep pairs whose English verse has at most this many words (the issue's short-sentence setting)."""
MAX_TARGET_WORDS = 30
"""...and whose Spanish verse has at most this many: a longer one beside a short English verse is where the
two Bibles number verses differently (Job 39:30 -> 41:1 of RV1909's text), not a translation."""
VAL_FRAC = TEST_FRAC = 0.10

MODULES = {"en": "engWEB2015eb", "es": "spaRV1909eb"}
FORMATS = {"en": "OSIS", "es": "plain"}
RANGE = "Genesis 1:1 - Revelation of John 22:21"

# the 66 books, spelt as diatheke prints them for both modules, in canonical order
BOOKS = (
    "Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges", "Ruth", "I Samuel",
    "II Samuel", "I Kings", "II Kings", "I Chronicles", "II Chronicles", "Ezra", "Nehemiah", "Esther", "Job",
    "Psalms", "Proverbs", "Ecclesiastes", "Song of Solomon", "Isaiah", "Jeremiah", "Lamentations", "Ezekiel",
    "Daniel", "Hosea", "Joel", "Amos", "Obadiah", "Jonah", "Micah", "Nahum", "Habakkuk", "Zephaniah", "Haggai",
    "Zechariah", "Malachi", "Matthew", "Mark", "Luke", "John", "Acts", "Romans", "I Corinthians",
    "II Corinthians", "Galatians", "Ephesians", "Philippians", "Colossians", "I Thessalonians",
    "II Thessalonians", "I Timothy", "II Timothy", "Titus", "Philemon", "Hebrews", "James", "I Peter",
    "II Peter", "I John", "II John", "III John", "Jude", "Revelation of John",
)
# longest names first, so "I John" is not read as "John"; the reference may follow a heading on the line
REFERENCE = re.compile(r"(?:^|\s)(" + "|".join(re.escape(b) for b in sorted(BOOKS, key=len, reverse=True))
                       + r") (\d+):(\d+): ")
WORD_JOIN = re.compile(r"</w>\s*<w>")  # OSIS sometimes writes two words as <w>God</w><w>created</w>
TAG = re.compile(r"<[^>]*>")

FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})
# a word: letters (any script, accents kept) with inner apostrophes; a number; or one punctuation mark
TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+|[^\w\s]")

HEADER = "book\tchapter\tverse\ten\tes"

Ref = tuple[str, int, int]


def tokenize(text: str) -> list[str]:
    """'In the beginning, God created' -> ['in', 'the', 'beginning', ',', 'god', 'created'];
    '¿Quién vió á Dios?' -> ['¿', 'quién', 'vió', 'á', 'dios', '?']"""
    return TOKEN.findall(text.lower().translate(FOLD))


def clean(text: str) -> str:
    """Markup out, one space between words."""
    return " ".join(TAG.sub("", WORD_JOIN.sub("</w> <w>", text)).split())


def parse_verses(text: str) -> dict[Ref, str]:
    """diatheke's output (one verse a line, `Book C:V: text`, OSIS or plain) -> {(book, C, V): clean text}.
    Lines without a reference of the 66 books (the module name at the end, other books) are skipped; any
    text in front of the reference (a repeated psalm heading) is dropped."""
    verses = {}
    for line in text.splitlines():
        m = REFERENCE.search(TAG.sub(" ", line))
        if not m:
            continue
        # find the same reference in the raw line, then clean only what follows it
        start = line.find(f"{m.group(1)} {m.group(2)}:{m.group(3)}: ")
        body = line[start + len(m.group(0).lstrip()):]
        verses[(m.group(1), int(m.group(2)), int(m.group(3)))] = clean(body)
    return verses


def align(en: dict[Ref, str], es: dict[Ref, str]) -> list[tuple[Ref, str, str]]:
    """The references both texts have with non-empty text, in canonical order."""
    order = {b: i for i, b in enumerate(BOOKS)}
    refs = sorted((r for r in en.keys() & es.keys() if en[r] and es[r]), key=lambda r: (order[r[0]], r[1], r[2]))
    return [(r, en[r], es[r]) for r in refs]


def export_pairs(path: Path) -> Path:
    """Run diatheke for both Bibles, align them and write the pairs file (atomically)."""
    texts = {}
    for lang, module in MODULES.items():
        cmd = ["diatheke", "-b", module, "-f", FORMATS[lang], "-k", RANGE]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise DataError(f"`{' '.join(cmd)}` failed ({e}); run: nnzoo data install bible-en-es") from None
        texts[lang] = parse_verses(done.stdout)
        if done.returncode != 0 or not texts[lang]:
            raise DataError(f"`diatheke -b {module}` printed {len(texts[lang])} verses; reinstall with: "
                            "nnzoo data install bible-en-es")
    pairs = align(texts["en"], texts["es"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(HEADER + "\n" + "".join(f"{b}\t{c}\t{v}\t{e}\t{s}\n" for (b, c, v), e, s in pairs),
                   encoding="utf-8")
    tmp.replace(path)
    return path


def read_pairs(path: Path) -> list[tuple[Ref, str, str]]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read {path} ({type(e).__name__}); delete it and load again") from None
    out = []
    for n, line in enumerate(lines[1:], start=2):
        parts = line.split("\t")
        if len(parts) != 5 or not parts[1].isdigit() or not parts[2].isdigit():
            raise DataError(f"{path} line {n} is not 'book<TAB>chapter<TAB>verse<TAB>English<TAB>Spanish'; "
                            "delete the file and load again")
        out.append(((parts[0], int(parts[1]), int(parts[2])), parts[3], parts[4]))
    if lines[:1] != [HEADER]:
        raise DataError(f"{path} does not start with the header {HEADER!r}; delete it and load again")
    return out


def split_books(counts: dict[str, int], seed: int = 0, val_frac: float = VAL_FRAC,
                test_frac: float = TEST_FRAC) -> dict[str, list[str]]:
    """Whole books to test, val and train: shuffle the books (fixed seed), deal each to test while it fits in
    test's share of the pairs, then to val while it fits in val's, otherwise to train. A book too large for
    either share trains, so the held-out sets stay near their share whatever the order."""
    total = sum(counts.values())
    want = {"test": test_frac * total, "val": val_frac * total}
    books = sorted(counts)
    random.Random(seed).shuffle(books)
    out = {"train": [], "val": [], "test": []}
    have = {"test": 0, "val": 0}
    for b in books:
        split = next((s for s in ("test", "val") if have[s] + counts[b] <= want[s]), "train")
        out[split].append(b)
        if split != "train":
            have[split] += counts[b]
    return out


@dataclass
class PairSplits:
    """Sentence pairs as padded id matrices: source (English) rows end with EOS, target (Spanish) rows are
    BOS ... EOS, both right-padded with PAD to the split's longest."""
    name: str
    src_vocab: list[str]
    """English id -> word; ids 0-3 are <pad>, <bos>, <eos>, <unk>."""
    tgt_vocab: list[str]
    """Spanish id -> word, same specials."""
    train_src: torch.Tensor  # N, S int64
    train_tgt: torch.Tensor  # N, T int64
    val_src: torch.Tensor
    val_tgt: torch.Tensor
    test_src: torch.Tensor
    test_tgt: torch.Tensor
    texts: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """split -> (English, Spanish) raw verses in the rows' order (BLEU reads the Spanish as references)."""
    refs: dict[str, list[Ref]] = field(default_factory=dict)
    """split -> (book, chapter, verse) of each row."""
    books: dict[str, list[str]] = field(default_factory=dict)
    """split -> the books it holds."""

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return getattr(self, f"{name}_src"), getattr(self, f"{name}_tgt")


def vocabulary(sentences: list[list[str]], min_count: int) -> list[str]:
    counts = Counter(w for s in sentences for w in s)
    # most frequent first (ties alphabetically), so the ids read like a frequency list
    return SPECIALS + sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))


def encode(sentences: list[list[str]], table: dict[str, int], bos: bool) -> torch.Tensor:
    """Token lists -> N, L ids: [BOS] w_1 ... w_n EOS, right-padded with PAD (at least 1 column)."""
    rows = [([BOS] if bos else []) + [table.get(w, UNK) for w in s] + [EOS] for s in sentences]
    x = torch.full((len(rows), max([1, *map(len, rows)])), PAD, dtype=torch.int64)
    for i, r in enumerate(rows):
        x[i, :len(r)] = torch.tensor(r, dtype=torch.int64)
    return x


def build(name: str, pairs: list[tuple[Ref, str, str]], seed: int = 0, max_words: int = MAX_WORDS,
          min_counts: tuple[int, int] = (SRC_MIN_COUNT, TGT_MIN_COUNT)) -> PairSplits:
    """Filter to short English verses, split by book, build vocabularies from train, encode."""
    pairs = [p for p in pairs if len(p[1].split()) <= max_words and len(p[2].split()) <= MAX_TARGET_WORDS]
    counts = Counter(ref[0] for ref, _, _ in pairs)
    if len(counts) < 3:
        raise DataError(f"translation set {name!r} has pairs from {len(counts)} book(s); splitting by book "
                        "needs at least 3")
    books = split_books(counts, seed)
    if not books["test"] or not books["val"]:  # tiny sets: every split gets at least one book
        order = sorted(counts, key=counts.get)
        books = {"test": order[:1], "val": order[1:2], "train": order[2:]}
    where = {b: s for s, bs in books.items() for b in bs}
    canon = {b: i for i, b in enumerate(BOOKS)}
    parts = {s: [p for p in pairs if where[p[0][0]] == s] for s in ("train", "val", "test")}
    toks = {s: ([tokenize(e) for _, e, _ in ps], [tokenize(t) for _, _, t in ps]) for s, ps in parts.items()}
    src_vocab = vocabulary(toks["train"][0], min_counts[0])
    tgt_vocab = vocabulary(toks["train"][1], min_counts[1])
    src_table = {w: i for i, w in enumerate(src_vocab)}
    tgt_table = {w: i for i, w in enumerate(tgt_vocab)}
    arrays = {}
    for s, (src, tgt) in toks.items():
        arrays[f"{s}_src"] = encode(src, src_table, bos=False)
        arrays[f"{s}_tgt"] = encode(tgt, tgt_table, bos=True)
    return PairSplits(name, src_vocab, tgt_vocab, **arrays,
                      texts={s: [(e, t) for _, e, t in ps] for s, ps in parts.items()},
                      refs={s: [r for r, _, _ in ps] for s, ps in parts.items()},
                      books={s: sorted(bs, key=lambda b: (canon.get(b, len(BOOKS)), b)) for s, bs in books.items()})


def load_bible_en_es(seed: int = 0) -> PairSplits:
    path = bible_pairs_file()
    if not path.exists():
        if not is_installed("bible-en-es") or shutil.which("diatheke") is None:
            raise missing("bible-en-es")
        export_pairs(path)
    return build("bible-en-es", read_pairs(path), seed=seed)


PAIR_DATASETS = {"bible-en-es": load_bible_en_es}


def load_pairs(name: str, seed: int = 0) -> PairSplits:
    """A registered pair set, or a path to a pairs file in the cached format (a TSV with HEADER)."""
    if name in PAIR_DATASETS:
        return PAIR_DATASETS[name](seed=seed)
    if Path(name).is_file():
        return build(Path(name).stem, read_pairs(Path(name)), seed=seed)
    raise DataError(f"unknown translation data set {name!r}; choose one of {', '.join(PAIR_DATASETS)} or give "
                    f"a pairs file ({HEADER.replace(chr(9), ' <TAB> ')})")
