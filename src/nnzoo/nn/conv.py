"""Convolution arithmetic from the lecture."""
from __future__ import annotations


def conv_out(size: int, kernel: int, padding: int = 0, stride: int = 1, dilation: int = 1) -> int:
    """Output size of a convolution or pooling window along one axis.

    O = (W - K + 2P) / S + 1, floored; a dilated kernel covers K' = D (K - 1) + 1 pixels.
    """
    k = dilation * (kernel - 1) + 1
    out = (size - k + 2 * padding) // stride + 1
    if out < 1:
        raise ValueError(f"a {kernel}x{kernel} window (stride {stride}, padding {padding}) does not fit "
                         f"an input of size {size}")
    return out


ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU", "leaky-relu": "LeakyReLU", "gelu": "GELU"}


def activation(name: str):
    import torch.nn as nn
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return getattr(nn, ACTIVATIONS[name])()
