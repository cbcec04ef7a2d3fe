"""word-analogies: the table's pieces on hand-made vectors, and the experiment end to end on the stand-in
english-text corpus: quick mode, --run of a word2vec run, the refusals."""
import json

import numpy as np
import pytest

import standin
from nnzoo.eval.embeddings import Vectors
from nnzoo.experiments import word_analogies as wa
from test_cli import one_error_line

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURES = ("relationship_top1_correct", "relationship_top3_correct", "relationship_truth_cells_answerable",
           "relationship_top1_matches_paper", "relationship_cells_answerable", "relationship_cells",
           "relationship_cells_with_truth", "relationship_paper_correct", "relationship_missing_words",
           "analogy_accuracy", "analogy_semantic_accuracy", "analogy_syntactic_accuracy",
           "analogy_questions_answered", "analogy_questions", "pca_pairs", "pca_explained_variance",
           "pca_capital_offset_cosine", "pca_capital_offset_cosine_2d", "tsne_seconds", "tsne_words", "tsne_library",
           "tsne_trustworthiness_k10", "vectors", "vocabulary", "dim", "corpus_words")
IMAGES = ["word_analogies_table.png", "word_analogies_pca.png", "word_analogies_tsne.png"]
CELLS = sum(len(q) for _, _, _, q in wa.TABLE)
# the stand-in corpus's questions with all three words: france : paris :: italy / japan, and woman : man :: aunt
STANDIN_ANSWERABLE = {("france", "paris", "italy"), ("france", "paris", "japan"), ("woman", "man", "aunt")}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("word-analogies")
    standin.write_english_text(root)
    return root


@pytest.fixture(autouse=True)
def _data(data_root, monkeypatch):
    monkeypatch.setenv("NNZOO_DATA", str(data_root))


@pytest.fixture(scope="module")
def w2v_run(data_root, tmp_path_factory):
    from nnzoo.cli import main
    mp = pytest.MonkeyPatch()
    mp.setenv("NNZOO_DATA", str(data_root))
    run = tmp_path_factory.mktemp("w2v-run") / "run"
    assert main(["train", "english-word2vec-sg", "--out", str(run), "--quiet", "epochs=1",
                 "tensorboard=false"]) == 0
    yield run
    mp.undo()


def test_table_is_the_papers():
    assert CELLS == 31 and len(wa.TABLE) == 11
    rel, a, b, qs = wa.TABLE[0]
    assert (rel, a, b, qs[0][:2]) == ("France - Paris", "france", "paris", ("italy", "rome"))
    assert wa.TABLE[-1][1:3] == ("woman", "man") and wa.TABLE[-1][3][0][:2] == ("aunt", "uncle")
    words = [w for _, a, b, qs in wa.TABLE for w in (a, b, *(x for q in qs for x in q[:2]),
                                                     *(x for q in qs for x in (q[2] or ())))]
    assert all(w.isalpha() and w == w.lower() for w in words)  # our tokens: lower-case a-z
    wrong = {p for _, _, _, qs in wa.TABLE for c, p, t in qs if t and p not in t}  # the paper's model's mistakes
    assert wrong == {"larger", "violinist", "plutonium", "medvedev", "yahoo", "mcnealy"}


def test_cells_on_hand_made_vectors():
    """rome = italy + (paris - france) exactly (unit vectors), the others random: the first cell is answered
    right, with the paper's answer; a cell with a word the vocabulary lacks is not asked, and named."""
    rng = np.random.default_rng(0)
    words = ["france", "paris", "italy", "rome", "japan", "woman", "man", "aunt"] + [f"w{i}" for i in range(40)]
    m = rng.normal(size=(len(words), 16)).astype(np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)  # 3CosAdd adds unit vectors
    m[3] = m[2] + m[1] - m[0]
    vec = Vectors(words, m)
    cells = wa.relationship_table(vec)
    assert len(cells) == CELLS
    first = cells[0]
    assert first["top1"] == "rome" and first["answers"][0][1] == pytest.approx(1.0, abs=1e-4)
    assert first["correct"] is first["matches_paper"] is first["correct_top3"] is True
    assert len(first["answers"]) == wa.TOPN and first["missing"] == []
    tallahassee = cells[2]
    assert tallahassee["missing"] == ["florida"] and tallahassee["top1"] is None and tallahassee["correct"] is None
    assert not tallahassee["paper_in_vocab"]
    lines = wa.table_lines(cells)
    assert len(lines) == CELLS + 2 and lines[0].startswith("relationship")
    assert "France - Paris" in lines[2] and "rome 1.000 ok" in lines[2] and "(no florida)" in lines[4]
    assert lines[3].startswith(" ")  # the relationship is named on its first cell only
    pca = wa.country_pca(vec)  # japan has no tokyo: two pairs
    assert pca["pairs"] == [("france", "paris"), ("italy", "rome")] and pca["z"].shape == (4, 2)
    assert len(pca["explained"]) == 2 and -1 <= pca["offset_cosine"] <= 1
    assert wa.country_pca(Vectors(words[:3] + words[4:], np.delete(m, 3, 0))) is None  # one pair: no PCA


def _check(out, res):
    f = res["figures"]
    assert tuple(f) == FIGURES
    json.dumps(res)
    assert res["images"] == IMAGES
    for name in IMAGES:
        assert (out / name).read_bytes().startswith(PNG_MAGIC), name
    assert f["relationship_cells"] == CELLS == len(res["table"])
    answerable = {(c["a"], c["b"], c["c"]) for c in res["table"] if c["top1"] is not None}
    assert answerable == STANDIN_ANSWERABLE and f["relationship_cells_answerable"] == 3
    assert f["relationship_truth_cells_answerable"] == 3
    assert 0 <= f["relationship_top1_correct"] <= f["relationship_top3_correct"] <= 3
    assert {"kona", "messi", "microsoft"} <= set(f["relationship_missing_words"].split())
    assert "paris" not in f["relationship_missing_words"].split()
    assert f["pca_pairs"] == 8 and len(f["pca_explained_variance"]) == 2  # the stand-in's 8 countries
    assert f["tsne_words"] == f["vocabulary"] < wa.TSNE_WORDS  # the stand-in's whole vocabulary
    assert 0.0 <= f["tsne_trustworthiness_k10"] <= 1.0 and f["dim"] == 100
    assert f["analogy_questions_answered"] > 0 and 0.0 <= f["analogy_accuracy"] <= 100.0
    assert "relationship" in res["summary"] and "France - Paris" in res["summary"]


def test_quick_mode_trains_its_own_small_run(nnzoo_cli, tmp_path, data_root):
    code, out, err = nnzoo_cli("experiment", "word-analogies", "--quick", "--quiet", "--json",
                               "--out", tmp_path / "x")
    assert code == 0, err
    res = json.loads((tmp_path / "x" / "figures.json").read_text())
    assert json.loads(out) == {"experiment": "word-analogies", "out": str(tmp_path / "x"), **res["figures"]}
    _check(tmp_path / "x", res)
    assert "quick" in res["figures"]["vectors"]
    assert not (data_root / "word2vec").exists()  # quick mode caches nothing
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == sorted(IMAGES + ["figures.json"])


def test_run_of_a_word2vec_run(w2v_run, nnzoo_cli, tmp_path):
    code, out, err = nnzoo_cli("experiment", "word-analogies", "--quiet", "--run", w2v_run, "--out", tmp_path / "y")
    assert code == 0, err
    res = json.loads((tmp_path / "y" / "figures.json").read_text())
    _check(tmp_path / "y", res)
    assert res["figures"]["vectors"] == f"--run {w2v_run} (english-word2vec-sg)"
    assert res["figures"]["corpus_words"] > 100_000  # the whole stand-in corpus, not quick mode's
    assert "relationship_top1_correct" in out and "France - Paris" in out  # the table is printed


def test_run_without_the_analogy_questions_says_how_to_install_them(w2v_run, tmp_path, monkeypatch):
    from nnzoo.data import english_text
    from nnzoo.data.store import missing

    def absent():
        raise missing("english-text")
    monkeypatch.setattr(english_text, "eval_sets", absent)
    res = wa.run(tmp_path / "z", progress=False, run_dir=str(w2v_run))
    assert res["figures"]["analogy_accuracy"] is None and res["figures"]["relationship_cells_answerable"] == 3
    assert "nnzoo data install english-text" in res["summary"]


def test_other_runs_are_refused_and_cbow_accepted(nnzoo_cli, tmp_path):
    mlp = tmp_path / "mlp"
    mlp.mkdir()
    (mlp / "config.json").write_text(json.dumps({"recipe": "mnist-mlp", "model": "mlp", "model_config": {},
                                                 "train": {}, "data": "mnist"}))
    one_error_line(*nnzoo_cli("experiment", "word-analogies", "--run", mlp, "--out", tmp_path / "a"),
                   "mnist-mlp run", "english-word2vec-sg or english-word2vec-cbow run")
    one_error_line(*nnzoo_cli("experiment", "word-analogies", "--run", tmp_path / "nothing", "--out", tmp_path / "b"),
                   "does not exist")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # refused before anything is written
    cbow = tmp_path / "cbow"
    cbow.mkdir()
    (cbow / "config.json").write_text(json.dumps({"recipe": "english-word2vec-cbow", "model": "word2vec",
                                                  "model_config": {}, "train": {}, "data": "english-text"}))
    assert wa._check_run(cbow)["recipe"] == "english-word2vec-cbow"


def test_missing_corpus_is_one_line(nnzoo_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path / "empty"))
    for quick in (["--quick"], []):
        one_error_line(*nnzoo_cli("experiment", "word-analogies", *quick, "--out", tmp_path / "c"),
                       "nnzoo data install english-text")
    assert not (tmp_path / "c").exists() and not (tmp_path / "empty" / "word2vec").exists()
