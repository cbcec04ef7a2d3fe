"""Style swaps between two sources (task `swap`): the 'deepfake' autoencoder."""
from nnzoo.recipes import AE_TRAIN, Recipe

RECIPES = [
    Recipe("digits-swap-ae", "swap", "swap-autoencoder", "mnist+digits28",
           "one convolutional encoder, a decoder each for MNIST and scikit-learn's digits: swap the styles",
           # the encoder reads a 14x14 view (encoder_pool=2) through a random warp (0.1), 15 epochs with +-1 px
           # shifts: the warp teaches each decoder to draw a clean digit from a code that is a little off, as a
           # code from the other writer is, so more swaps keep their class (BENCHMARKS.md, digits-swap-ae)
           model_config=dict(channels=[16, 32], code=32, warp=0.1), train=dict(AE_TRAIN, epochs=15, augment=1),
           quick=dict(epochs=2, test_size=2000), metric="swap_digits28_to_mnist_class_kept_percent", target=90.0,
           reference="the 'deepfake' set-up: shared encoder, one decoder per identity"),
]
