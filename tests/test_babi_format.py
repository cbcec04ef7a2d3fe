"""bAbI files (data/babi.py): the original line format written and read back, bad files refused with the line
named, `load_babi` on a folder of files and on the generated sets, a user's free text, the statistics."""
from __future__ import annotations

import sys
import threading

import pytest

from nnzoo.data import babi as B
from nnzoo.data import store
from nnzoo.data.babi_lines import Fact, Question
from nnzoo.data.store import DataError
from nnzoo.errors import UserError

STORY = [Fact("Mary moved to the bathroom."), Fact("John went to the hallway."),
         Question("Where is Mary?", "bathroom", (1,)), Fact("Daniel picked up the milk."),
         Fact("Daniel got the apple."), Question("What is Daniel carrying?", "apple,milk", (4, 5))]
EXPECTED = ("1 Mary moved to the bathroom.\n2 John went to the hallway.\n3 Where is Mary? \tbathroom\t1\n"
            "4 Daniel picked up the milk.\n5 Daniel got the apple.\n6 What is Daniel carrying? \tapple,milk\t4 5\n")


def test_the_line_format_is_the_originals(tmp_path):
    path = tmp_path / "qa1_single-supporting-fact_train.txt"
    B.write(path, [STORY, STORY[:3]])
    assert path.read_text() == EXPECTED + EXPECTED.split("4 ")[0]
    assert B.parse(path) == [STORY, STORY[:3]]


@pytest.mark.parametrize("task", range(1, 15))
def test_round_trip(tmp_path, task):
    stories = B.generate_task(task, 60, seed=task)
    B.write(tmp_path / "x.txt", stories)
    assert B.parse(tmp_path / "x.txt") == stories


def test_generate_task_counts_questions_and_cuts_the_last_story():
    for task in (1, 3, 4, 14):
        stories = B.generate_task(task, 37, seed=1)
        assert sum(isinstance(line, Question) for s in stories for line in s) == 37
        assert all(isinstance(s[-1], Question) for s in stories[-1:])
        assert B.generate_task(task, 37, seed=1) == stories
        assert B.generate_task(task, 37, seed=2) != stories
    seeds = {B.seed_of(t, size, split) for t in B.TASK_NAMES for size in B.SIZES for split in B.SPLITS}
    assert len(seeds) == 20 * 2 * 2


BAD = [
    ("1 Mary moved to the bathroom.\nMary went to the hallway.\n", 2, "'ID sentence'"),
    ("1 Mary moved to the bathroom.\n3 Where is Mary? \tbathroom\t1\n", 2, "line id 2"),
    ("1 Mary moved to the bathroom.\n2 Where is Mary? \tbathroom\n", 2, "a tab, the answer, a tab"),
    ("1 Mary moved to the bathroom.\n2 Where is Mary? \tbathroom\t3\n", 2, "supporting ids"),
    ("1 Mary moved to the bathroom.\n2 Where is Mary? \tbathroom\tone\n", 2, "supporting ids"),
    ("1 Mary moved to the bathroom.\n2 Where is Mary? \tbathroom\t1\n3 Where is John? \thall\t2\n", 3,
     "supporting ids"),
    ("1 Mary moved to the bathroom.\n2 Where is Mary? \t\t1\n", 2, "the answer"),
    ("2 Mary moved to the bathroom.\n", 1, "line id 1"),
]


@pytest.mark.parametrize("text, line, expected", BAD)
def test_a_bad_file_names_its_line(tmp_path, text, line, expected):
    path = tmp_path / "qa1_bad_train.txt"
    path.write_text(text)
    with pytest.raises(DataError) as e:
        B.parse(path)
    message = str(e.value)
    assert str(path) in message and f"line {line}:" in message and expected in message
    assert "\n" not in message


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(DataError, match="no story"):
        B.parse(tmp_path / "empty.txt")
    with pytest.raises(DataError, match="does not exist"):
        B.parse(tmp_path / "nothere.txt")


def test_examples_tokenise_and_point_at_their_supports():
    a, b = B.to_examples([STORY], task=8)
    assert a.facts == [["mary", "moved", "to", "the", "bathroom"], ["john", "went", "to", "the", "hallway"]]
    assert (a.question, a.answer, a.supports, a.task) == (["where", "is", "mary"], "bathroom", [0], 8)
    assert len(b.facts) == 4 and b.supports == [2, 3] and b.facts[3] == ["daniel", "got", "the", "apple"]
    assert B.tokenize("Where is the milk?") == ["where", "is", "the", "milk"]


def _official_folder(root, tasks, train=40, test=20):
    """A folder laid out as the release's `en`: one train and one test file per task."""
    root.mkdir(parents=True)
    for t in tasks:
        B.write(root / B.file_name(t, "train"), B.generate_task(t, train, seed=50 + t))
        B.write(root / B.file_name(t, "test"), B.generate_task(t, test, seed=90 + t))
    return root


def test_load_babi_from_a_folder(tmp_path):
    folder = _official_folder(tmp_path / "en", [1, 4])
    data = B.load_babi(folder, tasks=[1, 4])
    assert sorted(data) == [1, 4]
    for t in (1, 4):
        train = B.generate_task(t, 40, seed=50 + t)
        held = round(len(train) * 0.1)
        assert len(data[t]["valid"]) == len(B.to_examples(train[-held:], t))  # the last 10 % of the stories
        assert len(data[t]["train"]) + len(data[t]["valid"]) == 40 and len(data[t]["test"]) == 20
        assert data[t]["valid"][-1].question == B.to_examples(train, t)[-1].question
        assert {ex.task for s in data[t].values() for ex in s} == {t}
    # the release's top folder works too: en or en-10k by size
    assert B.load_babi(tmp_path, size="1k", tasks=[4])[4]["test"][0].answer == data[4]["test"][0].answer


def test_load_babi_says_what_it_looked_for(tmp_path):
    folder = _official_folder(tmp_path / "en", [1])
    with pytest.raises(DataError, match=r"no file matching qa2_\*_train.txt in .*en"):
        B.load_babi(folder, tasks=[1, 2])
    with pytest.raises(DataError, match="does not exist"):
        B.load_babi(tmp_path / "nowhere", tasks=[1])
    with pytest.raises(UserError, match="tasks 1-20"):
        B.load_babi(folder, tasks=[21])
    with pytest.raises(UserError, match="1k, 10k"):
        B.load_babi(folder, size="5k", tasks=[1])


def test_generated_sets_land_under_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path))
    data = B.load_babi("babi", size="1k", tasks=[1, 4])
    folder = tmp_path / "babi" / "generated" / f"v{B.VERSION}" / "en"
    assert sorted(p.name for p in folder.iterdir()) == sorted(B.file_name(t, s) for t in (1, 4) for s in B.SPLITS)
    assert sorted(p.name for p in folder.parent.iterdir()) == ["en"]  # no temporary folder left behind
    for t in (1, 4):
        questions = lambda split: sum(isinstance(x, Question) for s in B.parse(folder / B.file_name(t, split))
                                      for x in s)
        assert questions("train") == 1_000 and questions("test") == 1_000
        assert len(data[t]["train"]) + len(data[t]["valid"]) == 1_000 and len(data[t]["test"]) == 1_000
    # a second load reads the same files (nothing rewritten), and 10k is its own set
    before = (folder / B.file_name(1, "train")).stat().st_mtime_ns
    assert B.load_babi("babi", tasks=[1])[1]["test"] == data[1]["test"]
    assert (folder / B.file_name(1, "train")).stat().st_mtime_ns == before
    big = B.load_babi("babi", size="10k", tasks=[1])[1]
    assert len(big["train"]) + len(big["valid"]) == 10_000
    assert (folder.parent / "en-10k" / B.file_name(1, "train")).exists()
    assert not store.is_installed("babi")  # 18 more tasks to write


def test_two_writers_at_once_leave_whole_files(tmp_path, monkeypatch):
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path))
    errors = []

    def load():
        try:
            B.ensure_generated("1k", [4])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    folder = B.generated_dir("1k")
    assert B.parse(folder / B.file_name(4, "train")) == B.generate_task(4, 1_000, B.seed_of(4, "1k", "train"))
    assert sorted(p.name for p in folder.parent.iterdir()) == ["en"]


def test_the_install_command_generates_the_files(tmp_path, monkeypatch):
    assert store.commands("babi") == [[sys.executable, "-m", "nnzoo.data", "babi"]]
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path))
    assert not store.is_installed("babi")


def test_tasks_15_to_20_need_their_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "nnzoo.data.babi_reasoning", None)  # as if the file were missing
    with pytest.raises(DataError, match="task 17 \\(positional-reasoning\\).*babi_reasoning"):
        B.generate_task(17, 10, seed=0)
    assert B.generate_task(1, 10, seed=0)  # the world tasks do not need it


def test_a_users_text_becomes_stories():
    (story,) = B.stories_from_text("Mary moved to the bathroom.  John went to\nthe hallway. Where is Mary?")
    assert story == [Fact("Mary moved to the bathroom."), Fact("John went to the hallway."),
                     Question("Where is Mary?", "", ())]
    two = B.stories_from_text("Mary went to the office. Where is Mary?\n\nJohn went to the garden. Where is John? ")
    assert [len(s) for s in two] == [2, 2]
    for text, expected in [("Mary went to the office. John went home.", "no question"),
                           ("Where is Mary? Mary went to the office.", "no story before"),
                           ("   ", "no story")]:
        with pytest.raises(UserError, match=expected) as e:
            B.stories_from_text(text)
        assert "\n" not in str(e.value)


def test_stats():
    s = B.stats(B.to_examples([STORY, STORY], task=8))
    assert s["questions"] == 4 and s["stories"] == 2 and s["mean_facts"] == 3.0 and s["max_facts"] == 4
    assert s["answers"] == ["apple,milk", "bathroom"]
    assert s["vocabulary"] == len({"mary", "moved", "to", "the", "bathroom", "john", "went", "hallway", "where",
                                   "is", "daniel", "picked", "up", "milk", "got", "apple", "what", "carrying"})


def test_each_size_counts_as_installed_on_its_own(tmp_path, monkeypatch, capsys):
    """babi is the 1k set and babi-10k the 10k one: a run on one writes only that one, and `nnzoo data list`
    says a set not yet written is generated on first use, not that it is missing."""
    from nnzoo.cli import main
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path))
    folder = B.generated_dir("10k")
    folder.mkdir(parents=True)
    for t in range(1, 21):
        (folder / B.file_name(t, "test")).write_text("")
    assert store.is_installed("babi-10k") and not store.is_installed("babi")
    assert main(["data", "list"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("babi")}
    assert lines["babi-10k"].split()[1] == "installed"
    assert "generated on first use" in lines["babi"] and "nnzoo data install babi" in lines["babi"]
