"""cnn-parameters: the lecture's one-layer arithmetic from real layers, the longest-chain depth, the table's counts
against the builders', and reading fashion-* run folders (made by hand here: nothing is trained)."""
import json

import pytest
import torch
import torch.nn as nn

from nnzoo import registry
from nnzoo.errors import UserError
from nnzoo.experiments import cnn_parameters as cp
from nnzoo.models.classic import macs, param_count

pytestmark = pytest.mark.usefixtures("one_thread")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# the papers' depths: AlexNet 8, VGG configs A/D/E 11/16/19, GoogLeNet "22 layers deep", ResNet-18/34/50
PAPER_DEPTH = {"alexnet": 8, "vgg11": 11, "vgg16": 16, "vgg19": 19, "googlenet": 22, "resnet18": 18,
               "resnet34": 34, "resnet50": 50}
# every conv and linear layer: GoogLeNet 3 stem convs + 9 inceptions x 6 + the classifier; ResNet-18 17
# convs on the main path + 3 projection shortcuts + fc; ResNet-50 49 + 4 + fc
WEIGHT_LAYERS = {"alexnet": 8, "vgg11": 11, "vgg16": 16, "vgg19": 19, "googlenet": 58, "resnet18": 21,
                 "resnet34": 37, "resnet50": 54}


def test_one_layer_arithmetic():
    f = cp.one_layer_counts()
    # 200 x 200 pixels, each to each of 40,000 units
    assert f["fc_parameters_200x200_to_40000"] == 200 * 200 * 40_000 == 1_600_000_000
    # 100 kernels of 5 x 5 on one grey channel
    assert f["conv_parameters_100_maps_5x5"] == 100 * 5 * 5 == 2_500
    assert f["fc_over_conv_parameters"] == 640_000
    # no padding: each map is (200 - 5 + 1)^2; every weight is used once per output position
    assert f["conv_hidden_units_100_maps_5x5"] == 100 * 196 * 196
    assert f["conv_macs_100_maps_5x5"] == 2_500 * 196 * 196
    assert f["fc_macs_200x200_to_40000"] == 1_600_000_000


class TwoBranches(nn.Module):
    """x -> (conv -> conv) + (conv) -> linear: the longest chain is 3 weight layers, there are 4."""

    def __init__(self):
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(2, 2, 3, padding=1))
        self.b = nn.Conv2d(1, 2, 1)
        self.fc = nn.Linear(2 * 4 * 4, 3)

    def forward(self, x):
        h = self.a(x)
        h += self.b(x)  # in place, as a residual block's sum may be
        return self.fc(torch.relu(h).flatten(1))


def test_depth_is_the_longest_chain_of_weight_layers():
    assert cp.depth(TwoBranches(), (1, 4, 4)) == 3 and cp.weight_layers(TwoBranches()) == 4
    chain = nn.Sequential(*[nn.Linear(5, 5) for _ in range(7)])
    assert cp.depth(chain, (5,)) == 7
    # batch normalisation, pooling and activations add no depth
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(2 * 3 * 3, 4))
    assert cp.depth(net, (1, 8, 8)) == 2
    net.train()
    cp.depth(net, (1, 8, 8))
    assert net.training  # the mode is given back


def test_the_table_is_the_builders_counts():
    rows = cp.imagenet_rows()
    assert list(rows) == list(cp.NAMES)
    for name, row in rows.items():
        with torch.device("meta"):
            model = registry.create_model(name)
        assert model.cfg.in_shape == (3, 224, 224)
        assert row["parameters"] == param_count(model), name
        assert row["macs"] == macs(model, (3, 224, 224)), name
        assert row["depth"] == PAPER_DEPTH[name], name
        assert row["weight_layers"] == WEIGHT_LAYERS[name], name
        top5, setting = row["paper_top5_error_percent"], row["paper_top5_setting"]
        assert (top5 is None or 3 < top5 < 20) and "table" in setting
    # the figures the lecture and the papers quote
    assert rows["resnet50"]["paper_top5_error_percent"] == 5.25 and "3.57 %" in rows["resnet50"]["paper_top5_setting"]
    assert rows["alexnet"]["paper_top5_error_percent"] == 15.3 and "16.4 %" in rows["alexnet"]["paper_top5_setting"]


def test_fashion_shapes_are_the_recipes_networks():
    shapes = cp.fashion_shapes()
    assert set(shapes) == {"alexnet", "vgg11", "googlenet", "resnet18"}
    r = registry.get_recipe("fashion-resnet18")
    mcfg, _ = registry.resolve(r, {})
    model = registry.create_model("resnet18", mcfg, in_shape=(1, 28, 28), n_classes=10)
    assert shapes["resnet18"]["parameters"] == param_count(model)
    assert shapes["resnet18"]["macs"] == macs(model, (1, 28, 28))
    assert shapes["resnet18"]["width"] == mcfg.width and shapes["resnet18"]["recipe"] == "fashion-resnet18"


def test_experiment_without_runs(tmp_path):
    res = cp.run(tmp_path / "x", progress=False)
    f = res["figures"]
    for key in ("fc_parameters_200x200_to_40000", "conv_parameters_100_maps_5x5", "parameters_resnet50",
                "macs_resnet50", "depth_googlenet", "weight_layers_resnet18", "paper_top5_error_percent_vgg16",
                "paper_top5_setting_alexnet", "fashion_parameters_resnet18", "fashion_macs_resnet18"):
        assert key in f, key
    assert f["parameters_resnet50"] == 25_557_032
    assert f["fashion_test_accuracy_percent_resnet18"] is None and f["fashion_train_images_per_second_resnet18"] is None
    assert "fashion_parameters_vgg16" not in f  # no fashion-* recipe trains VGG-16
    assert f["fashion_runs_read"] == 0
    assert "not measured" in res["summary"] and "1,600,000,000" in res["summary"]
    assert "not measured" in cp.table(cp.imagenet_rows(), cp.fashion_shapes(), {})
    (png,) = res["images"]
    assert (tmp_path / "x" / png).read_bytes()[:8] == PNG_MAGIC
    # quick is the same experiment
    assert cp.run(tmp_path / "q", quick=True, progress=False)["figures"] == f


def fake_run(folder, recipe_name, accuracy, steps, wall, epoch, evaluated=True):
    """A run folder as `nnzoo train` + `nnzoo eval` leave it, without training."""
    from nnzoo.train.loop import write_config
    recipe = registry.get_recipe(recipe_name)
    mcfg, tcfg = registry.resolve(recipe, {})
    folder.mkdir(parents=True)
    write_config(folder, recipe, mcfg, tcfg, {})
    (folder / "metrics.jsonl").write_text(
        json.dumps({"step": steps, "epoch": epoch, "split": "train", "name": "loss", "value": 0.3, "time": wall})
        + "\n")
    if evaluated:
        (folder / "eval.json").write_text(json.dumps({"recipe": recipe_name, "step": steps,
                                                      "train_wall_seconds": wall,
                                                      "test_accuracy_percent": accuracy}))
    return folder


def test_experiment_reads_fashion_runs(tmp_path):
    import os
    runs = tmp_path / "runs"
    old = fake_run(runs / "fashion-resnet18-a", "fashion-resnet18", 90.0, 100, 60.0, 0.2)
    os.utime(old / "eval.json", (1, 1))  # older than the next one
    fake_run(runs / "fashion-resnet18-b", "fashion-resnet18", 93.5, 4300, 1740.0, 10.0)
    fake_run(runs / "fashion-vgg11-a", "fashion-vgg11", 92.0, 1000, 1000.0, 2.3, evaluated=False)
    fake_run(runs / "digits-cnn-a", "digits-cnn", 98.0, 10, 1.0, 1.0)
    broken = fake_run(runs / "fashion-googlenet-a", "fashion-googlenet", 93.0, 10, 1.0, 1.0)
    (broken / "eval.json").write_text("{\"step\": 10")
    (runs / "not-a-run").mkdir()
    alex = fake_run(tmp_path / "elsewhere" / "alex", "fashion-alexnet", 91.0, 1280, 100.0, 3.0)
    res = cp.run(tmp_path / "x", progress=False, run_dir=f"{runs},{alex}")
    f = res["figures"]
    # the newest evaluated run of each architecture; images/s = steps x batch / wall seconds
    assert f["fashion_test_accuracy_percent_resnet18"] == 93.5
    assert f["fashion_train_images_per_second_resnet18"] == pytest.approx(4300 * 128 / 1740.0, abs=0.1)
    assert f["fashion_run_resnet18"].endswith("fashion-resnet18-b")
    assert f["fashion_test_accuracy_percent_alexnet"] == 91.0
    assert f["fashion_train_images_per_second_alexnet"] == pytest.approx(1280 * 128 / 100.0, abs=0.1)
    assert f["fashion_test_accuracy_percent_vgg11"] is None  # not evaluated: said, not read
    assert any("nnzoo eval" in n and "fashion-vgg11-a" in n for n in f["fashion_runs_passed_over"])
    assert any("digits-cnn" in n for n in f["fashion_runs_passed_over"])
    assert any("fashion-googlenet-a: eval.json is corrupt" in n for n in f["fashion_runs_passed_over"])
    assert f["fashion_test_accuracy_percent_googlenet"] is None
    assert f["fashion_runs_read"] == 2
    assert "93.50 % test accuracy" in res["summary"] and "10 epochs" in res["summary"]


def test_run_errors_are_one_line(tmp_path):
    with pytest.raises(UserError, match="no such folder"):
        cp.run(tmp_path / "x", progress=False, run_dir=str(tmp_path / "missing"))
    fake_run(tmp_path / "runs" / "d", "digits-cnn", 98.0, 10, 1.0, 1.0)
    with pytest.raises(UserError, match="no evaluated run of .* on fashion-mnist there"):
        cp.run(tmp_path / "x", progress=False, run_dir=str(tmp_path / "runs"))
    assert not (tmp_path / "x").exists()  # refused before anything is written


def test_cli_json(nnzoo_cli, tmp_path):
    code, out, err = nnzoo_cli("experiment", "cnn-parameters", "--quiet", "--json", "--out", tmp_path / "x")
    assert code == 0, err
    f = json.loads(out)
    assert f["experiment"] == "cnn-parameters" and f["conv_parameters_100_maps_5x5"] == 2500
    assert json.loads((tmp_path / "x" / "figures.json").read_text())["images"] == ["cnn_parameters.png"]
