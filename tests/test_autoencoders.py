import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from nnzoo import registry
from nnzoo.errors import UserError
from nnzoo.models.autoencoder import (Autoencoder, AutoencoderConfig, contraction_autograd, contraction_sigmoid,
                                      corrupt, kl_sparsity)
from nnzoo.models.conv_autoencoder import ConvAutoencoder, ConvAutoencoderConfig
from nnzoo.models.vae import VAE, VAEConfig, binarize, kl_standard_normal


# --------------------------------------------------------------------------------------- loss maths
def test_kl_sparsity_golden_values():
    rho = 0.05
    at_target = torch.full((10, 3), rho)
    assert kl_sparsity(at_target, rho).item() == pytest.approx(0.0, abs=1e-6)
    # two units firing half the time: 2 * [0.05 ln(0.05/0.5) + 0.95 ln(0.95/0.5)] = 0.98926...
    half = torch.full((4, 2), 0.5)
    assert kl_sparsity(half, rho).item() == pytest.approx(2 * (0.05 * math.log(0.1) + 0.95 * math.log(1.9)), rel=1e-5)
    assert kl_sparsity(half, rho).item() == pytest.approx(0.989264, abs=1e-5)


def test_vae_kl_golden_values():
    # KL(N(mu, s^2) || N(0, 1)) = (mu^2 + s^2 - ln s^2 - 1) / 2 per dimension
    mu = torch.tensor([[1.0, 0.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(4.0), 0.0]])
    expected = 0.5 * 1.0 + 0.5 * (4.0 - math.log(4.0) - 1.0) + 0.0
    assert kl_standard_normal(mu, logvar).item() == pytest.approx(expected, rel=1e-6)
    assert kl_standard_normal(torch.zeros(5, 7), torch.zeros(5, 7)).abs().max().item() == 0.0


def test_contraction_closed_form_agrees_with_autograd():
    torch.manual_seed(0)
    enc = torch.nn.Sequential(torch.nn.Linear(12, 5), torch.nn.Sigmoid()).double()
    x = torch.rand(7, 12, dtype=torch.float64)
    closed = contraction_sigmoid(enc(x), enc[0].weight).mean()
    auto = contraction_autograd(enc, x)
    assert closed.item() == pytest.approx(auto.item(), rel=1e-10)
    # and both equal the squared Frobenius norm of the full Jacobian, example by example
    jac = torch.stack([torch.autograd.functional.jacobian(enc, x[i]) for i in range(7)])  # 7, 5, 12
    assert closed.item() == pytest.approx((jac ** 2).sum((1, 2)).mean().item(), rel=1e-10)


def test_contractive_penalty_is_differentiable_through_autograd_for_deep_encoders():
    m = Autoencoder(AutoencoderConfig(in_shape=(1, 4, 4), hidden=[6], code=3, contraction=0.5))
    out = m.loss(registry.example_batch("autoencoder", m.cfg, 8))
    out["contraction"].backward()
    assert m.encoder[0].weight.grad.abs().sum() > 0


def test_corruptions_do_what_they_say():
    torch.manual_seed(0)
    x = torch.full((200, 1, 10, 10), 0.5)
    masked = corrupt(x, "mask", 0.3)
    assert set(masked.unique().tolist()) <= {0.0, 0.5}
    assert (masked == 0).float().mean().item() == pytest.approx(0.3, abs=0.02)
    sp = corrupt(x, "salt-pepper", 0.2)
    assert ((sp == 0) | (sp == 1)).float().mean().item() == pytest.approx(0.2, abs=0.02)
    assert (sp == 1).float().mean().item() == pytest.approx(0.1, abs=0.02)
    g = corrupt(x, "gaussian", 0.3)
    assert g.min() >= 0 and g.max() <= 1 and (g - x).std().item() == pytest.approx(0.3, abs=0.03)
    assert torch.equal(corrupt(x, "none", 0.3), x)
    with pytest.raises(UserError, match="unknown noise"):
        corrupt(x, "speckle", 0.1)


def test_denoising_loss_is_taken_against_the_clean_input():
    torch.manual_seed(0)
    m = Autoencoder(AutoencoderConfig(in_shape=(1, 4, 4), hidden=[], code=40, code_activation="sigmoid",
                                      noise="mask", noise_level=0.5))
    x, y = registry.example_batch("autoencoder", m.cfg, 8)
    m.train()
    torch.manual_seed(1)
    got = m.loss((x, y))["reconstruction"]
    torch.manual_seed(1)
    noisy = corrupt(x, "mask", 0.5)
    want = torch.nn.functional.binary_cross_entropy(m(noisy), x, reduction="sum") / 8
    assert got.item() == pytest.approx(want.item(), rel=1e-5)


def test_binarize_is_seeded_and_reads_grey_as_probability():
    x = torch.full((1000, 10), 0.3)
    a = binarize(x, torch.Generator().manual_seed(0))
    assert torch.equal(a, binarize(x, torch.Generator().manual_seed(0)))
    assert a.mean().item() == pytest.approx(0.3, abs=0.01)


def test_importance_sampled_nll_is_tighter_than_the_elbo():
    torch.manual_seed(0)
    m = VAE(VAEConfig(in_shape=(1, 4, 4), hidden=[8], latent=2)).eval()
    x = (torch.rand(64, 16) > 0.5).float()
    with torch.no_grad():
        rec, kl = m.elbo_parts(x)
        neg_elbo = torch.stack([sum(m.elbo_parts(x)) for _ in range(200)]).mean(0)  # B
        one = torch.stack([m.importance_nll(x, k=1) for _ in range(200)]).mean(0)
        many = m.importance_nll(x, k=500)
    # k = 1 is an unbiased estimate of -ELBO; k = 500 is a tighter (lower) bound on -log p(x)
    assert one.mean().item() == pytest.approx(neg_elbo.mean().item(), rel=0.01)
    assert many.mean().item() < neg_elbo.mean().item()


# --------------------------------------------------------------------------------------- the models
def test_plain_overcomplete_code_is_refused_with_the_fix():
    with pytest.raises(UserError, match="would learn to copy.*mnist-sparse-ae"):
        Autoencoder(AutoencoderConfig(code=1000))
    Autoencoder(AutoencoderConfig(code=1000, code_activation="sigmoid", sparsity=3.0))  # regularised: fine
    with pytest.raises(UserError, match="code_activation=sigmoid"):
        Autoencoder(AutoencoderConfig(code=1000, sparsity=3.0))


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 8, 8), (3, 32, 32), (1, 7, 9)])
def test_conv_autoencoder_returns_the_input_shape(shape):
    m = ConvAutoencoder(ConvAutoencoderConfig(in_shape=shape, channels=[4, 8], code=5))
    x = torch.rand(2, *shape)
    assert m.encode(x).shape == (2, 5) and m(x).shape == (2, *shape)


def test_linear_autoencoder_finds_the_principal_subspace():
    from scipy.linalg import subspace_angles
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    x = torch.tensor(load_digits().data / 16.0, dtype=torch.float32)  # 1797, 64
    torch.manual_seed(0)
    m = Autoencoder(AutoencoderConfig(in_shape=(1, 8, 8), hidden=[], code=4, activation="linear",
                                      output="linear", recon_loss="mse"))
    opt = torch.optim.Adam(m.parameters(), lr=0.02)
    for _ in range(800):
        loss = m.loss((x.view(-1, 1, 8, 8), None))["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    pca = PCA(4).fit(x.numpy())
    angles = np.degrees(subspace_angles(m.decoder[0].weight.detach().double().numpy(), pca.components_.T))
    assert angles.max() < 5.0
    pca_err = ((pca.inverse_transform(pca.transform(x.numpy())) - x.numpy()) ** 2).sum(1).mean()
    assert loss.item() == pytest.approx(pca_err, rel=0.01)


def test_greedy_pretraining_runs_as_stages_of_the_one_loop(tmp_path):
    """Each encoder layer and its mirror train as a shallow autoencoder, one engine stage each (logged under its
    own name, checkpointed), before fine-tuning; pretraining alone already lowers the whole network's loss."""
    from nnzoo import runs
    from nnzoo.config import parse_overrides
    from nnzoo.data.vision import load_digits
    from nnzoo.train import checkpoint
    recipe = registry.get_recipe("mnist-deep-ae")
    settings = ["data=digits", "hidden=[32,16]", "code=8", "pretrain_epochs=5", "epochs=1", "batch_size=64",
                "lr=3e-3", "tensorboard=false", "log_every=5"]
    n_train = len(load_digits().train_x)
    pretraining = 3 * 5 * (n_train // 64)  # three layer pairs, five epochs each
    mcfg, tcfg = registry.resolve(recipe, parse_overrides(settings + [f"stop_after={pretraining}"]))
    res = runs.train(tmp_path / "r", recipe, mcfg, tcfg, verbose=False)
    assert not res.finished and res.step == pretraining and res.total_steps == pretraining + n_train // 64
    state = checkpoint.load_state(checkpoint.latest(tmp_path / "r"))
    assert state["stage"] == "pretrain-layer3"
    rows = [json.loads(l) for l in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    for layer in (1, 2, 3):
        losses = [r["value"] for r in rows if r["split"] == f"pretrain-layer{layer}" and r["name"] == "loss"]
        assert len(losses) > 2 and losses[-1] < losses[0], layer
    assert not [r for r in rows if r["split"] == "train"]  # fine-tuning has not begun
    _, _, _, model = runs.load_run(tmp_path / "r")
    torch.manual_seed(tcfg.seed)
    fresh = Autoencoder(model.cfg)
    pairs = [(a, b) for a, b in zip(fresh.state_dict().items(), model.state_dict().items())]
    assert all(not torch.equal(v0, v1) for (_, v0), (_, v1) in pairs)  # every layer and its mirror
    x = load_digits().train_x[:512]
    with torch.no_grad():
        assert model.loss((x, None))["loss"] < fresh.loss((x, None))["loss"]
    done = runs.train(tmp_path / "r", recipe, mcfg, dataclasses.replace(tcfg, stop_after=0), resume=True,
                      verbose=False)
    assert done.finished and done.step == res.total_steps


def test_swap_autoencoder_decoders_learn_only_their_own_source():
    cfg = registry.tiny_config("swap-autoencoder")
    m = registry.create_model("swap-autoencoder", cfg)
    x, y, _ = registry.example_batch("swap-autoencoder", cfg, 8)
    m.loss((x, y, torch.zeros(8, dtype=torch.long)))["loss"].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.decoders[0].parameters())
    assert all(p.grad is None for p in m.decoders[1].parameters())
    assert m(x, 1).shape == x.shape


def test_swap_task_batches_are_half_each_source():
    from nnzoo.data.vision import load_digits
    from nnzoo.tasks.swap import Task, TwoSources
    d = load_digits()
    data = TwoSources(["a", "b"], [d, load_digits(seed=1)])
    cfg = type("Cfg", (), {"augment": 0})()
    x, y, src = Task().make_batch(data, torch.randperm(len(d.train_x))[:10], torch.device("cpu"), cfg)
    assert src.tolist() == [0] * 5 + [1] * 5 and x.shape == (10, 1, 8, 8)


# ---------------------------------------------------------------------------------- through the CLI
def test_encoder_838_finds_eight_codes_and_prints_its_table(nnzoo_cli, tmp_path):
    code, out, _ = nnzoo_cli("train", "encoder-838", "epochs=2500", "tensorboard=false", "--out", tmp_path / "r",
                             "--quiet")
    assert code == 0
    code, out, _ = nnzoo_cli("eval", tmp_path / "r", "--json")
    fig = json.loads(out)
    assert fig["inputs_reconstructed"] == 8 and fig["distinct_rounded_codes"] == 8
    assert fig["code_distance_from_binary"] < 0.15
    assert len(fig["hidden_codes_table"].splitlines()) == 9
    from nnzoo.report.plots import plot_run
    names = {p.name for p in plot_run(tmp_path / "r")}
    assert {"codes.png", "reconstructions.png"} <= names


def test_linear_recipe_reports_angles_to_pca(nnzoo_cli, tmp_path):
    code, _, err = nnzoo_cli("train", "mnist-ae-linear", "data=digits", "code=4", "epochs=150", "lr=0.02",
                             "schedule=constant", "batch_size=256", "tensorboard=false", "--out", tmp_path / "r",
                             "--quiet")
    assert code == 0, err
    fig = json.loads(nnzoo_cli("eval", tmp_path / "r", "--json")[1])
    assert fig["pca_components"] == 4 and fig["pca_angle_max_degrees"] < 10
    assert fig["squared_error_vs_pca"] == pytest.approx(1.0, abs=0.05)


def test_vae_run_reports_nll_and_draws_samples(nnzoo_cli, tmp_path):
    code, _, err = nnzoo_cli("train", "mnist-vae-2d", "data=digits", "hidden=[32]", "epochs=2", "time_limit=0",
                             "nll_samples=5", "tensorboard=false", "--out", tmp_path / "r", "--quiet")
    assert code == 0, err
    fig = json.loads(nnzoo_cli("eval", tmp_path / "r", "--json")[1])
    assert fig["nll_importance_samples"] == 5 and 0 < fig["test_nll_nats"] < fig["test_loss"] + 5
    from nnzoo.report.plots import plot_run
    names = {p.name for p in plot_run(tmp_path / "r")}
    assert {"samples.png", "interpolation.png", "manifold.png"} <= names


def test_autoencoder_bad_input_is_one_line(nnzoo_cli, tmp_path):
    code, _, err = nnzoo_cli("train", "mnist-ae", "code=2000", "--out", tmp_path / "r", "--quiet")
    assert code == 2 and "would learn to copy" in err and "Traceback" not in err
    bad = tmp_path / "nan.npz"
    xs = np.random.rand(20, 8, 8).astype(np.float32)
    xs[3, 2, 2] = np.nan
    np.savez(bad, x_train=xs, y_train=np.zeros(20, int), x_test=xs, y_test=np.zeros(20, int))
    code, _, err = nnzoo_cli("train", "mnist-ae", f"data={bad}", "code=4", "--out", tmp_path / "r2", "--quiet")
    assert code == 2 and "NaN" in err and len(err.strip().splitlines()) == 1
    neg = tmp_path / "neg.npz"
    np.savez(neg, x_train=np.full((20, 8, 8), -0.5, np.float32), y_train=np.zeros(20, int),
             x_test=np.zeros((20, 8, 8), np.float32), y_test=np.zeros(20, int))
    code, _, err = nnzoo_cli("train", "mnist-ae", f"data={neg}", "code=4", "--out", tmp_path / "r3", "--quiet")
    assert code == 2 and "rescale" in err


def test_predict_reconstructs_an_image_file_and_refuses_a_wrong_size(nnzoo_cli, tmp_path):
    from PIL import Image
    code, _, err = nnzoo_cli("train", "mnist-ae", "data=digits", "hidden=[16]", "code=4", "epochs=1",
                             "tensorboard=false", "--out", tmp_path / "r", "--quiet")
    assert code == 0, err
    Image.fromarray((np.random.rand(8, 8) * 255).astype(np.uint8)).save(tmp_path / "ok.png")
    code, out, _ = nnzoo_cli("predict", tmp_path / "r", tmp_path / "ok.png", "--json")
    got = json.loads(out)[0]
    assert code == 0 and len(got["code"]) == 4 and got["squared_error"] >= 0
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "big.png")
    code, _, err = nnzoo_cli("predict", tmp_path / "r", tmp_path / "big.png")
    assert code == 2 and "28x28" in err and "8x8" in err


def test_swap_encoder_reads_only_the_coarse_shape():
    cfg = registry.tiny_config("swap-autoencoder")  # 8x8 images
    k = cfg.encoder_pool
    m = registry.create_model("swap-autoencoder", cfg).eval()
    x = torch.rand(3, 1, 8, 8)
    # the same k x k block means, different detail inside the blocks
    detail = torch.randn(3, 1, 8, 8)
    detail = detail - torch.nn.functional.interpolate(torch.nn.functional.avg_pool2d(detail, k), scale_factor=k)
    with torch.no_grad():
        assert torch.allclose(m.encode(x), m.encode(x + 0.1 * detail), atol=1e-5)
        full = registry.create_model("swap-autoencoder", cfg, encoder_pool=1).eval()
        full.load_state_dict(m.state_dict())
        assert not torch.allclose(full.encode(x), full.encode(x + 0.1 * detail), atol=1e-5)


def test_swap_warp_moves_only_the_encoders_view_in_training():
    cfg = registry.tiny_config("swap-autoencoder")
    m = registry.create_model("swap-autoencoder", cfg, warp=0.2)
    x, y, src = registry.example_batch("swap-autoencoder", cfg, 8)
    seen = []
    m.encoder.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach().clone()))
    m.train()
    m.loss((x, y, src))
    m.loss((x, y, src))
    assert not torch.allclose(seen[0], seen[1])  # a fresh random warp at every step
    m.eval()
    with torch.no_grad():
        a, b = m.loss((x, y, src)), m.loss((x, y, src))
    assert torch.equal(a["loss"], b["loss"])  # none when evaluating, swapping or predicting
    # a warp of 0 is the identity map; a warp moves pixels
    still = registry.create_model("swap-autoencoder", cfg, warp=0.0)
    assert torch.allclose(still.warped(x), x, atol=1e-6)
    assert not torch.allclose(m.warped(x), x, atol=1e-3)
