"""The algorithmic tasks (tasks/algorithmic.py): the sequences are what Graves et al. section 4 describes, the
stream resumes exactly, the keys are checked, and the report names its figures by task and size."""
import dataclasses

import pytest
import torch

from nnzoo import registry
from nnzoo.errors import UserError
from nnzoo.models.ntm import NTMConfig
from nnzoo.tasks.algorithmic import KINDS, Stream, Task, longest, stream_seed


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_copy_sequence_layout():
    x, y, mask = KINDS["copy"].make(4, 5, NTMConfig(bits=8), gen())
    assert x.shape == (4, 11, 9) and y.shape == (4, 11, 8) and mask.shape == (4, 11)
    assert torch.equal(y[:, 6:], x[:, :5, :8])  # the answer is the input, after the delimiter
    assert x[:, 5, 8].eq(1).all() and x[:, :5, 8].eq(0).all() and x[:, 6:].eq(0).all()  # one delimiter, then blank
    assert mask[:, :6].eq(0).all() and mask[:, 6:].eq(1).all()
    assert set(x[:, :5, :8].unique().tolist()) == {0.0, 1.0}


def test_repeat_copy_sequence_layout():
    keys = NTMConfig(bits=4, min_repeats=1, max_repeats=10)
    x, y, mask = KINDS["repeat-copy"].make(2, (3, 4), keys, gen())
    T = 3 + 1 + 4 * 3 + 1
    assert x.shape == (2, T, 6) and y.shape == (2, T, 5)
    seq = x[:, :3, :4]
    for r in range(4):  # the sequence four times, then the end marker on its own channel
        assert torch.equal(y[:, 4 + 3 * r:7 + 3 * r, :4], seq)
    assert y[:, -1, 4].eq(1).all() and y[:, :-1, 4].eq(0).all() and y[:, -1, :4].eq(0).all()
    # the repeat count, scaled by the mean and standard deviation of 1..10: (4 - 5.5) / sqrt(99 / 12)
    assert float(x[0, 3, 5]) == pytest.approx(-1.5 / (99 / 12) ** 0.5)
    assert mask[:, 4:].eq(1).all() and mask[:, :4].eq(0).all()


def test_associative_recall_answers_the_item_after_the_query():
    x, y, mask = KINDS["associative-recall"].make(50, 5, NTMConfig(bits=6), gen())
    items = x[:, :20].view(50, 5, 4, 8)  # 5 items of (delimiter, 3 vectors)
    assert items[:, :, 0, 6].eq(1).all() and items[:, :, 1:, 6:].eq(0).all()
    query = x[:, 21:24, :6]
    assert x[:, 20, 7].eq(1).all() and x[:, 24, 7].eq(1).all()  # the query between two query delimiters
    for b in range(50):
        q = [i for i in range(5) if torch.equal(items[b, i, 1:, :6], query[b])]
        assert q and q[0] < 4 and torch.equal(y[b, -3:], items[b, q[0] + 1, 1:, :6])
    assert mask[:, -3:].eq(1).all() and mask[:, :-3].eq(0).all()


def test_curriculum_widens_the_longest_length():
    assert longest(1, 20, 0, 0) == 20
    assert [longest(1, 20, 100, s) for s in (0, 49, 99, 500)] == [2, 11, 20, 20]


@dataclasses.dataclass
class FakeTrain:
    """The training keys the stream reads."""
    seed: int = 0
    batch_size: int = 8
    data: str = "copy"


def stream(kind="copy", seed=0, **keys):
    task = Task()
    data = task.load(FakeTrain(data=kind))
    mcfg = task.adapt(dataclasses.replace(NTMConfig(), **keys), data)
    return task, data, mcfg, FakeTrain(seed=seed)


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_stream_resumes_exactly(kind):
    task, data, _, tcfg = stream(kind, max_len=6, min_len=2)
    cpu = torch.device("cpu")
    first = [b for b, _ in zip(task.train_batches(data, None, tcfg, 0, 0, 1, cpu), range(7))]
    # a new task object (as after a restart) started at step 4 gives steps 4, 5, 6 again
    resumed = [b for b, _ in zip(Task().train_batches(data, None, tcfg, 4, 0, 1, cpu), range(3))]
    for a, b in zip(first[4:], resumed):
        assert all(torch.equal(u, v) for u, v in zip(a, b))
    # the steps differ from each other, and another seed makes another stream
    assert not torch.equal(first[0][0][:, :2], first[1][0][:, :2])
    other = next(Task().train_batches(data, None, type(tcfg)(seed=1), 0, 0, 1, cpu))
    assert not torch.equal(other[0][:, :2], first[0][0][:, :2])


def test_the_stream_draws_lengths_within_the_keys_and_splits_over_processes():
    task, data, _, tcfg = stream("copy", min_len=3, max_len=5)
    lengths = [(b[0].shape[1] - 1) // 2 for b, _ in zip(task.train_batches(data, None, tcfg, 0, 0, 1, "cpu"),
                                                         range(60))]
    assert set(lengths) == {3, 4, 5}
    whole = next(task.train_batches(data, None, tcfg, 9, 0, 1, "cpu"))
    halves = [next(task.train_batches(data, None, tcfg, 9, r, 2, "cpu")) for r in (0, 1)]
    assert torch.equal(whole[0][0::2], halves[0][0]) and torch.equal(whole[0][1::2], halves[1][0])
    assert stream_seed(0, 0, 1) != stream_seed(0, 1, 0) != stream_seed(1, 0, 0)


def test_adapt_sets_the_channels_and_checks_the_keys():
    for kind, dims in (("copy", (9, 8)), ("repeat-copy", (10, 9)), ("associative-recall", (8, 6))):
        bits = 6 if kind == "associative-recall" else 8
        _, _, mcfg, _ = stream(kind, bits=bits, min_len=2)
        assert (mcfg.in_dim, mcfg.out_dim) == dims
    with pytest.raises(UserError, match="min_len=9 is above max_len=4"):
        stream("copy", min_len=9, max_len=4)
    with pytest.raises(UserError, match="at least 2 items"):
        stream("associative-recall", min_len=1)
    with pytest.raises(UserError, match="not an algorithmic task; choose one of copy, repeat-copy"):
        Task().load(FakeTrain(data="mnist"))


def test_report_keys_name_the_task_and_size():
    torch.manual_seed(0)
    task = Task()
    cases = {"copy": ["copy_error_bits_per_seq_len20", "copy_error_bits_per_seq_len120"],
             "repeat-copy": ["repeat_copy_error_bits_per_seq_len10_rep10", "repeat_copy_error_bits_per_seq_len20_rep10",
                             "repeat_copy_error_bits_per_seq_len10_rep20"],
             "associative-recall": ["recall_error_bits_per_seq_items6", "recall_error_bits_per_seq_items18"]}
    for kind, keys in cases.items():
        data = Stream(KINDS[kind])
        cfg = NTMConfig(controller=8, memory_slots=8, memory_width=4, max_len=6 if kind == "associative-recall"
                        else 10 if kind == "repeat-copy" else 20, min_len=2)
        cfg = task.adapt(cfg, data)
        figures, arrays = task.test_report(registry.create_model("ntm", cfg), data, torch.device("cpu"))
        assert all(k in figures for k in keys), (kind, sorted(figures))
        prefix = keys[0].split("_error")[0]
        assert any(k.startswith(f"grid:{prefix}_") and k.endswith("_heads") for k in arrays)


def test_recipes_budget_the_copy_figure_in_sequences():
    """The copy figure's budget: at most 30,000 training sequences, and the LSTM trained as long."""
    for name in ("ntm-copy", "lstm-copy"):
        mcfg, tcfg = registry.resolve(registry.get_recipe(name), {})
        assert tcfg.epochs * (mcfg.epoch_sequences // tcfg.batch_size) * tcfg.batch_size <= 30_000
    assert registry.resolve(registry.get_recipe("ntm-copy"), {})[1] == registry.resolve(
        registry.get_recipe("lstm-copy"), {})[1]
