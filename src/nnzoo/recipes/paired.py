"""Image to image with paired examples (task `paired`): pix2pix and super-resolution."""
from nnzoo.recipes import GAN_TRAIN, I2I_QUICK, Recipe

RECIPES = [
    Recipe("mnist-pix2pix", "paired", "pix2pix", "mnist",
           "pix2pix: U-Net + PatchGAN, L1 x 100 + conditional GAN, draws a digit from its upper half",
           model_config=dict(source="lower-half-masked", width=32), train=dict(GAN_TRAIN, epochs=3),
           quick=I2I_QUICK, metric="test_fid_classifier", lower_is_better=True,
           reference="Isola et al. 2017: L1 alone blurs, L1 + cGAN sharpens (compare gan_weight=0 in BENCHMARKS.md)"),
    Recipe("mnist-srresnet", "paired", "srgan", "mnist", "SRResNet: 7x7 -> 28x28 (4x), residual trunk, sub-pixel "
           "convolutions, pixel MSE", model_config=dict(scale=4),
           train=dict(GAN_TRAIN, epochs=3, lr=1e-3, betas=[0.9, 0.999]), quick=I2I_QUICK, metric="test_psnr_db",
           reference="Ledig et al. 2017, Set5 4x: SRResNet 32.05 dB, SRGAN 29.40, bicubic 28.43"),
    Recipe("mnist-srgan", "paired", "srgan", "mnist", "SRGAN: the same generator with a classifier-feature content "
           "loss and an adversarial term",
           model_config=dict(scale=4, pixel_weight=1.0, feature_weight=1.0, adversarial_weight=1e-2),
           train=dict(GAN_TRAIN, epochs=3), quick=I2I_QUICK, metric="test_psnr_db",
           reference="Ledig et al. 2017: lower PSNR than SRResNet, sharper (higher MOS)"),
]
