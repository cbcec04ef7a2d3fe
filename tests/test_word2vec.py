"""word2vec: the loss's maths, the fused loop against autograd, the stream, training that learns, the verbs."""
import json
import math

import numpy as np
import pytest
import torch

import standin
from nnzoo.models.word2vec import Word2Vec, Word2VecConfig
from nnzoo.tasks.word2vec import noise_table, subsample_keep


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("w2v")
    standin.write_english_text(root)
    return root


@pytest.fixture(autouse=True)
def _data(data_root, monkeypatch):
    monkeypatch.setenv("NNZOO_DATA", str(data_root))


def model(arch="cbow", V=4, D=2, negative=1, window=1):
    return Word2Vec(Word2VecConfig(architecture=arch, dim=D, window=window, negative=negative, vocab_size=V))


def test_loss_golden_values():
    m = model(V=4, D=2)
    with torch.no_grad():
        m.input.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]))
        m.output.weight.copy_(torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 0.0], [0.0, 3.0]]))
    # h = v_0 = (1, 0); target 1: v' . h = 2; noise 3: v' . h = 0; noise -1 is skipped
    out = m.loss((torch.tensor([[0]]), torch.tensor([1]), torch.tensor([[3, -1]])))
    expected = -math.log(1 / (1 + math.exp(-2))) - math.log(0.5)
    assert out["loss"].item() == pytest.approx(expected, rel=1e-6)
    # cbow: h is the mean of the context's vectors, -1 padding left out
    with torch.no_grad():
        m.input.weight[1] = torch.tensor([3.0, 0.0])
    out = m.loss((torch.tensor([[0, 1, -1]]), torch.tensor([1]), torch.tensor([[3]])))
    assert out["loss"].item() == pytest.approx(-math.log(1 / (1 + math.exp(-4))) - math.log(0.5), rel=1e-6)


def sgd_by_autograd(m, examples, lr):
    """Plain SGD on the autograd loss, one example at a time (what word2vec.c does)."""
    for ex in examples:
        m.zero_grad()
        m.loss(ex)["loss"].backward()
        with torch.no_grad():
            for p in (m.input.weight, m.output.weight):
                p -= lr * p.grad.to_dense()


@pytest.mark.parametrize("arch", ["cbow", "skip-gram"])
def test_fused_loop_takes_the_same_steps_as_autograd(arch):
    torch.manual_seed(0)
    a, b = model(arch, V=4, D=3), model(arch, V=4, D=3)
    v, u = torch.randn(4, 3) * 0.5, torch.randn(4, 3) * 0.5
    with torch.no_grad():
        for m in (a, b):
            m.input.weight.copy_(v)
            m.output.weight.copy_(u)
    lr = 0.1
    # one sentence "0 1" with window 1, every word kept, the noise word always 3: centre 0 then centre 1
    a.fused_step({"tokens": np.array([0, 1], np.int32), "starts": np.array([0, 2]), "keep": np.ones(4, np.float32),
                  "table": np.full(8, 3, np.int32), "seed": 0, "threads": 1}, lr)
    # cbow: context 1 -> target 0, then context 0 -> target 1; skip-gram (word2vec.c's order): the context
    # word's v against the centre's v', the same two examples
    examples = [(torch.tensor([[1]]), torch.tensor([0]), torch.tensor([[3]])),
                (torch.tensor([[0]]), torch.tensor([1]), torch.tensor([[3]]))]
    sgd_by_autograd(b, examples, lr)
    assert torch.allclose(a.input.weight, b.input.weight, atol=1e-6)
    assert torch.allclose(a.output.weight, b.output.weight, atol=1e-6)


def test_fused_loss_is_the_mean_example_loss():
    m = model("cbow", V=4, D=3)
    with torch.no_grad():
        m.input.weight.copy_(torch.randn(4, 3))
        m.output.weight.copy_(torch.randn(4, 3))
    before = m.loss((torch.tensor([[1]]), torch.tensor([0]), torch.tensor([[3]])))["loss"].item()
    out = m.fused_step({"tokens": np.array([0, 1], np.int32), "starts": np.array([0, 2]),
                        "keep": np.ones(4, np.float32), "table": np.full(8, 3, np.int32), "seed": 0, "threads": 1},
                       1e-9)  # no step to speak of: both examples' losses are those of the start
    second = m.loss((torch.tensor([[0]]), torch.tensor([1]), torch.tensor([[3]])))["loss"].item()
    assert out["examples"].item() == 2
    assert out["loss"].item() == pytest.approx((before + second) / 2, rel=1e-5)


def test_subsampling_and_noise_distribution():
    counts = np.array([1000, 100, 10, 1])
    keep = subsample_keep(counts, 1e-3)
    f = counts / counts.sum()
    assert keep[0] == pytest.approx((math.sqrt(f[0] / 1e-3) + 1) * 1e-3 / f[0], rel=1e-6)
    assert keep[-1] == 1.0 and np.all(np.diff(keep) >= 0)
    assert np.all(subsample_keep(counts, 0.0) == 1.0)
    table = noise_table(counts, 100_000)
    p = counts ** 0.75 / (counts ** 0.75).sum()
    assert np.allclose(np.bincount(table, minlength=4) / len(table), p, atol=1e-4)


def test_threads_split_sentences_and_every_word_is_counted():
    m = model("skip-gram", V=5, D=4, negative=2, window=2)
    tokens = np.array([0, 1, 2, 3, 4] * 20, np.int32)
    starts = np.arange(0, 101, 5)
    out = m.fused_step({"tokens": tokens, "starts": starts, "keep": np.ones(5, np.float32),
                        "table": np.arange(5, dtype=np.int32), "seed": 3, "threads": 2}, 0.01)
    assert out["words"].item() == 100
    assert torch.isfinite(m.input.weight).all()


def train_run(nnzoo_cli, run, *extra):
    code, out, err = nnzoo_cli("train", "english-word2vec-sg", "--out", run, "--quiet", "tensorboard=false",
                               "batch_size=20000", "dim=24", "epochs=3", "min_count=2", "log_every=1", *extra)
    assert code == 0, err
    return run


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_root):
    from nnzoo.cli import main
    import os
    os.environ["NNZOO_DATA"] = str(data_root)
    run = tmp_path_factory.mktemp("runs") / "sg"
    assert main(["train", "english-word2vec-sg", "--out", str(run), "--quiet", "tensorboard=false",
                 "batch_size=20000", "dim=24", "epochs=3", "min_count=2", "log_every=1", "lr=0.05"]) == 0
    return run


def test_training_learns_the_corpus_regularities(trained, nnzoo_cli):
    rows = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    losses = [r["value"] for r in rows if r["name"] == "epoch_train_loss"]
    assert len(losses) == 3 and losses[-1] < losses[0]
    code, out, err = nnzoo_cli("neighbours", trained, "paris", "--json", "--topn", "7")
    assert code == 0, err
    near = [h["word"] for h in json.loads(out)["neighbours"]]
    # the words of "paris is the capital of france" sentences share their contexts; the filler words do not
    assert len(set(near) & (set(standin.COUNTRIES) | set(standin.COUNTRIES.values()))) >= 6, near
    code, out, err = nnzoo_cli("eval", trained, "--json")
    assert code == 0, err
    figures = json.loads(out)
    assert figures["analogy_questions"] == 56 + 56 + 1 and figures["analogy_questions_answered"] == 112
    assert 0 <= figures["analogy_accuracy"] <= 100 and figures["wordsim353_pairs"] == 10


def test_analogy_cli_and_unknown_words(trained, nnzoo_cli):
    code, out, err = nnzoo_cli("analogy", trained, "man", "woman", "king", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert len(res["answers"]) == 5 and all(a["word"] not in ("man", "woman", "king") for a in res["answers"])
    code, out, err = nnzoo_cli("analogy", trained, "man", "qwxzzy", "king")
    assert code == 2 and "qwxzzy" in err and len(err.strip().splitlines()) == 1
    code, out, err = nnzoo_cli("neighbours", trained, "paris", "--topn", "0")
    assert code == 2 and "--topn" in err


def test_vectors_export_round_trip(trained, nnzoo_cli, tmp_path):
    from nnzoo import runs
    from nnzoo.eval.embeddings import Vectors
    _, _, _, m = runs.load_run(trained)
    for binary in (False, True):
        f = tmp_path / f"v-{binary}"
        code, out, err = nnzoo_cli("vectors", trained, f, *(["--binary"] if binary else []))
        assert code == 0, err
        vec = Vectors.load(f)
        assert vec.words[0] == "the" and len(vec.words) == m.cfg.vocab_size
        # the binary format holds the float32 values themselves; the text one their printed digits
        assert np.allclose(vec.matrix, m.vectors().numpy(), rtol=0, atol=0 if binary else 1e-6)


def test_a_run_of_another_kind_is_refused(nnzoo_cli, tmp_path):
    code, out, err = nnzoo_cli("analogy", tmp_path / "nothing", "a", "b", "c")
    assert code == 2
    run = tmp_path / "cnn"
    code, _, err = nnzoo_cli("train", "mnist-mlp", "--out", run, "--quiet", "data=digits", "epochs=1",
                             "tensorboard=false", "stop_after=1")
    assert code == 0, err
    code, out, err = nnzoo_cli("neighbours", run, "paris")
    assert code == 2 and "no word vectors" in err


def test_exact_resume_with_one_thread(nnzoo_cli, tmp_path):
    torch.set_num_threads(1)
    try:
        straight = train_run(nnzoo_cli, tmp_path / "a")
        train_run(nnzoo_cli, tmp_path / "b", "stop_after=7")
        code, out, err = nnzoo_cli("train", "--resume", tmp_path / "b", "--quiet")
        assert code == 0, err
    finally:
        torch.set_num_threads(2)
    from safetensors.torch import load_file
    from nnzoo.train import checkpoint
    wa = load_file(str(checkpoint.latest(straight) / "model.safetensors"))
    wb = load_file(str(checkpoint.latest(tmp_path / "b") / "model.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_autograd_path_trains(nnzoo_cli, tmp_path):
    run = train_run(nnzoo_cli, tmp_path / "g", "fused=false", "epochs=1", "lr=0.025")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    loss = [r["value"] for r in rows if r["name"] == "loss_per_example" and r["split"] == "train"]
    assert loss[-1] < loss[0] and all(math.isfinite(v) for v in loss)


def test_bad_corpus_is_one_line(nnzoo_cli, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n !!! ,,, \n")
    code, out, err = nnzoo_cli("train", "english-word2vec-cbow", f"data={empty}", "--out", tmp_path / "r", "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1
    latin1 = tmp_path / "l1.txt"
    latin1.write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    code, out, err = nnzoo_cli("train", "english-word2vec-cbow", f"data={latin1}", "--out", tmp_path / "r2", "--quiet")
    assert code == 2 and "UTF-8" in err
    assert not (tmp_path / "r").exists() and not (tmp_path / "r2").exists()
