"""Image classifiers (task `classify`)."""
from nnzoo.recipes import Recipe

RECIPES = [
    Recipe("digits-cnn", "classify", "cnn", "digits", "small CNN on scikit-learn's 8x8 digits (the fastest check)",
           model_config=dict(channels=[32, 64], kernel=3, padding=1, hidden=[128], dropout=0.25),
           train=dict(epochs=30, batch_size=32, lr=3e-3, schedule="onecycle", augment=1, log_every=10),
           quick=dict(), target=98.0, reference="no published figure; SVM ~98-99 % on this split"),
    # 16-32 channels, not Keras' 32-64: chosen for accuracy per second on 2 CPU cores, with batch norm, +-2 px
    # shifts and a one-cycle schedule making up the width (BENCHMARKS.md, "Where our setting differs")
    Recipe("mnist-cnn", "classify", "cnn", "mnist", "conv5x5(16)-pool-conv5x5(32)-pool-fc128, batch norm, shifts",
           model_config=dict(channels=[16, 32], hidden=[128], dropout=0.25),
           train=dict(epochs=12, batch_size=128, lr=3e-3, schedule="onecycle", augment=2),
           quick=dict(epochs=1), target=99.3, reference="99.25 % (Keras mnist_cnn, 12 epochs)"),
    Recipe("mnist-mlp", "classify", "mlp", "mnist",
           "784-512-512-10 ReLU MLP, dropout 0.2 (Keras mnist_mlp), +-1 px shifts",
           model_config=dict(hidden=[512, 512], dropout=0.2),
           # +-1 px shifts: a higher test accuracy at the same cost (BENCHMARKS.md, "Where our setting differs")
           train=dict(epochs=20, batch_size=128, lr=1e-3, schedule="cosine", augment=1),
           quick=dict(epochs=2), target=98.4, reference="98.40 % (Keras mnist_mlp, 20 epochs)"),
    Recipe("mnist-lenet5", "classify", "cnn", "mnist", "LeNet-5 (LeCun et al. 1998) with batch norm",
           model_config=dict(arch="lenet5", dropout=0.0),
           train=dict(epochs=10, lr=3e-3, schedule="onecycle"),
           quick=dict(epochs=1), reference="99.05 % (LeCun et al. 1998, 20 epochs, no distortions)"),
    Recipe("mnist-resnet", "classify", "cnn", "mnist", "a small ResNet: stem + 3 residual stages (16-32-64)",
           model_config=dict(arch="resnet", channels=[16, 32, 64], hidden=[], dropout=0.0),
           train=dict(epochs=5, lr=3e-3, schedule="onecycle", augment=2),
           quick=dict(epochs=1, train_subset=10000), reference="no published figure for this size"),
]
