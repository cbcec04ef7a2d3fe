"""Unpaired image to image (task `cycle`): CycleGAN."""
from nnzoo.recipes import GAN_TRAIN, Recipe

RECIPES = [
    Recipe("digits-cyclegan", "cycle", "cyclegan", "mnist+digits28",
           "CycleGAN between MNIST and scikit-learn's upsampled digits: unpaired, cycle and identity losses",
           model_config=dict(width=32, blocks=3), train=dict(GAN_TRAIN, epochs=2, train_subset=12000),
           quick=dict(epochs=1, train_subset=1500, test_size=2000),
           metric="translate_digits28_to_mnist_class_kept_percent",
           reference="Zhu et al. 2017 (photos, paintings); no MNIST figure published"),
]
