"""GANs: the penalty and score maths against golden values, the adversarial step in the engine (resume to the
exact weights), the test report's keys, `nnzoo sample` and the bad-input errors."""
import json
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from nnzoo import registry
from nnzoo.eval.metrics import frechet_distance, inception_score, ssim
from nnzoo.models.gan import GAN, GANConfig, gradient_penalty
from nnzoo.train import checkpoint
from nnzoo.runs import train as fit

TINY_GAN = ["data=digits", "width=4", "latent=8", "hidden=[16,32]", "batch_size=64", "log_every=5",
            "tensorboard=false"]


# -- maths -------------------------------------------------------------------------------------------------------
class Linear(nn.Module):
    """D(x) = <w, x> over every pixel of every channel: its gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = w

    def forward(self, x, *cond):
        return (x * self.w).flatten(1).sum(1)


def test_gradient_penalty_golden_value_norm_over_all_non_batch_dims():
    w = torch.zeros(2, 3, 3)
    w[0, 0, 0], w[1, 2, 2] = 2.0, math.sqrt(5.0)  # ||w|| over (C, H, W) = 3; any per-row norm would differ
    real, fake = torch.rand(4, 2, 3, 3), torch.rand(4, 2, 3, 3)
    # (||grad|| - 1)^2 = (3 - 1)^2 = 4 for every sample
    assert gradient_penalty(Linear(w), real, fake).item() == pytest.approx(4.0, rel=1e-6)


def test_gradient_penalty_draws_one_epsilon_per_sample():
    # D(x) = 1/2 ||x||^2 has gradient x^ = eps * 1 + (1 - eps) * 0, norm eps * sqrt(d) with d = 2 * 3 * 3
    class Half(nn.Module):
        def forward(self, x, *cond):
            return 0.5 * (x ** 2).flatten(1).sum(1)
    real, fake = torch.ones(5, 2, 3, 3), torch.zeros(5, 2, 3, 3)
    torch.manual_seed(7)
    gp = gradient_penalty(Half(), real, fake)
    torch.manual_seed(7)
    eps = torch.rand(5)
    expected = ((eps * math.sqrt(18) - 1) ** 2).mean()
    assert gp.item() == pytest.approx(expected.item(), rel=1e-5)


def test_frechet_distance_golden_value():
    # points +-a on each axis: mean 0, covariance (N-1 = 3) 2a^2/3 I; FID = |mu|^2 + 2 (2/3) (a - b)^2
    axes = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], dtype=float)
    f1, f2 = axes * 1.0, axes * 2.0 + np.array([3.0, 4.0])
    assert frechet_distance(f1, f2) == pytest.approx(25 + 4 / 3, rel=1e-6)
    assert frechet_distance(f1, f1) == pytest.approx(0.0, abs=1e-6)


def test_inception_score_bounds():
    assert inception_score(np.full((100, 10), 0.1)) == pytest.approx(1.0)
    assert inception_score(np.eye(10)[np.arange(100) % 10]) == pytest.approx(10.0, rel=1e-6)
    assert inception_score(np.eye(10)[np.zeros(100, dtype=int)]) == pytest.approx(1.0)  # collapsed onto one class


def test_ssim_golden_values():
    x = torch.rand(3, 1, 16, 16)
    assert torch.allclose(ssim(x, x), torch.ones(3))
    # constant images a and b: the variance terms are C2 / C2 = 1, leaving (2ab + C1) / (a^2 + b^2 + C1)
    a, b, c1 = 0.2, 0.6, 0.01 ** 2
    got = ssim(torch.full((1, 1, 16, 16), a), torch.full((1, 1, 16, 16), b)).item()
    assert got == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-5)


def test_wgan_clips_critic_weights_and_counts_critic_steps():
    m = GAN(GANConfig(in_shape=(1, 8, 8), width=4, latent=8, objective="wasserstein", clip=0.01, n_critic=5))
    with torch.no_grad():
        for p in m.critic.parameters():
            p.fill_(0.5)
    m.after_step("critic")
    assert max(float(p.detach().abs().max()) for p in m.critic.parameters()) == pytest.approx(0.01)
    assert [len(m.phases(s)) for s in range(10)] == [1, 1, 1, 1, 2, 1, 1, 1, 1, 2]


def test_nonsaturating_losses_golden():
    """With D's score fixed at 0 (D = 1/2): L_D = 2 ln 2 and L_G = ln 2."""
    m = GAN(GANConfig(arch="mlp", in_shape=(1, 8, 8), latent=4, hidden=[8, 8]))
    last = m.critic.net[-1]
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    batch = (torch.rand(6, 1, 8, 8), torch.zeros(6, dtype=torch.long))
    assert m.loss(batch, "critic")["loss"].item() == pytest.approx(2 * math.log(2), rel=1e-6)
    assert m.loss(batch, "generator")["loss"].item() == pytest.approx(math.log(2), rel=1e-6)


# -- the engine ---------------------------------------------------------------------------------------------------
def _setup(recipe_name, *extra):
    from nnzoo.config import parse_overrides
    recipe = registry.get_recipe(recipe_name)
    mcfg, tcfg = registry.resolve(recipe, parse_overrides([*extra]))
    return recipe, mcfg, tcfg


def _weights(run):
    return checkpoint.load_weights(checkpoint.latest(run))


def test_adversarial_run_resumes_to_the_same_weights(tmp_path):
    args = _setup("mnist-wgan-gp", *TINY_GAN, "epochs=2", "train_subset=640")
    fit(tmp_path / "straight", *args, verbose=False)
    part = fit(tmp_path / "resumed", *_setup("mnist-wgan-gp", *TINY_GAN, "epochs=2", "train_subset=640",
                                              "stop_after=7"), verbose=False)
    assert not part.finished
    done = fit(tmp_path / "resumed", *args, resume=True, verbose=False)
    assert done.finished
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "resumed")
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed GAN drifted from the straight one"
    state = checkpoint.load_state(checkpoint.latest(tmp_path / "straight"))
    assert set(state["players"]) == {"critic", "generator"}
    # both players' losses and the penalty are logged; one sample grid per epoch
    names = {json.loads(l)["name"] for l in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()}
    assert {"loss_critic", "loss_generator", "gradient_penalty", "wasserstein_estimate", "fid_pixels"} <= names
    assert sorted(p.name for p in (tmp_path / "straight" / "samples").glob("*.png")) == ["epoch-001.png",
                                                                                         "epoch-002.png"]


@pytest.fixture
def tiny_gan_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("gan") / "run"
    fit(run, *_setup("mnist-dcgan", *TINY_GAN, "epochs=1", "train_subset=256"), verbose=False)
    return run


def test_gan_eval_and_sample_cli(tiny_gan_run, nnzoo_cli):
    code, out, _ = nnzoo_cli("eval", tiny_gan_run, "--json")
    figures = json.loads(out)
    assert code == 0 and figures["test_fid_pixels"] > 0 and "fid_floor_train_vs_test_pixels" in figures
    assert 0 <= figures["d_real_test"] <= 1 and 0 <= figures["d_fake_samples"] <= 1
    code, out, _ = nnzoo_cli("sample", tiny_gan_run, "--n", 12, "--json")
    res = json.loads(out)
    assert code == 0 and res["samples"] == 12
    from PIL import Image
    with Image.open(res["file"]) as im:  # 8 columns x 2 rows of 8x8 digits, 1 px apart, drawn 2x
        assert im.size == ((8 * 9 + 1) * 2, (2 * 9 + 1) * 2)


def test_sample_bad_input(tiny_gan_run, nnzoo_cli, tmp_path):
    code, _, err = nnzoo_cli("sample", tiny_gan_run, "--class", 3)
    assert code == 2 and "without classes" in err and len(err.strip().splitlines()) == 1
    np.save(tmp_path / "z.npy", np.zeros((4, 5), dtype=np.float32))
    code, _, err = nnzoo_cli("sample", tiny_gan_run, "--z", tmp_path / "z.npy")
    assert code == 2 and "latent=8" in err
    np.save(tmp_path / "z8.npy", np.zeros((4, 8), dtype=np.float32))
    code, out, _ = nnzoo_cli("sample", tiny_gan_run, "--z", tmp_path / "z8.npy", "--json")
    assert code == 0 and json.loads(out)["samples"] == 4


def _stand_in_judge():
    torch.manual_seed(0)
    return registry.create_model("cnn", registry.model_config("cnn", dict(in_shape=[1, 28, 28], channels=[4],
                                                                            hidden=[16], dropout=0.0))).eval()


def test_conditional_gan_report_with_a_stand_in_judge(tmp_path, monkeypatch, nnzoo_cli):
    from nnzoo.tasks import generate
    monkeypatch.setattr(generate, "mnist_judge", lambda verbose=True: _stand_in_judge())
    monkeypatch.setattr(generate, "prepare_judge", lambda shape, verbose=True: None)  # the stand-in needs no training
    monkeypatch.setattr(generate, "N_SAMPLES", 500)
    run = tmp_path / "cgan"
    fit(run, *_setup("mnist-cgan", *TINY_GAN, "data=digits28", "epochs=1", "train_subset=128"), verbose=False)
    code, out, _ = nnzoo_cli("eval", run, "--json")
    f = json.loads(out)
    for key in ("test_fid_classifier", "fid_floor_train_vs_test_classifier", "inception_score_classifier",
                "class_share_min_percent", "class_share_max_percent", "conditional_accuracy_percent"):
        assert key in f, key
    assert len(f["class_shares_percent"]) == 10 and sum(f["class_shares_percent"]) == pytest.approx(100, abs=0.1)
    assert 1 <= f["inception_score_classifier"] <= 10
    code, _, err = nnzoo_cli("sample", run, "--class", 12)
    assert code == 2 and "classes 0-9" in err
    code, out, _ = nnzoo_cli("sample", run, "--class", 3, "--n", 5, "--json")
    assert code == 0 and json.loads(out)["class"] == 3


# -- image to image -----------------------------------------------------------------------------------------------
TINY_I2I = ["data=digits", "batch_size=64", "log_every=5", "tensorboard=false", "epochs=1", "train_subset=256"]


def test_pix2pix_masks_the_lower_half_and_predict_checks_the_size(tmp_path, nnzoo_cli):
    from nnzoo.models.pix2pix import mask_lower_half
    x = torch.rand(2, 1, 8, 8)
    m = mask_lower_half(x)
    assert torch.equal(m[..., :4, :], x[..., :4, :]) and not m[..., 4:, :].any()
    run = tmp_path / "p2p"
    fit(run, *_setup("mnist-pix2pix", *TINY_I2I, "width=4"), verbose=False)
    code, out, _ = nnzoo_cli("eval", run, "--json")
    f = json.loads(out)
    assert code == 0 and f["test_psnr_db"] > 0 and -1 <= f["test_ssim"] <= 1
    from PIL import Image
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "big.png")
    code, _, err = nnzoo_cli("predict", run, tmp_path / "big.png")
    assert code == 2 and "28x28" in err and "8x8" in err
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "ok.png")
    code, out, _ = nnzoo_cli("predict", run, tmp_path / "ok.png", "--json")
    assert code == 0 and (tmp_path / "ok.out.png").exists()


def test_l1_only_pix2pix_has_no_discriminator():
    m = registry.create_model("pix2pix", registry.tiny_config("pix2pix"), gan_weight=0.0)
    assert m.critic is None and list(m.players()) == ["generator"]


def test_super_resolution_report_has_bicubic_beside_it(tmp_path, nnzoo_cli):
    run = tmp_path / "sr"
    fit(run, *_setup("mnist-srresnet", *TINY_I2I, "scale=2", "channels=4", "blocks=1"), verbose=False)
    code, out, _ = nnzoo_cli("eval", run, "--json")
    f = json.loads(out)
    assert code == 0 and {"test_psnr_db", "test_ssim", "bicubic_psnr_db", "bicubic_ssim"} <= set(f)
    # SRGAN's feature loss needs MNIST-sized digits for the classifier: one line, exit 2
    code, _, err = nnzoo_cli("train", "mnist-srgan", *TINY_I2I, "scale=2", "--out", tmp_path / "srgan", "--quiet")
    assert code == 2 and "feature_weight=0" in err


def test_cyclegan_on_two_sources(tmp_path, monkeypatch, nnzoo_cli):
    from nnzoo.tasks import cycle

    class Judge(nn.Module):
        def forward(self, x):
            return x.flatten(1)[:, :10]
    monkeypatch.setattr(cycle, "mnist_judge", lambda: Judge())
    run = tmp_path / "cyc"
    fit(run, *_setup("digits-cyclegan", "data=digits+digits", "width=4", "blocks=1", "batch_size=32",
                     "epochs=1", "train_subset=128", "tensorboard=false"), verbose=False)
    code, out, _ = nnzoo_cli("eval", run, "--json")
    f = json.loads(out)
    assert code == 0 and "translate_digits_to_digits_class_kept_percent" in f and "cycle_psnr_digits_db" in f


def test_two_process_adversarial_training(tmp_path):
    """torchrun with 2 CPU processes (gloo): both players' gradients are averaged across processes, including
    the generator's, whose graph the critic phase built (shared_fake)."""
    import os
    import subprocess
    import sys
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29519",
           "-m", "nnzoo", "train", "mnist-wgan-gp", "--out", str(out), "--quiet", *TINY_GAN, "epochs=1",
           "train_subset=512", "n_critic=2"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=root, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "test_fid_pixels" in json.loads((out / "eval.json").read_text())


def test_class_shares_figure(tmp_path):
    from nnzoo.report.plots import class_shares
    assert class_shares(tmp_path) is None  # no eval.json: nothing to draw
    (tmp_path / "eval.json").write_text(json.dumps({"class_shares_percent": [18, 7, 5.5, 8, 3.5, 11, 11, 14, 7, 15]}))
    out = class_shares(tmp_path)
    assert out.name == "class_shares.png" and out.stat().st_size > 1000


def test_averaged_generator_follows_with_warm_up():
    m = GAN(GANConfig(in_shape=(1, 8, 8), width=4, latent=8, ema=0.999))
    with torch.no_grad():
        for p in m.generator_ema.parameters():
            p.zero_()
        for p in m.generator.parameters():
            p.fill_(1.0)
    m.after_step("critic")  # only a generator update moves the average
    assert all(float(p.abs().max()) == 0 for p in m.generator_ema.parameters())
    m.after_step("generator")  # t = 0: d = min(0.999, 1/10) = 0.1, so w_ema = 0.9
    assert all(torch.allclose(p, torch.full_like(p, 0.9)) for p in m.generator_ema.parameters())
    z = torch.randn(3, 8)
    m.eval()
    assert torch.allclose(m.generate(z), (m.generator_ema(z) + 1) / 2)


def test_generator_width_is_the_generators_own():
    m = GAN(GANConfig(in_shape=(1, 8, 8), width=4, generator_width=8, latent=8))
    assert m.generator.net[0].out_channels == 32 and m.critic.net[0].out_channels == 8  # 4 x 8 and 2 x 4


def test_critic_dropout_only_when_asked_keeps_weight_names():
    plain = GAN(GANConfig(in_shape=(1, 8, 8), width=4, latent=8))
    noisy = GAN(GANConfig(in_shape=(1, 8, 8), width=4, latent=8, dropout=0.3))
    assert not any(isinstance(m, nn.Dropout) for m in plain.critic.modules())
    assert any(isinstance(m, nn.Dropout) for m in noisy.critic.modules())
    # a run trained before critic dropout existed still loads: the same names without it
    assert [k for k in plain.state_dict() if k.startswith("critic.")] == ["critic.net.0.weight", "critic.net.0.bias",
        "critic.net.2.weight", "critic.net.3.weight", "critic.net.3.bias", "critic.net.3.running_mean",
        "critic.net.3.running_var", "critic.net.3.num_batches_tracked", "critic.net.5.weight", "critic.net.5.bias"]


def test_dcgan_depth_adds_same_size_convolutions_to_both_players():
    plain = GAN(GANConfig(in_shape=(1, 8, 8), width=4, latent=8, ema=0))
    deep = GAN(GANConfig(in_shape=(1, 8, 8), width=4, latent=8, ema=0, depth=2))

    def convs(net):
        return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    # two 3x3 stride-1 convolutions at H/4 x W/4 (16 channels = 4 x width) in each network
    extra = [c for c in convs(deep.generator) + convs(deep.critic)
             if type(c) is nn.Conv2d and c.kernel_size == (3, 3) and c.stride == (1, 1)]
    assert len(extra) == 4 and all(c.in_channels == c.out_channels == 16 for c in extra)
    assert len(convs(deep.generator)) == len(convs(plain.generator)) + 2
    z = torch.randn(5, 8)
    x = deep.generate(z)
    assert x.shape == (5, 1, 8, 8) and deep.score(x).shape == (5,)
    # the extra layers are trained: one critic step moves them
    before = [c.weight.detach().clone() for c in extra[2:]]
    opt = torch.optim.SGD(deep.critic.parameters(), lr=0.1)
    deep.loss((torch.rand(5, 1, 8, 8), None), "critic")["loss"].backward()
    opt.step()
    assert all(not torch.equal(b, c.weight) for b, c in zip(before, extra[2:]))


def test_test_size_cuts_the_report_to_the_first_test_images(tmp_path, nnzoo_cli):
    """The tour's image sections read 2,000 test digits: a GAN then draws as many samples as it compares."""
    run = tmp_path / "gan"
    fit(run, *_setup("mnist-dcgan", *TINY_GAN, "epochs=1", "train_subset=128", "test_size=150"), verbose=False)
    code, out, _ = nnzoo_cli("eval", run, "--json")
    assert code == 0 and json.loads(out)["samples"] == 150
    full = tmp_path / "full"
    fit(full, *_setup("mnist-dcgan", *TINY_GAN, "epochs=1", "train_subset=128"), verbose=False)
    assert json.loads(nnzoo_cli("eval", full, "--json")[1])["samples"] == 359  # digits' whole test split
    code, _, err = nnzoo_cli("train", "mnist-dcgan", *TINY_GAN, "test_size=50", "--out", tmp_path / "x")
    assert code == 2 and "test_size=50" in err and len(err.strip().splitlines()) == 1
