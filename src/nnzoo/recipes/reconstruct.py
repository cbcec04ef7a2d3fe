"""Autoencoders and VAEs (task `reconstruct`): reconstruction per image (summed over 784 pixels, averaged over
images), each beside PCA with as many components as the code has units, fitted in the same `nnzoo eval`.

The tour's versions see the training digits 3 times (seconds each) and report on the first 2,000 test digits
(test_size): their test reports were most of their time (BENCHMARKS.md, "The tour").
"""
from nnzoo.recipes import AE_TRAIN, Recipe

_AE_QUICK = dict(epochs=3, test_size=2000)
# the three regularised ones: the experiment ae-regularisers sets them side by side; their own sections show
# their pictures from 20,000 digits (with the whole set an autoencoder needs the 3 passes to beat PCA)
_AE_REG_QUICK = dict(_AE_QUICK, train_subset=20000)
# the VAE trains by the clock: 20 minutes, the budget (epochs is a ceiling)
_VAE_TRAIN = dict(epochs=200, time_limit=20, batch_size=128, lr=1e-3, schedule="cosine", log_every=100)

RECIPES = [
    Recipe("mnist-ae", "reconstruct", "autoencoder", "mnist", "undercomplete MLP autoencoder 784-256-32-256-784",
           model_config=dict(hidden=[256], code=32), train=AE_TRAIN, quick=_AE_QUICK,
           metric="squared_error_vs_pca", lower_is_better=True,
           reference="no published figure; PCA with 32 components in the same eval"),
    Recipe("mnist-ae-linear", "reconstruct", "autoencoder", "mnist",
           "linear autoencoder 784-16-784 with squared error: learns PCA's subspace",
           model_config=dict(hidden=[], code=16, activation="linear", output="linear", recon_loss="mse"),
           train=dict(AE_TRAIN, epochs=30, lr=3e-3), quick=dict(epochs=10, test_size=2000),
           metric="pca_angle_max_degrees", target=5.0, lower_is_better=True,
           reference="Baldi & Hornik 1989: the optimum spans the top-k principal subspace (angles 0)"),
    Recipe("encoder-838", "reconstruct", "autoencoder", "onehot-8", "Mitchell's 8-3-8 encoder, sigmoid units",
           model_config=dict(hidden=[], code=3, code_activation="sigmoid", output="sigmoid", recon_loss="bce"),
           # full-batch Adam at lr 0.05: 5,000 steps give 8 distinct near-binary codes; a smaller lr is slower,
           # SGD at lr 1 merges codes (BENCHMARKS.md: encoder-838, "Notes behind the recipes' settings")
           train=dict(epochs=5000, batch_size=8, lr=0.05, log_every=500), quick=dict(),
           metric="inputs_reconstructed", target=8,
           reference="Mitchell 1997, Machine Learning, ch. 4: 8 inputs through 3 near-binary hidden units"),
    Recipe("mnist-deep-ae", "reconstruct", "autoencoder", "mnist",
           "784-1000-500-250-30 sigmoid autoencoder, greedy layer-wise pretrained, then fine-tuned",
           model_config=dict(hidden=[1000, 500, 250], code=30, activation="sigmoid", pretrain_epochs=3),
           train=dict(AE_TRAIN, epochs=10), quick=dict(epochs=2, pretrain_epochs=1, test_size=2000),
           metric="squared_error_vs_pca", target=0.5, lower_is_better=True,
           reference="Hinton & Salakhutdinov 2006: squared error 3.00 per image vs 13.87 for 30-D PCA"),
    Recipe("mnist-sparse-ae", "reconstruct", "autoencoder", "mnist",
           "overcomplete 784-1000-784, sigmoid code, KL sparsity penalty (rho 0.05)",
           model_config=dict(hidden=[], code=1000, code_activation="sigmoid", sparsity=3.0, rho=0.05),
           train=AE_TRAIN, quick=_AE_REG_QUICK, metric="mean_code_activation",
           reference="Ng, CS294A notes: rho = 0.05, beta = 3"),
    Recipe("mnist-contractive-ae", "reconstruct", "autoencoder", "mnist",
           "overcomplete 784-1000-784, sigmoid code, contractive penalty lambda ||J_f(x)||_F^2",
           model_config=dict(hidden=[], code=1000, code_activation="sigmoid", contraction=0.1),
           train=AE_TRAIN, quick=_AE_REG_QUICK, metric="test_jacobian_frobenius", lower_is_better=True,
           reference="Rifai et al. 2011: CAE with 1000 sigmoid units on MNIST"),
    Recipe("mnist-denoising-ae", "reconstruct", "autoencoder", "mnist",
           "overcomplete 784-1000-784 denoising autoencoder: Gaussian noise sigma 0.3 in, clean digit out",
           model_config=dict(hidden=[], code=1000, code_activation="sigmoid", noise="gaussian", noise_level=0.3),
           train=AE_TRAIN, quick=_AE_REG_QUICK, metric="test_psnr_denoised_db",
           reference="Vincent et al. 2008/2010: denoising autoencoders on MNIST"),
    Recipe("mnist-conv-ae", "reconstruct", "conv-autoencoder", "mnist",
           "convolutional autoencoder: two stride-2 convolutions (16, 32) to a 32-D code, transposed ones back",
           model_config=dict(channels=[16, 32], code=32), train=dict(AE_TRAIN, epochs=10),
           quick=dict(epochs=2, test_size=2000),
           metric="squared_error_vs_pca", lower_is_better=True,
           reference="compare with mnist-ae (MLP, same code size) in BENCHMARKS.md"),
    Recipe("mnist-vae", "reconstruct", "vae", "mnist", "variational autoencoder 784-512-256-z32, Bernoulli decoder",
           model_config=dict(hidden=[512, 256], latent=32), train=_VAE_TRAIN,
           quick=dict(_AE_QUICK, nll_samples=20), metric="test_nll_nats", target=95.0, lower_is_better=True,
           reference="pythae: 89.8 nats after 500 epochs on a GPU; Burda et al. 2016: 86.76 (VAE, k=1)"),
    Recipe("mnist-vae-2d", "reconstruct", "vae", "mnist", "variational autoencoder with a 2-D latent: the manifold",
           model_config=dict(hidden=[512, 256], latent=2), train=dict(_VAE_TRAIN, time_limit=5),
           quick=dict(_AE_QUICK, nll_samples=20), metric="test_nll_nats", lower_is_better=True,
           reference="Kingma & Welling 2014, fig. 4: the learnt 2-D MNIST manifold"),
]
