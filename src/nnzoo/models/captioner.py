"""Image captioning (one to many): Show and Tell (Vinyals, Toshev, Bengio & Erhan 2015).

A CNN reads the image; its embedding is the LSTM's first input, and then the LSTM reads the caption's words
one at a time, predicting the next word at every step:

    x_{-1} = W_I CNN(I)                     the image, seen once, before any word
    x_t    = W_e S_t,  t = 0 .. N-1         S_0 = BOS, then the caption's words
    p_{t+1} = softmax(W_o LSTM(x_t))        the next word, S_N = EOS

The CNN is nnzoo's plain conv stack (`models.cnn`'s ConvBlocks, so a trained MNIST CNN's blocks load into
it: `ImageEncoder.load_cnn_features`), and its feature map is flattened, not globally pooled, before W_I:
captions say "to the left of" and "above", and a global average would forget where each digit is.
`freeze_encoder` keeps the conv stack as it is (weights and batch-norm statistics; Show and Tell froze its
ImageNet CNN at first) while W_I and the decoder train.

Training is teacher forcing: -1/N sum log p(S_t | I, S_<t) over the N real words of the batch, EOS included.
`log_prob` gives each caption's summed log-probability, `greedy` and `beam_search` (nn.decode, shared with
S2VT) write captions with theirs, the same numbers log_prob gives for the same words.

Token ids 0-3 are <pad>, <bos>, <eos>, <unk> (data.translation's); a caption row is BOS w_1 ... w_n EOS,
right-padded with PAD.
"""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import config as C
from ..errors import UserError
from ..nn import decode
from ..nn.recurrent import Recurrent
from .base import Model
from .cnn import CNNConfig, plain_stack

PAD, BOS, EOS, UNK = 0, 1, 2, 3
BANNED = (PAD, BOS, UNK)
"""Words a caption never contains: a written <unk> can match no reference word."""


@dataclass
class ImageKeys:
    """The keys of an image CNN (ImageEncoder), shared by the captioner and the clip models (s2vt.ClipKeys)."""
    in_channels: int = C.positive(1)
    """Image channels: 1 (digit scenes, moving digits) or 3 (emoji)."""
    image_size: int = C.positive(64)
    """Side of the square images (or frames), in pixels (set from the data)."""
    channels: list = C.ints([16, 32, 64])
    """Output channels of each conv block (conv, 2x2 max-pool, batch norm, ReLU); the first two match
    nnzoo's mnist-cnn, whose trained blocks can start them."""
    kernel: int = C.positive(5)
    """Kernel size of every convolution (odd; padded by kernel // 2, so only the pools shrink the map)."""


@dataclass
class CaptionerConfig(ImageKeys):
    vocab_size: int = C.positive(64)
    """Words in the vocabulary, the four specials included (set from the training captions)."""
    embed: int = C.positive(128)
    """Width of the image embedding W_I CNN(I) and of each word's embedding: the LSTM reads both."""
    hidden: int = C.positive(256)
    """LSTM units per layer."""
    layers: int = C.positive(1)
    """Stacked LSTM layers (Show and Tell: 1)."""
    dropout: float = C.fraction(0.2, hi_open=True)
    """Dropout on the flattened feature map (before W_I), the word embeddings, between stacked layers and before
    the output layer, in [0, 1)."""
    image_state: bool = False
    """Also start the LSTM's state from the image, h_0 = tanh(W_h v), c_0 = W_c v with v = W_I CNN(I), besides
    reading v as its first input. Not in Show and Tell (its state starts at zero); on digit scenes it reached in
    500 steps the training loss the paper's start needed 1,500 for."""
    freeze_encoder: bool = False
    """Keep the conv stack's weights and batch-norm statistics fixed (a pretrained CNN used as it is); W_I and
    the decoder still train."""
    max_len: int = C.positive(20)
    """Longest caption decoding writes, in tokens, EOS included (the last step may write only EOS)."""
    fast: bool = True
    """Run the LSTM on PyTorch's fused kernel (same numbers, faster); False steps through the equations."""


def check_images(x: torch.Tensor, channels: int, side: int, what: str = "images") -> None:
    """A clear line for inputs of the wrong shape: N, C, S, S expected."""
    if x.dim() != 4 or tuple(x.shape[1:]) != (channels, side, side):
        got = "x".join(map(str, x.shape[1:])) if x.dim() == 4 else f"a {x.dim()}-d tensor"
        raise UserError(f"{what} are {got}, but this model reads {channels}x{side}x{side} (channels x height x "
                        f"width): resize them to {side}x{side} with {channels} channel(s)")


def log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """log p over the last axis, in float32 at least (bf16 logits under autocast), float64 kept as it is."""
    return F.log_softmax(logits.to(torch.promote_types(logits.dtype, torch.float32)), dim=-1)


class ImageEncoder(nn.Module):
    """CNN(I): models.cnn's plain conv stack, flattened, then a linear map to `out` numbers. N, C, S, S -> N, out.

    The flatten keeps every position of the last feature map (N, c*h*w), so the vector still says where each
    part of the image was."""

    def __init__(self, in_channels: int, side: int, channels: list, kernel: int, out: int, dropout: float = 0.0):
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"kernel={kernel} should be odd, so that padding kernel // 2 keeps the map's size")
        self.in_channels, self.side = in_channels, side
        cnn = CNNConfig(in_shape=(in_channels, side, side), channels=list(channels), kernel=kernel,
                        padding=kernel // 2, stride=1, pool=2, batchnorm=True, activation="relu")
        blocks, (c, h, w) = plain_stack(cnn)
        self.features = nn.Sequential(*blocks)
        self.feature_shape = (c, h, w)
        self.drop = nn.Dropout(dropout)
        self.project = nn.Linear(c * h * w, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.drop(self.features(x).flatten(1)))  # N, c*h*w -> N, out

    @torch.no_grad()
    def load_cnn_features(self, features: nn.Sequential) -> int:
        """Copy a trained models.cnn.CNN's conv blocks (its `features`) into the first blocks of this stack
        (conv weights do not depend on the image's size, so an MNIST CNN's blocks read 64x64 canvases too).
        A first convolution with more input channels than the CNN's (a clip model's frame differences) gets
        the CNN's filters on its first channels and zeros on the rest, so that it starts as the trained CNN
        on the frame alone and learns what the extra channels add. -> the number of blocks copied."""
        n = min(len(features), len(self.features))
        for i in range(n):
            mine, theirs = self.features[i].state_dict(), features[i].state_dict()
            wider = {k for k in mine if i == 0 and k in theirs and _wider_inputs(mine[k], theirs[k])}
            if mine.keys() != theirs.keys() or any(mine[k].shape != theirs[k].shape for k in set(mine) - wider):
                raise ValueError(f"conv block {i} differs from the trained CNN's ({self.features[i]} vs "
                                 f"{features[i]}): set channels and kernel to the CNN's")
            for k in wider:
                c = theirs[k].size(1)
                mine[k][:, :c], mine[k][:, c:] = theirs[k], 0.0
            self.features[i].load_state_dict({**theirs, **{k: mine[k] for k in wider}})
        return n


def _wider_inputs(mine: torch.Tensor, theirs: torch.Tensor) -> bool:
    """A conv weight (out, in, kh, kw) that is the trained one with more input channels (S2VT's `motion`
    reads each frame beside its difference): the only difference load_cnn_features lets through."""
    return (mine.dim() == theirs.dim() == 4 and mine.size(1) > theirs.size(1)
            and mine[:, :theirs.size(1)].shape == theirs.shape)


class CaptionModel(Model):
    """What Captioner and S2VT share: the loss, log_prob, greedy and beam search, written once on top of
    three methods each model defines:

      start(x) -> state                 the decoder's state once it has read the input, before BOS
      next_logits(y, state)             one decoder step: previous words N -> logits N, V and the new state
      word_logits(x, tokens)            teacher forcing: B, L tokens -> logits B, L-1, V for tokens[:, 1:]
    """

    @abstractmethod
    def start(self, x: torch.Tensor):
        """The decoder's state after reading x (nn.recurrent's layout: tensors L, B, H)."""

    @abstractmethod
    def next_logits(self, y: torch.Tensor, state):
        """y: N previous word ids -> logits N, V over the next word, and the new state."""

    @abstractmethod
    def word_logits(self, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: tokens B, L (BOS ... EOS PAD) -> logits B, L-1, V predicting tokens[:, 1:]."""

    def token_log_probs(self, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """log p(S_t | input, S_<t) of each token after BOS, 0 at padding: B, L-1."""
        logp = log_softmax(self.word_logits(x, tokens))  # B, L-1, V
        target = tokens[:, 1:]  # B, L-1
        picked = logp.gather(-1, target[..., None])[..., 0]
        return picked.masked_fill(target == PAD, 0.0)

    def loss(self, batch) -> dict:
        tokens = batch["tokens"]
        logp = self.token_log_probs(batch["x"], tokens)
        words = (tokens[:, 1:] != PAD).sum()
        # L = -1/N sum over the N real words (EOS included) of log p(S_t | input, S_<t)
        return {"loss": -logp.sum() / words.clamp(min=1)}

    def log_prob(self, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """log p(caption | input) = sum_t log p(S_t | input, S_<t), BOS excluded, EOS included, PAD ignored: B."""
        return self.token_log_probs(x, tokens).sum(1)

    def _step(self, y: torch.Tensor, state):
        logits, state = self.next_logits(y, state)
        return log_softmax(logits), state

    @torch.no_grad()
    def greedy(self, x: torch.Tensor, max_len: int | None = None) -> list[tuple[list[int], float]]:
        """The most likely word at each step -> per input (word ids without BOS / EOS, log-probability).
        Call in eval mode (dropout off)."""
        max_len = self.cfg.max_len if max_len is None else max_len
        return decode.greedy(self._step, self.start(x), x.size(0), bos=BOS, eos=EOS, max_len=max_len,
                             banned=BANNED)

    @torch.no_grad()
    def beam_search(self, x: torch.Tensor, beam: int = 3, top: int = 1, max_len: int | None = None,
                    length_alpha: float = 0.0) -> list[list[tuple[list[int], float]]]:
        """Beam search (nn.decode.beam_search; Vinyals et al. found beam 3 better than 20 on COCO) -> per input
        its `top` captions, best first, each (word ids without BOS / EOS, summed log-probability). Call in
        eval mode (dropout off)."""
        max_len = self.cfg.max_len if max_len is None else max_len
        return decode.beam_search(self._step, self.start(x), x.size(0), bos=BOS, eos=EOS, max_len=max_len,
                                  beam=beam, top=top, banned=BANNED, length_alpha=length_alpha)


class Captioner(CaptionModel):
    def __init__(self, cfg: CaptionerConfig):
        super().__init__()
        self.cfg = cfg
        E, H = cfg.embed, cfg.hidden
        self.encoder = ImageEncoder(cfg.in_channels, cfg.image_size, cfg.channels, cfg.kernel, E, cfg.dropout)
        self.embed = nn.Embedding(cfg.vocab_size, E, padding_idx=PAD)
        self.drop = nn.Dropout(cfg.dropout)
        self.decoder = Recurrent("lstm", E, H, cfg.layers, dropout=cfg.dropout if cfg.layers > 1 else 0.0,
                                 fast=cfg.fast)
        self.head = nn.Linear(H, cfg.vocab_size)
        # W_h, W_c: the image's say in the LSTM's starting state (image_state only)
        self.init_h = nn.Linear(E, H * cfg.layers) if cfg.image_state else None
        self.init_c = nn.Linear(E, H * cfg.layers) if cfg.image_state else None
        if cfg.freeze_encoder:
            self.encoder.features.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.cfg.freeze_encoder:  # a frozen CNN keeps its batch-norm statistics too
            self.encoder.features.eval()
        return self

    def players(self) -> dict:
        return {"model": [p for p in self.parameters() if p.requires_grad]}

    def embed_image(self, x: torch.Tensor) -> torch.Tensor:
        """x_{-1} = W_I CNN(I): images B, C, S, S -> B, E (dropout on the flattened map before W_I)."""
        check_images(x, self.cfg.in_channels, self.cfg.image_size)
        return self.encoder(x)

    def initial_state(self, v: torch.Tensor):
        """The LSTM's state before it reads the image: zero (Show and Tell), or from the image (image_state)."""
        if self.init_h is None:
            return None
        L, B, H = self.cfg.layers, v.size(0), self.cfg.hidden
        # h_0 = tanh(W_h v), c_0 = W_c v: B, E -> L, B, H
        h0 = torch.tanh(self.init_h(v)).view(B, L, H).transpose(0, 1).contiguous()
        c0 = self.init_c(v).view(B, L, H).transpose(0, 1).contiguous()
        return h0, c0

    def start(self, x: torch.Tensor):
        # the image is the LSTM's first input; its state then starts the caption
        v = self.embed_image(x)
        _, state = self.decoder(v[None], self.initial_state(v))  # 1, B, E -> (h, c), each L, B, H
        return state

    def next_logits(self, y: torch.Tensor, state):
        s, state = self.decoder(self.drop(self.embed(y))[None], state)  # 1, N, H
        # p_{t+1} = softmax(W_o m_t)
        return self.head(self.drop(s[0])), state

    def word_logits(self, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        # inputs x_{-1}, x_0 = W_e BOS, ..., x_{N-1}: the image and then every word but the last
        v = self.embed_image(x)
        seq = torch.cat([v[:, None], self.drop(self.embed(tokens[:, :-1]))], 1)  # B, L, E
        m, _ = self.decoder(seq.transpose(0, 1), self.initial_state(v))  # L, B, H, time first as the cells run
        # the output after the image alone predicts nothing (Show and Tell's p_0 is unused); the one after
        # S_t predicts S_{t+1}
        return self.head(self.drop(m[1:])).transpose(0, 1)  # B, L-1, V


def tiny() -> CaptionerConfig:
    return CaptionerConfig(image_size=8, vocab_size=12, channels=[4, 8], kernel=3, embed=8, hidden=16,
                           dropout=0.0, max_len=8)


def caption_of(c: int, vocab_size: int) -> list[int]:
    """The tests' caption of pattern c: 2 + c % 3 words counting up from word 4 + c (never a special)."""
    n = vocab_size - 4
    return [4 + (c + i) % n for i in range(2 + c % 3)]


def example_batch(cfg: CaptionerConfig, n: int = 16):
    """Images and captions for tests: each image a faint noise with one of four quadrants lit, its caption a
    word sequence that depends on the quadrant (so the first word needs the image), of 2 to 4 words."""
    S = cfg.image_size
    c = torch.arange(n) % 4
    x = 0.1 * torch.rand(n, cfg.in_channels, S, S)
    for i, q in enumerate(c.tolist()):
        r, k = divmod(q, 2)
        x[i, :, r * S // 2:(r + 1) * S // 2, k * S // 2:(k + 1) * S // 2] += 0.9
    return {"x": x, "tokens": encode_captions([caption_of(q, cfg.vocab_size) for q in c.tolist()])}


def encode_captions(captions: list[list[int]]) -> torch.Tensor:
    """Word-id lists -> N, L rows BOS w_1 ... w_n EOS, right-padded with PAD."""
    L = max(len(w) for w in captions) + 2
    out = torch.full((len(captions), L), PAD, dtype=torch.long)
    for i, w in enumerate(captions):
        out[i, :len(w) + 2] = torch.tensor([BOS, *w, EOS])
    return out
