"""Video to text: S2VT, "Sequence to Sequence - Video to Text" (Venugopalan, Rohrbach, Donahue, Mooney, Darrell
& Saenko 2015).

Two stacked LSTMs run over T + N steps. For the first T steps the first LSTM reads the frames' CNN features
and the second reads the first's output beside an empty word (<pad>: zeros); then for N steps the first LSTM
reads empty frames (zeros) and the second reads the words, BOS first, and predicts the next one:

    h1_t = LSTM1(f_t)         for t < T,   LSTM1(0) after
    h2_t = LSTM2([h1_t; 0])   for t < T,   LSTM2([h1_t; W_e S_{t-T}]) after
    p(S_{t-T+1}) = softmax(W_o h2_t)       only on the word steps: the loss reads nothing of the frame steps

So one set of weights encodes and decodes, and the order of the frames reaches the sentence: a digit that
moves left and one that moves right differ only in the order of the same frames.

`mean_pool=True` is the baseline the paper compares with (Venugopalan et al. 2015a's mean-pooled model): the
frames' features averaged into one, read in a single frame step and then the words, a captioner on the
average frame feature. A mean forgets the order, so it cannot tell "moves left" from "moves right": reversed
clips get exactly its captions.

The frame CNN and the decoding (log_prob, greedy, beam search) are the captioner's (`models.captioner`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from .. import config as C
from ..errors import UserError
from ..nn.recurrent import Recurrent
from .captioner import CaptionModel, ImageEncoder, ImageKeys, check_images, encode_captions

PAD = 0


@dataclass
class ClipKeys(ImageKeys):
    """The keys of a clip model's frame CNN (S2VT and the video classifier): an image CNN's, and the clips'."""
    frames: int = C.positive(20)
    """Frames per clip (set from the data); a clip of another length is refused."""
    features: int = C.positive(128)
    """Width of each frame's feature f_t, what the (first) LSTM reads (S2VT's paper: fc7's 4096 mapped to
    500)."""
    motion: bool = False
    """Give the CNN each frame beside its difference from the frame read before it, the motion a single frame
    lacks (a cheap stand-in for S2VT's optical-flow stream); the first frame's difference is zero."""


def frame_encoder(cfg: ClipKeys, dropout: float) -> ImageEncoder:
    """f_t = W_f CNN(frame_t): one CNN for every frame (motion: twice the channels, the frame and d_t)."""
    channels = cfg.in_channels * (2 if cfg.motion else 1)
    return ImageEncoder(channels, cfg.image_size, cfg.channels, cfg.kernel, cfg.features, dropout)


def clip_features(encoder: ImageEncoder, cfg: ClipKeys, x: torch.Tensor, step: int = 1) -> torch.Tensor:
    """Clips B, T, C, S, S (checked against cfg) -> the features of every step-th frame B, T / step, F."""
    check_clips(x, cfg.frames, cfg.in_channels, cfg.image_size)
    x = x[:, ::step]
    if cfg.motion:
        # d_t = x_t - x_{t-1}, d_0 = 0: positive where a digit arrives, negative where it left, so the frame
        # alone says which way it moves
        x = torch.cat([x, x - torch.cat([x[:, :1], x[:, :-1]], 1)], 2)  # B, T, 2C, S, S
    B, T = x.shape[:2]
    return encoder(x.flatten(0, 1)).view(B, T, -1)  # every frame through the one CNN


@dataclass
class S2VTConfig(ClipKeys):
    vocab_size: int = C.positive(64)
    """Words in the vocabulary, the four specials included (set from the training captions)."""
    embed: int = C.positive(64)
    """Width of each word's embedding, what the second LSTM reads beside the first's output."""
    hidden: int = C.positive(256)
    """Units of each of the two LSTMs (the paper: 1000)."""
    dropout: float = C.fraction(0.2, hi_open=True)
    """Dropout on the flattened feature maps, the word embeddings, between the two LSTMs and before the output
    layer, in [0, 1)."""
    mean_pool: bool = False
    """The baseline: average the frames' features and read that one vector instead of the T frames in order."""
    frame_step: int = C.positive(1)
    """Read every frame_step-th frame of a clip (1: every frame), as video models read frames sampled from a
    video rather than all of them: 2 halves the CNN's work and the frame steps. A clip still has `frames`
    frames."""
    max_len: int = C.positive(16)
    """Longest caption decoding writes, in tokens, EOS included."""
    fast: bool = True
    """Run the LSTMs on PyTorch's fused kernel (same numbers, faster); False steps through the equations."""


def check_clips(x: torch.Tensor, frames: int, channels: int, side: int) -> None:
    """A clear line for clips of the wrong shape: B, T, C, S, S expected."""
    if x.dim() != 5:
        raise UserError(f"a clip batch should be B x frames x channels x height x width, got a {x.dim()}-d "
                        "tensor: give the frames of each clip in order")
    if x.size(1) != frames:
        raise UserError(f"clips have {x.size(1)} frames, but this model reads {frames}: give {frames} frames")
    check_images(x[:, 0], channels, side, "frames")


class S2VT(CaptionModel):
    def __init__(self, cfg: S2VTConfig):
        super().__init__()
        self.cfg = cfg
        Fw, E, H = cfg.features, cfg.embed, cfg.hidden
        self.encoder = frame_encoder(cfg, cfg.dropout)
        self.embed = nn.Embedding(cfg.vocab_size, E, padding_idx=PAD)
        self.drop = nn.Dropout(cfg.dropout)
        self.lstm1 = Recurrent("lstm", Fw, H, fast=cfg.fast)  # reads frames
        self.lstm2 = Recurrent("lstm", H + E, H, fast=cfg.fast)  # reads LSTM1's output and words
        self.head = nn.Linear(H, cfg.vocab_size)

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        """f_t = W_f CNN(frame_t): clips B, T, C, S, S -> T, B, F time first (mean_pool: 1, B, F, the mean)."""
        f = clip_features(self.encoder, self.cfg, x, self.cfg.frame_step)  # B, T / frame_step, F
        if self.cfg.mean_pool:
            # f_bar = 1/T sum_t f_t: the same for any order of the frames
            f = f.mean(1, keepdim=True)
        return f.transpose(0, 1)

    def start(self, x: torch.Tensor):
        f = self.frame_features(x)  # T, B, F
        h1, s1 = self.lstm1(f)
        # the encoding steps' word input is <pad>: zeros
        _, s2 = self.lstm2(torch.cat([self.drop(h1), h1.new_zeros(*h1.shape[:2], self.cfg.embed)], -1))
        return s1, s2

    def next_logits(self, y: torch.Tensor, state):
        s1, s2 = state
        e = self.drop(self.embed(y))[None]  # 1, N, E
        # a decoding step's frame input is zeros
        h1, s1 = self.lstm1(e.new_zeros(1, e.size(1), self.cfg.features), s1)
        h2, s2 = self.lstm2(torch.cat([self.drop(h1), e], -1), s2)  # 1, N, H
        # p(S_{t+1}) = softmax(W_o h2_t)
        return self.head(self.drop(h2[0])), (s1, s2)

    def word_logits(self, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        f = self.frame_features(x)  # T, B, F
        T, B = f.shape[:2]
        e = self.drop(self.embed(tokens[:, :-1])).transpose(0, 1)  # N, B, E: BOS and every word but the last
        N = e.size(0)
        # the first LSTM: frames, then zeros while the words are read
        h1, _ = self.lstm1(torch.cat([f, f.new_zeros(N, B, f.size(2))]))  # T+N, B, H
        # the second: <pad> (zeros) beside each frame step, then the words
        words = torch.cat([e.new_zeros(T, B, e.size(2)), e])  # T+N, B, E
        h2, _ = self.lstm2(torch.cat([self.drop(h1), words], -1))  # T+N, B, H
        # only the word steps predict: the output after word S_t predicts S_{t+1}
        return self.head(self.drop(h2[T:])).transpose(0, 1)  # B, N, V


def tiny() -> S2VTConfig:
    return S2VTConfig(image_size=8, frames=3, vocab_size=12, channels=[4, 8], kernel=3, features=8, embed=8,
                      hidden=16, dropout=0.0, max_len=8)


# the four quadrants in clockwise order: (row, column) of the 2x2 grid
QUADRANTS = ((0, 0), (0, 1), (1, 1), (1, 0))


def moving_quadrant_clips(n: int, frames: int, channels: int, side: int):
    """Tests' clips: a lit quadrant that moves one quadrant a frame, clockwise or anticlockwise, over faint
    noise -> clips n, T, C, S, S, the start quadrant n, the direction n (0 clockwise) and the quadrant lit in
    each frame n, T. Reversing a clip reverses its direction, so a mean of its frames cannot tell which."""
    start = torch.arange(n) % 4
    direction = (torch.arange(n) // 4) % 2
    step = 1 - 2 * direction  # +1 clockwise, -1 anticlockwise
    lit = (start[:, None] + step[:, None] * torch.arange(frames)) % 4  # n, T
    x = 0.1 * torch.rand(n, frames, channels, side, side)
    h = side // 2
    for i in range(n):
        for t in range(frames):
            r, k = QUADRANTS[int(lit[i, t])]
            x[i, t, :, r * h:(r + 1) * h, k * h:(k + 1) * h] += 0.9
    return x, start, direction, lit


def example_batch(cfg: S2VTConfig, n: int = 16):
    """Clips and captions for tests: a moving lit quadrant, captioned by where it starts and which way it
    turns (the second needs the frames' order)."""
    x, start, direction, _ = moving_quadrant_clips(n, cfg.frames, cfg.in_channels, cfg.image_size)
    n_words = cfg.vocab_size - 4
    words = [[4 + int(q) % n_words, 4 + (4 + int(d)) % n_words] for q, d in zip(start, direction)]
    return {"x": x, "tokens": encode_captions(words)}

