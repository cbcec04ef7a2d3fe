"""Reconstruction: images -> code -> images. Used by every autoencoder recipe.

The test report measures what the lectures claim, each where the model has the property it is about:
  every autoencoder  squared error and PSNR of test reconstructions, beside PCA with as many components
  linear decoder     principal angles between its column space and PCA's top-k subspace
  sigmoid code       mean activation of the code units (the sparsity target rho)
  MLP encoder        ||J_f(x)||_F and how far codes move when the input is nudged (contraction)
  noise != none      PSNR of reconstructions from corrupted test digits, beside the corrupted input's
  variational        ELBO and importance-sampled NLL on binarized test digits; samples, interpolation, and the
                     decoded 2-D latent grid when z has 2 dimensions
  a tiny test set    the code of every test input as a table (the 8-3-8 encoder's)
"""
from __future__ import annotations


import numpy as np
import torch

from ..eval.metrics import psnr_db
from ..models.autoencoder import contraction_autograd, contraction_sigmoid, corrupt
from ..models.vae import binarize
from .image import ImageTask, read_images

EVAL_BATCH = 1000
SHOWN = 12  # test digits in the reconstruction figure


def _flat_pca(train: torch.Tensor, k: int):
    from sklearn.decomposition import PCA
    # the covariance's eigenvectors, not an SVD of the data: the same components to float64 precision (the
    # squared errors agree to every printed digit) in a seventh of the time, since N (55,000) >> D (784)
    return PCA(n_components=k, svd_solver="covariance_eigh", random_state=0).fit(
        train.flatten(1).numpy().astype(np.float64))


def is_linear(model) -> bool:
    """True when x^ = W code + b exactly: no non-linearity anywhere in the decoder."""
    cfg = model.cfg
    return all(getattr(cfg, k, None) == "linear" for k in ("activation", "code_activation", "output"))


class Task(ImageTask):
    kind = "reconstruction"
    verbs = ("predict",)

    def _inputs(self, model, x: torch.Tensor) -> torch.Tensor:
        """What the model is scored on: a fixed binarization (seed 0) for models of binary data."""
        return binarize(x, torch.Generator().manual_seed(0)) if getattr(model, "binary_inputs", False) else x

    @torch.no_grad()
    def _loss_parts(self, model, x, y, device) -> dict:
        model.eval()
        sums: dict[str, float] = {}
        for i in range(0, len(x), EVAL_BATCH):
            xb = self._inputs(model, x[i:i + EVAL_BATCH]).to(device)
            # a contractive penalty differentiates the encoder even here; nothing else needs a graph
            with torch.set_grad_enabled(getattr(model.cfg, "contraction", 0) > 0):
                out = model.loss((xb, y[i:i + EVAL_BATCH].to(device)))
            for k, v in out.items():
                if v.ndim == 0:
                    sums[k] = sums.get(k, 0.0) + float(v) * len(xb)
        return {k: v / max(1, len(x)) for k, v in sums.items()}

    def evaluate(self, model, data, split, device, amp_dtype=None) -> dict:
        x, y = data.split(split)
        return self._loss_parts(model, x, y, device)

    @torch.no_grad()
    def reconstruct(self, model, x: torch.Tensor, device) -> torch.Tensor:
        model.eval()
        return torch.cat([model(x[i:i + EVAL_BATCH].to(device)).float().cpu() for i in range(0, len(x), EVAL_BATCH)])

    @torch.no_grad()
    def codes(self, model, x: torch.Tensor, device) -> torch.Tensor:
        model.eval()
        out = []
        for i in range(0, len(x), EVAL_BATCH):
            c = model.encode(x[i:i + EVAL_BATCH].to(device))
            out.append((c[0] if isinstance(c, tuple) else c).float().cpu())  # a VAE's code is its mean
        return torch.cat(out)

    def test_report(self, model, data, device) -> tuple[dict, dict]:
        x, y = data.test_x, data.test_y
        x_hat = self.reconstruct(model, x, device)
        k = int(getattr(model.cfg, "code", 0) or getattr(model.cfg, "latent", 0))
        sq = ((x_hat - x) ** 2).flatten(1).sum(1)
        figures = {f"test_{k_}": round(v, 4) for k_, v in self._loss_parts(model, x, y, device).items()}
        figures.update({"test_squared_error_per_image": round(float(sq.mean()), 4),
                        "test_mse_per_pixel": round(float(sq.mean()) / x[0].numel(), 6),
                        "test_psnr_db": round(float(psnr_db(x_hat, x).mean()), 3), "code_size": k,
                        "test_examples": len(x)})
        shown = x[:SHOWN]
        rows, names = [shown, x_hat[:SHOWN]], ["input", type(model).__name__]
        art: dict = {}
        if 0 < k < x[0].numel():
            pca = _flat_pca(data.train_x, k)
            x_pca = torch.from_numpy(pca.inverse_transform(pca.transform(x.flatten(1).numpy().astype(np.float64)))
                                     ).float().view_as(x)
            pca_sq = float(((x_pca - x) ** 2).flatten(1).sum(1).mean())
            figures.update({"pca_components": k, "pca_squared_error_per_image": round(pca_sq, 4),
                            "pca_psnr_db": round(float(psnr_db(x_pca.clamp(0, 1), x).mean()), 3),
                            "squared_error_vs_pca": round(float(sq.mean()) / pca_sq, 4)})
            rows.append(x_pca[:SHOWN].clamp(0, 1))
            names.append(f"PCA, {k} components")
            if is_linear(model):
                figures.update(self._pca_angles(model, pca, device))
        for extra in (self._sparsity, self._contraction, self._denoising, self._variational, self._code_table):
            f, a = extra(model, data, device)
            figures.update(f)
            art.update(a)
        art["grid:reconstructions"] = torch.stack(rows).numpy()
        art["grid:reconstructions:rows"] = np.array(names)
        art["grid:reconstructions:title"] = np.array(f"Test digits and their reconstructions (code size {k})")
        first = next((m for m in model.modules() if isinstance(m, torch.nn.Linear)), None)
        if first is not None and first.in_features == x[0].numel() and min(x.shape[-2:]) > 1:
            art["filters"] = first.weight.detach()[:64].reshape(-1, *x.shape[1:]).float().cpu().numpy()
        return figures, art

    # ------------------------------------------------------------------------------- per-property figures
    @torch.no_grad()
    def _pca_angles(self, model, pca, device) -> dict:
        """Principal angles between the decoder's column space and the top-k principal subspace, in degrees."""
        from scipy.linalg import subspace_angles
        k = pca.n_components_
        model.eval()
        zero = model.decode(torch.zeros(1, k, device=device)).flatten(1)
        basis = model.decode(torch.eye(k, device=device)).flatten(1) - zero  # k, D: columns of W_dec
        angles = np.degrees(subspace_angles(basis.double().cpu().numpy().T, pca.components_.T))
        return {"pca_angle_max_degrees": round(float(angles.max()), 3),
                "pca_angle_mean_degrees": round(float(angles.mean()), 3)}

    def _sparsity(self, model, data, device) -> tuple[dict, dict]:
        cfg = model.cfg
        if getattr(cfg, "code_activation", None) != "sigmoid":
            return {}, {}
        h = self.codes(model, data.test_x, device)  # N, K
        figures = {"mean_code_activation": round(float(h.mean()), 4),
                   "units_mean_activation_below_2rho": round(float((h.mean(0) < 2 * cfg.rho).float().mean()), 4)}
        if getattr(cfg, "sparsity", 0) > 0:
            figures["sparsity_target_rho"] = cfg.rho
        art = {}
        if not cfg.hidden and cfg.code >= 100 and len(data.shape) == 3 and min(data.shape[1:]) > 1:
            # the input of norm 1 that drives unit j hardest is x = w_j / ||w_j|| (Cauchy-Schwarz): the
            # lecture's grid of what each hidden unit looks for
            w = model.encoder[0].weight.detach().float().cpu()[:100]
            x_max = w / w.norm(dim=1, keepdim=True)
            lo, hi = x_max.min(1, keepdim=True).values, x_max.max(1, keepdim=True).values
            img = ((x_max - lo) / (hi - lo).clamp_min(1e-8)).view(-1, *data.shape)
            art["grid:max_activation"] = img.view(10, -1, *data.shape).numpy()
            art["grid:max_activation:rows"] = np.array([f"units {10 * i + 1}-{10 * i + 10}" for i in range(10)])
            art["grid:max_activation:title"] = np.array(
                "The norm-1 input that maximally activates each of 100 code units (x = w_j / ||w_j||)")
        return figures, art

    def _contraction(self, model, data, device) -> tuple[dict, dict]:
        if not hasattr(model, "encoder") or not hasattr(model.cfg, "contraction"):
            return {}, {}
        model.eval()
        x = data.test_x[:500].flatten(1).to(device)
        g = torch.Generator().manual_seed(0)
        if len(model.encoder) == 2 and model.cfg.code_activation == "sigmoid":
            with torch.no_grad():
                jac = contraction_sigmoid(model.encoder(x), model.encoder[0].weight).sqrt()
        else:
            jac = torch.stack([contraction_autograd(model.encoder, x[i:i + 1]).detach().sqrt() for i in range(100)])
        eps = 0.05 * torch.randn(x.shape, generator=g).to(device)
        with torch.no_grad():
            shift = (model.encoder(x + eps) - model.encoder(x)).norm(dim=1) / eps.norm(dim=1)
        return {"test_jacobian_frobenius": round(float(jac.mean()), 4),
                "code_shift_per_input_shift": round(float(shift.mean()), 4)}, {}

    def _denoising(self, model, data, device) -> tuple[dict, dict]:
        kind = getattr(model.cfg, "noise", "none")
        if kind == "none":
            return {}, {}
        x = data.test_x
        torch.manual_seed(0)
        noisy = corrupt(x, kind, model.cfg.noise_level)
        out = self.reconstruct(model, noisy, device)
        figures = {"noise": kind, "noise_level": model.cfg.noise_level,
                   "test_psnr_noisy_input_db": round(float(psnr_db(noisy, x).mean()), 3),
                   "test_psnr_denoised_db": round(float(psnr_db(out, x).mean()), 3)}
        art = {"grid:denoising": torch.stack([x[:SHOWN], noisy[:SHOWN], out[:SHOWN]]).numpy(),
               "grid:denoising:rows": np.array(["clean", f"{kind} {model.cfg.noise_level}", "denoised"]),
               "grid:denoising:title": np.array("Corrupted test digits and the autoencoder's reconstructions")}
        return figures, art

    def _variational(self, model, data, device) -> tuple[dict, dict]:
        if not hasattr(model, "importance_nll"):
            return {}, {}
        xb = self._inputs(model, data.test_x).flatten(1)
        k = model.cfg.nll_samples
        torch.manual_seed(0)
        nll = torch.cat([model.importance_nll(xb[i:i + 500].to(device), k=k).cpu() for i in range(0, len(xb), 500)])
        figures = {"test_nll_nats": round(float(nll.mean()), 3), "nll_importance_samples": k}
        g = torch.Generator().manual_seed(0)
        art = {"grid:samples": model.sample(64, g).cpu().view(8, 8, *data.shape).numpy(),
               "grid:samples:rows": np.array([""] * 8),
               "grid:samples:title": np.array("Samples: the decoder's mean image of z ~ N(0, I)")}
        # interpolation: decode points on the line between the codes of two test digits of different classes
        mu = self.codes(model, data.test_x[:200], device)
        pairs = [(0, int((data.test_y[:200] != data.test_y[0]).nonzero()[0])), (1, 2), (3, 4), (5, 6)]
        t = torch.linspace(0, 1, 10).view(-1, 1)
        with torch.no_grad():
            lines = [model.decode(((1 - t) * mu[a] + t * mu[b]).to(device)).cpu() for a, b in pairs]
        art["grid:interpolation"] = torch.stack(lines).numpy()
        art["grid:interpolation:rows"] = np.array([f"a {int(data.test_y[a])} to a {int(data.test_y[b])}" for a, b in pairs])
        art["grid:interpolation:title"] = np.array("Decoding the straight line between two digits' codes")
        if model.cfg.latent == 2:
            from scipy.stats import norm
            # a grid evenly spaced in probability, mapped through the inverse CDF of the prior (Kingma's figure)
            q = torch.from_numpy(norm.ppf(np.linspace(0.05, 0.95, 15))).float()
            zz = torch.stack(torch.meshgrid(q.flip(0), q, indexing="ij"), -1).view(-1, 2)
            with torch.no_grad():
                grid = model.decode(zz.to(device)).cpu()
            art["grid:manifold"] = grid.view(15, 15, *data.shape).numpy()
            art["grid:manifold:rows"] = np.array([""] * 15)
            art["grid:manifold:title"] = np.array("The learnt 2-D manifold: decoded z on a 15x15 grid of the prior's quantiles")
        return figures, art

    def _code_table(self, model, data, device) -> tuple[dict, dict]:
        """For a test set of at most 16 inputs (the 8-3-8 encoder): every input's code, and whether each input
        comes back as itself (the arg-max of its reconstruction)."""
        x = data.test_x
        if len(x) > 16 or not hasattr(model, "encode"):
            return {}, {}
        h = self.codes(model, x, device)
        x_hat = self.reconstruct(model, x, device)
        ok = (x_hat.flatten(1).argmax(1) == x.flatten(1).argmax(1)).float()
        lines = ["input     code" + " " * 8 + "rounded"]
        for i in range(len(x)):
            bits = "".join(str(int(v > 0.5)) for v in h[i])
            vals = " ".join(f"{float(v):.2f}" for v in h[i])
            lines.append(f"{data.classes[i] if i < len(data.classes) else i!s:9s} {vals}   {bits}")
        distinct = len({tuple((h[i] > 0.5).int().tolist()) for i in range(len(x))})
        near_binary = float(torch.minimum(h, 1 - h).abs().mean())
        figures = {"inputs_reconstructed": int(ok.sum()), "inputs": len(x),
                   "distinct_rounded_codes": distinct, "code_distance_from_binary": round(near_binary, 4),
                   "hidden_codes_table": "\n".join(lines)}
        return figures, {"code_table": h.numpy(), "code_table_labels": np.array(data.classes[:len(x)])}

    # ------------------------------------------------------------------------------------ user's images
    def describe(self, data) -> dict:
        return {"classes": list(data.classes)}

    def predict(self, model, mcfg, doc: dict, files: list[str], invert: bool = False) -> list[dict]:
        """Encode and reconstruct image files: the code and the reconstruction's error and PSNR."""
        out = []
        for f, img in zip(files, read_images(files, mcfg.in_shape, invert)):
            x = img[None]
            code = self.codes(model, x, torch.device("cpu"))[0]
            x_hat = self.reconstruct(model, x, torch.device("cpu"))
            err = float(((x_hat - x) ** 2).sum())
            psnr = float(psnr_db(x_hat, x)[0])
            out.append({"file": str(f), "label": f"squared error {err:.2f}, PSNR {psnr:.1f} dB",
                        "code": [round(float(v), 4) for v in code], "squared_error": round(err, 4),
                        "psnr_db": round(psnr, 3)})
        return out
