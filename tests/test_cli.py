"""Every user-mistake path ends in one line naming the problem and the fix, exit code 2, no traceback."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import FAST, LEARN, ROOT


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny digits run shared by the eval / predict tests."""
    from nnzoo.cli import main
    out = tmp_path_factory.mktemp("runs") / "digits"
    assert main(["train", "digits-cnn", "--out", str(out), "--quiet", *LEARN, "epochs=5"]) == 0
    return out


def one_error_line(code, out, err, *needles):
    assert code == 2
    lines = [l for l in err.strip().splitlines() if l]
    assert len(lines) == 1 and lines[0].startswith("nnzoo: error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0]


def test_list_shows_every_recipe(nnzoo_cli):
    code, out, _ = nnzoo_cli("list", "--json")
    rows = {r["recipe"]: r for r in json.loads(out)}
    assert {"mnist-cnn", "mnist-mlp", "digits-cnn"} <= set(rows)
    assert rows["mnist-cnn"]["data"] == "mnist" and rows["mnist-cnn"]["metric"] == "test_accuracy_percent"
    code, out, _ = nnzoo_cli("list", "mnist-cnn")
    assert "channels=[16, 32]" in out and "output channels" in out


def test_unknown_recipe(nnzoo_cli):
    one_error_line(*nnzoo_cli("train", "mnist-cnnn"), "unknown recipe 'mnist-cnnn'", "mnist-cnn")


def test_unknown_key(nnzoo_cli):
    one_error_line(*nnzoo_cli("train", "digits-cnn", "epoch=3"), "unknown key 'epoch'", "epochs")


def test_bad_value(nnzoo_cli):
    one_error_line(*nnzoo_cli("train", "digits-cnn", "lr=fast"), "lr='fast'")


def test_missing_data(nnzoo_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path / "empty"))
    one_error_line(*nnzoo_cli("train", "mnist-cnn", "--out", tmp_path / "r"), "nnzoo data install mnist")
    one_error_line(*nnzoo_cli("train", "digits-cnn", "data=nowhere"), "unknown data set 'nowhere'")


def test_eval_json_and_figures(nnzoo_cli, trained):
    code, out, _ = nnzoo_cli("eval", trained, "--json")
    figures = json.loads(out)
    assert code == 0 and figures["recipe"] == "digits-cnn"
    assert figures["test_accuracy_percent"] == pytest.approx(100 * figures["test_accuracy"], abs=0.01)
    assert figures["test_accuracy"] > 0.5 and figures["test_examples"] == 359
    for png in ("learning_curves", "confusion", "misclassified", "filters", "feature_maps"):
        assert (trained / f"{png}.png").stat().st_size > 1000


def test_eval_missing_run(nnzoo_cli, tmp_path):
    one_error_line(*nnzoo_cli("eval", tmp_path / "nope"), "does not exist")
    (tmp_path / "empty").mkdir()
    one_error_line(*nnzoo_cli("eval", tmp_path / "empty"), "not a run folder")


def test_corrupt_and_truncated_checkpoints(nnzoo_cli, trained, tmp_path):
    import shutil
    for how in ("truncate", "garbage", "state"):
        run = tmp_path / how
        shutil.copytree(trained, run)
        ck = run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()
        if how == "truncate":
            f = ck / "model.safetensors"
            f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
        elif how == "garbage":
            (ck / "model.safetensors").write_bytes(b"\x00" * 100)
        else:
            f = ck / "state.pt"
            f.write_bytes(f.read_bytes()[:50])
        one_error_line(*nnzoo_cli("eval", run), "corrupt or truncated")


def test_checkpoint_from_another_model(nnzoo_cli, trained, tmp_path):
    import shutil
    run = tmp_path / "other"
    shutil.copytree(trained, run)
    cfg = json.loads((run / "config.json").read_text())
    cfg["model_config"]["channels"] = [8, 8]
    (run / "config.json").write_text(json.dumps(cfg))
    one_error_line(*nnzoo_cli("eval", run), "does not fit this model")


def test_predict(nnzoo_cli, trained, tmp_path):
    from nnzoo.data import load_images
    s = load_images("digits")
    paths = []
    for i in range(4):
        p = tmp_path / f"d{i}.png"
        Image.fromarray((s.test_x[i, 0].numpy() * 255).astype(np.uint8)).save(p)
        paths.append(p)
    code, out, _ = nnzoo_cli("predict", trained, *paths, "--json")
    preds = json.loads(out)
    assert code == 0 and len(preds) == 4
    assert all(0 <= p["probability"] <= 1 and p["label"] in [str(c) for c in range(10)] for p in preds)
    assert sum(p["class"] == int(y) for p, y in zip(preds, s.test_y[:4])) >= 2


def test_predict_wrong_size_and_bad_file(nnzoo_cli, trained, tmp_path):
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "big.png")
    one_error_line(*nnzoo_cli("predict", trained, tmp_path / "big.png"), "32x32", "expects 8x8")
    (tmp_path / "x.png").write_bytes(b"not a png")
    one_error_line(*nnzoo_cli("predict", trained, tmp_path / "x.png"), "cannot read image")
    one_error_line(*nnzoo_cli("predict", trained, tmp_path / "missing.png"), "no such image file")


def test_resume_refuses_changed_settings(nnzoo_cli, trained):
    one_error_line(*nnzoo_cli("train", "--resume", trained, "lr=1"), "cannot change")


def test_out_dir_already_a_run(nnzoo_cli, trained):
    one_error_line(*nnzoo_cli("train", "digits-cnn", "--out", trained), "--resume")


def test_unknown_experiment(nnzoo_cli):
    one_error_line(*nnzoo_cli("experiment", "xorr"), "unknown experiment 'xorr'", "xor")


def test_help_explains_every_training_key():
    done = subprocess.run([sys.executable, "-m", "nnzoo", "train", "--help"], capture_output=True, text=True,
                          cwd=ROOT)
    from nnzoo.train.config import TrainConfig
    import dataclasses
    for f in dataclasses.fields(TrainConfig):
        assert f"{f.name}=" in done.stdout


def test_real_process_exit_code_and_stop_resume(tmp_path):
    """Through a real process: stop mid-run, then --resume to the end."""
    run = tmp_path / "r"
    cmd = [sys.executable, "-m", "nnzoo", "train", "digits-cnn", "--out", str(run), "--quiet", *FAST, "epochs=2",
           "stop_after=7"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and "stopped at step 7/" in done.stdout
    done = subprocess.run([sys.executable, "-m", "nnzoo", "train", "--resume", str(run), "--quiet"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads((run / "eval.json").read_text())["step"] == 40
    bad = subprocess.run([sys.executable, "-m", "nnzoo", "train", "nope"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_ctrl_c_checkpoints_and_resumes(tmp_path):
    """The first Ctrl-C finishes the step, writes a checkpoint and exits cleanly; --resume finishes the run."""
    import signal
    import time
    run = tmp_path / "r"
    cmd = [sys.executable, "-m", "nnzoo", "train", "digits-cnn", "--out", str(run), "--quiet", *FAST, "epochs=200"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (run / "metrics.jsonl").exists():
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped at step" in out and "--resume" in out
    state_step = int((run / "checkpoints" / "latest").read_text().strip().split("-")[1])
    assert 0 < state_step < 200 * 20
    # --resume picks up at that step (stopped again 5 steps later: 200 epochs would take minutes)
    done = subprocess.run([sys.executable, "-m", "nnzoo", "train", "--resume", str(run), "--quiet", "stop_after=5"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert f"stopped at step {state_step + 5}/" in done.stdout


def test_device_and_precision_flags(nnzoo_cli, tmp_path, monkeypatch):
    code, out, err = nnzoo_cli("train", "digits-cnn", "--out", tmp_path / "r", "--quiet", "--device", "cpu",
                               "--precision", "fp32", *FAST, "epochs=1")
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    assert code == 0 and cfg["train"]["device"] == "cpu" and cfg["train"]["precision"] == "fp32"
    one_error_line(*nnzoo_cli("train", "digits-cnn", "--device", "tpu", *FAST), "unknown device 'tpu'")
    # eval says what training ran with, since `auto` resolves per machine (bf16 where the CPU has bf16 units)
    f = json.loads(nnzoo_cli("eval", tmp_path / "r", "--json")[1].strip().splitlines()[-1])
    assert f["train_device"] == "cpu" and f["train_precision"] == "fp32"
    monkeypatch.setattr("nnzoo.train.device.cpu_has_bf16", lambda: True)
    assert nnzoo_cli("train", "digits-cnn", "--out", tmp_path / "b", "--quiet", "--device", "cpu", *FAST,
                     "epochs=1")[0] == 0
    f = json.loads(nnzoo_cli("eval", tmp_path / "b", "--json")[1].strip().splitlines()[-1])
    assert f["train_precision"] == "bf16"


def test_experiment_json_and_tour_report(nnzoo_cli, tmp_path):
    code, out, _ = nnzoo_cli("experiment", "xor", "--json", "--out", tmp_path / "x", "--quiet")
    fig = json.loads(out)
    assert code == 0 and fig["perceptron_accuracy"] <= 0.75 and fig["hidden2_accuracy"] == 1.0
    code, out, _ = nnzoo_cli("tour", "--only", "xor", "--out", tmp_path / "tour", "--quiet")
    html = (tmp_path / "tour" / "report.html").read_text()
    assert code == 0 and "experiment: xor" in html and "perceptron_accuracy" in html
    assert (tmp_path / "tour" / "experiment-xor" / "xor_decision_regions.png").stat().st_size > 1000
    one_error_line(*nnzoo_cli("tour", "--only", "nope", "--out", tmp_path / "t2"), "unknown tour item 'nope'")
