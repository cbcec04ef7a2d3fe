"""Every registered recipe and experiment, exercised without anyone writing a test for it: each recipe's quick
configuration trains two steps on tiny stand-in data (tests/standin.py) from an empty data folder, and
`nnzoo eval --json` must report its headline metric under the key the recipe documents; each experiment
runs in its quick setting and returns figures and pictures."""
import json
import math

import pytest

import standin
from nnzoo import registry
from nnzoo.experiments.catalog import EXPERIMENTS


@pytest.fixture(scope="module")
def standin_data(tmp_path_factory):
    from nnzoo.data.store import is_installed, mnist_dir
    real = mnist_dir() if is_installed("mnist") else None  # read before NNZOO_DATA moves
    root = tmp_path_factory.mktemp("standin-data")
    mp = pytest.MonkeyPatch()
    about = standin.make(root, real)
    mp.setenv("NNZOO_DATA", str(root))
    from nnzoo.tasks import generate
    mp.setattr(generate, "N_SAMPLES", 1000)  # a GAN's report draws 10,000 samples; the keys are what is tested
    yield about
    mp.undo()


def quick_overrides(recipe, about) -> list[str]:
    out = [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in recipe.quick.items()]
    if recipe.data == "pycode":  # the code model reads this Python's standard library: a few modules instead
        out.append(f"data={about['pycode']}")
    return out


@pytest.mark.parametrize("name", list(registry.RECIPES))
def test_recipe_trains_two_steps_and_reports_its_headline(name, standin_data, nnzoo_cli, tmp_path):
    recipe = registry.get_recipe(name)
    run = tmp_path / "run"
    code, out, err = nnzoo_cli("train", name, "--out", run, "--quiet", *quick_overrides(recipe, standin_data),
                               "stop_after=2", "tensorboard=false")
    assert code == 0, err
    code, out, err = nnzoo_cli("eval", run, "--json")
    assert code == 0, err
    figures = json.loads(out)
    assert figures["step"] == 2
    value = figures.get(recipe.metric)
    assert isinstance(value, (int, float)) and math.isfinite(value), (recipe.metric, value)


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_experiment_runs_in_its_quick_setting(name, standin_data, nnzoo_cli, tmp_path):
    code, out, err = nnzoo_cli("experiment", name, "--quick", "--quiet", "--json", "--out", tmp_path / "x")
    assert code == 0, err
    figures = json.loads(out)
    assert figures["experiment"] == name and len(figures) > 2
    res = json.loads((tmp_path / "x" / "figures.json").read_text())
    assert res["images"] and all((tmp_path / "x" / i).stat().st_size > 1000 for i in res["images"])


@pytest.mark.parametrize("name", list(registry.TASKS))
def test_a_task_defines_exactly_the_verbs_it_declares(name):
    """`verbs` is what the CLI trusts: every verb listed is defined by the task, and no verb is defined but
    left unlisted (the CLI would refuse it)."""
    from nnzoo.tasks.base import VERBS, Task
    task = registry.get_task(name)
    defined = {v for v in VERBS if getattr(type(task), v) is not getattr(Task, v)}
    assert defined == set(task.verbs)


def test_an_unanswered_verb_is_one_user_line():
    from nnzoo.errors import UserError
    task = registry.get_task("reconstruct")
    with pytest.raises(UserError, match="mnist-ae run, not a translation run; translate with a run of"):
        task.translate(None, {"recipe": "mnist-ae"}, "hello")
