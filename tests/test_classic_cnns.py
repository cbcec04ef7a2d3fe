"""The classic ImageNet CNNs (AlexNet, VGG, GoogLeNet, ResNet): exact layer tables, checked against the
parameter counts and multiply-adds torchvision publishes, their small-input variants, and their input check.

ImageNet-sized networks are built on the meta device: shapes and counts without allocating ~0.5 GB of VGG."""
import importlib

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from nnzoo import registry
from nnzoo.errors import UserError
from nnzoo.models import alexnet, googlenet, resnet, vgg
from nnzoo.models.classic import macs, param_count, scaled
from test_models import biased_layers_feeding_a_norm, to_float64

pytestmark = pytest.mark.usefixtures("one_thread")

NAMES = ["alexnet", "vgg11", "vgg16", "vgg19", "googlenet", "resnet18", "resnet34", "resnet50"]

# torchvision's published counts for its ImageNet models (GoogLeNet without the auxiliary heads)
TORCHVISION_PARAMS = {"alexnet": 61_100_840, "vgg11": 132_863_336, "vgg16": 138_357_544, "vgg19": 143_667_240,
                      "googlenet": 6_624_904, "resnet18": 11_689_512, "resnet34": 21_797_672,
                      "resnet50": 25_557_032}
# published multiply-adds per 3x224x224 image, in G (torchvision's "GFLOPS" column counts multiply-adds)
PUBLISHED_GMACS = {"alexnet": 0.71, "vgg16": 15.5, "googlenet": 1.50, "resnet18": 1.82, "resnet50": 4.1}


def on_meta(name, **overrides):
    with torch.device("meta"):
        return registry.create_model(name, **overrides)


def tiny_of(name):
    """The module's tiny() with this name's own config class, so that each depth is built (the every-model
    tests in test_models.py see one config per module)."""
    module_cls, cfg_cls = registry.model_classes(name)
    return importlib.import_module(module_cls.__module__).tiny(cfg_cls)


def test_every_name_is_registered():
    assert set(NAMES) <= set(registry.MODELS)


@pytest.mark.parametrize("name", NAMES)
def test_parameter_counts_are_torchvision_s(name):
    model = on_meta(name)
    assert model.cfg.in_shape == (3, 224, 224) and model.cfg.n_classes == 1000
    assert param_count(model) == TORCHVISION_PARAMS[name]


def test_variant_parameter_counts():
    # the 2012 two-GPU AlexNet: grouped conv2/4/5, 96-256-384-384-256 kernels (the paper's "60 million")
    assert param_count(on_meta("alexnet", two_tower=True, lrn=True)) == 60_965_224
    # GoogLeNet with its two auxiliary heads, as torchvision's aux_logits=True
    assert param_count(on_meta("googlenet", aux_classifiers=True)) == 13_004_888
    # batch-normed VGG-16: each conv's bias (one per channel) gives way to a scale and a shift (two)
    channels = 2 * 64 + 2 * 128 + 3 * 256 + 6 * 512
    assert param_count(on_meta("vgg16", batch_norm=True)) == 138_357_544 + channels
    # the depths are table 1's: 8 / 13 / 16 convolutions for 11 / 16 / 19 layers, 3 fully connected
    for name, convs in (("vgg11", 8), ("vgg16", 13), ("vgg19", 16)):
        model = on_meta(name)
        assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == convs
        assert sum(isinstance(m, nn.Linear) for m in model.modules()) == 3


@pytest.mark.parametrize("name", sorted(PUBLISHED_GMACS))
def test_multiply_adds_match_the_published_figures(name):
    assert macs(on_meta(name), (3, 224, 224)) / 1e9 == pytest.approx(PUBLISHED_GMACS[name], rel=0.05)


def test_macs_counts_multiply_adds_and_keeps_the_mode():
    layer = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 5 * 5, 4))
    layer.train()
    # conv: 3 out x 2 in x 9 taps x 25 positions; linear: 75 x 4
    assert macs(layer, (2, 5, 5)) == 3 * 2 * 9 * 25 + 75 * 4
    assert layer.training


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("side", [224, 227, 97])
def test_feature_side_formula_matches_the_layers(name, side):
    """Each module's size arithmetic (which the input check uses) against the real layers, on meta."""
    model = on_meta(name, in_shape=(3, side, side))
    module = importlib.import_module(type(model).__module__)
    feats = model.features(torch.empty(2, 3, side, side, device="meta"))
    assert feats.shape[-2:] == (module.feature_side(model.cfg, side),) * 2
    assert model(torch.empty(2, 3, side, side, device="meta")).shape == (2, 1000)


def test_imagenet_maps_are_the_tables():
    # AlexNet: 256 @ 6x6 before fc6; VGG: 512 @ 7x7; GoogLeNet: 1024 @ 7x7; ResNet-50: 2048 @ 7x7
    for name, shape in (("alexnet", (256, 6, 6)), ("vgg16", (512, 7, 7)), ("googlenet", (1024, 7, 7)),
                        ("resnet18", (512, 7, 7)), ("resnet50", (2048, 7, 7))):
        feats = on_meta(name).features(torch.empty(1, 3, 224, 224, device="meta"))
        assert tuple(feats.shape[1:]) == shape, name


@pytest.mark.parametrize("name,side", [("alexnet", 2), ("vgg16", 2), ("googlenet", 2), ("resnet18", 2),
                                       ("resnet50", 2)])
def test_small_input_variants_on_fashion_mnist_shapes(name, side):
    model = registry.create_model(name, in_shape=(1, 28, 28), n_classes=10, small_input=True).eval()
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert model.features(x).shape[-2:] == (side, side)
        logits = model(x)
        feats = model.penultimate(x)
    assert logits.shape == (2, 10)
    assert feats.shape == (2, model.classifier.in_features)
    assert torch.allclose(model.classifier(feats), logits, atol=1e-5)
    # the ImageNet stem would shrink a 28x28 image to nothing: the builder says so
    with pytest.raises(UserError, match="small_input=true"):
        registry.create_model(name, in_shape=(1, 28, 28), n_classes=10)


@pytest.mark.parametrize("name,small,smallest", [
    ("resnet50", False, 32), ("resnet18", True, 16), ("vgg11", False, 32), ("vgg19", True, 16),
    ("googlenet", False, 32), ("googlenet", True, 16), ("alexnet", False, 63), ("alexnet", True, 15)])
def test_too_small_an_input_names_the_smallest_size(name, small, smallest):
    on_meta(name, in_shape=(3, smallest, smallest), small_input=small)  # the smallest builds
    bad = smallest - 1
    module_cls, cfg_cls = registry.model_classes(name)
    with pytest.raises(ValueError, match=f"^{name} needs images of at least {smallest}x{smallest} .*got "
                                         f"{bad}x{smallest}"):
        module_cls(cfg_cls(in_shape=(3, bad, smallest), small_input=small))
    # through the registry it is a user mistake: one line
    with pytest.raises(UserError, match=f"at least {smallest}x{smallest}"):
        on_meta(name, in_shape=(3, smallest, bad), small_input=small)


def test_resnet50_at_16x16_is_refused():
    with pytest.raises(ValueError, match=r"resnet50 needs images of at least 32x32 .*got 16x16"):
        resnet.ResNet(resnet.ResNet50Config(in_shape=(3, 16, 16)))


@pytest.mark.parametrize("name", NAMES)
def test_every_depth_trains_one_step_in_float64(name):
    """What test_models checks of the module's tiny(), for each name's own depth: every weight moves in one
    step, no biased layer feeds a norm, the loss is finite and the logits are B x classes."""
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)
    try:
        cfg = tiny_of(name)
        model = registry.create_model(name, cfg)
        batch = to_float64(registry.example_batch(name, cfg, 8))
        assert biased_layers_feeding_a_norm(model, batch) == []
        before = {k: v.detach().clone() for k, v in model.named_parameters()}
        model.train()
        out = model.loss(batch)
        assert out["logits"].shape == (8, 10) and torch.isfinite(out["loss"])
        out["loss"].backward()
        torch.optim.SGD(model.parameters(), lr=0.1).step()
    finally:
        torch.set_default_dtype(torch.float32)
    still = [k for k, p in model.named_parameters() if float((p.detach() - before[k]).abs().max()) < 1e-9]
    assert still == []


def test_each_name_builds_its_depth():
    assert [tiny_of(n).depth for n in ("vgg11", "vgg16", "vgg19", "resnet18", "resnet34", "resnet50")] == \
        [11, 16, 19, 18, 34, 50]
    blocks = {n: {type(m).__name__ for m in registry.create_model(n, tiny_of(n)).modules()}
              for n in ("resnet18", "resnet34", "resnet50")}
    assert "BasicBlock" in blocks["resnet34"] and "Bottleneck" not in blocks["resnet34"]
    assert "Bottleneck" in blocks["resnet50"] and "BasicBlock" not in blocks["resnet50"]


def test_googlenet_adds_the_auxiliary_losses_in_training_only():
    torch.manual_seed(0)
    cfg = googlenet.tiny()
    model = googlenet.GoogLeNet(cfg)
    x, y = googlenet.example_batch(cfg, 8)
    assert list(model.aux) == ["inception4a", "inception4d"]
    model.train()
    torch.manual_seed(1)
    out = model.loss((x, y))
    # the same pass by hand: the heads read inception 4a's and 4d's outputs
    torch.manual_seed(1)
    h, aux = x, []
    for name, block in model.features.named_children():
        h = block(h)
        if name in model.aux:
            aux.append(F.cross_entropy(model.aux[name](h), y))
    main = F.cross_entropy(model.classifier(model.neck(h)), y)
    assert out["loss"].item() == pytest.approx((main + 0.3 * (aux[0] + aux[1])).item(), rel=1e-5)
    assert out["main_loss"].item() == pytest.approx(main.item(), rel=1e-5)
    # at inference the heads are unused: the loss is the main classifier's alone
    model.eval()
    out = model.loss((x, y))
    assert set(out) == {"loss", "logits"}
    assert out["loss"].item() == pytest.approx(F.cross_entropy(model(x), y).item(), rel=1e-6)
    # without the flag there are no heads
    assert len(googlenet.GoogLeNet(googlenet.GoogLeNetConfig(**{**cfg.__dict__, "aux_classifiers": False})).aux) == 0


def test_googlenet_5x5_branch_is_a_3x3_as_torchvision_s():
    block = on_meta("googlenet").features.inception3a
    assert block.branch5[1][0].kernel_size == (3, 3) and block.branch5[1][0].out_channels == 32
    assert block.out_channels == 256  # 64 + 128 + 32 + 32, table 1's 3a


def test_alexnet_two_towers_and_response_normalisation():
    model = on_meta("alexnet", two_tower=True, lrn=True)
    convs = [m for m in model.features.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 256, 384, 384, 256]
    # fig. 2: conv2, conv4 and conv5 read only their own tower's maps; conv3 reads both
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2]
    lrns = [(name.split(".")[0], m) for name, m in model.features.named_modules()
            if isinstance(m, nn.LocalResponseNorm)]
    assert [n for n, _ in lrns] == ["conv1", "conv2"]
    assert all((m.size, m.alpha, m.beta, m.k) == (5, 1e-4, 0.75, 2) for _, m in lrns)
    plain = on_meta("alexnet")
    assert [c.out_channels for c in plain.features.modules() if isinstance(c, nn.Conv2d)] == [64, 192, 384, 256, 256]
    assert not any(isinstance(m, nn.LocalResponseNorm) for m in plain.modules())
    # a width that splits unevenly is rounded to what two towers can share
    small = on_meta("alexnet", two_tower=True, width=0.3)
    assert all(c.out_channels % 2 == 0 for c in small.modules() if isinstance(c, nn.Conv2d))


def test_vgg_batch_norm_drops_the_conv_biases():
    model = on_meta("vgg11", batch_norm=True)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.bias is None for c in convs)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == len(convs) == 8
    assert all(c.bias is not None for c in on_meta("vgg11").modules() if isinstance(c, nn.Conv2d))


def test_width_multiplies_every_layer():
    model = registry.create_model("resnet18", tiny_of("resnet18"), width=0.25)
    assert [b[0].conv1.out_channels for b in list(model.features.children())[1:]] == [16, 32, 64, 128]
    assert model.classifier.in_features == 128
    assert scaled(96, 1 / 16, 2) == 6 and scaled(16, 1 / 16) == 1 and scaled(3, 0.1, 2) == 2


@pytest.mark.parametrize("name", NAMES)
def test_feature_maps_and_first_filters_for_pictures(name):
    cfg = tiny_of(name)
    model = registry.create_model(name, cfg).eval()
    x, _ = registry.example_batch(name, cfg, 1)
    with torch.no_grad():
        maps = model.feature_maps(x)
    assert [n for n, _ in maps] == [n for n, _ in model.features.named_children()]
    assert torch.allclose(maps[-1][1], model.features(x))
    assert model.first_filters().shape[1] == cfg.in_shape[0]


def test_the_vgg16_registration_defaults_to_depth_16():
    assert [on_meta(n).cfg.depth for n in ("vgg11", "vgg16", "vgg19")] == [11, 16, 19]
    assert isinstance(on_meta("vgg16"), vgg.VGG) and isinstance(on_meta("alexnet"), alexnet.AlexNet)


@pytest.mark.parametrize("name", NAMES)
def test_every_depth_loss_falls_on_a_tiny_problem(name):
    """test_models' loss-falls check sees one tiny() per module; here each name's own depth (VGG-19's 16 convs,
    ResNet-50's bottlenecks) fits its 16 examples too."""
    torch.manual_seed(0)
    cfg = tiny_of(name)
    model = registry.create_model(name, cfg)
    batch = registry.example_batch(name, cfg, 16)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    first = None
    for _ in range(60):
        loss = model.loss(batch)["loss"]
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first
