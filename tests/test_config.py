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
