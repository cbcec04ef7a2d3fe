"""Word vectors as users of word2vec know them: the word2vec file formats, nearest neighbours, analogies and
gensim's two standard evaluations, in numpy (torch only for the batched analogy search).

`Vectors(words, matrix)` holds V words and their (V, D) float32 vectors, rows in the words' order; the
evaluations read "the first `restrict_vocab` words" as the most frequent ones, so keep the rows in descending
frequency order, as word2vec and gensim write them.

The formats are word2vec.c's (and gensim's `save_word2vec_format`):
  text:   "V D\\n", then one line a word: "word v1 v2 ... vD\\n"
  binary: "V D\\n", then per word: the word's UTF-8 bytes, b" ", D little-endian float32, b"\\n"
          (gensim writes no b"\\n" after a vector; its reader, and this one, skip newlines before a word)
`Vectors.load` tells the two apart by itself and says in one line what is wrong with a damaged file.

The figures reproduce gensim 4.4.0's `KeyedVectors.evaluate_word_analogies` and `evaluate_word_pairs`
(case_insensitive=True, dummy4unknown=False), checked against gensim in tests/test_embeddings.py.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from ..data.store import DataError
from ..errors import UserError

FIX = "write it again (Vectors.save, or gensim's save_word2vec_format)"
HINT_POOL = 30_000
"""Unknown words are matched for a spelling hint against this many of the most frequent words."""
CHUNK = 1000
"""Analogy questions scored per matrix product: a (1000, 30000) float32 block of cosines is 120 MB."""


class Vectors:
    """V unique words and their vectors (V, D), stored as a float32 numpy copy.

    `words` (list, row order), `index` (word -> row), `dim` (D), `matrix` (V, D), `unit` (V, D: each row
    divided by its length, computed on first use; a zero row stays zero). `vectors[word]` is a copy of the
    word's row, `word in vectors` asks the vocabulary."""

    def __init__(self, words: Sequence[str], matrix: np.ndarray | torch.Tensor):
        if isinstance(matrix, torch.Tensor):
            matrix = matrix.detach().cpu().float().numpy()
        # a copy: a tensor's numpy view would change under the next training step, under a stale `unit`
        matrix = np.array(matrix, dtype=np.float32, order="C")
        words = list(words)
        if matrix.ndim != 2:
            raise ValueError(f"the matrix must be (V, D), got shape {matrix.shape}")
        if len(words) != matrix.shape[0]:
            raise ValueError(f"{len(words):,} words but {matrix.shape[0]:,} rows in the matrix")
        bad = [w for w in words if not isinstance(w, str)]
        if bad:
            raise ValueError(f"words must be str, got {type(bad[0]).__name__} {bad[0]!r}")
        index: dict[str, int] = {}
        for i, w in enumerate(words):
            if index.setdefault(w, i) != i:
                raise ValueError(f"the word {w!r} is given twice (rows {index[w]} and {i}); words must be unique")
        self.words, self.index, self.matrix = words, index, matrix
        self.dim = matrix.shape[1]
        self._unit: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.matrix[self._rows([word])[0]].copy()

    def __repr__(self) -> str:
        return f"Vectors({len(self):,} words x {self.dim})"

    @property
    def unit(self) -> np.ndarray:
        """(V, D) rows scaled to length 1, for cosines: cos(x, y) = x.y / (|x| |y|) = unit(x).unit(y)."""
        if self._unit is None:
            norms = np.linalg.norm(self.matrix, axis=1, keepdims=True)  # (V, 1)
            # a zero vector has no direction: it stays zero, so its cosine with anything is 0
            self._unit = self.matrix / np.where(norms > 0, norms, 1).astype(np.float32)
        return self._unit

    # --- files -----------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike, binary: bool = False) -> Path:
        """Write the word2vec text (binary=False) or binary format, atomically (a temporary file beside it, then
        os.replace). Text values are each float32's shortest exact decimal (what gensim writes), so a text file
        loads back bit for bit too. Returns the path."""
        path = Path(path)
        bad = [w for w in self.words if not w or " " in w or "\n" in w]
        if bad:
            raise ValueError(f"the word {bad[0]!r} cannot be written in word2vec format: a word must be non-empty "
                             "and hold no space or newline")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(f"{len(self)} {self.dim}\n".encode())
                if binary:
                    little = self.matrix.astype("<f4")  # (V, D), little-endian whatever this machine is
                    for w, row in zip(self.words, little):
                        f.write(w.encode("utf-8") + b" " + row.tobytes() + b"\n")
                else:
                    for w, row in zip(self.words, self.matrix):
                        # str(np.float32) is the shortest decimal that reads back as the same float32
                        f.write(f"{w} {' '.join(map(str, row))}\n".encode("utf-8"))
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vectors":
        """Read a word2vec text or binary file (word2vec.c's or gensim's), telling the two apart by itself.
        A damaged file raises DataError: one line naming the file, what is wrong (and where) and the fix."""
        words, matrix = _read_word2vec(Path(path))
        return cls(words, matrix)

    # --- queries ---------------------------------------------------------------------------------------

    def neighbours(self, word: str, topn: int = 10) -> list[tuple[str, float]]:
        """The topn words of highest cosine with `word`, best first, the word itself left out
        (gensim's most_similar(word))."""
        (i,) = self._rows([word])
        u = self.unit
        cos = u @ u[i]  # (V,)
        return self._best(cos, topn, exclude=[i])

    def analogy(self, a: str, b: str, c: str, topn: int = 5) -> list[tuple[str, float]]:
        """'a is to b as c is to ?' by 3CosAdd (Mikolov et al. 2013): the words d of highest cos(d, b - a + c)
        over unit vectors, a, b and c left out; gensim's most_similar(positive=[b, c], negative=[a])."""
        ia, ib, ic = self._rows([a, b, c])
        u = self.unit
        # gensim's weighted mean of the unit vectors, then its direction: m = (u_b + u_c - u_a) / 3, m / |m|
        m = _unit_rows(((u[ib] + u[ic]) - u[ia])[None] / np.float32(3))[0]  # (D,)
        return self._best(u @ m, topn, exclude=[ia, ib, ic])

    def _best(self, scores: np.ndarray, topn: int, exclude: Iterable[int]) -> list[tuple[str, float]]:
        """(word, score) of the topn highest scores (V,), best first, the rows in `exclude` left out."""
        scores = scores.astype(np.float32, copy=True)
        ex = sorted(set(exclude))
        scores[ex] = -np.inf
        n = min(topn, len(scores) - len(ex))
        if n < 1:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.words[i], float(scores[i])) for i in top]

    def _rows(self, words: Sequence[str]) -> list[int]:
        """The rows of `words`; UserError naming every unknown one (with a near spelling where one is close)."""
        unknown = [w for w in dict.fromkeys(words) if w not in self.index]
        if unknown:
            pool = self.words[:HINT_POOL]
            named = []
            for w in unknown:
                near = [w.lower()] if isinstance(w, str) and w.lower() in self.index else \
                    difflib.get_close_matches(str(w), pool, n=1)
                named.append(f"{w!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
            raise UserError(f"not in the vocabulary of {len(self):,} words: {', '.join(named)}")
        return [self.index[w] for w in words]

    # --- evaluations -----------------------------------------------------------------------------------

    def _restricted(self, restrict_vocab: int, case_insensitive: bool) -> tuple[dict[str, int], np.ndarray]:
        """gensim's `ok_vocab` over the first restrict_vocab words: {key: row}, the key upper-cased when
        case_insensitive, the row that of the key's first (most frequent) spelling; and each restricted row's
        key's row (R,), so 'Paris' at row 900 and 'paris' at row 40 both count as row 40."""
        key = str.upper if case_insensitive else str
        canon: dict[str, int] = {}
        for i, w in enumerate(self.words[:restrict_vocab]):
            canon.setdefault(key(w), i)
        row_key = np.array([canon[key(w)] for w in self.words[:restrict_vocab]], dtype=np.int64)
        return canon, row_key

    def evaluate_analogies(self, sections: Sequence[tuple[str, Sequence[tuple[str, str, str, str]]]],
                           restrict_vocab: int = 30000, case_insensitive: bool = True) -> dict:
        """Accuracy on analogy questions 'a b c d' (a is to b as c is to d), by section, as gensim 4.4.0's
        evaluate_word_analogies(restrict_vocab, case_insensitive, dummy4unknown=False) counts it.

        Only the first restrict_vocab words take part: a question with a word outside them is skipped (counted
        in `questions`, not in `total`), and the answer is searched among them alone. The prediction is the
        first of the 5 best words by 3CosAdd (the 3 question words' own rows left out) whose spelling is none
        of the question words' (case-insensitively, so 'Athens' never answers a question about 'athens');
        correct if it is d. `sections` is `nnzoo.data.english_text.read_analogies`'s list.

        -> {"sections": [{"section", "correct", "total", "questions", "accuracy"}, ...], "correct", "total"
        (questions answered), "questions" (all given), "coverage" (total / questions), "accuracy" (correct /
        total: gensim's 'Total accuracy')}. An accuracy with nothing answered is 0.0, as in gensim."""
        r = min(int(restrict_vocab), len(self))
        canon, row_key = self._restricted(r, case_insensitive)
        key = str.upper if case_insensitive else str
        asked, section_of, counts = [], [], []
        for s, (_, questions) in enumerate(sections):
            counts.append(len(questions))
            for q in questions:
                rows = [canon.get(key(w)) for w in q]
                if None not in rows:
                    asked.append(rows)
                    section_of.append(s)
        q_rows = np.array(asked, dtype=np.int64).reshape(-1, 4)  # (Q, 4): rows of a, b, c, d
        right = self._answer(q_rows, r, row_key)  # (Q,) bool
        section_of = np.array(section_of, dtype=np.int64)
        n_sec = len(counts)
        correct = np.bincount(section_of, weights=right, minlength=n_sec).astype(int)
        total = np.bincount(section_of, minlength=n_sec)
        out = [{"section": name, "correct": int(c), "total": int(t), "questions": int(n),
                "accuracy": float(c / t) if t else 0.0}
               for (name, _), c, t, n in zip(sections, correct, total, counts)]
        c_all, t_all, n_all = int(right.sum()), len(right), int(sum(counts))
        return {"sections": out, "correct": c_all, "total": t_all, "questions": n_all,
                "coverage": t_all / n_all if n_all else 0.0, "accuracy": c_all / t_all if t_all else 0.0}

    def _answer(self, q_rows: np.ndarray, r: int, row_key: np.ndarray) -> np.ndarray:
        """For questions (Q, 4) of restricted rows, whether 3CosAdd over the first r rows answers d. (Q,) bool."""
        if len(q_rows) == 0 or r == 0:
            return np.zeros(len(q_rows), dtype=bool)
        U = torch.from_numpy(self.unit[:r])  # (R, D), shared with numpy
        keys = torch.from_numpy(row_key)  # (R,)
        q = torch.from_numpy(q_rows)
        out = []
        for lo in range(0, len(q), CHUNK):
            a, b, c, d = q[lo:lo + CHUNK].unbind(1)  # (n,) each
            # gensim's mean of unit vectors with weights +1, +1, -1, then its direction: (u_b + u_c - u_a) / 3
            m = ((U[b] + U[c]) - U[a]) / 3  # (n, D)
            norm = m.norm(dim=1, keepdim=True)
            m = m / torch.where(norm > 0, norm, torch.ones_like(norm))
            sims = m @ U.T  # (n, R): cos(d', b - a + c) for every restricted word d'
            # the question words' own rows are no answers (gensim drops them from its candidates)
            sims.scatter_(1, torch.stack([a, b, c], 1), float("-inf"))
            vals, cand = sims.topk(min(5, r), dim=1)  # (n, k), best first: gensim's topn=5
            valid = vals > float("-inf")  # fewer than 5 words left when R is tiny
            cand_key = keys[cand]  # (n, k): the row of each candidate's spelling
            ignored = (cand_key == a[:, None]) | (cand_key == b[:, None]) | (cand_key == c[:, None])
            usable = valid & ~ignored
            first = usable.to(torch.uint8).argmax(1)  # first usable candidate (0 if none)
            # with none usable, gensim's loop ends on the last candidate it read: an ignored spelling
            last = (valid.sum(1) - 1).clamp(min=0)
            pick = torch.where(usable.any(1), first, last)
            pred = cand_key.gather(1, pick[:, None])[:, 0]
            out.append(valid.any(1) & (pred == d))
        return torch.cat(out).numpy()

    def evaluate_similarity(self, pairs: Sequence[tuple[str, str, float]], restrict_vocab: int = 300000,
                            case_insensitive: bool = True) -> dict:
        """Correlation of the vectors' cosines with human similarity ratings (WordSim-353, SimLex-999), over the
        pairs whose two words are among the first restrict_vocab, as gensim 4.4.0's evaluate_word_pairs
        (case_insensitive, dummy4unknown=False). `pairs` is `nnzoo.data.english_text.read_similarities`'s list.

        -> {"spearman" (rank correlation, ties at their average rank), "pearson", "pairs" (used), "oov" (pairs
        left out for an unknown word), "oov_ratio" (oov / all pairs, a fraction; gensim prints a percentage)}.
        Spearman and Pearson are nan with fewer than 2 pairs used or a constant column."""
        r = min(int(restrict_vocab), len(self))
        canon, _ = self._restricted(r, case_insensitive)
        key = str.upper if case_insensitive else str
        rows, gold = [], []
        for w1, w2, score in pairs:
            i, j = canon.get(key(w1)), canon.get(key(w2))
            if i is not None and j is not None:
                rows.append((i, j))
                gold.append(float(score))
        ij = np.array(rows, dtype=np.int64).reshape(-1, 2)
        u = self.unit
        # cos(w1, w2) = unit(w1) . unit(w2)
        cos = (u[ij[:, 0]] * u[ij[:, 1]]).sum(1).astype(np.float64)  # (P,)
        gold = np.array(gold, dtype=np.float64)
        oov = len(pairs) - len(rows)
        return {"spearman": _pearson(_ranks(gold), _ranks(cos)), "pearson": _pearson(gold, cos),
                "pairs": len(rows), "oov": oov, "oov_ratio": oov / len(pairs) if len(pairs) else 0.0}


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows (N, D) divided by their length; zero rows stay zero."""
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm > 0, norm, 1).astype(x.dtype)


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of x (n,), tied values sharing their average rank (scipy.stats.rankdata's 'average')."""
    n = len(x)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    new = np.r_[True, xs[1:] != xs[:-1]]  # (n,): a new value starts here
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], n]
    # a tie group over sorted positions s..e-1 holds ranks s+1..e: their mean is (s + 1 + e) / 2
    mean_rank = (starts + 1 + ends) / 2.0
    out = np.empty(n, dtype=np.float64)
    out[order] = mean_rank[np.cumsum(new) - 1]
    return out


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r = sum (x - mx)(y - my) / sqrt(sum (x - mx)^2 sum (y - my)^2); nan if n < 2 or a column is
    constant."""
    if len(x) < 2:
        return float("nan")
    dx, dy = x - x.mean(), y - y.mean()
    den = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    return float((dx * dy).sum() / den) if den > 0 else float("nan")


# --- reading word2vec files --------------------------------------------------------------------------------

def _read_word2vec(path: Path) -> tuple[list[str], np.ndarray]:
    """(words, matrix (V, D) float32) of a word2vec text or binary file; DataError for a damaged one.

    Which format: the first vector's line is parsed as text ("word" and D numbers); if that fails the file is
    read as binary, and if that fails too, the error reported is the text reader's when the bytes after the
    first word are printable (a text file with a bad line), else the binary reader's."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; give the path of a word2vec .txt or .bin file "
                        "(Vectors.save writes one)") from None
    except OSError as e:
        raise DataError(f"cannot read {path} ({e.strerror or type(e).__name__}); give the path of a word2vec "
                        "file") from None
    if not data.strip():
        raise DataError(f"{path} is empty; {FIX}")
    end = data.find(b"\n")
    header = data[:end] if end >= 0 else data
    try:
        v, d = (int(t) for t in header.decode("ascii").split())
        if v < 1 or d < 1:
            raise ValueError
    except (UnicodeDecodeError, ValueError):
        shown = header[:60].decode("utf-8", "replace")
        raise DataError(f"{path} does not start with word2vec's header line 'V D' (vocabulary size and dimension, "
                        f"both positive) but {shown!r}; {FIX} (a GloVe file needs that line added in front)") from None
    start = end + 1
    if end < 0 or start >= len(data):
        raise DataError(f"{path} ends after its header: it holds none of the {v:,} vectors; the file is truncated: "
                        f"{FIX}")
    stop = data.find(b"\n", start)
    first = data[start:stop if stop >= 0 else len(data)]  # the first vector's line, if the file is text
    if _is_text_line(first, d):
        return _read_text(path, data, start, v, d)
    try:
        return _read_binary(path, data, start, v, d)
    except DataError:
        sp = first.find(b" ")
        after = first[sp + 1:] if sp >= 0 else b""
        if after and all(32 <= ch < 127 or ch in b"\t\r" for ch in after):
            return _read_text(path, data, start, v, d)  # raises the bad line's error
        raise


def _is_text_line(line: bytes, d: int) -> bool:
    """Whether a line reads as word2vec text: a UTF-8 word, a space and exactly d numbers."""
    sp = line.find(b" ")
    if sp <= 0:
        return False
    try:
        line.decode("utf-8")
        values = line[sp + 1:].split()
        return len(values) == d and all(float(t) is not None for t in values)
    except ValueError:  # a word that is not UTF-8 (UnicodeDecodeError is a ValueError), a value not a number
        return False


def _read_text(path: Path, data: bytes, start: int, v: int, d: int) -> tuple[list[str], np.ndarray]:
    lines = data[start:].split(b"\n")
    while lines and not lines[-1].strip():  # the final newline, or blank lines after the last vector
        lines.pop()
    if len(lines) < v:
        raise DataError(f"{path} holds {len(lines):,} vectors but its header says {v:,}: the file is truncated; "
                        f"{FIX}")
    if len(lines) > v:
        raise DataError(f"{path} holds {len(lines):,} lines of vectors but its header says {v:,}; fix the header "
                        f"line or {FIX}")
    words: list[str] = []
    values: list[bytes] = []
    for n, line in enumerate(lines, start=2):  # file line numbers: the header is line 1
        line = line.rstrip()  # word2vec.c ends each line with " \n", Windows with "\r\n"
        sp = line.find(b" ")
        word, parts = (line[:sp], line[sp + 1:].split()) if sp >= 0 else (line, [])
        if not word:
            raise DataError(f"{path} line {n} has no word (it is empty or starts with a space); {FIX}")
        if len(parts) != d:
            raise DataError(f"{path} line {n} holds {len(parts)} values after its word, the header says {d}; {FIX}")
        try:
            words.append(word.decode("utf-8"))
        except UnicodeDecodeError:
            raise DataError(f"{path} line {n}: the word {word[:40]!r} is not UTF-8; {FIX} with UTF-8 words") from None
        values.extend(parts)
    try:
        matrix = np.array(values, dtype=np.float32).reshape(v, d)
    except ValueError:
        for n, line in enumerate(lines, start=2):  # find the culprit only on this rare path
            for t in line.rstrip().split(b" ", 1)[1].split():
                try:
                    float(t)
                except ValueError:
                    raise DataError(f"{path} line {n}: {t[:40].decode('utf-8', 'replace')!r} is not a number; "
                                    f"{FIX}") from None
        raise
    _check_unique(path, words, "line", 2)
    return words, matrix


def _read_binary(path: Path, data: bytes, start: int, v: int, d: int) -> tuple[list[str], np.ndarray]:
    size = 4 * d  # bytes of one vector
    matrix = np.empty((v, d), dtype=np.float32)
    words: list[str] = []
    pos, n = start, len(data)
    for i in range(v):
        while pos < n and data[pos] == 0x0A:  # word2vec.c's b"\n" after the previous vector (gensim writes none)
            pos += 1
        sp = data.find(b" ", pos)
        if sp < 0 or sp + 1 + size > n:
            raise DataError(f"{path} ends inside vector {i + 1:,} of {v:,} (binary, byte {n:,}): the file is "
                            f"truncated; {FIX}")
        word = data[pos:sp]
        if not word:
            raise DataError(f"{path}: vector {i + 1:,} of {v:,} (binary, byte {pos:,}) has an empty word; {FIX}")
        try:
            words.append(word.decode("utf-8"))
        except UnicodeDecodeError:
            raise DataError(f"{path}: the word of vector {i + 1:,} (binary, byte {pos:,}), {word[:40]!r}, is not "
                            f"UTF-8; {FIX} with UTF-8 words") from None
        matrix[i] = np.frombuffer(data, dtype="<f4", count=d, offset=sp + 1)
        pos = sp + 1 + size
    if data[pos:].strip():
        raise DataError(f"{path} holds more than the {v:,} vectors its header says (binary, {n - pos:,} bytes "
                        f"left at byte {pos:,}); fix the header line or {FIX}")
    _check_unique(path, words, "vector", 1)
    return words, matrix


def _check_unique(path: Path, words: list[str], unit: str, first: int) -> None:
    """DataError naming the first word that appears twice, at which lines (text) or vectors (binary)."""
    if len(set(words)) == len(words):
        return
    seen: dict[str, int] = {}
    for i, w in enumerate(words):
        if w in seen:
            raise DataError(f"{path} holds the word {w!r} twice ({unit}s {seen[w] + first:,} and {i + first:,}); "
                            f"{FIX} with each word once")
        seen[w] = i
