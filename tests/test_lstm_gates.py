"""lstm-gates: labels from Python's tokenizer, the correlation search, and the experiment on a tiny run."""
import json

import numpy as np
import pytest
import torch

from nnzoo.experiments import lstm_gates as lg
from test_cli import one_error_line

SRC = 'def f(a):\n    s = "x(y"  # note (\n    return g([a, 1])\n'


def test_code_features_label_every_character():
    f = lg.code_features(SRC)
    assert all(len(v) == len(SRC) for v in f.values())
    at = lambda k, ch, nth=0: f[k][[i for i, c in enumerate(SRC) if c == ch][nth]]
    q = SRC.index('"x(y"')
    assert f["in_string"][q:q + 5].tolist() == [1] * 5 and f["in_string"][q - 1] == 0 and f["in_string"][q + 5] == 0
    # the ( inside the string and the one in the comment open nothing
    assert at("bracket_depth", "(", 0) == 1 and at("bracket_depth", ")", 0) == 1 and at("bracket_depth", ":") == 0
    assert at("bracket_depth", "[") == 2 and at("bracket_depth", "1") == 2 and at("bracket_depth", "]") == 2
    assert f["bracket_depth"][SRC.index('"x(y"') + 2] == 0
    assert f["bracket_depth"][-2] == 1 and f["bracket_depth"][-1] == 0  # the last ")" then the newline
    c = SRC.index("# note")
    assert f["in_comment"][c:c + 8].sum() == 8 and f["in_comment"][:c].sum() == 0
    assert f["indentation"][0] == 0 and f["indentation"][SRC.index("return")] == 4
    assert f["line_position"][SRC.index("return")] == 4 and f["line_position"][SRC.index("s =")] == 4
    assert lg.code_features("def f(:\n") is None  # the tokenizer's rejection is reported, not raised


def test_correlations_find_the_unit_that_copies_a_feature():
    g = torch.Generator().manual_seed(0)
    feat = torch.randn(500, generator=g).numpy()
    acts = torch.randn(500, 8, generator=g).numpy()
    acts[:, 5] = -3 * feat + 1  # unit 5 is an affine copy of the feature, sign flipped
    r = lg.correlations(acts, {"x": feat})["x"]
    assert r.shape == (8,) and r[5] == pytest.approx(-1.0, abs=1e-6)
    assert np.abs(np.delete(r, 5)).max() < 0.2
    assert lg.unit_name(300, 256) == "layer 1 unit 44"


@pytest.fixture(scope="module")
def code_run(tmp_path_factory):
    from nnzoo.cli import main
    root = tmp_path_factory.mktemp("gates")
    corpus = root / "code"
    corpus.mkdir()
    for i in range(10):
        (corpus / f"m{i}.py").write_text('def f(a):\n    return "s" + g(a, [1, 2])\n\n\n' * (20 + i))
    out = root / "run"
    assert main(["train", "pycode-lstm", f"data={corpus}", "--out", str(out), "--quiet", "hidden=16", "layers=2",
                 "embed=8", "seq_len=32", "batch_size=16", "epochs=1", "time_limit=0", "tensorboard=false"]) == 0
    return out


def test_experiment_reads_a_trained_run(nnzoo_cli, code_run, tmp_path, monkeypatch):
    monkeypatch.setattr(lg, "ANALYSED_CHARS", {True: 3000, False: 3000})
    code, out, _ = nnzoo_cli("experiment", "lstm-gates", "--quick", "--quiet", "--json", "--run", code_run,
                             "--out", tmp_path / "x")
    f = json.loads(out)
    assert code == 0 and f["analysed_characters"] == 3000 and f["units_searched"] == 32  # 2 layers x 16
    for k in lg.FEATURES:
        assert 0 <= f[f"{k}_best_cell_abs_correlation"] <= 1 and isinstance(f[f"{k}_unit_found"], bool)
    assert 0 <= f["forget_gate_right_saturated_percent"] <= 100
    assert all((tmp_path / "x" / i).stat().st_size > 10_000 for i in
               ("lstm_gates_text.png", "lstm_gates_heatmap.png", "lstm_gate_saturation.png"))


def test_experiment_refuses_runs_it_cannot_read(nnzoo_cli, code_run, tmp_path):
    one_error_line(*nnzoo_cli("experiment", "xor", "--run", code_run, "--out", tmp_path / "a"),
                   "does not read a trained run")
    cfg = json.loads((code_run / "config.json").read_text())
    gru = tmp_path / "gru"
    gru.mkdir()
    (gru / "config.json").write_text(json.dumps({**cfg, "model_config": {**cfg["model_config"], "cell": "gru"}}))
    import shutil
    shutil.copytree(code_run / "checkpoints", gru / "checkpoints")
    one_error_line(*nnzoo_cli("experiment", "lstm-gates", "--run", gru, "--out", tmp_path / "b"), "character LSTM")
