"""Captioning (one to many) and video to text: an image or a clip -> a sentence. Used by digit-scenes-caption and
emoji-caption (models/captioner.py, Show and Tell), moving-digits-s2vt and moving-digits-meanpool (models/s2vt.py);
data/captions.py makes the sets. `CaptionSetTask` is the data side it shares with tasks/video.py.

- data: `data=digit-scenes` (default sizes 20,000 / 1,000 / 1,000 scenes), `data=moving-digits` (4,000 / 200 /
  500 clips), both drawn from MNIST's digits (train scenes from its training digits, test scenes from its test
  digits); `data=emoji` (the Twemoji package's own split: held-out skin tones and genders). `train_subset`,
  `val_size` (a count, or a share of the training set below 1) and `test_size` set how many are drawn (emoji:
  the first test_size test images). The vocabulary is the training captions' words, kept in config.json.
- the encoder of a model on a set drawn from MNIST starts from nnzoo's own MNIST classifier (tasks/judge.py's
  mnist-cnn, trained once per data folder): its conv blocks are copied into the first blocks of the image
  encoder when their shapes agree (`channels=[16, 32, ...]`, `kernel=5`); `freeze_encoder=true` keeps them.
- evaluate: teacher-forced cross-entropy per word of the canonical validation captions, its perplexity, and
  the greedy captions' exact-match share on the first EVAL_DECODED validation examples.
- test report: sacreBLEU corpus BLEU-1..4 (0-1) of the beam-3 captions and BLEU-4 of the greedy ones, each
  caption scored against ALL the true captions of its example (several references per image, as COCO's
  scorer); exact match (the caption is one of the true ones) for greedy and beam 3; the share of test
  examples whose own canonical caption is more likely under the model than the canonical caption of another
  test example (a fixed other one each, with a different caption): the log-probability ranks captions. Clips
  add what only the frames' order tells: each digit's direction of motion read off the caption, and the
  captions of the clips played backwards against their true captions reversed (a mean of the frames gives a
  clip and its reverse the same caption, so it cannot be right on both). Arrays: test examples, half right
  and half wrong where there are both, with their top-3 beam captions and log-probabilities.
- `nnzoo caption RUN INPUT`: an image file (a square one of another size is resized, channels converted, a
  transparent background made white as emoji are), or for S2VT a folder of frame images or an animated GIF.
"""
from __future__ import annotations

import atexit
import collections
import dataclasses
import math
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import torch

from ..data.captions import CAPTION_DATASETS, DIRECTIONS, OPPOSITE, CaptionSet, digit_scenes, load_emoji, moving_digits
from ..data.translation import PAD
from ..data.vision import IMAGE_SUFFIXES, load_mnist, open_image_checked
from ..errors import UserError
from ..train.device import autocast
from .base import SetTask

DRAWN_FROM_MNIST = {"digit-scenes": digit_scenes, "moving-digits": moving_digits}
SIZES = {"digit-scenes": (20_000, 1_000, 1_000), "moving-digits": (4_000, 200, 500)}
"""Examples drawn per split (train, val, test) when the training keys do not say. A float32 clip of 20 64x64
frames is 327 KB, so 4,700 clips hold 1.5 GB."""
BEAM = 3
"""The test report's beam width (Vinyals et al. 2015 found 3 better than 20 on COCO) and its top-k pictured."""
EVAL_DECODED = 200
"""Validation examples decoded greedily every epoch (teacher-forced loss reads them all): keeps it cheap."""
BATCH = 250
"""Examples per forward pass in evaluation and decoding."""
N_RIGHT, N_WRONG = 6, 6
"""Test examples kept for the pictures: right ones and wrong ones (by the beam's best caption)."""
N_TEXT = 8
"""Test examples written into eval.json's `examples`."""

MOTION = re.compile(r"the (\S+) moves (\S+)")
"""moving-digits' grammar: "the 4 moves up and the 9 moves left"."""
REVERSE = {DIRECTIONS[i]: DIRECTIONS[j] for i, j in enumerate(OPPOSITE)}


# ------------------------------------------------------------------------------------------ the data sets
def _head(data: CaptionSet, split: str, n: int) -> CaptionSet:
    """The set with only the first n examples of one split."""
    def cut(d):
        return d if d is None else {**d, split: d[split][:n]}
    return dataclasses.replace(data, x=cut(data.x), captions=cut(data.captions), frame_labels=cut(data.frame_labels),
                               clip_labels=cut(data.clip_labels), layout=cut(data.layout))


def load_caption_set(tcfg, default: str = "digit-scenes") -> CaptionSet:
    """The CaptionSet the training keys name, at the sizes they ask for."""
    name = tcfg.data or default
    if name not in CAPTION_DATASETS:
        raise UserError(f"data={name!r} is not a captioned set; choose one of {', '.join(CAPTION_DATASETS)}")
    if name not in DRAWN_FROM_MNIST:
        data = load_emoji(seed=0)  # the package's split, whatever the run's seed
        return _head(data, "test", tcfg.test_size) if tcfg.test_size else data
    n_train, n_val, n_test = SIZES[name]
    n_train = tcfg.train_subset or n_train
    if tcfg.val_size:
        n_val = int(tcfg.val_size) if tcfg.val_size >= 1 else max(1, round(tcfg.val_size * n_train))
    n_test = tcfg.test_size or n_test
    # the scenes are drawn with a fixed seed (0), whatever the run's seed, so every run sees the same test set
    return DRAWN_FROM_MNIST[name](load_mnist(seed=0), sizes=(n_train, n_val, n_test), seed=0)


def data_facts(data: CaptionSet) -> dict:
    """What the data fix in a model's config: input shape, frames per clip, vocabulary, label classes, and
    room for the longest training caption (its words and EOS)."""
    x = data.x["train"]
    facts = {"in_channels": int(x.shape[-3]), "image_size": int(x.shape[-1]), "vocab_size": len(data.vocab)}
    if x.dim() == 5:
        facts["frames"] = int(x.shape[1])
    if data.label_names:
        facts["n_classes"] = len(data.label_names)
    return facts


def reads_clips(mcfg) -> bool:
    """A model whose config declares `frames` reads clips (N, T, C, S, S); the others read images."""
    return "frames" in {f.name for f in dataclasses.fields(mcfg)}


def trim(tokens: torch.Tensor) -> torch.Tensor:
    """Drop the padding columns no row of this batch reaches."""
    return tokens[:, :max(1, int((tokens != PAD).sum(1).max()))] if len(tokens) else tokens


class CaptionSetTask(SetTask):
    """The data side of every family that reads a CaptionSet: loading, fitting the model's config to it, the
    MNIST-pretrained encoder and the training set."""
    unit = "example"
    default_data = "digit-scenes"

    def __init__(self):
        self._encoded: dict[str, tuple[CaptionSet, torch.Tensor]] = {}
        """split -> (the set, its canonical captions' ids), encoded once per set."""

    def load(self, tcfg):
        return load_caption_set(tcfg, self.default_data)

    def adapt(self, mcfg, data):
        """Set each config field the data fix (data_facts) that the model declares; a model of images on a set of
        clips, or the other way round, is told which to use."""
        clips = data.x["train"].dim() == 5
        if reads_clips(mcfg) != clips:
            if clips:
                raise UserError(f"data={data.name} holds clips, but this model reads single images; caption clips "
                                "with s2vt (recipe moving-digits-s2vt), or give an image set (data=digit-scenes)")
            raise UserError(f"data={data.name} holds single images, but this model reads clips; give "
                            "data=moving-digits, or caption images with the captioner (recipe digit-scenes-caption)")
        declared = {f.name for f in dataclasses.fields(mcfg)}
        facts = data_facts(data)
        longest = max((len(c.split()) for caps in data.captions["train"] for c in caps), default=0)
        if "max_len" in declared:
            facts["max_len"] = max(mcfg.max_len, longest + 1)
        return dataclasses.replace(mcfg, **{k: v for k, v in facts.items() if k in declared})

    def prepare(self, data, verbose: bool = True) -> None:
        if data.name in DRAWN_FROM_MNIST:
            from .judge import ensure_judge
            ensure_judge(verbose)  # the encoder's start (initialise): built before the run folder and its seed

    def initialise(self, model, data, device, verbose: bool = True) -> dict:
        """On sets drawn from MNIST: the image encoder's first conv blocks from nnzoo's MNIST classifier."""
        if data.name not in DRAWN_FROM_MNIST:
            return {}
        from .judge import JUDGE_EPOCHS, JUDGE_RECIPE, mnist_judge
        try:
            n = model.encoder.load_cnn_features(mnist_judge(verbose).features)
        except ValueError:
            return {"encoder_start": f"random: its conv blocks differ from {JUDGE_RECIPE}'s (channels [16, 32], "
                                     "kernel 5)"}
        return {"encoder_start": f"conv blocks 1-{n} from {JUDGE_RECIPE} ({JUDGE_EPOCHS} epochs on MNIST)"}

    def describe(self, data) -> dict:
        return {"vocab": list(data.vocab), "label_names": list(data.label_names), "data_about": data.about}

    def train_size(self, data) -> int:
        return len(data.x["train"])

    def tokens(self, data, split: str) -> torch.Tensor:
        """The canonical captions' ids (N, L) of one split, encoded once."""
        if self._encoded.get(split, (None,))[0] is not data:
            self._encoded[split] = (data, data.tokens(split))
        return self._encoded[split][1]


# ------------------------------------------------------------------------------------------- the scores
def corpus_bleu(hypotheses: list[str], references: list[list[str]], order: int = 4) -> tuple[float, str]:
    """sacreBLEU's corpus BLEU-`order` in [0, 1] of each hypothesis against all its references (a list per
    hypothesis, of any length: sacreBLEU takes reference streams, None where an example has fewer), and the
    signature. The captions are lower-case words already, so the default 13a tokeniser leaves them as they are."""
    import sacrebleu
    bleu = sacrebleu.metrics.BLEU(max_ngram_order=order)
    width = max((len(r) for r in references), default=1)
    streams = [[r[k] if k < len(r) else None for r in references] for k in range(width)]
    score = bleu.corpus_score(hypotheses, streams)
    return float(score.score) / 100, str(bleu.get_signature())


COCO_SCORER = "pycocoevalcap 1.2: METEOR 1.5 (-l en -norm), CIDEr-D (n 4, sigma 6)"


def _coco_inputs(hypotheses: list[str], references: list[list[str]]) -> tuple[dict, dict]:
    """The COCO scorers' inputs: references and hypotheses keyed by example."""
    return {i: list(r) for i, r in enumerate(references)}, {i: [h] for i, h in enumerate(hypotheses)}


def cider_score(hypotheses: list[str], references: list[list[str]]) -> float:
    """CIDEr-D as the COCO caption scorer computes it (PyPI pycocoevalcap 1.2, coco-caption's code), each
    hypothesis against all its references, the document frequencies taken from these references as COCO's are.
    The captions are lower-case words already, so its PTB tokeniser (a Java program) is skipped."""
    from pycocoevalcap.cider.cider import Cider
    return round(float(Cider().compute_score(*_coco_inputs(hypotheses, references))[0]), 4)


class _Jar:
    """One running METEOR jar, and the last lines it wrote on stderr, read as they come: a pipe nobody reads
    fills up in a long process and stalls the jar."""

    def __init__(self):
        from pycocoevalcap.meteor.meteor import Meteor
        self.meteor = Meteor()
        self.stderr = collections.deque(maxlen=5)
        self.reader = threading.Thread(target=self.stderr.extend, args=(self.meteor.meteor_p.stderr,), daemon=True)
        self.reader.start()

    def score(self, hypotheses: list[str], references: list[list[str]]) -> float:
        """The corpus METEOR of these captions (raises OSError / ValueError when the jar has died)."""
        return float(self.meteor.compute_score(*_coco_inputs(hypotheses, references))[0])

    def stop(self) -> str:
        """Stop the jar -> its last line on stderr (why it died, if it did)."""
        p = self.meteor.meteor_p
        p.kill()
        p.wait()
        self.reader.join(timeout=5)
        try:  # closed here, so that the wrapper's __del__ has nothing left to flush into a dead pipe
            p.stdin.close()
        except OSError:
            pass
        if self.meteor.lock.locked():  # compute_score raised holding it: the wrapper's __del__ would wait forever
            self.meteor.lock.release()
        lines = [b.decode(errors="replace").strip() for b in self.stderr]
        return next((line for line in reversed(lines) if line), "")


_meteor: dict = {}
"""The java it runs on -> the one METEOR jar (_Jar) kept running in this process: starting it (its paraphrase
table) takes seconds, a score milliseconds, and a test run or a tour scores many caption runs."""


@atexit.register
def _stop_all() -> None:
    while _meteor:
        _meteor.popitem()[1].stop()


def meteor_score(hypotheses: list[str], references: list[list[str]]) -> tuple[float | None, str]:
    """METEOR 1.5 as the COCO caption scorer runs it (pycocoevalcap 1.2's jar, `-l en -norm`), each hypothesis
    against all its references, and an empty note; or None and a note saying why it is left out: it needs a
    working `java`, and a machine without one still gets every other figure."""
    java = shutil.which("java")
    if java is None:
        return None, "METEOR left out: no java on PATH (install a Java runtime, e.g. Debian's default-jre-headless)"
    if java not in _meteor:
        try:
            _meteor[java] = _Jar()
        except OSError as e:
            return None, f"METEOR left out: java did not start ({e})"
    try:
        return round(_meteor[java].score(hypotheses, references), 4), ""
    except (OSError, ValueError) as e:  # the jar died (no memory for its 2 GB heap, ...): its answer is empty
        return None, f"METEOR left out: its jar failed ({_meteor.pop(java).stop() or type(e).__name__})"


def coco_scores(hypotheses: list[str], references: list[list[str]]) -> dict:
    """The test report's COCO figures: `test_cider` and `test_meteor`, or `meteor_note` saying why METEOR is
    left out."""
    if not hypotheses:
        return {}
    meteor, note = meteor_score(hypotheses, references)
    return {"test_cider": cider_score(hypotheses, references),
            **({"meteor_note": note} if meteor is None else {"test_meteor": meteor})}


def other_examples(canonical: list[str], seed: int = 0) -> list[int]:
    """For each example a fixed other one whose canonical caption differs: the next along a seeded random cycle
    through the examples that has another caption (-1 where every caption is the same)."""
    n = len(canonical)
    cycle = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    at = {e: k for k, e in enumerate(cycle)}
    out = []
    for i in range(n):
        out.append(next((cycle[(at[i] + s) % n] for s in range(1, n) if canonical[cycle[(at[i] + s) % n]]
                         != canonical[i]), -1))
    return out


def directions(caption: str) -> dict[str, str]:
    """moving-digits' caption -> {digit: direction}: "the 4 moves up and the 9 moves left" -> {"4": "up", ...}."""
    return dict(MOTION.findall(caption))


def reversed_caption(caption: str) -> str:
    """The caption of the clip played backwards: every direction its opposite (the data make sure of it)."""
    return " ".join(REVERSE.get(w, w) for w in caption.split())


def percent(hits, n: int) -> float:
    return round(100 * float(sum(hits)) / max(1, n), 2)


# ------------------------------------------------------------------------------------ reading the user's input
def _picture(im, channels: int, side: int, name: str, notes: list[str]) -> torch.Tensor:
    """A PIL image -> (C, S, S) in [0, 1]: a transparent background made white (as the emoji set is), the
    model's channels, and a square of another size resized to the model's; a picture that is not square is
    refused (resizing would squash it)."""
    from PIL import Image
    w, h = im.size
    if (w, h) != (side, side):
        if w != h:
            raise UserError(f"{name} is {w}x{h} pixels, but this model reads square {side}x{side} images: crop it "
                            f"to a square (any size: it is then resized to {side}x{side})")
        notes.append(f"{name}: resized from {w}x{h} to {side}x{side}")
    if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        # out = alpha * colour + (1 - alpha) * white
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    if channels == 1:
        # a colour picture whose three channels agree is grey already (GIF frames come as RGB)
        rgb = np.asarray(im.convert("RGB"))
        if not ((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()):
            notes.append(f"{name}: converted to grey")
        im = im.convert("L")
    else:
        if im.mode in ("1", "L", "I", "I;16", "F"):
            notes.append(f"{name}: grey, copied into the three colour channels")
        im = im.convert("RGB")
    if im.size != (side, side):
        im = im.resize((side, side), Image.Resampling.LANCZOS)
    a = np.asarray(im, dtype=np.float32) / 255.0
    return torch.from_numpy(a[None] if channels == 1 else a.transpose(2, 0, 1).copy())


def _open_frames(path: Path, channels: int, side: int, notes: list[str], limit: int,
                 name: str | None = None) -> list[torch.Tensor]:
    """Every frame of one image file (an animated GIF has several; at most `limit` are converted, the rest only
    counted) -> (C, S, S) each; a file PIL cannot read is one line. `name`: what the notes call it."""
    from PIL import ImageSequence
    with open_image_checked(path, UserError, f"give a PNG, JPEG or GIF file of {side}x{side} pixels") as im:
        return [_picture(frame.copy(), channels, side, name or path.name, notes) if k < limit else None
                for k, frame in enumerate(ImageSequence.Iterator(im))]


def read_input(path: str, mcfg) -> tuple[torch.Tensor, list[str]]:
    """The user's INPUT as a batch of one: an image (1, C, S, S), or for a model of clips a folder of frame
    images (in the order of their names) or an animated GIF (1, T, C, S, S); and notes on what was converted."""
    p, notes = Path(path), []
    C, S = mcfg.in_channels, mcfg.image_size
    if not p.exists():
        raise UserError(f"no such file or folder {path}; give " + (
            f"a folder of the clip's {mcfg.frames} frames or an animated GIF" if reads_clips(mcfg)
            else f"an image file ({S}x{S})"))
    if not reads_clips(mcfg):
        if p.is_dir():
            raise UserError(f"{path} is a folder, but this captioner reads one image; give an image file, e.g. "
                            f"{p / 'scene.png'}")
        frames = _open_frames(p, C, S, notes, limit=1)
        if len(frames) > 1:
            raise UserError(f"{path} is an animation of {len(frames)} frames, but this captioner reads one image; "
                            "give a still image (captions of clips come from an S2VT run)")
        return frames[0][None], notes
    T = mcfg.frames
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise UserError(f"{path} holds no image files; give a folder of the clip's {T} frames (frame00.png, "
                            "frame01.png, ... in the order of their names) or an animated GIF")
        if len(files) != T:
            raise UserError(f"{path} holds {len(files)} frame images, but this model reads clips of {T} frames: "
                            f"give {T}")
        # one note for the folder, not one for each frame
        frames = [_open_frames(file, C, S, notes, limit=1, name=f"frames in {p.name}")[0] for file in files]
    else:
        frames = _open_frames(p, C, S, notes, limit=T)
        if len(frames) == 1:
            raise UserError(f"{path} is a single image, but this model reads clips of {T} frames: give a folder of "
                            f"{T} frame images or an animated GIF of {T} frames")
        if len(frames) != T:
            raise UserError(f"{path} has {len(frames)} frames, but this model reads clips of {T} frames: give {T}")
    return torch.stack(frames)[None], list(dict.fromkeys(notes))


# ----------------------------------------------------------------------------------------------- the task
class Task(CaptionSetTask):
    kind = "captioning"
    verbs = ("caption",)
    hints = {"predict": "caption an image with: nnzoo caption {run} image.png (a clip: a folder of frames or a GIF)"}

    def make_batch(self, data, idx, device, tcfg):
        tokens = trim(self.tokens(data, "train")[idx])
        return {"x": data.x["train"][idx].to(device, non_blocking=True), "tokens": tokens.to(device, non_blocking=True)}

    @torch.no_grad()
    def nll(self, model, x, tokens, device, amp_dtype=None) -> tuple[float, int]:
        """Summed teacher-forced negative log-likelihood (nats) of the captions' words (EOS included), and their
        count."""
        model.eval()
        total, count = 0.0, 0
        for i in range(0, len(x), BATCH):
            t = trim(tokens[i:i + BATCH]).to(device)
            with autocast(device, amp_dtype):
                total -= float(model.token_log_probs(x[i:i + BATCH].to(device), t).float().sum())
            count += int((t[:, 1:] != PAD).sum())
        return total, count

    @torch.no_grad()
    def decode(self, model, x, device, vocab: list[str], beam: int = 0, top: int = 1) -> list[list[tuple[str, float]]]:
        """Captions of every input: greedy (beam 0) or the `top` best of a beam search; per input a list of
        (caption, log-probability), best first."""
        model.eval()
        out = []
        for i in range(0, len(x), BATCH):
            xb = x[i:i + BATCH].to(device)
            found = [[g] for g in model.greedy(xb)] if beam == 0 else model.beam_search(xb, beam=beam, top=top)
            out += [[(" ".join(vocab[w] for w in ids), float(lp)) for ids, lp in row] for row in found]
        return out

    def evaluate(self, model, data, split, device, amp_dtype=None) -> dict:
        total, count = self.nll(model, data.x[split], self.tokens(data, split), device, amp_dtype)
        loss = total / max(1, count)
        n = min(EVAL_DECODED, len(data.x[split]))
        greedy = self.decode(model, data.x[split][:n], device, data.vocab)
        exact = [row[0][0] in caps for row, caps in zip(greedy, data.captions[split][:n])]
        return {"loss": loss, "perplexity": math.exp(min(loss, 50.0)), "exact_match_greedy_percent": percent(exact, n)}

    def test_report(self, model, data, device) -> tuple[dict, dict]:
        """Figures for eval.json and the pictured examples (artifacts.npz); see the module's docstring."""
        if model.cfg.vocab_size != len(data.vocab):
            raise UserError(f"the run was trained on a vocabulary of {model.cfg.vocab_size} ids but data "
                            f"{data.name!r} gives {len(data.vocab)}; evaluate with the data it was trained on")
        x, refs, tokens = data.x["test"], data.captions["test"], self.tokens(data, "test")
        n = len(x)
        total, count = self.nll(model, x, tokens, device)
        greedy = [row[0][0] for row in self.decode(model, x, device, data.vocab)]
        beamed = self.decode(model, x, device, data.vocab, beam=BEAM, top=BEAM)
        best = [row[0][0] for row in beamed]
        exact = [c in caps for c, caps in zip(best, refs)]
        loss = total / max(1, count)
        figures = {"test_loss": round(loss, 4), "test_perplexity": round(math.exp(min(loss, 50.0)), 4)}
        for k in (1, 2, 3, 4):
            bleu, signature = corpus_bleu(best, refs, order=k)
            figures[f"test_bleu{k}"] = round(bleu, 4)
        figures.update({
            f"test_bleu4_beam{BEAM}": figures["test_bleu4"],
            "test_bleu4_greedy": round(corpus_bleu(greedy, refs)[0], 4),
            **coco_scores(best, refs),
            "coco_scorer": COCO_SCORER,
            f"test_exact_match_beam{BEAM}_percent": percent(exact, n),
            "test_exact_match_greedy_percent": percent((c in caps for c, caps in zip(greedy, refs)), n),
            **self._ranks(model, x, tokens, [caps[0] for caps in refs]),
            "bleu_signature": signature, "beam_size": BEAM,
            # a decoder that ignores its input writes one caption for every example: this share shows it
            "test_distinct_captions_percent": round(100 * len(set(best)) / max(1, n), 2),
            "test_examples": n, "train_examples": len(data.x["train"]), "val_examples": len(data.x["val"]),
            "vocabulary_size": len(data.vocab),
            "test_references_per_example": round(float(np.mean([len(r) for r in refs])), 2) if n else 0.0,
        })
        if x.dim() == 5:
            figures.update(self._motion(model, x, refs, best, device, data.vocab))
        figures["examples"] = "\n\n".join(
            f"true:   {refs[i][0]}\nbeam {BEAM}: {best[i]}  (logprob: {beamed[i][0][1]:.2f})\ngreedy: {greedy[i]}"
            for i in range(0, n, max(1, n // N_TEXT))[:N_TEXT])
        return figures, self._pictures(x, refs, beamed, exact)

    @torch.no_grad()
    def _ranks(self, model, x, tokens, canonical: list[str]) -> dict:
        """Share of test examples whose own canonical caption the model finds more likely than a fixed other
        example's (with another caption): log p(S_i | I_i) > log p(S_j | I_i)."""
        other = torch.tensor(other_examples(canonical))
        have = (other >= 0).nonzero().flatten()
        wins = []
        for i in range(0, len(have), BATCH):
            rows = have[i:i + BATCH]
            xb = x[rows]
            own = model.log_prob(xb, trim(tokens[rows]))
            theirs = model.log_prob(xb, trim(tokens[other[rows]]))
            wins += (own > theirs).tolist()
        return {"test_rank_true_over_other_percent": percent(wins, len(wins)), "test_rank_pairs": len(wins)}

    def _motion(self, model, x, refs, best, device, vocab) -> dict:
        """What only the order of the frames tells: each digit's direction, and the clips played backwards."""
        right = []  # per (clip, digit): its direction as the caption says it
        clips_right = []
        for caption, caps in zip(best, refs):
            said, truth = directions(caption), directions(caps[0])
            hits = [said.get(d) == way for d, way in truth.items()]
            right += hits
            clips_right.append(all(hits))
        backwards = [row[0][0] for row in self.decode(model, x.flip(1), device, vocab, beam=BEAM)]
        reverse_exact = [c in {reversed_caption(r) for r in caps} for c, caps in zip(backwards, refs)]
        return {"test_direction_accuracy_percent": percent(right, len(right)),
                "test_directions_all_right_percent": percent(clips_right, len(best)),
                f"test_exact_match_reversed_clips_beam{BEAM}_percent": percent(reverse_exact, len(best)),
                # a caption the same forwards and backwards names no direction right on one of the two
                "test_same_caption_reversed_percent": percent((a == b for a, b in zip(best, backwards)), len(best))}

    def _pictures(self, x, refs, beamed, exact) -> dict:
        """Up to N_RIGHT right and N_WRONG wrong test examples (more of one kind where the other runs out) with
        their top-BEAM captions and log-probabilities."""
        right = [i for i, e in enumerate(exact) if e]
        wrong = [i for i, e in enumerate(exact) if not e]
        n_wrong = min(len(wrong), max(N_WRONG, N_RIGHT + N_WRONG - len(right)))
        n_right = min(len(right), N_RIGHT + N_WRONG - n_wrong)
        picked = sorted(right[:n_right] + wrong[:n_wrong])
        top = [[c for c, _ in beamed[i]] + [""] * (BEAM - len(beamed[i])) for i in picked]
        logp = [[lp for _, lp in beamed[i]] + [math.nan] * (BEAM - len(beamed[i])) for i in picked]
        return {"caption_inputs": x[picked].numpy(), "caption_top": np.array(top, dtype=str).reshape(-1, BEAM),
                "caption_logprobs": np.array(logp, dtype=np.float64).reshape(-1, BEAM),
                "caption_truth": np.array([refs[i][0] for i in picked], dtype=str),
                "caption_right": np.array([exact[i] for i in picked], dtype=bool),
                "caption_index": np.array(picked, dtype=np.int64)}

    # ---------------------------------------------------------------------------------------------- the verb
    def caption(self, model, mcfg, doc: dict, path: str, beam: int = 3, top: int = 3) -> dict:
        """The `top` captions of the user's image (or clip) by a beam of `beam`, best first, with their
        log-probabilities; beam 1 is greedy decoding."""
        vocab = doc.get("vocab")
        if not vocab or len(vocab) != mcfg.vocab_size:
            raise UserError("config.json of this run has no vocabulary of its model's size; retrain it with this "
                            "version of nnzoo")
        if beam < 1:
            raise UserError(f"--beam must be 1 (greedy) or more, got {beam}; e.g. --beam 3")
        if not 1 <= top <= beam:
            raise UserError(f"--top {top} captions cannot come out of a beam of {beam}: ask for --top 1 to {beam}, "
                            f"or widen the beam (--beam {max(top, 1)})")
        x, notes = read_input(path, mcfg)
        found = self.decode(model, x, torch.device("cpu"), vocab, beam=beam, top=top)[0]
        return {"input": str(path), "decoding": f"beam {beam}" if beam > 1 else "greedy (beam 1)",
                "captions": [{"caption": c, "logprob": round(lp, 4)} for c, lp in found], "notes": notes}
