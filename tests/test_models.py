import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from nnzoo import registry
from nnzoo.models.cnn import CNN, CNNConfig
from nnzoo.nn.conv import conv_out


@pytest.mark.parametrize("W,K,P,S", [(28, 5, 2, 1), (28, 3, 0, 1), (28, 3, 1, 2), (32, 5, 0, 1), (7, 3, 1, 2),
                                     (28, 2, 0, 2), (13, 4, 1, 3)])
def test_output_size_formula_matches_real_layers(W, K, P, S):
    conv = nn.Conv2d(1, 1, K, stride=S, padding=P)
    assert conv(torch.zeros(1, 1, W, W)).shape[-1] == conv_out(W, K, P, S) == (W - K + 2 * P) // S + 1
    pool = nn.MaxPool2d(K, stride=S, padding=min(P, K // 2))
    assert pool(torch.zeros(1, 1, W, W)).shape[-1] == conv_out(W, K, min(P, K // 2), S)


def test_formula_rejects_a_window_that_does_not_fit():
    with pytest.raises(ValueError, match="does not fit"):
        conv_out(3, 5)


@pytest.mark.parametrize("cfg", [CNNConfig(), CNNConfig(arch="lenet5"), CNNConfig(arch="resnet", channels=[8, 16]),
                                 CNNConfig(kernel=3, padding=0, stride=2, pool=1, channels=[4, 8, 16]),
                                 CNNConfig(in_shape=(3, 32, 32), arch="lenet5")])
def test_inferred_feature_shape_matches_forward(cfg):
    model = CNN(cfg).eval()
    feats = model.features(torch.zeros(2, *cfg.in_shape))
    assert tuple(feats.shape[1:]) == model.feature_shape
    assert model(torch.zeros(2, *cfg.in_shape)).shape == (2, cfg.n_classes)


def test_lenet5_has_the_classic_shape():
    m = CNN(CNNConfig(arch="lenet5"))
    assert m.feature_shape == (16, 5, 5)  # 28 -pad2-> 28 -pool-> 14 -conv5-> 10 -pool-> 5
    assert [l.out_features for l in m.head if isinstance(l, nn.Linear)] == [120, 84, 10]


def to_float64(batch):
    """Every floating tensor of a batch (a tensor, tuple, list or dict of them) in float64."""
    if isinstance(batch, torch.Tensor):
        return batch.double() if batch.is_floating_point() else batch
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_float64(b) for b in batch)
    if isinstance(batch, dict):
        return {k: to_float64(v) for k, v in batch.items()}
    return batch


NORMS = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.LayerNorm, nn.GroupNorm)
BIASED = (nn.Linear, nn.modules.conv._ConvNd)


def biased_layers_feeding_a_norm(model, batch) -> list[tuple[str, str]]:
    """(layer, norm) pairs where a linear or convolutional layer with a bias hands its output straight to a
    normalisation layer, found by running the loss: the norm's input is the very tensor the layer returned.
    The norm subtracts a mean over the layer's channels, the bias with it, so the bias's gradient is zero."""
    made, pairs, hooks = {}, [], []

    def remember(name):
        # keep the tensor itself as well as its id, so the id cannot be reused by another tensor
        return lambda mod, inp, out: made.__setitem__(id(out), (name, out))

    def check(name):
        return lambda mod, inp: pairs.append((made[id(inp[0])][0], name)) if id(inp[0]) in made else None

    for name, m in model.named_modules():
        if isinstance(m, BIASED) and m.bias is not None:
            hooks.append(m.register_forward_hook(remember(name)))
        elif isinstance(m, NORMS):
            hooks.append(m.register_forward_pre_hook(check(name)))
    try:
        model.train()
        for phase in model.phases(0):
            model.loss(batch) if phase is None else model.loss(batch, phase)
    finally:
        for h in hooks:
            h.remove()
    return pairs


def test_the_bias_check_finds_a_bias_before_a_norm():
    from nnzoo.models.base import Model

    class Bad(Model):
        def __init__(self):
            super().__init__()
            self.conv, self.norm = nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4)
            self.ok, self.ln = nn.Linear(4, 4, bias=False), nn.LayerNorm(4)

        def loss(self, x):
            h = self.norm(self.conv(x)).mean((2, 3))
            return {"loss": self.ln(self.ok(h)).sum()}
    assert biased_layers_feeding_a_norm(Bad(), torch.rand(2, 1, 5, 5)) == [("conv", "norm")]


@pytest.mark.parametrize("name", list(registry.MODELS))
class TestEveryModel:
    def _setup(self, name):
        torch.manual_seed(0)
        cfg = registry.tiny_config(name)
        model = registry.create_model(name, cfg)
        return model, registry.example_batch(name, cfg, 16)

    def test_declares_the_model_protocol(self, name):
        """Every registered model is a models.base.Model: the loop calls players / phases / after_step / stages
        without asking whether they exist, and every weight belongs to exactly one player."""
        from nnzoo.models.base import Model
        model, _ = self._setup(name)
        assert isinstance(model, Model)
        owned = [id(p) for params in model.players().values() for p in params]
        assert len(owned) == len(set(owned))
        trainable = {id(p) for p in model.parameters() if p.requires_grad}
        assert set(owned) == trainable
        assert all(phase is None or phase in model.players() for phase in model.phases(0))

    def test_shapes_and_loss_parts(self, name):
        model, batch = self._setup(name)
        out = model.loss(batch)
        assert out["loss"].ndim == 0 and torch.isfinite(out["loss"])
        if "logits" in out:  # classifiers: B, classes
            assert out["logits"].shape == (16, model.cfg.n_classes)

    def test_one_step_changes_every_weight(self, name):
        # in float64, so "changed" is clear of rounding: a gradient that is zero by construction comes out
        # near 1e-17 there (in float32 it is ~1e-9, which one CPU's rounding keeps and another's drops), while
        # the smallest real change in these tiny models is ~1e-6
        torch.set_default_dtype(torch.float64)
        try:
            model, batch = self._setup(name)
            batch = to_float64(batch)
            before = {k: v.detach().clone() for k, v in model.named_parameters()}
            model.train()
            opts = {n: torch.optim.SGD(list(p), lr=0.1) for n, p in model.players().items()}
            # an adversarial model updates each player in turn, as the training loop does
            for phase in model.phases(0):
                model.zero_grad()
                (model.loss(batch) if phase is None else model.loss(batch, phase))["loss"].backward()
                opts["model" if phase is None else phase].step()
                model.after_step(phase)  # as the loop does: e.g. a GAN's averaged generator follows
        finally:
            torch.set_default_dtype(torch.float32)
        assert all(p.dtype == torch.float64 for p in model.parameters())
        moved = {k: float((p.detach() - before[k]).abs().max()) for k, p in model.named_parameters()}
        assert [k for k, d in moved.items() if d < 1e-9] == []

    def test_no_bias_feeds_a_normalisation(self, name):
        model, batch = self._setup(name)
        assert biased_layers_feeding_a_norm(model, batch) == []

    def test_loss_falls_on_a_tiny_problem(self, name):
        # an adversarial model: each player's loss falls while it trains alone against the other, frozen
        for player in self._setup(name)[0].players():
            phase = None if player == "model" else player  # the one-loss model's player is "model"
            model, batch = self._setup(name)
            params = list(model.players()[player])
            opt = torch.optim.Adam(params, lr=1e-2)
            model.train()
            first = None
            for _ in range(60):
                loss = (model.loss(batch) if phase is None else model.loss(batch, phase))["loss"]
                first = first if first is not None else loss.item()
                model.zero_grad()
                loss.backward()
                opt.step()
            # against a frozen batch-normed critic a generator cannot move the batch's mean: a smaller drop
            assert loss.item() < (0.5 if phase in (None, "critic") else 0.8) * first, phase


def test_cross_entropy_golden_value():
    # L = -log(e^2 / (e^2 + e^1 + e^0)) = 0.40760596...
    m = registry.create_model("mlp", registry.tiny_config("mlp"))
    logits = torch.tensor([[2.0, 1.0, 0.0]])
    assert F.cross_entropy(logits, torch.tensor([0])).item() == pytest.approx(0.4076059644, abs=1e-6)
    # the model's loss is that same mean over the batch
    x = torch.rand(4, 1, 8, 8)
    y = torch.tensor([0, 1, 2, 3])
    out = m.loss((x, y))
    manual = -(out["logits"].log_softmax(1)[torch.arange(4), y]).mean()
    assert out["loss"].item() == pytest.approx(manual.item(), rel=1e-6)


def test_mlp_without_hidden_layers_is_logistic_regression():
    m = registry.create_model("mlp", registry.tiny_config("mlp"), hidden=[])
    assert [type(l).__name__ for l in m.net] == ["Flatten", "Linear"]


def test_char_lm_shapes_loss_and_bits():
    import math
    cfg = registry.tiny_config("char-lm")
    m = registry.create_model("char-lm", cfg).eval()
    x, y = registry.example_batch("char-lm", cfg, 4)
    logits, (h, c) = m(x)
    assert logits.shape == (4, cfg.seq_len, cfg.vocab_size) and h.shape == (cfg.layers, 4, cfg.hidden)
    out = m.loss((x, y))
    assert out["bits_per_char"].item() == pytest.approx(out["loss"].item() / math.log(2))
    # an untrained model is near uniform: about ln V nats per character
    assert abs(out["loss"].item() - math.log(cfg.vocab_size)) < 0.5
    slow = registry.create_model("char-lm", cfg, fast=False).eval()
    slow.load_state_dict(m.state_dict())
    assert torch.allclose(slow(x)[0], logits, atol=1e-5)  # fused and per-step paths agree


@pytest.mark.parametrize("recipe", list(registry.RECIPES))
def test_no_bias_feeds_a_normalisation_in_any_recipe(recipe):
    """The recipes' own settings reach branches the tiny configs skip (DCGAN's batch-normed layers, ...)."""
    r = registry.get_recipe(recipe)
    # SRGAN's feature loss reads a frozen classifier the task attaches: not part of the network checked here
    mcfg, _ = registry.resolve(r, {"feature_weight": "0"} if r.model == "srgan" else {})
    torch.manual_seed(0)
    model = registry.create_model(r.model, mcfg)
    assert biased_layers_feeding_a_norm(model, registry.example_batch(r.model, mcfg, 4)) == []
