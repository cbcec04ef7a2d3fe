"""Every model, task, recipe and experiment, one line each, imported lazily.

Adding a model is one file in `models/` and one line in MODELS; a recipe is one entry in RECIPES.
Nothing else in nnzoo switches on a model's name.
"""
from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import Any

from . import config as C
from .errors import UserError

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
}

# name -> module with run(out, quick, seed, progress) -> {"figures", "images", "summary"}
EXPERIMENTS = {
    "xor": "nnzoo.experiments.xor",
    "vanishing-gradients": "nnzoo.experiments.vanishing_gradients",
    "lstm-gates": "nnzoo.experiments.lstm_gates",
    "rnn-gradients": "nnzoo.experiments.rnn_gradients",
    "long-memory": "nnzoo.experiments.long_memory",
    "ae-regularisers": "nnzoo.experiments.ae_regularisers",
    "ae-codes": "nnzoo.experiments.ae_codes",
}


@dataclass(frozen=True)
class Recipe:
    name: str
    task: str
    model: str
    data: str
    summary: str
    model_config: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    quick: dict = field(default_factory=dict)
    """Overrides for the tour's quick version (minutes on 2 CPU cores)."""
    metric: str = "test_accuracy_percent"
    """The headline figure's key in `nnzoo eval --json`."""
    target: float | None = None
    """The figure the issue asks for (a floor for accuracies)."""
    reference: str = ""
    """The published figure beside ours, with its setting."""
    lower_is_better: bool = False
    """The target is a ceiling (a loss), not a floor (an accuracy)."""


_R = Recipe
# character models: epochs is a ceiling, time_limit (minutes) ends the run. Batch 32, not 64 or 128: on 2 CPU
# cores the fused LSTM reads ~10k characters/s at any of the three, so the smallest gives the most updates.
_LM_TRAIN = dict(epochs=20, time_limit=30, batch_size=32, lr=3e-3, schedule="cosine", warmup=0.02, grad_clip=1.0,
                 log_every=20)
_LM_QUICK = dict(epochs=1, time_limit=0, train_subset=6000, hidden=128, layers=1)
# translation: a bidirectional GRU encoder and a GRU decoder of 128 units, 64-wide word embeddings. 8 epochs,
# not 4 of a 256-unit model in the same time: attention needs them. At 4 epochs (cosine) the 256-unit
# attention model had not yet learnt to align and lost to the plain one (beam BLEU 3.53 vs 4.37); with a
# constant lr the 128-unit attention model's validation loss passes the plain one's in epoch 4 and leads by
# 0.36 nats at epoch 6. length_alpha 0.5: validation BLEU 4.70 against 4.34 with 1.0 (plain model, beam 5).
_MT_MODEL = dict(cell="gru", embed=64, hidden=128, attn_size=64, layers=1, bidirectional=True, dropout=0.2,
                 beam=5, length_alpha=0.5)
_MT_TRAIN = dict(epochs=8, batch_size=64, lr=3e-3, schedule="cosine", warmup=0.02, grad_clip=1.0, log_every=20)
_MT_QUICK = dict(epochs=1, train_subset=2000, embed=64, hidden=64, attn_size=64, beam=3, max_len=30)
# autoencoders: Adam, batch 128; the tour's versions see the training digits 3 times (seconds each). The
# tour's image sections report on the first 2,000 test digits (test_size): their test reports were most of
# their time (BENCHMARKS.md, "The tour")
_AE_TRAIN = dict(epochs=20, batch_size=128, lr=1e-3, schedule="cosine", log_every=50)
_AE_QUICK = dict(epochs=3, test_size=2000)
# the three regularised ones: the experiment ae-regularisers sets them side by side; their own sections show
# their pictures from 20,000 digits (with the whole set an autoencoder needs the 3 passes to beat PCA)
_AE_REG_QUICK = dict(_AE_QUICK, train_subset=20000)
# the VAE trains by the clock: 20 minutes, the budget, is roughly 80 epochs on 2 cores
_VAE_TRAIN = dict(epochs=200, time_limit=20, batch_size=128, lr=1e-3, schedule="cosine", log_every=100)
# GANs: Adam with DCGAN's beta1 = 0.5 (momentum 0.9 makes the two players oscillate), batch 64
_GAN_TRAIN = dict(epochs=5, batch_size=64, lr=2e-4, betas=[0.5, 0.999], log_every=50)
_GAN_QUICK = dict(epochs=1, train_subset=10000, test_size=2000)
_I2I_QUICK = dict(epochs=1, train_subset=5000, test_size=2000)  # the slower GANs and image-to-image models
_GAN_FID = "test_fid_classifier"
RECIPES = {r.name: r for r in [
    _R("digits-cnn", "classify", "cnn", "digits", "small CNN on scikit-learn's 8x8 digits (the fastest check)",
       model_config=dict(channels=[32, 64], kernel=3, padding=1, hidden=[128], dropout=0.25),
       train=dict(epochs=30, batch_size=32, lr=3e-3, schedule="onecycle", augment=1, log_every=10),
       quick=dict(), target=98.0, reference="no published figure; SVM ~98-99 % on this split"),
    # 16-32 channels, not Keras' 32-64: 3x the images per second on 2 CPU cores for the same accuracy once
    # batch norm, +-2 px shifts and a one-cycle schedule are added
    _R("mnist-cnn", "classify", "cnn", "mnist", "conv5x5(16)-pool-conv5x5(32)-pool-fc128, batch norm, shifts",
       model_config=dict(channels=[16, 32], hidden=[128], dropout=0.25),
       train=dict(epochs=12, batch_size=128, lr=3e-3, schedule="onecycle", augment=2),
       quick=dict(epochs=1), target=99.3, reference="99.25 % (Keras mnist_cnn, 12 epochs)"),
    _R("mnist-mlp", "classify", "mlp", "mnist", "784-512-512-10 ReLU MLP, dropout 0.2 (Keras mnist_mlp), +-1 px shifts",
       model_config=dict(hidden=[512, 512], dropout=0.2),
       # +-1 px shifts: 98.44 -> 99.02 % at the same cost (measured; BENCHMARKS.md)
       train=dict(epochs=20, batch_size=128, lr=1e-3, schedule="cosine", augment=1),
       quick=dict(epochs=2), target=98.4, reference="98.40 % (Keras mnist_mlp, 20 epochs)"),
    _R("mnist-lenet5", "classify", "cnn", "mnist", "LeNet-5 (LeCun et al. 1998) with batch norm",
       model_config=dict(arch="lenet5", dropout=0.0),
       train=dict(epochs=10, lr=3e-3, schedule="onecycle"),
       quick=dict(epochs=1), reference="99.05 % (LeCun et al. 1998, 20 epochs, no distortions)"),
    _R("mnist-resnet", "classify", "cnn", "mnist", "a small ResNet: stem + 3 residual stages (16-32-64)",
       model_config=dict(arch="resnet", channels=[16, 32, 64], hidden=[], dropout=0.0),
       train=dict(epochs=5, lr=3e-3, schedule="onecycle", augment=2),
       quick=dict(epochs=1, train_subset=10000), reference="no published figure for this size"),
    # character language models: 30 minutes of training each (time_limit; the cosine schedule follows the
    # clock). The three Shakespeare cells have equal parameter counts (~0.88 M: LSTM 256, GRU 296, RNN 516
    # units in 2 layers), so their losses compare the cells, not their sizes.
    _R("shakespeare-lstm", "charlm", "char-lm", "shakespeare", "2-layer LSTM character model of 38 plays, 30 min",
       model_config=dict(cell="lstm", hidden=256, layers=2, seq_len=128, dropout=0.0),
       train=_LM_TRAIN, quick=_LM_QUICK, metric="test_loss_nats_per_char", target=1.50, lower_is_better=True,
       reference="1.88 nats/char (nanoGPT's small CPU transformer, tiny-Shakespeare)"),
    _R("shakespeare-gru", "charlm", "char-lm", "shakespeare", "2-layer GRU, same parameter count and time",
       model_config=dict(cell="gru", hidden=296, layers=2, seq_len=128, dropout=0.0),
       train=_LM_TRAIN, quick=_LM_QUICK, metric="test_loss_nats_per_char", lower_is_better=True,
       reference="compare with shakespeare-lstm and shakespeare-rnn (equal parameters and wall time)"),
    _R("shakespeare-rnn", "charlm", "char-lm", "shakespeare", "2-layer vanilla tanh RNN, same parameters and time",
       model_config=dict(cell="rnn", hidden=516, layers=2, seq_len=128, dropout=0.0),
       train=_LM_TRAIN, quick=_LM_QUICK, metric="test_loss_nats_per_char", lower_is_better=True,
       reference="compare with shakespeare-lstm and shakespeare-gru (equal parameters and wall time)"),
    _R("pycode-lstm", "charlm", "char-lm", "pycode", "2-layer LSTM on CPython's standard library, 30 min",
       model_config=dict(cell="lstm", hidden=256, layers=2, seq_len=128, dropout=0.0),
       train=_LM_TRAIN, quick=_LM_QUICK, metric="test_loss_nats_per_char", lower_is_better=True,
       reference="no published figure; also reports the share of 500 sampled functions Python's ast parses"),
    # sentence polarity (many to one): every word's embedding learnt from scratch (no pretrained vectors), with
    # VADER's human-rated valence of the token beside it (lexicon) and fastText's character n-grams added to it
    # (subwords), so the test split's unknown words (5 % of its tokens) keep their rating and spelling. Training
    # adds VADER's other rated sentences to the 8,454 movie ones (rt-sentences-plus; validation and test are
    # the movie sentences of rt-sentences). One such BiLSTM: 79.4 % test (mean of seeds 0-5); four side by side,
    # their probabilities averaged (members=4): 81.1, 82.9, 81.4 % for seeds 0-2, at four times the training time
    _R("sentiment-bilstm", "sentiment", "bilstm-classifier", "rt-sentences-plus",
       "four bidirectional LSTMs over words, their spelling and VADER valence, max+mean-pooled, probabilities "
       "averaged, on rated Rotten Tomatoes sentences",
       model_config=dict(embed=128, hidden=128, layers=1, pool="max+mean", dropout=0.5, embed_dropout=0.25,
                         lexicon=True, subwords=20000, members=4),
       train=dict(epochs=8, batch_size=64, lr=2e-3, schedule="cosine", grad_clip=1.0, log_every=20),
       # the tour's version: one member, 138 steps on 3,000 sentences without dropout (the full recipe needs
       # minutes)
       quick=dict(epochs=3, train_subset=3000, lr=3e-3, embed_dropout=0.0, dropout=0.2, members=1), target=80.0,
       reference="77.7 % (TF-IDF + logistic regression on this set); eval reports it on our split"),
    # English -> Spanish (many to many, unaligned): short verses of two public-domain Bibles, split by book.
    # The two recipes share encoder, decoder, read-out and training; only the decoder's view of the source
    # differs, so their BLEU gap is the attention's.
    _R("translate-en-es", "translate", "seq2seq", "bible-en-es",
       "encoder-decoder: the encoder's final state starts the decoder (Sutskever et al. 2014), GRU 128",
       model_config=dict(_MT_MODEL, attention="none"), train=_MT_TRAIN, quick=_MT_QUICK, metric="test_bleu_beam",
       reference="Sutskever et al. 2014: 30.6 BLEU one 4x1000 LSTM, 34.8 five (WMT'14 En-Fr, 12 M pairs)"),
    _R("translate-en-es-attention", "translate", "seq2seq", "bible-en-es",
       "the same with Bahdanau's additive attention over the encoder states at every step",
       model_config=dict(_MT_MODEL, attention="bahdanau"), train=_MT_TRAIN, quick=_MT_QUICK,
       metric="test_bleu_beam",
       reference="Bahdanau et al. 2015: 26.75 BLEU vs 17.82 without attention (WMT'14 En-Fr, 12 M pairs)"),
    # autoencoders: reconstruction per image (summed over 784 pixels, averaged over images), each beside
    # PCA with as many components as the code has units, fitted in the same `nnzoo eval`
    _R("mnist-ae", "reconstruct", "autoencoder", "mnist", "undercomplete MLP autoencoder 784-256-32-256-784",
       model_config=dict(hidden=[256], code=32), train=_AE_TRAIN, quick=_AE_QUICK,
       metric="squared_error_vs_pca", lower_is_better=True,
       reference="no published figure; PCA with 32 components in the same eval"),
    _R("mnist-ae-linear", "reconstruct", "autoencoder", "mnist",
       "linear autoencoder 784-16-784 with squared error: learns PCA's subspace",
       model_config=dict(hidden=[], code=16, activation="linear", output="linear", recon_loss="mse"),
       train=dict(_AE_TRAIN, epochs=30, lr=3e-3), quick=dict(epochs=10, test_size=2000),
       metric="pca_angle_max_degrees", target=5.0, lower_is_better=True,
       reference="Baldi & Hornik 1989: the optimum spans the top-k principal subspace (angles 0)"),
    _R("encoder-838", "reconstruct", "autoencoder", "onehot-8", "Mitchell's 8-3-8 encoder, sigmoid units",
       model_config=dict(hidden=[], code=3, code_activation="sigmoid", output="sigmoid", recon_loss="bce"),
       # full-batch Adam: 5,000 steps give 8 distinct near-binary codes (3 seeds of 3 tried; lr 0.01 is
       # slower, SGD at lr 1 merges codes)
       train=dict(epochs=5000, batch_size=8, lr=0.05, log_every=500), quick=dict(),
       metric="inputs_reconstructed", target=8,
       reference="Mitchell 1997, Machine Learning, ch. 4: 8 inputs through 3 near-binary hidden units"),
    _R("mnist-deep-ae", "reconstruct", "autoencoder", "mnist",
       "784-1000-500-250-30 sigmoid autoencoder, greedy layer-wise pretrained, then fine-tuned",
       model_config=dict(hidden=[1000, 500, 250], code=30, activation="sigmoid", pretrain_epochs=3),
       train=dict(_AE_TRAIN, epochs=10), quick=dict(epochs=2, pretrain_epochs=1, test_size=2000),
       metric="squared_error_vs_pca", target=0.5, lower_is_better=True,
       reference="Hinton & Salakhutdinov 2006: squared error 3.00 per image vs 13.87 for 30-D PCA"),
    _R("mnist-sparse-ae", "reconstruct", "autoencoder", "mnist",
       "overcomplete 784-1000-784, sigmoid code, KL sparsity penalty (rho 0.05)",
       model_config=dict(hidden=[], code=1000, code_activation="sigmoid", sparsity=3.0, rho=0.05),
       train=_AE_TRAIN, quick=_AE_REG_QUICK, metric="mean_code_activation",
       reference="Ng, CS294A notes: rho = 0.05, beta = 3"),
    _R("mnist-contractive-ae", "reconstruct", "autoencoder", "mnist",
       "overcomplete 784-1000-784, sigmoid code, contractive penalty lambda ||J_f(x)||_F^2",
       model_config=dict(hidden=[], code=1000, code_activation="sigmoid", contraction=0.1),
       train=_AE_TRAIN, quick=_AE_REG_QUICK, metric="test_jacobian_frobenius", lower_is_better=True,
       reference="Rifai et al. 2011: CAE with 1000 sigmoid units on MNIST"),
    _R("mnist-denoising-ae", "reconstruct", "autoencoder", "mnist",
       "overcomplete 784-1000-784 denoising autoencoder: Gaussian noise sigma 0.3 in, clean digit out",
       model_config=dict(hidden=[], code=1000, code_activation="sigmoid", noise="gaussian", noise_level=0.3),
       train=_AE_TRAIN, quick=_AE_REG_QUICK, metric="test_psnr_denoised_db",
       reference="Vincent et al. 2008/2010: denoising autoencoders on MNIST"),
    _R("mnist-conv-ae", "reconstruct", "conv-autoencoder", "mnist",
       "convolutional autoencoder: two stride-2 convolutions (16, 32) to a 32-D code, transposed ones back",
       model_config=dict(channels=[16, 32], code=32), train=dict(_AE_TRAIN, epochs=10),
       quick=dict(epochs=2, test_size=2000),
       metric="squared_error_vs_pca", lower_is_better=True,
       reference="compare with mnist-ae (MLP, same code size) in BENCHMARKS.md"),
    _R("mnist-vae", "reconstruct", "vae", "mnist", "variational autoencoder 784-512-256-z32, Bernoulli decoder",
       model_config=dict(hidden=[512, 256], latent=32), train=_VAE_TRAIN,
       quick=dict(_AE_QUICK, nll_samples=20), metric="test_nll_nats", target=95.0, lower_is_better=True,
       reference="pythae: 89.8 nats after 500 epochs on a GPU; Burda et al. 2016: 86.76 (VAE, k=1)"),
    _R("mnist-vae-2d", "reconstruct", "vae", "mnist", "variational autoencoder with a 2-D latent: the manifold",
       model_config=dict(hidden=[512, 256], latent=2), train=dict(_VAE_TRAIN, time_limit=5),
       quick=dict(_AE_QUICK, nll_samples=20), metric="test_nll_nats", lower_is_better=True,
       reference="Kingma & Welling 2014, fig. 4: the learnt 2-D MNIST manifold"),
    # GANs: every figure is read by nnzoo's MNIST classifier (classifier-FID, not Inception-FID; eval/judge.py)
    _R("mnist-gan", "generate", "gan", "mnist", "GAN with MLP generator 100-256-512-1024-784 and discriminator 784-512-256-1",
       model_config=dict(arch="mlp", hidden=[256, 512, 1024], dropout=0.3), train=dict(_GAN_TRAIN, epochs=20),
       quick=_GAN_QUICK, metric=_GAN_FID, lower_is_better=True,
       reference="Goodfellow et al. 2014: MLP generator and discriminator (Parzen log-likelihood, not FID)"),
    _R("mnist-dcgan", "generate", "gan", "mnist", "DCGAN: fractional-strided convolutions, batch norm, no FC layers",
       # 20 epochs, as many as mnist-gan: equal passes over the data, equal batch and optimizer. depth=1: one
       # 3x3 convolution at 7x7 in each network (without it: classifier-FID 48.95, a tie with mnist-gan)
       model_config=dict(arch="dcgan", width=32, depth=1), train=dict(_GAN_TRAIN, epochs=20), quick=_GAN_QUICK,
       metric=_GAN_FID,
       lower_is_better=True, reference="Radford et al. 2016; target: classifier-FID below mnist-gan's"),
    _R("mnist-cgan", "generate", "gan", "mnist", "conditional DCGAN: the class beside z and beside the image",
       model_config=dict(arch="dcgan", width=32, conditional=True), train=_GAN_TRAIN, quick=_GAN_QUICK,
       metric="conditional_accuracy_percent", target=95.0,
       reference="Mirza & Osindero 2014 (MLP cGAN on MNIST; no accuracy published)"),
    _R("mnist-wgan", "generate", "gan", "mnist", "WGAN: DCGAN critic, weights clipped to 0.01, 5 critic steps per G step",
       model_config=dict(arch="dcgan", width=32, objective="wasserstein", clip=0.01, n_critic=5),
       train=dict(_GAN_TRAIN, optimizer="rmsprop", lr=5e-5, momentum=0.0), quick=_I2I_QUICK, metric=_GAN_FID,
       lower_is_better=True, reference="Arjovsky et al. 2017: RMSProp lr 5e-5, c = 0.01, n_critic = 5"),
    _R("mnist-wgan-gp", "generate", "gan", "mnist", "WGAN-GP: gradient penalty 10, layer-normed critic, n_critic 5",
       model_config=dict(arch="dcgan", width=32, objective="wasserstein", gp_weight=10.0, n_critic=5,
                         critic_norm="layer"),
       train=dict(_GAN_TRAIN, epochs=4, lr=1e-4, betas=[0.5, 0.9]), quick=_I2I_QUICK, metric=_GAN_FID,
       lower_is_better=True, reference="Gulrajani et al. 2017: Adam lr 1e-4, betas (0, 0.9) / (0.5, 0.9), lambda 10"),
    _R("mnist-pix2pix", "paired", "pix2pix", "mnist",
       "pix2pix: U-Net + PatchGAN, L1 x 100 + conditional GAN, draws a digit from its upper half",
       model_config=dict(source="lower-half-masked", width=32), train=dict(_GAN_TRAIN, epochs=3), quick=_I2I_QUICK,
       metric="test_fid_classifier", lower_is_better=True,
       reference="Isola et al. 2017: L1 alone blurs, L1 + cGAN sharpens (compare gan_weight=0 in BENCHMARKS.md)"),
    _R("mnist-srresnet", "paired", "srgan", "mnist", "SRResNet: 7x7 -> 28x28 (4x), residual trunk, sub-pixel "
       "convolutions, pixel MSE", model_config=dict(scale=4),
       train=dict(_GAN_TRAIN, epochs=3, lr=1e-3, betas=[0.9, 0.999]), quick=_I2I_QUICK, metric="test_psnr_db",
       reference="Ledig et al. 2017, Set5 4x: SRResNet 32.05 dB, SRGAN 29.40, bicubic 28.43"),
    _R("mnist-srgan", "paired", "srgan", "mnist", "SRGAN: the same generator with a classifier-feature content loss "
       "and an adversarial term", model_config=dict(scale=4, pixel_weight=1.0, feature_weight=1.0,
                                                     adversarial_weight=1e-2),
       train=dict(_GAN_TRAIN, epochs=3), quick=_I2I_QUICK, metric="test_psnr_db",
       reference="Ledig et al. 2017: lower PSNR than SRResNet, sharper (higher MOS)"),
    _R("digits-swap-ae", "swap", "swap-autoencoder", "mnist+digits28",
       "one convolutional encoder, a decoder each for MNIST and scikit-learn's digits: swap the styles",
       # the encoder reads a 14x14 view (encoder_pool=2) through a random warp (0.1), 15 epochs with +-1 px
       # shifts: 90.8 % of digits28 swaps keep their class (without the warp 89.4 %, seed 1 86.6 %)
       model_config=dict(channels=[16, 32], code=32, warp=0.1), train=dict(_AE_TRAIN, epochs=15, augment=1),
       quick=dict(epochs=2, test_size=2000), metric="swap_digits28_to_mnist_class_kept_percent", target=90.0,
       reference="the 'deepfake' set-up: shared encoder, one decoder per identity"),
    _R("digits-cyclegan", "cycle", "cyclegan", "mnist+digits28",
       "CycleGAN between MNIST and scikit-learn's upsampled digits: unpaired, cycle and identity losses",
       model_config=dict(width=32, blocks=3), train=dict(_GAN_TRAIN, epochs=2, train_subset=12000),
       quick=dict(epochs=1, train_subset=1500, test_size=2000),
       metric="translate_digits28_to_mnist_class_kept_percent",
       reference="Zhu et al. 2017 (photos, paintings); no MNIST figure published"),
]}


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


def get_experiment(name: str):
    if name not in EXPERIMENTS:
        raise UserError(f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)}")
    return _load(EXPERIMENTS[name])


def tiny_config(name: str):
    module_cls, _ = model_classes(name)
    return importlib.import_module(module_cls.__module__).tiny()


def example_batch(name: str, cfg, n: int = 16):
    """A random batch of the shape the model's loss() takes (each model file says how), for tests."""
    module_cls, _ = model_classes(name)
    return importlib.import_module(module_cls.__module__).example_batch(cfg, n)


def resolve(recipe: Recipe, overrides: dict[str, str]):
    """Recipe + flat `key=value` overrides -> (model config, train config). A key is looked up among the
    training fields first, then the model's; `model.KEY` / `train.KEY` force one side."""
    from .train.config import TrainConfig
    _, cfg_cls = model_classes(recipe.model)
    mcfg = C.replace(cfg_cls(), recipe.model_config)
    tcfg = C.replace(TrainConfig(), {"data": recipe.data, **recipe.train})
    tnames = {f.name for f in dataclasses.fields(TrainConfig)}
    mnames = {f.name for f in dataclasses.fields(cfg_cls)}
    tvals, mvals = {}, {}
    for key, raw in overrides.items():
        side, _, bare = key.rpartition(".")
        if side in ("", "train") and bare in tnames:
            tvals[bare] = C.parse_value(raw, getattr(tcfg, bare), bare)
        elif side in ("", "model") and bare in mnames:
            mvals[bare] = C.parse_value(raw, getattr(mcfg, bare), bare)
        else:
            raise UserError(f"unknown key {key!r} for recipe {recipe.name}; training keys: "
                            f"{', '.join(sorted(tnames))}; model keys: {', '.join(sorted(mnames))}")
    return C.replace(mcfg, mvals), C.replace(tcfg, tvals)
