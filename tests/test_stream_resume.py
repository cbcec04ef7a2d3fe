"""Exact resume for every kind of training stream: N steps straight == killed by SIGKILL after the checkpoint of
step k, then resumed to N, bit-identical weights. The streams: a replay buffer filled by the model acting in a
random environment (steps without updates at first), the character LM reading contiguous streams with its
state carried between steps, translation's length buckets, and greedy layer-wise pretraining (killed inside
its second stage)."""
import os
import signal
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

import standin
import streams
from conftest import ROOT
from nnzoo.train import checkpoint

TESTS = ROOT / "tests"


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("standin")
    standin.make(root)
    return root


@pytest.fixture(autouse=True)
def _standin_data(data_root, monkeypatch):
    monkeypatch.setenv("NNZOO_DATA", str(data_root))


def weights(run):
    return load_file(str(checkpoint.latest(run) / "model.safetensors"))


def kill_at(case: str, total: int) -> int:
    # mid-epoch in the second half; for pretraining (3 layers + fine-tuning, 2 epochs each: 8 epochs of
    # steps) inside the second layer's stage
    return int(total * 0.4) + 1 if case == "deep-ae-pretraining" else total // 2 + 1


def killed_run(case: str, run, k: int) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, str(TESTS / "streams.py"), case, str(run), str(k),
                        str(torch.get_num_threads())], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == -signal.SIGKILL, p.stderr[-3000:]
    assert int(checkpoint.load_state(checkpoint.latest(run))["step"]) == k


@pytest.mark.parametrize("case", list(streams.CASES))
def test_killed_and_resumed_equals_straight(case, tmp_path):
    straight = streams.train(case, tmp_path / "straight")
    k = kill_at(case, straight.total_steps)
    killed_run(case, tmp_path / "resumed", k)
    if case == "deep-ae-pretraining":
        assert checkpoint.load_state(checkpoint.latest(tmp_path / "resumed"))["stage"] == "pretrain-layer2"
    done = streams.train(case, tmp_path / "resumed", resume=True)
    assert done.finished and done.step == straight.step
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[key], b[key]) for key in a), f"{case}: the resumed run drifted from the straight one"


@pytest.mark.parametrize("case", ["toy-replay", "charlm-carry-state"])
def test_the_stream_state_is_what_makes_it_exact(case, tmp_path, monkeypatch):
    """The control: the same kill and resume with the task's checkpointed state thrown away drifts, so the
    test above checks the state, not luck."""
    straight = streams.train(case, tmp_path / "straight")
    k = kill_at(case, straight.total_steps)
    killed_run(case, tmp_path / "resumed", k)
    from nnzoo.tasks.base import Task
    from nnzoo.tasks.charlm import Task as CharTask
    monkeypatch.setattr(streams.ToyReplayTask, "load_state_dict", Task.load_state_dict)
    monkeypatch.setattr(CharTask, "load_state_dict", Task.load_state_dict)
    streams.train(case, tmp_path / "resumed", resume=True)
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert not all(torch.equal(a[key], b[key]) for key in a)


def test_a_step_without_a_batch_updates_nothing(tmp_path):
    """The replay buffer's first LEARNING_STARTS - 1 steps carry no update: the weights stay as built."""
    run = streams.train("toy-replay", tmp_path / "r", extra=[f"stop_after={streams.LEARNING_STARTS - 1}"])
    assert not run.finished
    torch.manual_seed(0)  # the run's seed: the model as built
    fresh = streams.ToyQ()
    w = weights(tmp_path / "r")
    assert all(torch.equal(w[f"q.{k}"], v) for k, v in fresh.q.state_dict().items())
