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
    (trained / "confusion.png").unlink()
    nnzoo_cli("eval", trained, "--no-write")
    assert not (trained / "confusion.png").exists()  # --no-write leaves the folder as it was
    code, out, _ = nnzoo_cli("eval", trained, "--json")  # and a plain eval redraws the pictures
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


# -- bad values stop at the door: one line, exit 2, nothing written --------------------------------------------
def png_header(w, h):
    """A tiny PNG whose header claims w x h pixels (its data is a few bytes: decoding it would need w*h)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("overrides,needles", [
    (["lr=nan"], ["lr=nan is not allowed", "finite number > 0", "e.g. lr="]),
    (["lr=-0.1"], ["lr=-0.1 is not allowed"]),
    (["lr=1e999"], ["lr=inf is not allowed"]),
    (["batch_size=0"], ["batch_size=0", ">= 1"]),
    (["batch_size=-4"], ["batch_size=-4"]),
    (["dropout=1.5"], ["dropout=1.5", "[0, 1)"]),
    (["activation=swish"], ["activation='swish'", "leaky-relu", "e.g. activation=relu"]),
    (["arch=vgg"], ["arch='vgg'", "lenet5", "resnet"]),
    (["optimizer=adamm"], ["optimizer='adamm'", "adamw"]),
    (["epochs=0"], ["epochs=0"]),
    (["betas=[0.5,NaN]"], ["betas=[0.5,nan] is not allowed"]),
    (["channels=[32,-1]"], ["channels=[32,-1]", "integers >= 1"]),
])
def test_bad_values_are_one_line(nnzoo_cli, tmp_path, overrides, needles):
    out = tmp_path / "r"
    one_error_line(*nnzoo_cli("train", "digits-cnn", "--out", out, *overrides), *needles)
    assert not out.exists()


def test_more_layers_than_documented(nnzoo_cli):
    code, out, _ = nnzoo_cli("list", "shakespeare-lstm")
    assert "(1 to 3)" in out
    one_error_line(*nnzoo_cli("train", "shakespeare-lstm", "layers=4"), "layers=4", "[1, 3]")


def test_argparse_mistakes_are_one_line(nnzoo_cli, trained):
    one_error_line(*nnzoo_cli("sample", trained, "--length", "many"), "--length", "invalid int", "--help")
    one_error_line(*nnzoo_cli("train", "digits-cnn", "--precision", "fp8"), "fp8", "bf16")
    one_error_line(*nnzoo_cli("eval"), "required")
    one_error_line(*nnzoo_cli("eval", trained, "--bogus"), "unrecognized arguments: --bogus")


@pytest.mark.parametrize("args,needles", [
    (["--length", "-1"], ["--length must be 1 or more", "got -1"]),
    (["--length", "0"], ["--length must be", "got 0"]),
    (["--temperature", "0"], ["temperature must be > 0", "got 0.0"]),
    (["--temperature", "nan"], ["--temperature must be > 0 and finite", "got nan"]),
    (["--temperature", "inf"], ["--temperature", "got inf"]),
    (["--n", "0"], ["--n must be 1 or more", "got 0"]),
    (["--seed", "-1"], ["--seed must be 0 or more", "got -1"]),
])
def test_sample_arguments(nnzoo_cli, trained, args, needles):
    one_error_line(*nnzoo_cli("sample", trained, *args), *needles)


def test_translate_beam_and_kind_of_run(nnzoo_cli, trained):
    one_error_line(*nnzoo_cli("translate", trained, "God saw the light.", "--beam", "0"), "--beam must be", "got 0")
    one_error_line(*nnzoo_cli("translate", trained, "God saw the light."), "not a translation run")


def test_sentences_that_are_not_utf8():
    """A sentence holding bytes the locale could not decode (surrogate escapes in sys.argv) is refused."""
    from nnzoo.errors import UserError
    from nnzoo.tasks import sentiment, translate
    bad = "a good \udcff film"
    with pytest.raises(UserError, match="not valid UTF-8"):
        sentiment.Task().predict(None, None, {"words": ["<pad>", "<unk>", "good"]}, ["fine", bad])
    doc = {"source_words": ["<pad>", "<bos>", "<eos>", "<unk>", "god"], "target_words": ["<pad>"] * 4}
    with pytest.raises(UserError, match="not valid UTF-8"):
        translate.Task().translate(None, doc, bad, beam=1)


def test_undecodable_arguments_still_make_one_line(nnzoo_cli, trained):
    # an image run given an argument with a surrogate escape: the error line itself must be printable
    one_error_line(*nnzoo_cli("predict", trained, "caf\udcff.png"), "no such image file", "\\udcff")


def test_image_headers_claiming_huge_sizes(nnzoo_cli, trained, tmp_path):
    for side in (30000, 5000):
        f = tmp_path / f"bomb{side}.png"
        f.write_bytes(png_header(side, side))
        one_error_line(*nnzoo_cli("predict", trained, f), f"bomb{side}.png",
                       "than nnzoo reads (16,777,216 pixels)")
    code, out, err = nnzoo_cli("predict", trained, tmp_path / "bomb5000.png")
    assert "5000x5000" in err


@pytest.mark.parametrize("how,needles", [
    ("latin1", ["not UTF-8", "not a run folder written by nnzoo"]),
    ("list", ["JSON array, not an object"]),
    ("no-train", ["no 'train' key", "not a run folder written by nnzoo"]),
    ("no-model", ["no 'model' key"]),
    ("model-config-list", ["'model_config' is a JSON array"]),
    ("recipe-number", ["'recipe' is a JSON number"]),
    ("unknown-model", ["model 'resnet-9000' is not one nnzoo knows"]),
    ("nan-lr", ["config.json: lr=nan is not allowed", "retrain"]),
    ("bad-channels", ["config.json: channels='wide' is not allowed"]),
    ("unknown-key", ["unknown key 'colour'"]),
])
@pytest.mark.parametrize("command", ["eval", "predict", "sample", "resume"])
def test_untrusted_config_json(nnzoo_cli, trained, tmp_path, how, needles, command):
    run = tmp_path / "run"
    run.mkdir()
    doc = json.loads((trained / "config.json").read_text())
    text = None
    if how == "latin1":
        text = (trained / "config.json").read_text().replace('"digits-cnn"', '"digits-cnn-\xe9"').encode("latin-1")
    elif how == "list":
        doc = [doc]
    elif how.startswith("no-"):
        del doc[how[3:]]
    elif how == "model-config-list":
        doc["model_config"] = [1, 2]
    elif how == "recipe-number":
        doc["recipe"] = 7
    elif how == "unknown-model":
        doc["model"] = "resnet-9000"
    elif how == "nan-lr":
        doc["train"]["lr"] = float("nan")  # json writes NaN, which json (and so nnzoo) reads back
    elif how == "bad-channels":
        doc["model_config"]["channels"] = "wide"
    elif how == "unknown-key":
        doc["model_config"]["colour"] = "red"
    (run / "config.json").write_bytes(text if text is not None else json.dumps(doc).encode())
    args = {"eval": ["eval", run], "predict": ["predict", run, "x.png"], "sample": ["sample", run],
            "resume": ["train", "--resume", run]}[command]
    one_error_line(*nnzoo_cli(*args), "config.json", *needles)


@pytest.mark.parametrize("command", [["train", "digits-cnn", *FAST], ["experiment", "xor", "--quick"],
                                     ["tour", "--only", "xor"]])
def test_out_names_an_existing_file(nnzoo_cli, tmp_path, command):
    f = tmp_path / "notes.txt"
    f.write_text("keep me\n")
    one_error_line(*nnzoo_cli(*command, "--out", f), "notes.txt is a file, not a folder")
    one_error_line(*nnzoo_cli(*command, "--out", f / "sub"), "notes.txt is a file")
    assert f.read_text() == "keep me\n" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def snapshot(folder):
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def test_no_bad_command_changes_a_run_folder(nnzoo_cli, trained, tmp_path, monkeypatch):
    before = snapshot(trained)
    assert "config.json" in before and "eval.json" in before and any(k.startswith("checkpoints/") for k in before)
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"not a png")
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header(30000, 30000))
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "big.png")
    bad = [
        (["train", "--resume", trained, "lr=1"], "cannot change"),
        (["train", "--resume", trained, "stop_after=-1"], "stop_after=-1 is not allowed"),
        (["train", "--resume", trained, "precision=fp8"], "precision='fp8' is not allowed"),
        (["train", "--resume", trained, "--device", "tpu"], "unknown device 'tpu'"),
        (["train", "--resume", trained / "config.json"], "is a file, not a run folder"),
        (["train", "digits-cnn", "--out", trained, "lr=nan"], "lr=nan"),
        (["train", "digits-cnn", "--out", trained, "batch_size=0"], "batch_size=0"),
        (["train", "digits-cnn", "--out", trained], "already holds a run"),
        (["predict", trained, garbage], "cannot read image"),
        (["predict", trained, bomb], "than nnzoo reads"),
        (["predict", trained, tmp_path / "big.png"], "expects 8x8"),
        (["predict", trained, "caf\udcff"], "no such image file"),
        (["sample", trained, "--length", "-1"], "--length must be"),
        (["sample", trained, "--temperature", "nan"], "--temperature must be"),
        (["sample", trained], "generates nothing"),
        (["translate", trained, "God saw the light."], "not a translation run"),
        (["experiment", "xor", "--out", trained], "holds a training run"),
        (["tour", "--only", "xor", "--out", trained], "holds a training run"),
    ]
    for args, needle in bad:
        one_error_line(*nnzoo_cli(*args), needle)
        assert snapshot(trained) == before, args
    # eval with data of another shape than the run was trained on: refused before eval.json is rewritten
    from nnzoo.data import vision
    monkeypatch.setitem(vision.IMAGE_DATASETS, "digits", vision.load_digits28)
    one_error_line(*nnzoo_cli("eval", trained), "trained on (1, 8, 8) inputs", "(1, 28, 28)")
    assert snapshot(trained) == before
