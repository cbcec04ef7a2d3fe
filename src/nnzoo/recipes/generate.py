"""GANs (task `generate`): every figure is read by nnzoo's MNIST classifier (classifier-FID, not
Inception-FID; tasks/judge.py)."""
from nnzoo.recipes import GAN_TRAIN, I2I_QUICK, Recipe

_GAN_QUICK = dict(epochs=1, train_subset=10000, test_size=2000)
_GAN_FID = "test_fid_classifier"

RECIPES = [
    Recipe("mnist-gan", "generate", "gan", "mnist",
           "GAN with MLP generator 100-256-512-1024-784 and discriminator 784-512-256-1",
           model_config=dict(arch="mlp", hidden=[256, 512, 1024], dropout=0.3), train=dict(GAN_TRAIN, epochs=20),
           quick=_GAN_QUICK, metric=_GAN_FID, lower_is_better=True,
           reference="Goodfellow et al. 2014: MLP generator and discriminator (Parzen log-likelihood, not FID)"),
    Recipe("mnist-dcgan", "generate", "gan", "mnist",
           "DCGAN: fractional-strided convolutions, batch norm, no FC layers",
           # 20 epochs, as many as mnist-gan: equal passes over the data, equal batch and optimizer. depth=1: one
           # 3x3 convolution at 7x7 in each network; without it the DCGAN only ties mnist-gan (BENCHMARKS.md)
           model_config=dict(arch="dcgan", width=32, depth=1), train=dict(GAN_TRAIN, epochs=20), quick=_GAN_QUICK,
           metric=_GAN_FID,
           lower_is_better=True, reference="Radford et al. 2016; target: classifier-FID below mnist-gan's"),
    Recipe("mnist-cgan", "generate", "gan", "mnist", "conditional DCGAN: the class beside z and beside the image",
           model_config=dict(arch="dcgan", width=32, conditional=True), train=GAN_TRAIN, quick=_GAN_QUICK,
           metric="conditional_accuracy_percent", target=95.0,
           reference="Mirza & Osindero 2014 (MLP cGAN on MNIST; no accuracy published)"),
    Recipe("mnist-wgan", "generate", "gan", "mnist",
           "WGAN: DCGAN critic, weights clipped to 0.01, 5 critic steps per G step",
           model_config=dict(arch="dcgan", width=32, objective="wasserstein", clip=0.01, n_critic=5),
           train=dict(GAN_TRAIN, optimizer="rmsprop", lr=5e-5, momentum=0.0), quick=I2I_QUICK, metric=_GAN_FID,
           lower_is_better=True, reference="Arjovsky et al. 2017: RMSProp lr 5e-5, c = 0.01, n_critic = 5"),
    Recipe("mnist-wgan-gp", "generate", "gan", "mnist",
           "WGAN-GP: gradient penalty 10, layer-normed critic, n_critic 5",
           model_config=dict(arch="dcgan", width=32, objective="wasserstein", gp_weight=10.0, n_critic=5,
                             critic_norm="layer"),
           train=dict(GAN_TRAIN, epochs=4, lr=1e-4, betas=[0.5, 0.9]), quick=I2I_QUICK, metric=_GAN_FID,
           lower_is_better=True,
           reference="Gulrajani et al. 2017: Adam lr 1e-4, betas (0, 0.9) / (0.5, 0.9), lambda 10"),
]
