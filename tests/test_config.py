import dataclasses

import pytest

from nnzoo import config as C
from nnzoo import registry
from nnzoo.errors import UserError
from nnzoo.train.config import TrainConfig


def all_configs():
    return [TrainConfig] + [registry.model_classes(m)[1] for m in registry.MODELS]


@pytest.mark.parametrize("cls", all_configs(), ids=lambda c: c.__name__)
def test_every_field_has_a_docstring(cls):
    docs = C.field_docs(cls)
    missing = [f.name for f in dataclasses.fields(cls) if not docs.get(f.name)]
    assert missing == []


def test_overrides_are_typed():
    r = registry.get_recipe("mnist-cnn")
    m, t = registry.resolve(r, C.parse_overrides(
        ["seed=7", "epochs=3", "lr=0.01", "batch_size=64", "data=digits", "channels=[8,16]", "batchnorm=false"]))
    assert (t.seed, t.epochs, t.lr, t.batch_size, t.data) == (7, 3, 0.01, 64, "digits")
    assert m.channels == [8, 16] and m.batchnorm is False


def test_recipe_defaults_survive_overrides():
    r = registry.get_recipe("mnist-mlp")
    m, t = registry.resolve(r, {})
    assert m.hidden == [512, 512] and t.epochs == r.train["epochs"] and t.data == "mnist"


def test_unknown_key_lists_valid_ones():
    r = registry.get_recipe("mnist-cnn")
    with pytest.raises(UserError) as e:
        registry.resolve(r, {"epoch": "3"})
    msg = str(e.value)
    assert "'epoch'" in msg and "epochs" in msg and "channels" in msg


def test_bad_value_names_the_key():
    with pytest.raises(UserError, match="epochs='three'"):
        registry.resolve(registry.get_recipe("mnist-cnn"), {"epochs": "three"})


def test_prefixed_keys_pick_a_side():
    m, t = registry.resolve(registry.get_recipe("mnist-cnn"), {"model.dropout": "0.1", "train.lr": "0.5"})
    assert m.dropout == 0.1 and t.lr == 0.5


def test_create_model_rejects_unknown_key():
    with pytest.raises(UserError, match="valid keys"):
        registry.create_model("mlp", widht=3)


def test_unknown_recipe():
    with pytest.raises(UserError, match="unknown recipe 'mnist-cnnn'.*mnist-cnn"):
        registry.get_recipe("mnist-cnnn")


# -- declared validation: every key's type and rule are checked where it is parsed ----------------------------
def fields_of(kind):
    """(config class, field) for every field of that kind (float, int, list, ...) in every config."""
    return [pytest.param(cls, f, id=f"{cls.__name__}.{f.name}") for cls in all_configs()
            for f in dataclasses.fields(cls) if C._kind(f) == kind]


def choice_fields():
    return [pytest.param(cls, f, id=f"{cls.__name__}.{f.name}") for cls in all_configs()
            for f in dataclasses.fields(cls) if f.metadata.get(C.RULE) and f.metadata[C.RULE].choices is not None]


@pytest.mark.parametrize("cls", all_configs(), ids=lambda c: c.__name__)
def test_every_default_validates_and_every_number_has_a_rule(cls):
    C.validate(cls())
    # a number without a declared range would reach PyTorch unchecked (bools and free-form strings need none)
    unruled = [f.name for f in dataclasses.fields(cls) if C._kind(f) in ("int", "float", "list", "tuple")
               and not f.metadata.get(C.RULE)]
    assert unruled == []


@pytest.mark.parametrize("name", list(registry.MODELS))
def test_tiny_configs_validate(name):
    C.validate(registry.tiny_config(name))


@pytest.mark.parametrize("cls,f", fields_of("float"))
@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_non_finite_floats_are_refused(cls, f, bad):
    with pytest.raises(UserError, match=f"^{f.name}={bad} is not allowed: {f.name} must be .*finite"):
        C.replace(cls(), {f.name: float(bad)})
    # the same from a run's config.json (json reads NaN and Infinity), naming the file
    with pytest.raises(UserError, match=f"run/config.json: {f.name}={bad} is not allowed.*retrain"):
        C.from_dict(cls, {f.name: float(bad)}, source="run/config.json")


@pytest.mark.parametrize("cls,f", fields_of("list"))
def test_list_elements_are_checked(cls, f):
    default = getattr(cls(), f.name)
    bad = [float("nan")] * max(1, len(default))
    with pytest.raises(UserError, match=f"^{f.name}=\\[nan"):
        C.replace(cls(), {f.name: bad})
    with pytest.raises(UserError, match=f"^{f.name}='x' is not allowed: {f.name} must be a list"):
        C.replace(cls(), {f.name: "x"})


@pytest.mark.parametrize("cls,f", fields_of("int"))
def test_int_fields_refuse_bools_floats_and_strings(cls, f):
    for bad in (True, 2.5, "3"):
        with pytest.raises(UserError, match=f"^{f.name}=.* is not allowed: {f.name} must be "):
            C.replace(cls(), {f.name: bad})


@pytest.mark.parametrize("cls,f", fields_of("bool"))
def test_bool_fields_refuse_numbers(cls, f):
    with pytest.raises(UserError, match="must be true or false"):
        C.replace(cls(), {f.name: 1})


@pytest.mark.parametrize("cls,f", choice_fields())
def test_choice_fields_list_the_valid_names(cls, f):
    options = C._options(f.metadata[C.RULE])
    assert getattr(cls(), f.name) in options or f.metadata[C.RULE].joined
    with pytest.raises(UserError) as e:
        C.replace(cls(), {f.name: "nope"})
    msg = str(e.value)
    assert msg.startswith(f"{f.name}='nope' is not allowed: {f.name} must be one of ")
    assert all(C._show(o, quote=False) in msg for o in options)
    assert f"e.g. {f.name}=" in msg


def test_the_message_names_key_value_rule_doc_and_fix():
    with pytest.raises(UserError) as e:
        registry.resolve(registry.get_recipe("mnist-cnn"), {"lr": "nan"})
    assert str(e.value) == "lr=nan is not allowed: lr must be a finite number > 0 (Peak learning rate.); e.g. lr=0.001"


@pytest.mark.parametrize("key,value,needle", [
    ("lr", "-1", "lr=-1.0 is not allowed"), ("batch_size", "0", "batch_size=0"), ("batch_size", "-4", ">= 1"),
    ("epochs", "0", "epochs=0"), ("dropout", "1.5", "in [0, 1)"), ("dropout", "1", "dropout=1.0"),
    ("momentum", "1", "momentum=1.0"), ("betas", "[0.5]", "a list of 2 finite numbers in [0, 1)"),
    ("betas", "[0.5,1.2]", "betas=[0.5,1.2]"), ("warmup", "1", "in [0, 1)"), ("seed", "-1", "seed=-1"),
    ("activation", "swish", "relu"), ("arch", "vgg", "lenet5"), ("optimizer", "adamm", "rmsprop"),
    ("schedule", "exponential", "onecycle"), ("precision", "fp8", "bf16"), ("channels", "[16,0]", "integers >= 1"),
    ("padding", "-1", "padding=-1"), ("stop_after", "-1", "stop_after=-1"),
])
def test_bad_override_values(key, value, needle):
    with pytest.raises(UserError, match="is not allowed") as e:
        registry.resolve(registry.get_recipe("mnist-cnn"), {key: value})
    assert needle in str(e.value)


def test_layer_counts_are_held_to_their_docs():
    assert "1 to 3" in C.field_docs(registry.model_classes("char-lm")[1])["layers"]
    with pytest.raises(UserError, match=r"layers=4 is not allowed: layers must be an integer in \[1, 3\]"):
        registry.resolve(registry.get_recipe("shakespeare-lstm"), {"layers": "4"})
    with pytest.raises(UserError, match="layers=0"):
        registry.resolve(registry.get_recipe("translate-en-es"), {"layers": "0"})


def test_joined_choices_and_int_choices():
    cls = registry.model_classes("bilstm-classifier")[1]
    assert C.replace(cls(), {"pool": "max+mean+last"}).pool == "max+mean+last"
    with pytest.raises(UserError, match="or several joined by \\+"):
        C.replace(cls(), {"pool": "max+min"})
    sr = registry.model_classes("srgan")[1]
    assert C.replace(sr(), {"scale": 8}).scale == 8
    with pytest.raises(UserError, match="scale=3 is not allowed: scale must be one of 2, 4, 8"):
        C.replace(sr(), {"scale": 3})


def test_from_dict_checks_an_untrusted_file():
    cls = registry.model_classes("cnn")[1]
    assert C.from_dict(cls, {"in_shape": [1, 8, 8]}).in_shape == (1, 8, 8)  # JSON lists become the tuple
    with pytest.raises(UserError, match="f.json: in_shape=5 is not allowed: in_shape must be a list of 3 integers"):
        C.from_dict(cls, {"in_shape": 5}, source="f.json")
    with pytest.raises(UserError, match="f.json: in_shape=\\[1,0,8\\]"):
        C.from_dict(cls, {"in_shape": [1, 0, 8]}, source="f.json")
    with pytest.raises(UserError, match="not a JSON object"):
        C.from_dict(cls, [1, 2], source="f.json")
    with pytest.raises(UserError, match="epochs='3' is not allowed"):
        C.from_dict(TrainConfig, {"epochs": "3"})


@pytest.mark.parametrize("name", list(registry.RECIPES))
def test_every_recipe_and_its_quick_version_validate(name):
    import json
    r = registry.get_recipe(name)
    m, t = registry.resolve(r, {})
    C.validate(m), C.validate(t)
    # the tour passes the quick overrides as key=value strings
    m, t = registry.resolve(r, {k: v if isinstance(v, str) else json.dumps(v) for k, v in r.quick.items()})
    C.validate(m), C.validate(t)


def test_create_model_turns_a_models_value_error_into_one_line():
    # dcgan's own check of how keys fit together (sides that are multiples of 4) is a ValueError inside
    # the model; create_model says it as a UserError with the same message
    cfg = C.replace(registry.tiny_config("gan"), {"in_shape": (1, 6, 6)})
    with pytest.raises(UserError, match="dcgan needs image sides that are multiples of 4"):
        registry.create_model("gan", cfg)
    with pytest.raises(UserError, match="does not fit"):
        registry.create_model("cnn", registry.tiny_config("cnn"), kernel=9, padding=0)


def test_every_declared_optimizer_and_precision_is_one_the_engine_takes():
    import warnings

    import torch
    from nnzoo.train import optim
    from nnzoo.train.config import OPTIMIZERS, PRECISIONS
    from nnzoo.train.device import pick_precision
    p = [torch.nn.Parameter(torch.zeros(2))]
    for name in OPTIMIZERS:
        optim.make_optimizer(p, C.replace(TrainConfig(), {"optimizer": name}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fp16 on a CPU falls back to fp32 with a warning
        for name in PRECISIONS:
            pick_precision(name, torch.device("cpu"))


def test_config_and_models_import_only_leaf_modules():
    """config.py imports only errors; model files only torch, nn, config, errors and each other."""
    import ast
    from pathlib import Path
    src = Path(C.__file__).parent

    def relative_imports(path):
        out = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                dots = "." * node.level
                # `from .. import config` names the module in the alias
                out |= {dots + node.module} if node.module else {dots + a.name for a in node.names}
        return out
    assert relative_imports(src / "config.py") <= {".errors"}
    for f in (src / "models").glob("*.py"):
        for mod in relative_imports(f):
            assert mod.startswith("..nn") or mod in ("..config", "..errors") or not mod.startswith(".."), (f, mod)


def test_a_float_key_a_recipe_wrote_as_an_int_takes_a_fraction():
    """shakespeare-lstm writes time_limit=30 (an int) into a float field: time_limit=1.5 must still parse,
    and an int key still refuses a fraction."""
    from nnzoo import registry
    from nnzoo.config import parse_overrides
    recipe = registry.get_recipe("shakespeare-lstm")
    assert isinstance(recipe.train["time_limit"], int)
    assert registry.resolve(recipe, parse_overrides(["time_limit=1.5"]))[1].time_limit == 1.5
    with pytest.raises(UserError, match="epochs='1.5' is not a valid int"):
        registry.resolve(recipe, parse_overrides(["epochs=1.5"]))
