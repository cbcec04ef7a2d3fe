"""Character language modelling: a corpus -> windows of `seq_len` characters -> next-character loss."""
from __future__ import annotations

import ast
import dataclasses
import math
import warnings

import torch
import torch.nn.functional as F

from ..data import load_text
from ..errors import UserError
from ..train.device import autocast
from .base import SampleRequest, SetTask


CODE_SAMPLES = 500
"""Samples primed with "def " whose first function is handed to Python's parser (the issue's 500)."""


class Task(SetTask):
    kind = "character language model"
    unit = "window"
    verbs = ("sample",)
    hints = {"predict": "generate text with: nnzoo sample {run} --prime TEXT"}

    def __init__(self):
        self.carried = None  # carry_state: the state each stream's next window starts from (detached)

    def load(self, tcfg):
        return load_text(tcfg.data, seed=0)

    def adapt(self, mcfg, data):
        data.seq_len = mcfg.seq_len  # the windows the batches cut depend on the model's context
        data.carry_state = mcfg.carry_state
        return dataclasses.replace(mcfg, vocab_size=len(data.vocab))

    def train_size(self, data) -> int:
        """Non-overlapping windows of seq_len + 1 characters (input and its one-step-shifted target); with
        carry_state one fewer, to leave room for the epoch's phase."""
        return (len(data.train) - 1) // data.seq_len - int(data.carry_state)

    def windows(self, data, starts: torch.Tensor, device):
        rows = starts[:, None] + torch.arange(data.seq_len + 1)  # B, T+1
        w = data.train[rows]
        return w[:, :-1].to(device), w[:, 1:].to(device)

    def make_batch(self, data, idx, device, tcfg):
        """Shuffled windows, all shifted by one random phase per step so windows do not always cut the text at
        the same places."""
        T = data.seq_len
        starts = idx * T
        starts = starts + torch.randint(0, T, (1,)).clamp(max=len(data.train) - 1 - int(starts.max()) - T)
        return self.windows(data, starts, device)

    def train_batches(self, data, model, tcfg, start, rank, world, device, salt=0):
        """carry_state: the text read in order. The n windows form B = batch contiguous streams of S = n // B
        windows; step i of an epoch takes window i of every stream, so batch row b reads on where it stopped,
        from the state it ended the previous step with (`observe` keeps it; a checkpoint saves it). Each epoch
        shifts every window by one seeded phase (0 .. seq_len-1 characters) so the cuts fall elsewhere, and
        starts every stream from a zero state. Without carry_state: shuffled windows (SetTask)."""
        if not data.carry_state:
            yield from super().train_batches(data, model, tcfg, start, rank, world, device, salt)
            return
        ep = self.epoch(data, tcfg, world)
        S, T = ep.steps, data.seq_len
        rows = torch.arange(ep.batch)[rank::world]  # this process's streams
        step = start
        while True:
            epoch = step // S
            seed = tcfg.seed * 100_003 + epoch + salt * 1_000_003
            phase = int(torch.randint(0, T, (1,), generator=torch.Generator().manual_seed(seed)))
            for i in range(step % S, S):
                if i == 0:
                    self.carried = None  # the first step of an epoch starts every stream afresh
                x, y = self.windows(data, (rows * S + i) * T + phase, device)
                yield x, y, self.carried
            step = (epoch + 1) * S

    def observe(self, outs: list[dict]) -> None:
        if outs and outs[-1].get("state") is not None:
            self.carried = outs[-1]["state"]

    def state_dict(self) -> dict:
        return {"carried": self.carried}  # a tensor (GRU, RNN), an (h, c) tuple (LSTM) or None

    def load_state_dict(self, state: dict) -> None:
        self.carried = state.get("carried")

    @torch.no_grad()
    def stream_loss(self, model, ids, device, amp_dtype=None, streams=32) -> float:
        """Mean next-character loss (nats) over a whole held-out stream, read in order as a language model is
        used: the text is cut into `streams` contiguous pieces read side by side, seq_len characters at a time,
        each piece's recurrent state carried from one window to the next (as char-rnn measures it). Cutting
        into independent windows from a zero state instead charges every window's first characters for context
        the model was never shown (+0.02 nats/char on Shakespeare at seq_len 128)."""
        model.eval()
        T = model.cfg.seq_len
        streams = max(1, min(streams, (len(ids) - 1) // T))
        L = (len(ids) - 1) // streams
        x = ids[:streams * L].view(streams, L)  # S, L: piece s is characters s*L .. s*L+L-1
        y = ids[1:streams * L + 1].view(streams, L)  # the same, one character later
        total, state = 0.0, None
        for j in range(0, L, T):
            with autocast(device, amp_dtype):
                logits, state = model(x[:, j:j + T].to(device), state)  # S, T, V
            total += float(F.cross_entropy(logits.float().reshape(-1, logits.size(-1)),
                                           y[:, j:j + T].reshape(-1).to(device), reduction="sum"))
        return total / max(1, streams * L)

    def evaluate(self, model, data, split, device, amp_dtype=None) -> dict:
        nats = self.stream_loss(model, getattr(data, split), device, amp_dtype)
        return {"loss": nats, "bits_per_char": nats / math.log(2)}

    def test_report(self, model, data, device) -> tuple[dict, dict]:
        nats = self.stream_loss(model, data.test, device)
        figures = {"test_loss_nats_per_char": round(nats, 4), "test_bits_per_char": round(nats / math.log(2), 4),
                   "test_characters": len(data.test), "test_files": len(data.files.get("test", [])),
                   "sample": sample(model, data.vocab, "\n", 300, 0.8, seed=0)}
        if data.language == "python":
            figures.update(self.code_report(model, data.vocab))
        return figures, {}

    def code_report(self, model, vocab, n: int = CODE_SAMPLES, length: int = 500) -> dict:
        """Hallucinated code, measured: of n samples primed with "def ", the share whose first function
        Python's own parser accepts."""
        funcs = [first_function(t) for t in samples(model, vocab, "def ", length, 0.8, seed=0, n=n)]
        ok = [parses(f) for f in funcs]
        return {"sampled_functions": n, "sampled_function_length_chars": length,
                "sampled_functions_ast_parse_percent": round(100.0 * sum(ok) / n, 1),
                # the longest one that parses: the most telling example of what the model writes
                "sample_function_that_parses": max((f for f, k in zip(funcs, ok) if k), key=len, default="")}

    def describe(self, data) -> dict:
        return {"vocab": list(data.vocab), "files": data.files}

    def sample(self, model, doc: dict, request: SampleRequest) -> tuple[dict, str]:
        """A continuation of request.prime, request.length characters long."""
        if not doc.get("vocab"):
            raise UserError(f"{request.run_dir}/config.json has no character vocabulary; retrain the run")
        text = sample(model, doc["vocab"], request.prime, request.length, request.temperature, request.seed)
        return {"prime": request.prime, "temperature": request.temperature, "text": text}, text


def sample(model, vocab: list[str], prime: str, length: int, temperature: float = 0.8, seed: int = 0) -> str:
    """One continuation of `prime`, `length` characters long."""
    return samples(model, vocab, prime, length, temperature, seed, n=1)[0]


@torch.no_grad()
def samples(model, vocab: list[str], prime: str, length: int, temperature: float = 0.8, seed: int = 0,
            n: int = 1) -> list[str]:
    """n continuations drawn side by side (one batch row each): feed the prime, then draw each next
    character from softmax(logits / temperature)."""
    if temperature <= 0:
        raise UserError(f"--temperature must be > 0, got {temperature}")
    if not prime:
        raise UserError("--prime must hold at least one character")
    table = {c: i for i, c in enumerate(vocab)}
    bad = sorted({c for c in prime if c not in table})
    if bad:
        raise UserError(f"prime has characters {''.join(bad)!r} that are not in the model's vocabulary; "
                        "leave them out")
    model.eval()
    g = torch.Generator().manual_seed(seed)
    x = torch.tensor([[table[c] for c in prime]]).expand(n, -1)  # n, P
    logits, state = model(x)
    out = []
    for _ in range(length):
        # p(c) = softmax(z / temperature): below 1 sharpens, above 1 flattens
        p = torch.softmax(logits[:, -1].float() / temperature, dim=-1)  # n, V
        p[:, 0] = 0  # never emit UNK
        nxt = torch.multinomial(p / p.sum(-1, keepdim=True), 1, generator=g)  # n, 1
        out.append(nxt)
        logits, state = model(nxt, state)
    ids = torch.cat(out, dim=1).tolist() if out else [[] for _ in range(n)]
    return [prime + "".join(vocab[i] for i in row) for row in ids]


def first_function(text: str) -> str:
    """The function a sample primed with "def " starts, by Python's own block rule: its body is indented as
    its first body line is, and the function ends at the first later line indented less (the next method of
    a class at 4 spaces after a body at 8, or the next top-level statement). A sample that ends inside the
    function keeps its complete lines only, so a function cut off between two statements can still parse."""
    lines = text.split("\n")
    body, indent = [lines[0]], None
    for i, line in enumerate(lines[1:], start=1):
        if i == len(lines) - 1:  # the last line of an unfinished sample may stop mid-token
            break
        if line.strip():
            width = len(line) - len(line.lstrip())
            if indent is None:
                indent = width
            elif width < indent:
                break
        body.append(line)
    return "\n".join(body) + "\n"


def parses(source: str) -> bool:
    try:
        with warnings.catch_warnings():  # sampled code like `1if` makes Python warn; it is being judged, not run
            warnings.simplefilter("ignore", SyntaxWarning)
            ast.parse(source)
    except (SyntaxError, ValueError):  # ValueError: NUL bytes
        return False
    return True
