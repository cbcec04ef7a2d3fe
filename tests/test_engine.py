import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from conftest import FAST, LEARN, ROOT
from nnzoo import registry
from nnzoo.config import parse_overrides
from nnzoo.errors import TrainingDiverged
from nnzoo.train import checkpoint
from nnzoo.runs import train as fit


def setup(*extra):
    recipe = registry.get_recipe("digits-cnn")
    mcfg, tcfg = registry.resolve(recipe, parse_overrides(FAST + list(extra)))
    return recipe, mcfg, tcfg


def weights(run):
    return load_file(str(checkpoint.latest(run) / "model.safetensors"))


def metrics(run):
    return [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]


def test_same_seed_same_metrics(tmp_path):
    for name in ("a", "b"):
        fit(tmp_path / name, *setup("epochs=2", "seed=3"))
    strip = lambda ms: [(m["step"], m["split"], m["name"], m["value"]) for m in ms]
    assert strip(metrics(tmp_path / "a")) == strip(metrics(tmp_path / "b"))
    wa, wb = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    fit(tmp_path / "c", *setup("epochs=2", "seed=4"))
    assert strip(metrics(tmp_path / "c")) != strip(metrics(tmp_path / "a"))


def test_resume_gives_the_same_weights(tmp_path):
    straight = fit(tmp_path / "straight", *setup("epochs=2"))
    n = straight.step
    assert n > 10
    recipe, mcfg, tcfg = setup("epochs=2", f"stop_after={n // 2 + 3}")  # stops mid-epoch
    part = fit(tmp_path / "resumed", recipe, mcfg, tcfg)
    assert not part.finished and part.step == n // 2 + 3
    tcfg.stop_after = 0
    done = fit(tmp_path / "resumed", recipe, mcfg, tcfg, resume=True)
    assert done.finished and done.step == n
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed run drifted from the straight one"


def test_channels_last_trains_in_that_layout_to_the_same_weights(tmp_path, monkeypatch):
    """channels_last=true keeps the conv kernels NHWC through the run (checked at each checkpoint) and trains
    to the weights of the default layout up to rounding; the checkpoint loads either way."""
    layouts = []
    save = checkpoint.save

    def spy(run_dir, model, *args):
        kernels = [p for p in model.parameters() if p.dim() == 4 and p.size(1) > 1]  # 1 channel: both layouts
        layouts.append(bool(kernels) and all(p.is_contiguous(memory_format=torch.channels_last) for p in kernels))
        return save(run_dir, model, *args)

    monkeypatch.setattr(checkpoint, "save", spy)
    fit(tmp_path / "nhwc", *setup("epochs=1", "precision=fp32", "channels_last=true"))
    assert layouts and all(layouts)
    layouts.clear()
    fit(tmp_path / "nchw", *setup("epochs=1", "precision=fp32"))
    assert layouts and not any(layouts)
    a, b = weights(tmp_path / "nhwc"), weights(tmp_path / "nchw")
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], rtol=1e-3, atol=1e-4) for k in a)


def test_checkpoint_layout(tmp_path):
    fit(tmp_path / "r", *setup("epochs=1"))
    ck = checkpoint.latest(tmp_path / "r")
    w = load_file(str(ck / "model.safetensors"), device="cpu")
    assert not any(k.startswith(("module.", "_orig_mod.", "model.")) for k in w)
    state = torch.load(ck / "state.pt", weights_only=True)
    assert {"players", "rng", "step"} <= set(state)
    assert set(state["players"]["model"]) == {"optimizer", "scheduler", "scaler"}
    assert not list((tmp_path / "r" / "checkpoints").glob(".*")), "temporary files left behind"
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    assert cfg["recipe"] == "digits-cnn" and cfg["model_config"]["in_shape"] == [1, 8, 8]
    recs = metrics(tmp_path / "r")
    assert {"step", "epoch", "split", "name", "value", "time"} <= set(recs[0])
    assert {("train", "loss"), ("train", "lr"), ("val", "loss"), ("val", "accuracy")} <= {
        (m["split"], m["name"]) for m in recs}


def test_tensorboard_events_written(tmp_path):
    fit(tmp_path / "r", *setup("epochs=1", "tensorboard=true"))
    assert list((tmp_path / "r" / "tb").glob("events.out.tfevents.*"))


def test_nan_loss_stops_with_step_and_keeps_last_checkpoint(tmp_path, monkeypatch):
    recipe, mcfg, tcfg = setup("epochs=3")
    fit(tmp_path / "r", recipe, mcfg, tcfg)  # a finished, good run
    good = weights(tmp_path / "r")
    from nnzoo.models.cnn import CNN
    calls = {"n": 0}
    real = CNN.loss

    def poisoned(self, batch):
        calls["n"] += 1
        out = real(self, batch)
        if calls["n"] == 7:
            out["loss"] = out["loss"] * float("nan")
        return out
    monkeypatch.setattr(CNN, "loss", poisoned)
    with pytest.raises(TrainingDiverged, match="at step 7 .*last good checkpoint"):
        fit(tmp_path / "bad", recipe, mcfg, tcfg)
    assert not (tmp_path / "bad" / "checkpoints").exists()
    assert all(torch.equal(good[k], v) for k, v in weights(tmp_path / "r").items())


def test_loss_falls_and_accuracy_rises(tmp_path):
    res = fit(tmp_path / "r", *setup("epochs=6", *LEARN[len(FAST):]))
    train = [m["value"] for m in metrics(tmp_path / "r") if m["split"] == "train" and m["name"] == "loss"]
    assert train[-1] < 0.5 * train[0]
    assert res.val["accuracy"] > 0.8


def test_schedules_and_optimizers_by_name(tmp_path):
    for opt, sched in [("sgd", "cosine"), ("momentum", "step"), ("adamw", "constant"), ("rmsprop", "onecycle")]:
        r = fit(tmp_path / f"{opt}-{sched}", *setup("epochs=1", f"optimizer={opt}", f"schedule={sched}",
                                                   "warmup=0.1", "grad_clip=1.0"))
        assert r.finished


def test_two_process_distributed_training(tmp_path):
    """torchrun with 2 CPU processes (gloo): trains, and only rank 0 writes."""
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           "-m", "nnzoo", "train", "digits-cnn", "--out", str(out), "--quiet", *LEARN, "epochs=4"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    ev = json.loads((out / "eval.json").read_text())
    assert ev["test_accuracy"] > 0.6
    assert sum(1 for m in metrics(out) if m["split"] == "val" and m["name"] == "accuracy") == 4  # one writer


def test_precision_choice_and_fallback(monkeypatch):
    from nnzoo.train import device as D
    cpu = torch.device("cpu")
    assert D.pick_precision("fp32", cpu) is None
    monkeypatch.setattr(D, "cpu_has_bf16", lambda: False)
    assert D.pick_precision("auto", cpu) is None
    with pytest.warns(UserWarning, match="no bf16 units"):
        assert D.pick_precision("bf16", cpu) is None
    with pytest.warns(UserWarning, match="fp16 autocast is not supported"):
        assert D.pick_precision("fp16", cpu) is None
    monkeypatch.setattr(D, "cpu_has_bf16", lambda: True)
    assert D.pick_precision("bf16", cpu) is torch.bfloat16
    with pytest.raises(Exception, match="unknown precision"):
        D.pick_precision("fp8", cpu)


def test_bf16_autocast_trains(tmp_path, monkeypatch):
    """The bf16 path runs end to end (emulated on a CPU without bf16 units: slow but correct)."""
    from nnzoo.train import loop
    monkeypatch.setattr(loop, "pick_precision", lambda name, dev: torch.bfloat16)
    res = fit(tmp_path / "r", *setup("epochs=2", *LEARN[len(FAST):]))
    train = [m["value"] for m in metrics(tmp_path / "r") if m["split"] == "train" and m["name"] == "loss"]
    assert res.finished and train[-1] < train[0]
    w = weights(tmp_path / "r")
    assert all(v.dtype == torch.float32 for v in w.values() if v.is_floating_point())  # master weights stay fp32


def test_device_choice():
    from nnzoo.errors import UserError
    from nnzoo.train.device import pick_device
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA GPU"):
            pick_device("cuda")
    with pytest.raises(UserError, match="unknown device"):
        pick_device("tpu")


def test_train_subset_limits_steps(tmp_path):
    res = fit(tmp_path / "r", *setup("epochs=2", "train_subset=256"))
    assert res.total_steps == 2 * (256 // 64)


def test_time_limit_ends_the_run_with_the_lr_annealed(tmp_path):
    # 1,000 epochs would take minutes; a 1-second budget must end the run, checkpointed and validated
    res = fit(tmp_path / "r", *setup("epochs=1000", "time_limit=0.0167", "schedule=cosine", "log_every=1"))
    assert res.finished and 0 < res.step == res.total_steps < 1000
    assert 0.9 < res.wall < 5.0
    lrs = [m["value"] for m in metrics(tmp_path / "r") if m["name"] == "lr"]
    assert lrs[0] > 0.5 * 3e-3 and lrs[-1] < 0.05 * 3e-3  # cosine by the clock: from the peak to ~0
    assert any(m["split"] == "val" for m in metrics(tmp_path / "r"))
    assert int(checkpoint.latest(tmp_path / "r").name.split("-")[1]) == res.step


def test_time_limit_refuses_onecycle(tmp_path):
    from nnzoo.errors import UserError
    with pytest.raises(UserError, match="time_limit"):
        fit(tmp_path / "r", *setup("epochs=2", "time_limit=1", "schedule=onecycle"))
