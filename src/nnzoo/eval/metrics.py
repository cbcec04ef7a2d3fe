"""Pure metric functions: tensors in, numbers out."""
from __future__ import annotations

import numpy as np
import torch


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of examples whose arg-max class is the label."""
    if len(y) == 0:
        return float("nan")
    return float((logits.argmax(1) == y).float().mean())


def confusion_matrix(pred: torch.Tensor, y: torch.Tensor, k: int) -> np.ndarray:
    """K x K counts, rows = true class, columns = predicted class."""
    idx = y.long() * k + pred.long()
    return torch.bincount(idx, minlength=k * k).reshape(k, k).numpy()


def nats_to_bits(nats: float) -> float:
    """bits = nats / ln 2."""
    return nats / float(np.log(2.0))


def corpus_bleu(hypotheses: list[str], references: list[str]) -> tuple[float, str]:
    """sacreBLEU's corpus BLEU (0-100) of detokenised hypotheses against one reference each, and its signature.

    Case-insensitive (the models write lowercase) with sacreBLEU's `intl` tokeniser, which splits off every
    Unicode punctuation mark: Spanish ¿ and ¡ included, which the default 13a tokeniser leaves on the word."""
    import sacrebleu
    bleu = sacrebleu.metrics.BLEU(tokenize="intl", lowercase=True)
    score = bleu.corpus_score(hypotheses, [references])
    return float(score.score), str(bleu.get_signature())


def frechet_distance(f1: np.ndarray, f2: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N1, D) and (N2, D):
    ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) (Heusel et al. 2017, the 'F' of FID)."""
    from scipy import linalg
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    import warnings
    with warnings.catch_warnings():  # dead ReLU features make S1 S2 singular; the nudge below handles that
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():  # near-singular product: nudge both diagonals, as the reference code does
        off = np.eye(len(s1)) * 1e-6
        covmean = linalg.sqrtm((s1 + off) @ (s2 + off))
    covmean = covmean.real  # rounding leaves tiny imaginary parts
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def inception_score(probs: np.ndarray) -> float:
    """exp(E_x KL(p(y|x) || p(y))) from class probabilities (N, K) (Salimans et al. 2016): from 1 (every sample
    alike, or every prediction unsure) up to K (confident predictions spread evenly over all K classes)."""
    p = np.clip(np.asarray(probs, np.float64), 1e-12, 1.0)
    marginal = p.mean(0, keepdims=True)
    # KL(p(y|x) || p(y)) = sum_y p(y|x) (log p(y|x) - log p(y))
    kl = (p * (np.log(p) - np.log(marginal))).sum(1)
    return float(np.exp(kl.mean()))


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Structural similarity per image (Wang et al. 2004) for images (B, C, H, W) in [0, 1]: local means,
    variances and covariance under an 11x11 Gaussian window (sigma 1.5, 'valid' positions only), C1 = (0.01)^2,
    C2 = (0.03)^2, averaged over positions and channels. -> B."""
    import torch.nn.functional as F
    x, y = x.double(), y.double()
    c = x.shape[1]
    window = min(window, x.shape[-1], x.shape[-2])
    t = torch.arange(window, dtype=torch.float64) - (window - 1) / 2
    g = torch.exp(-t ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    k = (g[:, None] * g[None, :]).expand(c, 1, window, window)

    def blur(a):
        return F.conv2d(a, k, groups=c)
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    # SSIM = (2 mx my + C1)(2 cov + C2) / ((mx^2 + my^2 + C1)(vx + vy + C2))
    s = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return s.flatten(1).mean(1).float()


def psnr_db(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio per image for pixels in [0, 1]: 10 log10(1 / MSE). -> B."""
    mse = ((x_hat.float() - x.float()) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return 10 * torch.log10(1.0 / mse)
