"""Character language model end to end on a small generated corpus (the real one is Shakespeare)."""
import dataclasses
import json

import pytest
import torch

from test_cli import one_error_line

TINY = ["hidden=32", "layers=1", "embed=16", "seq_len=32", "batch_size=16", "epochs=3", "lr=0.01",
        "tensorboard=false", "log_every=5", "schedule=constant"]


VERSE = "to be or not to be, that is the question.\n"


def write_corpus(folder, text: str, suffix: str = ".txt", repeats: int = 20):
    """Ten files of one repeated text (10 files, so validation and test can each hold whole ones out)."""
    folder.mkdir()
    for i in range(10):
        (folder / f"f{i}{suffix}").write_text(text * (repeats + i))
    return folder


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    from nnzoo.cli import main
    root = tmp_path_factory.mktemp("lm")
    corpus = write_corpus(root / "corpus", VERSE)
    out = root / "run"
    assert main(["train", "shakespeare-lstm", f"data={corpus}", "--out", str(out), "--quiet", *TINY]) == 0
    return out


def test_eval_reports_nats_and_bits(nnzoo_cli, lm_run):
    code, out, _ = nnzoo_cli("eval", lm_run, "--json")
    f = json.loads(out)
    assert code == 0 and f["recipe"] == "shakespeare-lstm"
    assert f["test_bits_per_char"] == pytest.approx(f["test_loss_nats_per_char"] / 0.6931, rel=1e-3)
    # a repeated sentence is easy: far below the uniform ln(V) ~ 2.9 nats
    assert f["test_loss_nats_per_char"] < 1.5
    assert isinstance(f["sample"], str) and len(f["sample"]) > 100


def test_sample(nnzoo_cli, lm_run):
    code, out, _ = nnzoo_cli("sample", lm_run, "--prime", "to be", "--length", "60", "--json")
    s = json.loads(out)
    assert code == 0 and s["text"].startswith("to be") and len(s["text"]) == 65
    code2, out2, _ = nnzoo_cli("sample", lm_run, "--prime", "to be", "--length", "60", "--json")
    assert out2 == out  # seeded


def test_sample_errors(nnzoo_cli, lm_run):
    one_error_line(*nnzoo_cli("sample", lm_run, "--prime", "Zebra!"), "not in the model's vocabulary")
    one_error_line(*nnzoo_cli("sample", lm_run, "--temperature", "0"), "temperature must be > 0")
    one_error_line(*nnzoo_cli("predict", lm_run, __file__), "nnzoo sample")


def test_empty_and_non_utf8_corpus(nnzoo_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    one_error_line(*nnzoo_cli("train", "shakespeare-lstm", f"data={tmp_path / 'empty'}"), "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    for i in range(3):
        (bad / f"{i}.txt").write_bytes(b"caf\xe9")
    one_error_line(*nnzoo_cli("train", "shakespeare-lstm", f"data={bad}"), "not UTF-8")


def test_first_function_and_parse():
    from nnzoo.tasks.charlm import first_function, parses
    s = "def f(x):\n    return x + 1\n\nclass A:\n    pass\n"
    assert first_function(s) == "def f(x):\n    return x + 1\n\n"
    assert parses(first_function(s))
    # a sample that stops mid-line keeps its complete lines: cut between statements, it still parses
    cut = "def g(a, b):\n    c = a * b\n    return c +"
    assert first_function(cut) == "def g(a, b):\n    c = a * b\n"
    assert parses(first_function(cut))
    # a method (body at 8 spaces) ends where the next method of its class starts (4 spaces)
    method = "def m(self):\n        x = 1\n\n        return x\n    def n(self):\n        pass\n"
    assert first_function(method) == "def m(self):\n        x = 1\n\n        return x\n"
    assert parses(first_function(method))
    assert not parses("def h(:\n    pass\n")
    assert not parses("def h():\n    return (1,\n")
    assert not parses("def h():\n    x = '\x00'\n")


def test_samples_side_by_side_are_seeded(lm_run):
    from nnzoo import runs
    from nnzoo.tasks.charlm import samples
    _, _, _, model = runs.load_run(lm_run)
    vocab = runs.read_config(lm_run)["vocab"]
    a = samples(model, vocab, "to", 40, 0.8, seed=1, n=5)
    assert len(a) == 5 and all(t.startswith("to") and len(t) == 42 for t in a)
    assert len(set(a)) > 1  # each row draws its own characters
    assert samples(model, vocab, "to", 40, 0.8, seed=1, n=5) == a


def test_python_corpus_reports_the_share_of_sampled_functions_that_parse(nnzoo_cli, tmp_path):
    corpus = write_corpus(tmp_path / "code", "def add(a, b):\n    return a + b\n\n\n", ".py", repeats=30)
    out = tmp_path / "run"
    assert nnzoo_cli("train", "pycode-lstm", f"data={corpus}", "--out", out, "--quiet", *TINY, "epochs=4")[0] == 0
    code, text, _ = nnzoo_cli("eval", out, "--json")
    f = json.loads(text)
    assert code == 0 and f["sampled_functions"] == 500 and f["sampled_function_length_chars"] == 500
    # one function repeated: a model that learnt it writes functions Python parses
    assert f["sampled_functions_ast_parse_percent"] > 50
    assert f["sample_function_that_parses"].startswith("def ")


@pytest.mark.parametrize("streams", [1, 3])
def test_stream_loss_carries_the_state_across_windows(streams):
    """Reading a held-out stream window by window with the state carried is the same as reading each piece in
    one pass: the windows' cuts cost nothing (and the per-window zero-state reading is worse)."""
    import torch
    import torch.nn.functional as F

    from nnzoo.models.rnn_lm import CharLM, tiny
    from nnzoo.tasks.charlm import Task
    torch.manual_seed(0)
    model = CharLM(tiny()).eval()  # seq_len 16
    ids = torch.randint(1, 12, (3 * 16 * 5 + 1 + 7,))
    got = Task().stream_loss(model, ids, torch.device("cpu"), streams=streams)
    L = (len(ids) - 1) // streams
    with torch.no_grad():
        logits, _ = model(ids[:streams * L].view(streams, L))  # one pass per piece, no cuts
    want = F.cross_entropy(logits.reshape(-1, 12), ids[1:streams * L + 1].view(streams, L).reshape(-1))
    assert got == pytest.approx(float(want), rel=1e-5)


def test_lstm_forget_bias_starts_the_forget_gates_open():
    from nnzoo.models.rnn_lm import CharLM, CharLMConfig
    torch.manual_seed(0)
    cfg = CharLMConfig(vocab_size=10, embed=4, hidden=6, layers=2, forget_bias=1.0)
    m = CharLM(cfg)
    for cells in m.rnn.cells:
        for cell in cells:
            b = cell.bias_ih + cell.bias_hh  # 4H in PyTorch's gate order i, f, g, o
            assert torch.allclose(b[6:12], torch.ones(6))
            assert not torch.allclose(b[:6], torch.zeros(6))  # the other gates keep PyTorch's random init
    # the fused kernel reads the same parameters: both paths agree, so training sees the new bias
    x = torch.randint(0, 10, (3, 5))
    slow = CharLM(dataclasses.replace(cfg, fast=False))
    slow.load_state_dict(m.state_dict())
    m.eval(), slow.eval()
    with torch.no_grad():
        assert torch.allclose(m(x)[0], slow(x)[0], atol=1e-5)
    torch.manual_seed(0)
    plain = CharLM(dataclasses.replace(cfg, forget_bias=0.0))
    c = plain.rnn.cells[0][0]
    assert not torch.allclose((c.bias_ih + c.bias_hh)[6:12], torch.ones(6))


def test_carry_state_batches_read_each_stream_on_where_the_last_step_stopped():
    """carry_state: batch row b of step i+1 starts where row b of step i ended, from the state `observe` kept;
    every window stays inside the text whatever the epoch's phase, and only an epoch's first step starts the
    streams afresh. Without it: shuffled windows, no state."""
    from types import SimpleNamespace

    from nnzoo.tasks.charlm import Task
    from nnzoo.train.config import TrainConfig
    task, T, B = Task(), 8, 4
    tcfg = TrainConfig(batch_size=B, seed=3)
    data = SimpleNamespace(train=torch.arange(1000), seq_len=T, carry_state=True)
    n = task.train_size(data)
    assert n == 999 // T - 1  # one window left over for the phase
    S = task.epoch(data, tcfg, 1).steps
    assert S == n // B
    stream = task.train_batches(data, None, tcfg, 0, 0, 1, torch.device("cpu"))
    phases = set()
    for epoch in range(6):
        prev = None
        for i in range(S):
            x, y, carried = next(stream)
            assert x.shape == (B, T) and torch.equal(y, x + 1)  # in bounds: the text is 0, 1, 2, ...
            assert (carried is None) == (i == 0)  # the state of the step before, except at an epoch's start
            if prev is not None:
                assert torch.equal(x[:, 0], prev[:, -1])  # the next character after the last target
            else:
                phases.add(int(x[0, 0]) % T)
            prev = y
            task.observe([{"loss": torch.tensor(0.0), "state": torch.full((1, B, 2), float(i))}])
            assert task.state_dict()["carried"][0, 0, 0] == i
    assert len(phases) > 1 and phases <= set(range(T))  # the cuts move from epoch to epoch
    # a stream started at step k (a resumed run) gives the batches the straight stream gave at step k
    again = task.train_batches(data, None, tcfg, S + 2, 0, 1, torch.device("cpu"))
    straight = task.train_batches(data, None, tcfg, 0, 0, 1, torch.device("cpu"))
    for _ in range(S + 2):
        next(straight)
    assert torch.equal(next(again)[0], next(straight)[0])
    # two processes split the streams between them
    halves = [next(task.train_batches(data, None, tcfg, 1, r, 2, torch.device("cpu")))[0] for r in (0, 1)]
    whole = next(task.train_batches(data, None, tcfg, 1, 0, 1, torch.device("cpu")))[0]
    assert torch.equal(torch.cat([halves[0], halves[1]])[[0, 2, 1, 3]], whole)
    plain = SimpleNamespace(train=torch.arange(1000), seq_len=T, carry_state=False)
    batch = next(Task().train_batches(plain, None, tcfg, 0, 0, 1, torch.device("cpu")))
    assert len(batch) == 2 and batch[0].shape == (B, T)


def test_carry_state_continues_from_the_detached_final_state():
    """Two consecutive windows read with carry_state give the same logits as one pass over both, and the
    second window's loss does not back-propagate into the first (truncated BPTT)."""
    from nnzoo.models.rnn_lm import CharLM, tiny
    torch.manual_seed(0)
    model = CharLM(tiny())  # seq_len 16, no dropout
    ids = torch.randint(1, 12, (2, 33))
    x1, y1, x2, y2 = ids[:, :16], ids[:, 1:17], ids[:, 16:32], ids[:, 17:33]
    first = model.loss((x1, y1, None))
    assert first["state"] is not None and not first["state"][0].requires_grad
    out = model.loss((x2, y2, first["state"]))
    with torch.no_grad():
        logits, _ = model(ids[:, :32])
    want = torch.nn.functional.cross_entropy(logits[:, 16:].reshape(-1, 12), y2.reshape(-1))
    assert float(out["loss"].detach()) == pytest.approx(float(want), rel=1e-5)
    fresh = model.loss((x2, y2, None))  # an epoch's first step: from a zero state, so a different loss
    assert float(fresh["loss"].detach()) != pytest.approx(float(want), rel=1e-5)
    model.loss((x1[:1], y1[:1], first["state"]))  # another batch size cannot continue: starts afresh
    assert "state" not in model.loss((x1, y1))  # without carry_state nothing goes back to the stream


def test_carry_state_training_learns(nnzoo_cli, tmp_path):
    corpus = write_corpus(tmp_path / "corpus", VERSE)
    out = tmp_path / "run"
    assert nnzoo_cli("train", "shakespeare-gru", f"data={corpus}", "--out", out, "--quiet", *TINY,
                     "carry_state=true")[0] == 0
    f = json.loads(nnzoo_cli("eval", out, "--json")[1])
    assert f["test_loss_nats_per_char"] < 1.5
