"""sentiment-bilstm embeddings=RUN: word2vec vectors as the word embeddings' start (Kim 2014, non-static).

On the stand-in data (tests/standin.py): a tiny word2vec run on the english-text stand-in, whose words the
rt-sentences stand-in shares. Checked: the covered rows are the word2vec vectors right after the start and
train on afterwards, the uncovered rows keep their random start, a resumed run never reads the vectors
again (and ends bit for bit where a straight run ends), and each wrong embeddings= is one line, exit 2,
with nothing written.
"""
import json
import shutil

import numpy as np
import pytest
import torch

import standin
from nnzoo import registry, runs
from nnzoo.data.sentiment import PAD, UNK
from nnzoo.eval.embeddings import Vectors
from nnzoo.models.bilstm_classifier import BiLSTMClassifier, BiLSTMClassifierConfig
from nnzoo.tasks.sentiment import match_vocabulary
from nnzoo.train import checkpoint

from test_cli import one_error_line

DIM = 8
TINY = ["embed=8", "hidden=8", "members=1", "subwords=0", "dropout=0", "embed_dropout=0", "epochs=1",
        "batch_size=16", "lr=0.01", "schedule=constant", "warmup=0", "tensorboard=false", "log_every=5"]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    standin.write_rt_sentences(root)
    standin.write_english_text(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNZOO_DATA", str(root))
        yield root


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


@pytest.fixture(scope="module")
def w2v(data_root, tmp_path_factory):
    from nnzoo.cli import main
    run = tmp_path_factory.mktemp("runs") / "w2v"
    assert main(["train", "english-word2vec-sg", "--out", str(run), "--quiet", "tensorboard=false",
                 "batch_size=20000", f"dim={DIM}", "epochs=1", "min_count=2"]) == 0
    return run


def w2v_vectors(run) -> Vectors:
    doc = runs.read_config(run)
    return Vectors(doc["vocab"], runs.load_run(run)[3].vectors())


def start(overrides: list[str]):
    """The task, data and a freshly built classifier for sentiment-bilstm with these overrides, as fit()
    makes them before initialise."""
    recipe = registry.get_recipe("sentiment-bilstm")
    mcfg, tcfg = registry.resolve(recipe, dict(o.split("=", 1) for o in overrides))
    task = registry.get_task("sentiment")
    data = task.load(tcfg)
    mcfg = task.adapt(mcfg, data)
    torch.manual_seed(0)
    return task, data, registry.create_model("bilstm-classifier", mcfg)


def tables(model) -> list[torch.Tensor]:
    members = model.members if model.members is not None else [model]
    return [m.embed.weight.detach().clone() for m in members]


def test_vocabulary_words_match_their_word2vec_spelling():
    vocab = ["<pad>", "<unk>", "film", "Film", "2", "film's", "isn't", "!", "zzqx", "n't"]
    words = ["the", "film", "two", "unk", "n't"]
    ids, rows = match_vocabulary(vocab, words)
    # "<unk>" would be "unk", but UNK keeps its own start; "film's" is two word2vec words; "n't" is in the
    # file as itself; "!" and "zzqx" are in no form
    assert dict(zip(ids, rows)) == {2: 1, 3: 1, 4: 2, 9: 4}


def test_init_embeddings_sets_the_rows_of_every_member_only():
    torch.manual_seed(0)
    m = BiLSTMClassifier(BiLSTMClassifierConfig(vocab_size=6, embed=4, hidden=4, members=3))
    before = tables(m)
    table = torch.arange(8.0).view(2, 4)
    m.init_embeddings(table, torch.tensor([2, 5]))
    for old, new in zip(before, tables(m)):
        assert torch.equal(new[[2, 5]], table)
        assert torch.equal(new[[0, 1, 3, 4]], old[[0, 1, 3, 4]])
    with pytest.raises(ValueError, match="padding"):
        m.init_embeddings(table, torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="wide"):
        m.init_embeddings(torch.zeros(2, 3), torch.tensor([2, 3]))


def test_covered_rows_get_the_vectors_and_the_rest_keep_their_start(w2v, tmp_path):
    full = w2v_vectors(w2v)
    # a file with every other word2vec word: the vocabulary's other words stay uncovered
    kept = full.words[::2]
    f = Vectors(kept, np.stack([full[w] for w in kept])).save(tmp_path / "half.txt")
    for source, vec in ((str(w2v), full), (str(f), Vectors.load(f))):
        task, data, model = start(TINY + ["members=2", f"embeddings={source}"])
        before = tables(model)
        rng = torch.get_rng_state()
        about = task.initialise(model, data, torch.device("cpu"), verbose=False)["pretrained_embeddings"]
        assert torch.equal(torch.get_rng_state(), rng)  # no random number drawn: the other weights as without
        covered = [i for i, w in enumerate(data.vocab) if i > UNK and w in vec]
        assert covered and about["words_covered"] == len(covered)
        assert about["vocabulary_words"] == len(data.vocab) - 2 and about["dim"] == DIM
        assert about["vectors"] == len(vec)
        tokens = data.train_x[data.train_x != PAD]
        share = 100 * float(torch.isin(tokens, torch.tensor(covered)).float().mean())
        assert about["train_tokens_covered_percent"] == pytest.approx(share, abs=0.01)
        rest = [i for i in range(len(data.vocab)) if i not in covered]
        want = torch.from_numpy(np.stack([vec[data.vocab[i]] for i in covered]))
        want = want / want.pow(2).mean().sqrt()  # scaled to RMS 1, the random rows' scale
        for old, new in zip(before, tables(model)):  # every member alike
            assert torch.allclose(new[covered], want, rtol=1e-5, atol=1e-6)
            assert new[covered].pow(2).mean().sqrt().item() == pytest.approx(1.0, rel=1e-4)
            assert torch.equal(new[rest], old[rest])
        if source == str(f):
            assert len(rest) > 2  # some real words are uncovered here
            assert about["kind"] == "word2vec file"
        else:
            assert about["kind"] == "word2vec run"
        # the members still start apart (their own random rows and LSTMs)
        assert not torch.equal(before[0], before[1])


def weights(run) -> dict:
    return checkpoint.load_weights(checkpoint.latest(run))


def test_a_run_records_coverage_and_trains_the_vectors_on(w2v, tmp_path, nnzoo_cli):
    out = tmp_path / "s"
    code, _, err = nnzoo_cli("train", "sentiment-bilstm", "--out", out, *TINY, f"embeddings={w2v}")
    assert code == 0, err
    assert f"start from {w2v}" in err  # the coverage line (not --quiet)
    doc = json.loads((out / "config.json").read_text())
    assert doc["model_config"]["embeddings"] == str(w2v)
    about = doc["pretrained_embeddings"]
    assert about["words_covered"] > 0 and 0 < about["train_tokens_covered_percent"] <= 100
    vec = w2v_vectors(w2v)
    rows = [i for i, w in enumerate(doc["words"]) if i > UNK and w in vec]
    trained = weights(out)["embed.weight"][rows]
    start_ = torch.from_numpy(np.stack([vec[doc["words"][i]] for i in rows]))
    assert not torch.allclose(trained, start_)  # non-static: fine-tuned with the rest
    assert (trained - start_).abs().max() < 1.0  # ... from the vectors, not from a random start
    # predict needs neither the data nor the word2vec run
    code, _, err = nnzoo_cli("predict", out, "the king sees the queen")
    assert code == 0, err


def test_resume_never_reads_the_vectors_again(w2v, tmp_path, nnzoo_cli):
    copy = tmp_path / "w2v-copy"
    shutil.copytree(w2v, copy)
    args = ["--quiet", *TINY, f"embeddings={copy}"]
    code, _, err = nnzoo_cli("train", "sentiment-bilstm", "--out", tmp_path / "a", *args)
    assert code == 0, err
    code, _, err = nnzoo_cli("train", "sentiment-bilstm", "--out", tmp_path / "b", *args, "stop_after=3")
    assert code == 0, err
    first = (tmp_path / "b" / "config.json").read_text()
    shutil.rmtree(copy)  # a resumed run takes its embeddings from its checkpoint
    code, _, err = nnzoo_cli("train", "--resume", tmp_path / "b", "--quiet")
    assert code == 0, err
    assert (tmp_path / "b" / "config.json").read_text() == first
    wa, wb = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # while a fresh run with the vectors gone is refused
    one_error_line(*nnzoo_cli("train", "sentiment-bilstm", "--out", tmp_path / "c", *args), "no such folder")


def test_wrong_embeddings_are_one_line_and_write_nothing(w2v, tmp_path, nnzoo_cli):
    def refused(source, *needles, extra=()):
        out = tmp_path / f"r{len(list(tmp_path.iterdir()))}"
        one_error_line(*nnzoo_cli("train", "sentiment-bilstm", "--out", out, "--quiet", *TINY, *extra,
                                  f"embeddings={source}"), *needles)
        assert not out.exists()

    refused(w2v, f"embeddings={w2v} has {DIM}-d vectors but embed=16; set embed={DIM}", extra=["embed=16"])
    refused(tmp_path / "nowhere", "no such folder or file", "english-word2vec-sg")
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(empty, "not a run folder (no config.json)")
    # a run of another kind: a sentiment run
    other = tmp_path / "other"
    code, _, err = nnzoo_cli("train", "sentiment-bilstm", "--out", other, "--quiet", *TINY, "stop_after=1")
    assert code == 0, err
    refused(other, "is a sentiment-bilstm run, not a word2vec run")
    broken = tmp_path / "broken"
    shutil.copytree(w2v, broken)
    (broken / "config.json").write_text("{not json")
    refused(broken, "corrupt")
    shutil.copytree(w2v, broken, dirs_exist_ok=True)
    (checkpoint.latest(broken) / "model.safetensors").write_bytes(b"\x00" * 10)
    refused(broken, "corrupt or truncated")
    bad = tmp_path / "bad.txt"
    bad.write_text(f"3 {DIM}\nthe {' '.join(['0.1'] * DIM)}\n")
    refused(bad, "truncated")
    bad.write_text("not a header\n")
    refused(bad, "header")
