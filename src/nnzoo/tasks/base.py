"""The Task contract: everything the training loop and the `nnzoo` command may ask of a family's task.

A task owns a family's data: it loads and describes them, fits the model's config to them, makes the stream of
training batches, evaluates, writes the test report and answers the user-facing verbs. Every method has a
default here, so the loop and the CLI call it without asking whether it exists. The order a run meets them:

  load(tcfg) -> data            read the data set named by the training keys
  adapt(mcfg, data) -> mcfg     fit the model's config to the data (input shape, vocabulary, classes)
  prepare(data)                 build what the task reads besides the data (a cached judge), before the run
                                folder is made, so a missing prerequisite stops the run before its first step
  describe(data) -> dict        what config.json records so predictions need no data set (class names, vocab)
  attach(model, data, device)   hand the model a frozen helper network its loss reads (fresh and resumed runs)
  initialise(model, data, device, verbose) -> dict   fresh runs only, before the run folder is made: start
                                weights from outside the model (pretrained word vectors); what it returns
                                goes into config.json beside describe()'s
  epoch(data, tcfg, world)      steps per epoch and examples per step
  train_batches(...)            the training stream, one batch per step (see its docstring)
  observe(outs)                 after each step: what the step's losses returned (a carried recurrent state)
  progress() -> dict            the stream's own figures for the progress bar (recent return, epsilon)
  state_dict() / load_state_dict(state)   the stream's state, saved in every checkpoint for exact resume
  evaluate(model, data, split, device, amp_dtype) -> dict   validation figures, every epoch
  after_epoch(model, data, run_dir, epoch, device)          pictures only (main process; it must not change
                                                            the model or the stream)
  test_report(model, data, device) -> (figures, arrays)     eval.json's figures and artifacts.npz's arrays
  predict / sample / translate / analogy / neighbours / vectors / answer / play / caption
                                the user-facing verbs; a task lists those it answers in `verbs`

`SetTask` below is the common case: a finite training set of indexable examples, shuffled by (seed, epoch).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Iterator

import torch

from ..errors import UserError
from ..train.stream import Epoch, epoch_order

# verb -> (what a run that does not answer it is, what to do instead unless the task's `hints` says better)
REFUSALS = {
    "predict": ("which takes no input files", "use nnzoo eval {run}"),
    "sample": ("which generates nothing", "sample from a run of a character model (shakespeare-lstm, ...) or a "
                                          "GAN (mnist-dcgan, mnist-cgan, ...)"),
    "translate": ("not a translation run", "translate with a run of translate-en-es or translate-en-es-attention"),
    "analogy": ("which has no word vectors", "ask a run of english-word2vec-sg or english-word2vec-cbow"),
    "neighbours": ("which has no word vectors", "ask a run of english-word2vec-sg or english-word2vec-cbow"),
    "vectors": ("which has no word vectors", "export a run of english-word2vec-sg or english-word2vec-cbow"),
    "answer": ("which answers no questions about stories", "ask a run of babi-memn2n or babi-entnet"),
    "play": ("which acts in no environment", "play with a run of cartpole-dqn or breakout-dqn"),
    "caption": ("which writes no captions", "caption an image with a run of digit-scenes-caption or emoji-caption, "
                                            "a clip with a run of moving-digits-s2vt"),
}
VERBS = tuple(REFUSALS)


@dataclass(frozen=True)
class SampleRequest:
    """What `nnzoo sample` asks for; each task reads the fields that apply to it."""
    run_dir: str
    """The run folder sampled from (where a picture goes unless `out` says otherwise)."""
    n: int = 64
    """Images to draw (a generator)."""
    label: int | None = None
    """The class to draw (a conditional generator); None: every class in turn."""
    seed: int = 0
    """Seeds the noise or the characters drawn."""
    z: str | None = None
    """A .npy file of latent vectors (N, latent) to decode instead of drawn noise."""
    out: str | None = None
    """The PNG file to write (a generator)."""
    prime: str = "\n"
    """The text a character model continues."""
    length: int = 500
    """Characters to write (a character model)."""
    temperature: float = 0.8
    """Below 1 safer, above 1 wilder (a character model)."""


class Task(ABC):
    kind = "task"
    """What the family does, in words (the report's headings)."""
    unit = "example"
    """What one training example is called on the progress bar."""
    verbs: tuple[str, ...] = ()
    """The user-facing commands this task answers, of VERBS."""
    hints: dict[str, str] = {}
    """verb -> what to do instead, for the verbs this task does not answer ({run} is the run folder)."""

    # -------------------------------------------------------------------------------- data and model
    @abstractmethod
    def load(self, tcfg):
        """The data set the training keys name (tcfg.data)."""

    def adapt(self, mcfg, data):
        return mcfg

    def prepare(self, data, verbose: bool = True) -> None:
        pass

    def describe(self, data) -> dict:
        return {}

    def attach(self, model, data, device) -> None:
        pass

    def initialise(self, model, data, device, verbose: bool = True) -> dict:
        """Fresh runs only (a resumed run's weights come from its checkpoint, so this is never asked to redo
        them): set starting weights the model cannot make alone, e.g. word embeddings from a word2vec run.
        Called after `attach`, before the first step and before the run folder exists, so a UserError here
        leaves nothing behind. Returns what config.json records about it (merged with describe()'s); it must
        draw no random numbers, so a run with it starts every other weight as a run without it does."""
        return {}

    # ----------------------------------------------------------------------------- the training stream
    @abstractmethod
    def epoch(self, data, tcfg, world: int) -> Epoch:
        """Steps per epoch and examples per step of the training stream."""

    @abstractmethod
    def train_batches(self, data, model, tcfg, start: int, rank: int, world: int, device,
                      salt: int = 0) -> Iterator:
        """Batches for steps start, start + 1, ... of a stage (its step 0 is its first), for process `rank` of
        `world`; the loop takes one per step, lazily, so a batch may depend on the model as it is at that
        step (a policy acting in an environment). A batch of None is a step without an update (a replay
        buffer still filling). Whatever the stream needs to resume at `start` must come from (tcfg.seed,
        start, salt) or from state_dict(): after a resume a new stream is started at the saved step.
        `salt` != 0: a stage before the main one, whose shuffles must differ from the main stage's."""

    def observe(self, outs: list[dict]) -> None:
        """After every step, the outputs of its losses (one dict per phase, in order)."""

    def progress(self) -> dict[str, str]:
        """Short figures of the training stream for the progress bar, read every log_every steps (a policy's
        recent mean return and its epsilon); formatted strings, nothing is logged from them."""
        return {}

    def state_dict(self) -> dict:
        """Tensors, numbers, strings and containers of them only (checkpoints load with weights_only)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    # ------------------------------------------------------------------------------------- evaluation
    def evaluate(self, model, data, split: str, device, amp_dtype=None) -> dict:
        return {}

    def after_epoch(self, model, data, run_dir, epoch: int, device) -> None:
        pass

    @abstractmethod
    def test_report(self, model, data, device) -> tuple[dict, dict]:
        """eval.json's figures and artifacts.npz's arrays for a trained model."""

    # ------------------------------------------------------------------------------ the user's verbs
    def refuse(self, verb: str, run_dir, recipe_name: str) -> None:
        """Raise the one-line error for a verb this task does not answer; checked before loading weights."""
        if verb in self.verbs:
            return
        what, hint = REFUSALS[verb]
        hint = self.hints.get(verb, hint).format(run=run_dir)
        raise UserError(f"{run_dir} is a {recipe_name} run, {what}; {hint}")

    def _unanswered(self, verb: str, run_dir, doc: dict):
        """A verb's default: the user's one line (the CLI refuses earlier; this covers library callers)."""
        self.refuse(verb, run_dir, doc.get("recipe", self.kind))
        raise TypeError(f"{type(self).__name__} lists {verb!r} in `verbs` but does not define it")

    def predict(self, model, mcfg, doc: dict, inputs: list[str], invert: bool = False) -> list[dict]:
        """One dict per input (an image file, or a sentence), each with a "label" to print."""
        self._unanswered("predict", "this run", doc)

    def sample(self, model, doc: dict, request: SampleRequest) -> tuple[dict, str]:
        """(the result for --json, the line to print)."""
        self._unanswered("sample", request.run_dir, doc)

    def translate(self, model, doc: dict, sentence: str, beam: int | None = None) -> dict:
        """The translation, its tokens and (with attention) the attention weights."""
        self._unanswered("translate", "this run", doc)

    def analogy(self, model, doc: dict, words: list[str], topn: int = 5) -> dict:
        """a is to b as c is to ?: the topn answers with their cosines."""
        self._unanswered("analogy", "this run", doc)

    def neighbours(self, model, doc: dict, word: str, topn: int = 10) -> dict:
        """The topn nearest words by cosine."""
        self._unanswered("neighbours", "this run", doc)

    def vectors(self, model, doc: dict, path, binary: bool) -> dict:
        """Write the word vectors to path in word2vec's text or binary format."""
        self._unanswered("vectors", "this run", doc)

    def answer(self, model, mcfg, doc: dict, text: str, top: int = 3) -> dict:
        """The answer to the last question of a story, with the `top` sentences the model weighted most."""
        self._unanswered("answer", "this run", doc)

    def play(self, model, doc: dict, episodes: int = 10, seed: int = 0, gif=None, epsilon: float | None = None) -> dict:
        """`episodes` episodes of the agent acting (episode k from a seed of (seed, k)): their returns and
        lengths, and with `gif` an animated GIF of the first written there."""
        self._unanswered("play", "this run", doc)

    def caption(self, model, mcfg, doc: dict, path: str, beam: int = 3, top: int = 3) -> dict:
        """The `top` captions of an image file (a clip: a folder of frames or an animated GIF) by beam search
        of width `beam`, best first, each with its log-probability."""
        self._unanswered("caption", "this run", doc)


class SetTask(Task):
    """A finite training set of examples 0 .. train_size - 1: each epoch a shuffle by (seed, epoch), cut into
    batches of batch_size (the last partial batch dropped, so every step sees as many examples), each batch
    split over the processes."""

    @abstractmethod
    def train_size(self, data) -> int:
        """How many training examples there are."""

    @abstractmethod
    def make_batch(self, data, idx: torch.Tensor, device, tcfg):
        """The batch of training examples idx (augmented as the training keys ask)."""

    def examples(self, data, tcfg) -> int:
        n = self.train_size(data)
        # the split is already a seeded shuffle, so its head is a random subset
        return min(n, tcfg.train_subset) if tcfg.train_subset > 0 else n

    def epoch(self, data, tcfg, world: int) -> Epoch:
        n = self.examples(data, tcfg)
        batch = min(tcfg.batch_size, n - n % world)
        return Epoch(steps=max(1, n // batch), batch=batch)

    def order(self, data, n: int, tcfg, epoch: int, batch: int, salt: int = 0) -> torch.Tensor:
        """The examples of one epoch in the order the batches take them; steps_per_epoch * batch of them at
        least. A task may regroup the shuffle (translation's batches of similar length)."""
        return epoch_order(n, tcfg.seed, epoch, salt)

    def train_batches(self, data, model, tcfg, start: int, rank: int, world: int, device, salt: int = 0):
        ep = self.epoch(data, tcfg, world)
        n = self.examples(data, tcfg)
        step = start
        while True:
            epoch = step // ep.steps
            order = self.order(data, n, tcfg, epoch, ep.batch, salt)
            for i in range(step % ep.steps, ep.steps):
                yield self.make_batch(data, order[i * ep.batch:(i + 1) * ep.batch][rank::world], device, tcfg)
            step = (epoch + 1) * ep.steps
