"""Every model, task and recipe family, one line each; models and tasks imported lazily (experiments: their own
table, experiments/catalog.py, above the run folders they read).

Adding a model is one file in `models/` and one line in MODELS; a recipe is one `Recipe` in its family's
module under `recipes/` (RECIPE_MODULES lists them; RECIPES gathers them in that order).
Nothing else in nnzoo switches on a model's name.
"""
from __future__ import annotations

import importlib
from typing import Any

from . import config as C
from .errors import UserError
from .recipes import Recipe

# name -> "module:ModuleClass:ConfigClass"
MODELS = {
    "mlp": "nnzoo.models.mlp:MLP:MLPConfig",
    "cnn": "nnzoo.models.cnn:CNN:CNNConfig",
    "char-lm": "nnzoo.models.rnn_lm:CharLM:CharLMConfig",
    "bilstm-classifier": "nnzoo.models.bilstm_classifier:BiLSTMClassifier:BiLSTMClassifierConfig",
    "seq2seq": "nnzoo.models.seq2seq:Seq2Seq:Seq2SeqConfig",
    "autoencoder": "nnzoo.models.autoencoder:Autoencoder:AutoencoderConfig",
    "conv-autoencoder": "nnzoo.models.conv_autoencoder:ConvAutoencoder:ConvAutoencoderConfig",
    "vae": "nnzoo.models.vae:VAE:VAEConfig",
    "swap-autoencoder": "nnzoo.models.swap_autoencoder:SwapAutoencoder:SwapAutoencoderConfig",
    "gan": "nnzoo.models.gan:GAN:GANConfig",
    "pix2pix": "nnzoo.models.pix2pix:Pix2Pix:Pix2PixConfig",
    "srgan": "nnzoo.models.srgan:SRGAN:SRConfig",
    "cyclegan": "nnzoo.models.cyclegan:CycleGAN:CycleGANConfig",
    "word2vec": "nnzoo.models.word2vec:Word2Vec:Word2VecConfig",
    "memn2n": "nnzoo.models.memn2n:MemN2N:MemN2NConfig",
    "entnet": "nnzoo.models.entnet:EntNet:EntNetConfig",
    "ntm": "nnzoo.models.ntm:NTM:NTMConfig",
    "seq-lstm": "nnzoo.models.ntm:SeqLSTM:SeqLSTMConfig",
    "alexnet": "nnzoo.models.alexnet:AlexNet:AlexNetConfig",
    "vgg11": "nnzoo.models.vgg:VGG:VGGConfig",
    "vgg16": "nnzoo.models.vgg:VGG:VGG16Config",
    "vgg19": "nnzoo.models.vgg:VGG:VGG19Config",
    "googlenet": "nnzoo.models.googlenet:GoogLeNet:GoogLeNetConfig",
    "resnet18": "nnzoo.models.resnet:ResNet:ResNetConfig",
    "resnet34": "nnzoo.models.resnet:ResNet:ResNet34Config",
    "resnet50": "nnzoo.models.resnet:ResNet:ResNet50Config",
    "dqn": "nnzoo.models.dqn:DQN:DQNConfig",
    "alphago-policy": "nnzoo.models.alphago:AlphaGoPolicy:AlphaGoPolicyConfig",
    "captioner": "nnzoo.models.captioner:Captioner:CaptionerConfig",
    "s2vt": "nnzoo.models.s2vt:S2VT:S2VTConfig",
    "video-classifier": "nnzoo.models.video_classifier:VideoClassifier:VideoClassifierConfig",
}

# name -> module with a `Task` class: what data a family reads, how it is batched, evaluated and pictured
TASKS = {
    "classify": "nnzoo.tasks.classify",
    "charlm": "nnzoo.tasks.charlm",
    "sentiment": "nnzoo.tasks.sentiment",
    "translate": "nnzoo.tasks.translate",
    "reconstruct": "nnzoo.tasks.reconstruct",
    "swap": "nnzoo.tasks.swap",
    "generate": "nnzoo.tasks.generate",
    "paired": "nnzoo.tasks.paired",
    "cycle": "nnzoo.tasks.cycle",
    "word2vec": "nnzoo.tasks.word2vec",
    "babi": "nnzoo.tasks.babi",
    "algorithmic": "nnzoo.tasks.algorithmic",
    "rl": "nnzoo.tasks.rl",
    "go": "nnzoo.tasks.go",
    "caption": "nnzoo.tasks.caption",
    "video": "nnzoo.tasks.video",
}

# family modules under `recipes/`, each a `RECIPES = [Recipe(...), ...]` list; this order is `nnzoo list`'s
# and the tour's
RECIPE_MODULES = (
    "nnzoo.recipes.classify",
    "nnzoo.recipes.charlm",
    "nnzoo.recipes.sentiment",
    "nnzoo.recipes.translate",
    "nnzoo.recipes.reconstruct",
    "nnzoo.recipes.generate",
    "nnzoo.recipes.paired",
    "nnzoo.recipes.swap",
    "nnzoo.recipes.cycle",
    "nnzoo.recipes.word2vec",
    "nnzoo.recipes.babi",
    "nnzoo.recipes.algorithmic",
    "nnzoo.recipes.rl",
    "nnzoo.recipes.go",
    "nnzoo.recipes.caption",
)


def _gather_recipes(modules) -> dict[str, Recipe]:
    """name -> Recipe over every family module, in order; a name declared twice is an error at import."""
    recipes, home = {}, {}
    for m in modules:
        for r in importlib.import_module(m).RECIPES:
            if r.name in recipes:
                raise ValueError(f"recipe {r.name!r} is declared twice: in {home[r.name]} and in {m}")
            recipes[r.name], home[r.name] = r, m
    return recipes


RECIPES = _gather_recipes(RECIPE_MODULES)


def _load(spec: str):
    mod, *names = spec.split(":")
    m = importlib.import_module(mod)
    return [getattr(m, n) for n in names] if names else m


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise UserError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)} (see `nnzoo list`)")
    return RECIPES[name]


def model_classes(name: str):
    if name not in MODELS:
        raise UserError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return _load(MODELS[name])


def model_config(name: str, values: dict[str, Any], source: str = ""):
    """A model's config from its JSON form (a run's config.json: `source` names the file in errors)."""
    _, cfg_cls = model_classes(name)
    return C.from_dict(cfg_cls, values, source) if values else cfg_cls()


def create_model(name: str, cfg=None, **overrides):
    """Build a registered model from its config plus overrides (unknown keys rejected with the valid list)."""
    module_cls, cfg_cls = model_classes(name)
    cfg = C.replace(cfg if cfg is not None else cfg_cls(), overrides)
    try:
        return module_cls(cfg)
    except ValueError as e:
        # a model's own check of how its keys fit together (dcgan needs sides that are multiples of 4, a
        # window that does not fit the image): a user mistake, said in one line
        raise UserError(str(e)) from None


def get_task(name: str):
    return _load(TASKS[name]).Task()


def tiny_config(name: str):
    """The module's seconds-fast config for tests. A depth variant registered as a config subclass (vgg16:
    VGG16Config) gets its module's tiny(), at the module's own depth: the deep plain VGG-19 at tiny width
    does not reliably fit test_models' 16 random labels in 60 Adam steps at lr 1e-2 (0.70 of its first loss
    for one seed); tests/test_classic_cnns.py builds each depth with `tiny(ConfigClass)` for the checks that
    do not train it."""
    module_cls, _ = model_classes(name)
    return importlib.import_module(module_cls.__module__).tiny()


def example_batch(name: str, cfg, n: int = 16):
    """A random batch of the shape the model's loss() takes (each model file says how), for tests."""
    module_cls, _ = model_classes(name)
    return importlib.import_module(module_cls.__module__).example_batch(cfg, n)


def resolve(recipe: Recipe, overrides: dict[str, str]):
    """Recipe + flat `key=value` overrides -> (model config, train config). A key is looked up among the
    training fields first, then the model's; `model.KEY` / `train.KEY` force one side."""
    from .train.config import resolve as resolve_configs
    _, cfg_cls = model_classes(recipe.model)
    return resolve_configs(recipe, cfg_cls, overrides)
