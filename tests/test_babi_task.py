"""The bAbI task: task selection, the memory window a question reads, the shared storage of a story's facts,
training end to end from an empty data folder, the per-task report and `nnzoo answer`."""
import json

import pytest
import torch

from nnzoo.data.babi import Example
from nnzoo.errors import UserError
from nnzoo.tasks import babi as T


def test_task_lists():
    assert T.parse_tasks("") == list(range(1, 21))
    assert T.parse_tasks("2,3,17") == [2, 3, 17]
    assert T.parse_tasks("1-3, 7") == [1, 2, 3, 7]
    for bad in ("0", "21", "a", "3-x", "1,,2"):
        with pytest.raises(UserError, match="tasks="):
            T.parse_tasks(bad)


def _story_examples():
    facts = [["mary", "moved", "to", "the", "bathroom"], ["john", "went", "to", "the", "hallway"],
             ["mary", "went", "to", "the", "garden"]]
    # two questions of one story (the second sees one more fact) and one of another story
    return [Example(facts=facts[:2], question=["where", "is", "mary"], answer="bathroom", supports=[0], task=1),
            Example(facts=facts, question=["where", "is", "mary"], answer="garden", supports=[2], task=1),
            Example(facts=facts[1:2], question=["where", "is", "john"], answer="hallway", supports=[0], task=1)]


def test_a_story_is_stored_once_and_a_question_reads_its_newest_facts():
    exs = _story_examples()
    vocab = T._vocabulary(exs)
    index = {w: i for i, w in enumerate(vocab)}
    split = T._vectorise(exs, index, {"bathroom": 0, "garden": 1, "hallway": 2}, width=6)
    assert split.facts.shape == (3 + 1, 6)  # the first story's three facts once, the second story's one
    story, query = T.gather(split, torch.arange(3), memory=2)
    assert story.shape == (3, 2, 6) and query.shape == (3, 6)
    # a batch whose stories are all short reads only as many rows as its longest
    assert T.gather(split, torch.tensor([0, 2]), memory=5)[0].shape == (2, 2, 6)
    words = lambda row: [vocab[i] for i in row.tolist() if i]  # noqa: E731
    # question 2 has three facts and a memory of two: the two newest, oldest first
    assert [words(r) for r in story[1]] == [exs[1].facts[1], exs[1].facts[2]]
    # question 3 has one fact: row 0 is it, row 1 is padding
    assert words(story[2, 0]) == exs[2].facts[0] and story[2, 1].eq(0).all()
    assert words(query[2]) == ["where", "is", "john"]
    assert split.answer.tolist() == [0, 1, 2]


def test_an_answer_unseen_in_training_counts_wrong():
    exs = _story_examples()
    index = {w: i for i, w in enumerate(T._vocabulary(exs))}
    split = T._vectorise(exs, index, {"bathroom": 0}, width=6)
    assert split.answer.tolist() == [0, -1, -1]


@pytest.fixture(scope="module")
def memn2n_run(tmp_path_factory):
    """babi-memn2n on tasks 1 and 4 of a freshly generated set in an empty data folder, a few epochs (Adam:
    the recipe's SGD needs more steps than a test can take)."""
    from nnzoo.cli import main
    root = tmp_path_factory.mktemp("babi")
    mp = pytest.MonkeyPatch()
    mp.setenv("NNZOO_DATA", str(root / "data"))
    torch.set_num_threads(1)
    run = root / "run"
    assert main(["train", "babi-memn2n", "--out", str(run), "--quiet", "tasks=1,4", "epochs=12", "optimizer=adam", "lr=0.01", "schedule=constant",
                 "linear_start_epochs=3", "dim=20", "log_every=20", "tensorboard=false"]) == 0
    yield run
    mp.undo()


def test_memn2n_learns_and_reports_every_task(memn2n_run, nnzoo_cli):
    code, out, err = nnzoo_cli("eval", memn2n_run, "--json")
    assert code == 0, err
    fig = json.loads(out)
    assert set(fig) >= {"test_error_percent_task1", "test_error_percent_task4", "mean_test_error_percent",
                        "failed_tasks"}
    assert fig["mean_test_error_percent"] == pytest.approx(
        (fig["test_error_percent_task1"] + fig["test_error_percent_task4"]) / 2, abs=0.01)
    # chance is ~83 % on both (six places): twelve epochs learn clearly more than that
    assert fig["test_error_percent_task1"] < 30 and fig["test_error_percent_task4"] < 60
    assert (memn2n_run / "story_attention.png").stat().st_size > 5000


def test_answer_names_the_place_and_the_sentence_it_read(memn2n_run, nnzoo_cli):
    story = "Mary moved to the bathroom. John went to the hallway. Where is Mary?"
    code, out, err = nnzoo_cli("answer", memn2n_run, story, "--json", "--top", "2")
    assert code == 0, err
    res = json.loads(out)
    assert res["answer"] in json.loads((memn2n_run / "config.json").read_text())["answers"]
    assert len(res["supporting"]) == 2
    assert {s["sentence"] for s in res["supporting"]} == {"Mary moved to the bathroom.",
                                                           "John went to the hallway."}
    code, out, err = nnzoo_cli("answer", memn2n_run, story)
    assert code == 0 and out.splitlines()[0].split()[0] == res["answer"]


@pytest.mark.parametrize("story,message", [
    ("Mary zoomed to the bathroom. Where is Mary?", "never saw in training: zoomed"),
    ("Mary moved to the bathroom.", "question"),
    ("Where is Mary?", "story"),
])
def test_answer_refuses_bad_stories_in_one_line(memn2n_run, nnzoo_cli, story, message):
    code, out, err = nnzoo_cli("answer", memn2n_run, story)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_answer_top_must_be_positive(memn2n_run, nnzoo_cli):
    code, _, err = nnzoo_cli("answer", memn2n_run, "Mary moved to the bathroom. Where is Mary?", "--top", "0")
    assert code == 2 and "--top" in err


def test_resume_continues_the_run_exactly(tmp_path, monkeypatch, nnzoo_cli):
    """Two steps, stop, two more == four straight (the random-noise draws come from the checkpointed RNG)."""
    from safetensors.torch import load_file

    from nnzoo.train import checkpoint
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path / "data"))
    torch.set_num_threads(1)
    keys = ["tasks=1", "epochs=1", "linear_start_epochs=1", "dim=8", "train_subset=64", "batch_size=32",
            "tensorboard=false", "--quiet"]
    assert nnzoo_cli("train", "babi-memn2n", "--out", tmp_path / "straight", *keys)[0] == 0
    assert nnzoo_cli("train", "babi-memn2n", "--out", tmp_path / "halves", *keys, "stop_after=3")[0] == 0
    assert nnzoo_cli("train", "--resume", tmp_path / "halves", "--quiet")[0] == 0

    def weights(run):
        return load_file(str(checkpoint.latest(run) / "model.safetensors"))
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "halves")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
