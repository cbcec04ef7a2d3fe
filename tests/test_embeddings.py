"""nnzoo.eval.embeddings: word2vec files both ways (and gensim's), damaged files, neighbours and analogies on
vectors built by hand, and the analogy / similarity evaluations against hand-worked figures and gensim's."""
from __future__ import annotations

import math
import struct

import numpy as np
import pytest
import torch

from nnzoo.data.english_text import read_analogies, read_similarities
from nnzoo.data.store import DataError
from nnzoo.errors import UserError
from nnzoo.eval.embeddings import Vectors, _ranks

ODD_WORDS = ["naïve", "Ωμέγα", "日本語", "straße", "café", "plain", "Zoë"]


def odd_vectors(d: int = 7) -> Vectors:
    """Non-ASCII words and float32 values at the edges: tiny, subnormal, huge, negative zero."""
    rng = np.random.default_rng(0)
    m = rng.standard_normal((len(ODD_WORDS), d)).astype(np.float32)
    m[0, :5] = [1e-45, 7e-42, 3.4e38, -0.0, 1.1754944e-38]
    m[1] *= 1e-7
    m[2] *= 1e6
    return Vectors(ODD_WORDS, m)


# --- the constructor ----------------------------------------------------------------------------------------

def test_constructor_takes_arrays_and_tensors():
    t = torch.arange(6, dtype=torch.float64).reshape(3, 2)
    v = Vectors(["a", "b", "c"], t)
    assert v.matrix.dtype == np.float32 and v.dim == 2 and len(v) == 3
    assert v.index == {"a": 0, "b": 1, "c": 2} and v.words == ["a", "b", "c"]
    t[0, 0] = 99  # a copy: later training does not change the vectors
    assert v["a"].tolist() == [0.0, 1.0]
    assert np.allclose(np.linalg.norm(v.unit, axis=1), 1)
    with pytest.raises(ValueError, match="2 words but 3 rows"):
        Vectors(["a", "b"], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="'a' is given twice"):
        Vectors(["a", "b", "a"], np.zeros((3, 2)))
    assert Vectors(["z", "x"], np.zeros((2, 3))).unit.tolist() == [[0.0] * 3] * 2  # zero rows stay zero


# --- files ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("binary", [False, True])
def test_round_trip_is_exact(tmp_path, binary):
    v = odd_vectors()
    p = v.save(tmp_path / "sub" / "vec.w2v", binary=binary)
    assert p.exists() and [q.name for q in p.parent.iterdir()] == ["vec.w2v"]  # no temporary file left
    w = Vectors.load(p)
    assert w.words == ODD_WORDS
    assert w.matrix.tobytes() == v.matrix.tobytes()  # bit for bit, -0.0 and subnormals included


def test_file_layouts_are_word2vec_s(tmp_path):
    v = Vectors(["a", "é"], np.array([[1.5, -2.0], [0.1, 3.0]], np.float32))
    text = v.save(tmp_path / "v.txt", binary=False).read_bytes()
    assert text == "2 2\na 1.5 -2.0\né 0.1 3.0\n".encode()
    binary = v.save(tmp_path / "v.bin", binary=True).read_bytes()
    assert binary == (b"2 2\n" + b"a " + struct.pack("<2f", 1.5, -2.0) + b"\n"
                      + "é ".encode() + struct.pack("<2f", 0.1, 3.0) + b"\n")


def test_word2vec_c_text_with_trailing_spaces_and_crlf(tmp_path):
    # word2vec.c writes "%lf " per value, so each line ends in " \n"
    p = tmp_path / "c.txt"
    p.write_bytes(b"2 3\r\nthe 0.100000 -0.200000 0.300000 \r\nof 1.000000 2.000000 3.000000 \r\n\r\n")
    v = Vectors.load(p)
    assert v.words == ["the", "of"]
    assert v.matrix.tolist() == np.float32([[0.1, -0.2, 0.3], [1, 2, 3]]).tolist()


def test_unwritable_words_refused(tmp_path):
    with pytest.raises(ValueError, match="no space or newline"):
        Vectors(["a b"], np.zeros((1, 2))).save(tmp_path / "x.txt")


def test_gensim_reads_ours_and_we_read_gensim_s(tmp_path):
    gensim = pytest.importorskip("gensim")
    KeyedVectors = gensim.models.KeyedVectors
    v = odd_vectors()
    for binary in (False, True):
        ours = v.save(tmp_path / f"ours-{binary}", binary=binary)
        kv = KeyedVectors.load_word2vec_format(str(ours), binary=binary)
        assert kv.index_to_key == ODD_WORDS
        assert kv.vectors.tobytes() == v.matrix.tobytes()

        kv = KeyedVectors(v.dim)
        kv.add_vectors(ODD_WORDS, v.matrix)
        theirs = tmp_path / f"gensim-{binary}"
        kv.save_word2vec_format(str(theirs), binary=binary)
        w = Vectors.load(theirs)
        assert w.words == ODD_WORDS
        assert w.matrix.tobytes() == v.matrix.tobytes()
        if not binary:  # our text is gensim's, byte for byte
            assert theirs.read_bytes() == ours.read_bytes()


def _bin(*records, header=None) -> bytes:
    """A binary word2vec file of (word bytes, values) records."""
    d = len(records[0][1])
    out = header if header is not None else f"{len(records)} {d}\n".encode()
    for word, values in records:
        out += word + b" " + struct.pack(f"<{d}f", *values) + b"\n"
    return out


GOOD_BIN = _bin((b"one", [1.0, -2.5, 0.0]), (b"two", [0.0, 0.5, 4.0]), (b"three", [0.0, 0.0, 1.0]))

BAD_FILES = {
    "empty": (b"", "is empty"),
    "blank": (b" \n\n", "is empty"),
    "words-header": (b"hello world\na 1 2\n", "header line 'V D'"),
    "one-number-header": (b"3\na 1 2\n", "header line 'V D'"),
    "zero-header": (b"0 4\n", "header line 'V D'"),
    "header-only": (b"2 3\n", "ends after its header"),
    "too-few-values": (b"2 3\na 1 2 3\nb 1 2\n", "line 3 holds 2 values after its word, the header says 3"),
    "too-many-values-first": (b"2 3\na 1 2 3 4\nb 1 2 3\n", "line 2 holds 4 values"),
    "too-few-values-first": (b"2 3\na 1 2\nb 1 2 3\n", "line 2 holds 2 values"),
    "not-a-number": (b"2 2\na 1 2\nb 1 x\n", "line 3: 'x' is not a number"),
    "text-not-utf8": (b"2 2\nok 1 2\n\xff\xfe 3 4\n", "line 3: the word b'\\xff\\xfe' is not UTF-8"),
    "text-not-utf8-first": (b"2 2\n\xff\xfe 1 2\nok 3 4\n", "line 2: the word b'\\xff\\xfe' is not UTF-8"),
    "text-truncated": (b"3 2\na 1 2\nb 3 4\n", "holds 2 vectors but its header says 3"),
    "text-too-long": (b"1 2\na 1 2\nb 3 4\n", "holds 2 lines of vectors but its header says 1"),
    "text-no-word": (b"2 2\na 1 2\n 3 4\n", "line 3 has no word"),
    "text-duplicate": (b"3 2\na 1 2\nb 3 4\na 5 6\n", "the word 'a' twice (lines 2 and 4)"),
    "binary-truncated": (GOOD_BIN[:-9], "ends inside vector 3 of 3"),
    "binary-truncated-in-word": (GOOD_BIN[:len(GOOD_BIN) - 15], "ends inside vector 3 of 3"),
    "binary-not-utf8": (_bin((b"one", [1.0, 0.0]), (b"\xc3(", [0.0, 2.0])),
                        "the word of vector 2 (binary, byte 17), b'\\xc3(', is not UTF-8"),
    "binary-duplicate": (_bin((b"one", [1.0, 0.0]), (b"two", [0.0, 2.0]), (b"one", [3.0, 0.0])),
                         "the word 'one' twice (vectors 1 and 3)"),
    "binary-too-long": (_bin((b"one", [1.0, 0.0]), (b"two", [0.0, 2.0]), header=b"1 2\n"),
                        "holds more than the 1 vectors its header says"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_raise_one_line_naming_the_file(tmp_path, case):
    data, fragment = BAD_FILES[case]
    p = tmp_path / f"{case}.vec"
    p.write_bytes(data)
    with pytest.raises(DataError) as e:
        Vectors.load(p)
    msg = str(e.value)
    assert str(p) in msg and "\n" not in msg and fragment in msg, msg
    assert "write it again" in msg or "header" in msg, msg  # the fix


def test_good_binary_and_missing_paths(tmp_path):
    v = Vectors.load(_write(tmp_path / "good.bin", GOOD_BIN))
    assert v.words == ["one", "two", "three"] and v["one"].tolist() == [1.0, -2.5, 0.0]
    # gensim's binary layout: no newline after a vector
    nl_free = b"2 1\n" + b"a " + struct.pack("<f", 10.0) + b"b " + struct.pack("<f", 2.0)
    assert Vectors.load(_write(tmp_path / "g.bin", nl_free)).matrix.tolist() == [[10.0], [2.0]]
    for p, fragment in ((tmp_path / "nope.bin", "no such file"), (tmp_path, "cannot read")):
        with pytest.raises(DataError, match=fragment) as e:
            Vectors.load(p)
        assert str(p) in str(e.value)


def _write(p, data: bytes):
    p.write_bytes(data)
    return p


# --- neighbours and analogies on vectors built by hand ----------------------------------------------------

def royal() -> Vectors:
    """All of length sqrt(2), so king - man + woman = queen holds for the unit vectors too:
    (king - man + woman) / sqrt(2) = queen / sqrt(2)."""
    m = np.array([[1, 1, 0, 0],          # man
                  [1, -1, 0, 0],         # woman
                  [0.6, 1, 0.8, 0],      # king
                  [0.6, -1, 0.8, 0],     # queen
                  [0, 0, -1, 1]], np.float32)  # apple
    return Vectors(["man", "woman", "king", "queen", "apple"], m)


def test_neighbours_by_hand():
    # cos(king, .) = king . x / 2: man (0.6 + 1) / 2, queen (0.36 - 1 + 0.64) / 2, woman -0.4 / 2, apple -0.8 / 2
    got = royal().neighbours("king")
    assert [w for w, _ in got] == ["man", "queen", "woman", "apple"]
    assert np.allclose([c for _, c in got], [0.8, 0.0, -0.2, -0.4], atol=1e-6)
    assert [w for w, _ in royal().neighbours("king", topn=2)] == ["man", "queen"]
    assert royal().neighbours("king", topn=0) == []


def test_analogy_by_hand():
    got = royal().analogy("man", "king", "woman")
    assert got[0][0] == "queen" and got[0][1] == pytest.approx(1.0, abs=1e-6)
    assert {w for w, _ in got} == {"queen", "apple"}  # man, king, woman are left out
    assert royal().analogy("man", "king", "woman", topn=1) == [("queen", got[0][1])]


def test_unknown_words_are_named():
    v = royal()
    with pytest.raises(UserError) as e:
        v.analogy("man", "kingg", "qwxz")
    msg = str(e.value)
    assert msg == "not in the vocabulary of 5 words: 'kingg' (did you mean 'king'?), 'qwxz'"
    with pytest.raises(UserError, match=r"'Queen' \(did you mean 'queen'\?\)"):
        v.neighbours("Queen")
    with pytest.raises(UserError, match="'pear'"):
        v["pear"]


# --- the evaluations: worked by hand ------------------------------------------------------------------------

def royal_cased() -> Vectors:
    """royal() with queen moved a little off king - man + woman, plus 'Man' (row 5), a case variant of a
    question word lying right on it, and 'princess' (row 6), beyond restrict_vocab=6."""
    v = royal()
    m = v.matrix.copy()
    m[3] += np.float32([0, 0, 0, 0.1])
    m = np.vstack([m, v.matrix[3], [1, 0, 0, 1]])
    return Vectors(v.words + ["Man", "princess"], m)


def test_evaluate_analogies_by_hand():
    sections = [("royal", [("man", "king", "woman", "queen"),     # right
                           ("MAN", "King", "WOMAN", "queen"),     # right: case-insensitive
                           ("man", "king", "woman", "apple"),     # wrong
                           ("man", "king", "woman", "princess"),  # skipped: princess is row 6
                           ("man", "king", "woman", "zebra")]),   # skipped: unknown
                ("empty", [("zebra", "a", "b", "c")])]
    # 'Man' is the best candidate of the first three, but spells the question word man: gensim passes over it
    assert royal_cased().analogy("man", "king", "woman")[0][0] == "Man"
    got = royal_cased().evaluate_analogies(sections, restrict_vocab=6)
    assert got == {"sections": [{"section": "royal", "correct": 2, "total": 3, "questions": 5, "accuracy": 2 / 3},
                                {"section": "empty", "correct": 0, "total": 0, "questions": 1, "accuracy": 0.0}],
                   "correct": 2, "total": 3, "questions": 6, "coverage": 0.5, "accuracy": 2 / 3}
    # case-sensitive: 'MAN' and 'WOMAN' are unknown, and 'Man' is a fair answer (and a wrong one)
    got = royal_cased().evaluate_analogies(sections, restrict_vocab=6, case_insensitive=False)
    assert (got["correct"], got["total"]) == (0, 2)
    # with princess in, the fourth question counts too (queen is still the answer given: wrong)
    got = royal_cased().evaluate_analogies(sections, restrict_vocab=7)
    assert (got["correct"], got["total"]) == (2, 4)


def test_evaluate_similarity_by_hand():
    # cosines (see test_neighbours_by_hand): man-king 0.8, king-queen 0, king-woman -0.2, king-apple -0.4
    pairs = [("man", "king", 9.0), ("KING", "queen", 5.0), ("king", "woman", 5.0), ("king", "apple", 1.0),
             ("king", "zebra", 7.0)]
    got = royal().evaluate_similarity(pairs)
    # ranks: human 4, 2.5, 2.5, 1 and cosine 4, 3, 2, 1 -> rho = 4.5 / sqrt(4.5 * 5) = 3 / sqrt(10)
    assert got["spearman"] == pytest.approx(3 / math.sqrt(10), abs=1e-12)
    # deviations: human 4, 0, 0, -4; cosine .75, -.05, -.25, -.45 -> r = 4.8 / sqrt(32 * 0.83)
    assert got["pearson"] == pytest.approx(4.8 / math.sqrt(32 * 0.83), abs=1e-6)
    assert (got["pairs"], got["oov"], got["oov_ratio"]) == (4, 1, 0.2)
    assert math.isnan(royal().evaluate_similarity(pairs[:1])["spearman"])
    assert royal().evaluate_similarity(pairs, restrict_vocab=4)["oov"] == 2  # apple is row 4


def test_ranks_match_scipy():
    stats = pytest.importorskip("scipy.stats")
    x = np.random.default_rng(1).integers(0, 7, 300).astype(float)
    assert np.array_equal(_ranks(x), stats.rankdata(x))


# --- the evaluations against gensim ---------------------------------------------------------------------------

def structured(tmp_path):
    """200 words of 16-d random vectors, in which three sections of word pairs share an offset (b = a + offset +
    noise), some section words beyond row 150 (restrict_vocab), and case variants of some words placed
    near them, some before their lower-case form (so gensim's first-spelling rule decides which vector
    counts); the questions file mixes lower and upper case."""
    rng = np.random.default_rng(7)
    d = 16
    names = {"capital": [(f"city{i}", f"land{i}") for i in range(12)],
             "plural": [(f"thing{i}", f"things{i}") for i in range(12)],
             "tense": [(f"walk{i}", f"walked{i}") for i in range(10)]}
    vec = {}
    for s, pairs in names.items():
        offset = rng.standard_normal(d) * 1.2
        for a, b in pairs:
            vec[a] = rng.standard_normal(d)
            vec[b] = vec[a] + offset + rng.standard_normal(d) * 0.8
    section_words = list(vec)
    variants = {w.capitalize(): vec[w] + rng.standard_normal(d) * 0.3 for w in section_words[::5]}
    fillers = [f"w{i:03d}" for i in range(200 - len(vec) - len(variants))]
    for f in fillers:
        vec[f] = rng.standard_normal(d)
    vec.update(variants)
    words = list(vec)
    words = [words[i] for i in rng.permutation(len(words))]
    m = np.stack([vec[w] for w in words]).astype(np.float32)
    lines = []
    for s, pairs in names.items():
        lines.append(f": {s}")
        for i, (a, b) in enumerate(pairs):
            for j, (c, e) in enumerate(pairs):
                if i != j:
                    q = f"{a} {b} {c} {e}"
                    lines.append(q.upper() if (i + j) % 3 == 0 else q.title() if (i + j) % 3 == 1 else q)
    lines.append(": unknown\nzebra yak city1 land1\nCity1 land1 city2 land2")
    qfile = tmp_path / "questions.txt"
    qfile.write_text("\n".join(lines) + "\n")
    sims = [(a, b, float(rng.integers(0, 10))) for a, b in zip(rng.choice(words, 60), rng.choice(words, 60))]
    sims += [("zebra", "city1", 3.0), (words[3].upper(), words[190], 2.5)]
    sfile = tmp_path / "pairs.tsv"
    sfile.write_text("# a comment\n" + "".join(f"{a}\t{b}\t{s}\n" for a, b, s in sims))
    return Vectors(words, m), qfile, sfile


def gensim_kv(v: Vectors):
    gensim = pytest.importorskip("gensim")
    kv = gensim.models.KeyedVectors(v.dim)
    kv.add_vectors(v.words, v.matrix)
    return kv


@pytest.mark.parametrize("restrict", [150, 200])
def test_evaluate_analogies_equals_gensim(tmp_path, restrict):
    v, qfile, _ = structured(tmp_path)
    kv = gensim_kv(v)
    score, theirs = kv.evaluate_word_analogies(str(qfile), restrict_vocab=restrict)
    ours = v.evaluate_analogies(read_analogies(qfile), restrict_vocab=restrict)
    want = [(s["section"], len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in theirs]
    got = [(s["section"], s["correct"], s["total"]) for s in ours["sections"]]
    assert got == want[:-1]
    assert want[-1] == ("Total accuracy", ours["correct"], ours["total"])
    assert ours["accuracy"] == pytest.approx(score, abs=1e-12)
    assert ours["questions"] == 2 * 132 + 90 + 2
    # the restriction, the case rule and the structure all matter here
    assert 0.2 < ours["accuracy"] < 0.95 and (ours["coverage"] < 0.9) == (restrict == 150)


def test_evaluate_similarity_equals_gensim(tmp_path):
    v, _, sfile = structured(tmp_path)
    kv = gensim_kv(v)
    for restrict in (300000, 150):
        pearson, spearman, oov = kv.evaluate_word_pairs(str(sfile), restrict_vocab=restrict)
        ours = v.evaluate_similarity(read_similarities(sfile), restrict_vocab=restrict)
        assert ours["spearman"] == pytest.approx(spearman[0], abs=1e-6)
        assert ours["pearson"] == pytest.approx(pearson[0], abs=1e-6)
        assert ours["oov_ratio"] * 100 == pytest.approx(oov, abs=1e-9)
        assert ours["oov"] >= 1


def test_queries_equal_gensim(tmp_path):
    v, _, _ = structured(tmp_path)
    kv = gensim_kv(v)
    for w in v.words[:20:3]:
        want = kv.most_similar(w, topn=10)
        got = v.neighbours(w)
        assert [x for x, _ in got] == [x for x, _ in want]
        assert np.allclose([c for _, c in got], [c for _, c in want], atol=1e-5)
    for a, b, c in (v.words[0:3], v.words[10:13], ("city1", "land1", "city2")):
        want = kv.most_similar(positive=[b, c], negative=[a], topn=5)
        got = v.analogy(a, b, c)
        assert [x for x, _ in got] == [x for x, _ in want]
        assert np.allclose([s for _, s in got], [s for _, s in want], atol=1e-5)
