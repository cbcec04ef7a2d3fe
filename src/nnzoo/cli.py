"""The `nnzoo` command. Every user mistake ends in one line naming the problem and the fix, exit code 2."""
from __future__ import annotations

import argparse
import json
import math
import sys
import textwrap
from pathlib import Path

from .errors import TrainingDiverged, UserError

EXIT_FAILED, EXIT_USER, EXIT_DIVERGED = 1, 2, 3


def _train_keys_help() -> str:
    from .config import describe
    from .train.config import TrainConfig
    lines = ["training keys (key=value; `nnzoo list RECIPE` shows the model's keys):"]
    for name, default, doc in describe(TrainConfig):
        lines.append(f"  {name}={json.dumps(default)}")
        lines += ["      " + l for l in textwrap.wrap(doc, 90)]
    return "\n".join(lines)


def cmd_list(args) -> int:
    from . import registry
    from .config import describe
    if args.recipe:
        r = registry.get_recipe(args.recipe)
        _, cfg_cls = registry.model_classes(r.model)
        print(f"{r.name}: {r.summary}\n  data: {r.data}   model: {r.model}   headline: {r.metric}"
              f"   target: {r.target}\n  reference: {r.reference}\n  recipe's training settings: {r.train}"
              f"\n  tour's quick version: {r.quick}\nmodel keys ({cfg_cls.__name__}):")
        for name, default, doc in describe(cfg_cls):
            value = r.model_config.get(name, default)
            print(f"  {name}={json.dumps(value)}\n" + "\n".join("      " + l for l in textwrap.wrap(doc, 90)))
        return 0
    from .report.benchmarks import benchmark_values
    recorded = benchmark_values()
    rows = [(r.name, r.data, r.metric,
             "" if r.target is None else f"{'<=' if r.lower_is_better else '>='} {r.target}", recorded.get(r.name, "-"))
            for r in registry.RECIPES.values()]
    if args.json:
        print(json.dumps([dict(zip(["recipe", "data", "metric", "target", "recorded"], row)) for row in rows]))
        return 0
    head = ("recipe", "data", "headline metric", "target", "BENCHMARKS.md")
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    for row in [head, *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())
    from .experiments.catalog import EXPERIMENTS
    print("\nexperiments: " + ", ".join(EXPERIMENTS))
    return 0


def cmd_train(args) -> int:
    from . import registry, runs
    from .config import parse_overrides
    overrides = list(args.overrides)
    overrides += [f"{k}={v}" for k, v in (("device", args.device), ("precision", args.precision)) if v]
    if args.recipe and "=" in args.recipe:
        overrides.insert(0, args.recipe)
        args.recipe = None
    if args.resume:
        doc = runs.read_config(Path(args.resume))
        recipe = registry.get_recipe(doc["recipe"])
        if args.recipe and args.recipe != recipe.name:
            raise UserError(f"{args.resume} is a {recipe.name} run, not {args.recipe}; drop the recipe name")
        from . import config as C
        from .train.config import TrainConfig
        source = str(Path(args.resume) / "config.json")
        mcfg = registry.model_config(doc["model"], doc["model_config"], source)
        tcfg = C.from_dict(TrainConfig, doc["train"], source)
        # where and when to stop may change on resume (another machine, another stop point); anything
        # else would make it another run
        extra = parse_overrides(overrides)
        may_change = ("stop_after", "device", "precision")
        bad = [k for k in extra if k not in may_change]
        if bad:
            raise UserError(f"--resume continues the run as configured; {bad[0]!r} cannot change "
                            f"(only {', '.join(may_change)} can); start a new run instead")
        extra.setdefault("stop_after", "0")
        tcfg = C.replace(tcfg, {k: C.parse_field(v, tcfg, k) for k, v in extra.items()})
        run_dir = Path(args.resume)
    else:
        if not args.recipe:
            raise UserError("name a recipe (see `nnzoo list`), e.g. nnzoo train digits-cnn")
        recipe = registry.get_recipe(args.recipe)
        mcfg, tcfg = registry.resolve(recipe, parse_overrides(overrides))
        run_dir = Path(args.out) if args.out else runs.new_run_dir(recipe.name)
        if (run_dir / "checkpoints").exists():
            raise UserError(f"{run_dir} already holds a run; continue it with --resume {run_dir} or pick "
                            "another --out")
    result = runs.train(run_dir, recipe, mcfg, tcfg, resume=bool(args.resume), verbose=not args.quiet)
    import os
    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    if not result.finished:
        print(f"stopped at step {result.step}/{result.total_steps}; continue with: "
              f"nnzoo train --resume {run_dir}")
        return 0
    figures = runs.evaluate_run(run_dir)
    from .report.plots import plot_run
    plot_run(run_dir)
    head = recipe.metric
    print(f"{recipe.name}: {head} = {figures.get(head)} after {result.step} steps in {result.wall:.0f} s"
          f" -> {run_dir}")
    return 0


def cmd_eval(args) -> int:
    from . import runs
    figures = runs.evaluate_run(Path(args.run_dir), write=not args.no_write)
    if not args.no_write:  # the pictures are drawn from the files just rewritten: stale ones would disagree
        from .report.plots import plot_run
        plot_run(Path(args.run_dir))
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k:28s} {v}")
    return 0


def _run_for(verb: str, run_dir: str):
    """(config.json, task, model config, model) of the run a verb reads; a run whose task does not answer the
    verb is refused in one line before any weights are read."""
    from . import registry, runs
    doc = runs.read_config(Path(run_dir))
    recipe = registry.get_recipe(doc["recipe"])
    task = registry.get_task(recipe.task)
    task.refuse(verb, run_dir, recipe.name)
    _, mcfg, _, model = runs.load_run(Path(run_dir))
    return doc, task, mcfg, model


def cmd_predict(args) -> int:
    doc, task, mcfg, model = _run_for("predict", args.run_dir)
    # image files for an image task, the sentences themselves for a task that reads text
    preds = task.predict(model, mcfg, doc, args.files, invert=args.invert)
    if args.json:
        print(json.dumps(preds))
    else:
        for p in preds:
            prob = f" (p={p['probability']:.3f})" if "probability" in p else ""
            print(f"{p.get('file', p.get('text'))}: {p['label']}{prob}")
    return 0


def _check_seed(seed: int) -> None:
    if seed < 0:
        raise UserError(f"--seed must be 0 or more, got {seed}; e.g. --seed 0")


def cmd_sample(args) -> int:
    from .tasks.base import SampleRequest
    # the numbers are checked before anything is read or written (argparse only made them int / float)
    if args.length < 1:
        raise UserError(f"--length must be 1 or more characters, got {args.length}; e.g. --length 500")
    if not (math.isfinite(args.temperature) and args.temperature > 0):
        raise UserError(f"--temperature must be > 0 and finite (below 1 safer, above 1 wilder), got "
                        f"{args.temperature}; e.g. --temperature 0.8")
    if args.n < 1:
        raise UserError(f"--n must be 1 or more samples, got {args.n}; e.g. --n 64")
    _check_seed(args.seed)
    if args.out and Path(args.out).is_dir():
        raise UserError(f"--out {args.out} is a folder; give the PNG file to write, e.g. "
                        f"--out {Path(args.out) / 'sample.png'}")
    doc, task, _, model = _run_for("sample", args.run_dir)
    request = SampleRequest(run_dir=str(Path(args.run_dir)), n=args.n, label=args.label, seed=args.seed, z=args.z,
                            out=args.out, prime=args.prime, length=args.length, temperature=args.temperature)
    res, line = task.sample(model, doc, request)
    print(json.dumps(res) if args.json else line)
    return 0


def cmd_translate(args) -> int:
    if args.beam is not None and args.beam < 1:
        raise UserError(f"--beam must be 1 (greedy decoding) or more, got {args.beam}; e.g. --beam 5")
    doc, task, _, model = _run_for("translate", args.run_dir)
    out = task.translate(model, doc, args.sentence, beam=args.beam)
    print(json.dumps(out, ensure_ascii=False) if args.json else out["translation"])
    return 0


def _check_topn(topn: int) -> None:
    if topn < 1:
        raise UserError(f"--topn must be 1 or more, got {topn}; e.g. --topn 5")


def cmd_analogy(args) -> int:
    _check_topn(args.topn)
    doc, task, _, model = _run_for("analogy", args.run_dir)
    out = task.analogy(model, doc, [args.a, args.b, args.c], topn=args.topn)
    if args.json:
        print(json.dumps(out))
    else:
        print(out["query"])
        for hit in out["answers"]:
            print(f"  {hit['word']:20s} {hit['cosine']:.4f}")
    return 0


def cmd_neighbours(args) -> int:
    _check_topn(args.topn)
    doc, task, _, model = _run_for("neighbours", args.run_dir)
    out = task.neighbours(model, doc, args.word, topn=args.topn)
    if args.json:
        print(json.dumps(out))
    else:
        for hit in out["neighbours"]:
            print(f"{hit['word']:20s} {hit['cosine']:.4f}")
    return 0


def _output_file(path: str, example: str, option: str = "") -> Path:
    """A file the command will write, checked before any work: not a folder, and in a folder that exists.
    `option` ("--gif ") starts each line when the path came from an option."""
    out = Path(path)
    if out.is_dir():
        raise UserError(f"{option}{out} is a folder; give the file to write, e.g. {option}{out / example}")
    if not out.parent.is_dir():
        raise UserError(f"{option}{out}: {out.parent} does not exist; create it first or write somewhere else")
    return out


def cmd_vectors(args) -> int:
    out = _output_file(args.file, "vectors.bin")
    doc, task, _, model = _run_for("vectors", args.run_dir)
    res = task.vectors(model, doc, out, binary=args.binary)
    print(json.dumps(res) if args.json else f"{res['words']:,} vectors of {res['dim']} ({res['format']}) -> {out}")
    return 0


def cmd_answer(args) -> int:
    if args.top < 1:
        raise UserError(f"--top must be 1 or more sentences, got {args.top}; e.g. --top 3")
    doc, task, mcfg, model = _run_for("answer", args.run_dir)
    out = task.answer(model, mcfg, doc, args.story, top=args.top)
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{out['answer']}  (p={out['probability']:.3f})")
        for s in out["supporting"]:
            print(f"  {s['weight']:.3f}  {s['line']:3d} {s['sentence']}")
    return 0


def cmd_play(args) -> int:
    if args.episodes < 1:
        raise UserError(f"--episodes must be 1 or more, got {args.episodes}; e.g. --episodes 10")
    _check_seed(args.seed)
    if args.epsilon is not None and not (0.0 <= args.epsilon <= 1.0):
        raise UserError(f"--epsilon must be in [0, 1] (the chance of a random action), got {args.epsilon}; "
                        f"e.g. --epsilon 0.05")
    if args.gif:
        _output_file(args.gif, "play.gif", option="--gif ")
    doc, task, _, model = _run_for("play", args.run_dir)
    out = task.play(model, doc, episodes=args.episodes, seed=args.seed, gif=args.gif, epsilon=args.epsilon)
    if args.json:
        print(json.dumps(out))
    else:
        for i, (r, n) in enumerate(zip(out["returns"], out["lengths"])):
            print(f"episode {i + 1}: return {r:g} in {n} steps")
        print(f"mean return {out['mean_return']:.2f} +- {out['std_return']:.2f} over {out['episodes']} episodes "
              f"of {out['env']} (epsilon {out['epsilon']:g})" + (f"; GIF of episode 1 -> {out['gif']}"
                                                                 if "gif" in out else ""))
    return 0


def cmd_caption(args) -> int:
    if args.beam < 1:
        raise UserError(f"--beam must be 1 (greedy decoding) or more, got {args.beam}; e.g. --beam 3")
    if not 1 <= args.top <= args.beam:
        raise UserError(f"--top {args.top}: a beam of {args.beam} gives 1 to {args.beam} captions; ask for fewer, "
                        f"or widen the beam (--beam {max(args.top, 1)})")
    doc, task, mcfg, model = _run_for("caption", args.run_dir)
    out = task.caption(model, mcfg, doc, args.input, beam=args.beam, top=args.top)
    if args.json:
        print(json.dumps(out))
        return 0
    for note in out["notes"]:
        print(f"nnzoo: {note}", file=sys.stderr)
    for k, c in enumerate(out["captions"], 1):
        print(f"{k}) {c['caption']} (logprob: {c['logprob']:.2f})")
    return 0


def cmd_experiment(args) -> int:
    from . import runs
    from .experiments.catalog import get_experiment
    mod = get_experiment(args.name)
    _check_seed(args.seed)
    out = Path(args.out) if args.out else runs.new_run_dir(f"experiment-{args.name}")
    extra = {}
    if args.run:
        import inspect
        if "run_dir" not in inspect.signature(mod.run).parameters:
            raise UserError(f"experiment {args.name} does not read a trained run; drop --run")
        extra["run_dir"] = args.run
    res = mod.run(out, quick=args.quick, seed=args.seed, progress=not args.quiet, **extra)
    (out / "figures.json").write_text(json.dumps(res, indent=2) + "\n")
    if args.json:
        print(json.dumps({"experiment": args.name, "out": str(out), **res["figures"]}))
    else:
        print(res["summary"])
        for k, v in res["figures"].items():
            print(f"  {k:40s} {v}")
        print("figures: " + ", ".join(str(out / i) for i in res["images"]))
    return 0


def cmd_tour(args) -> int:
    from .tour import ERROR_LOG, run_tour
    result = run_tour(Path(args.out) if args.out else None, only=args.only, verbose=not args.quiet)
    print(result.table())
    print(f"report: {result.report}")
    if result.errors:
        names = ", ".join(s["title"] for s in result.errors)
        print(f"nnzoo: {len(result.errors)} tour section(s) in error: {names}; tracebacks in "
              f"{result.report.parent / ERROR_LOG}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def cmd_data(args) -> int:
    from . import data
    if args.action == "list":
        names = (list(data.IMAGE_DATASETS) + list(data.TEXT_DATASETS) + list(data.SENTENCE_DATASETS)
                 + list(data.PAIR_DATASETS) + list(data.WORD_DATASETS) + list(data.QA_DATASETS)
                 + list(data.GO_DATASETS) + list(data.CAPTION_DATASETS))
        for n in names:
            state = ("installed" if data.is_installed(n)
                     else f"generated on first use, or all at once: nnzoo data install {n}"
                     if n in data.GENERATED_ON_FIRST_USE else f"missing: nnzoo data install {n}")
            print(f"{n:18s} {state}")
        print("\nor data=PATH: an .npz (x_train, y_train, x_test, y_test), a folder of IDX files, or a folder of "
              "class sub-folders of images; for word vectors a UTF-8 text file or a folder of *.txt files; for bAbI a "
              "folder of Facebook's qa{N}_*_train.txt / _test.txt files; for Go a folder of 19x19 .sgf game "
              "records")
        return 0
    if not args.name:
        raise UserError("name a data set: nnzoo data install mnist")
    print(f"{args.name}: {data.install(args.name)} under {data.data_root()}")
    return 0


class Parser(argparse.ArgumentParser):
    """argparse's mistakes (an option's value that is not a number, a missing argument) end in one line too,
    naming where the usage is; sub-commands' parsers are of this class as well."""

    def error(self, message: str):
        print(f"nnzoo: error: {_one_line(message)}; see `{self.prog} --help`", file=sys.stderr)
        sys.exit(EXIT_USER)


def _one_line(message) -> str:
    # one line whatever the message holds: newlines, or text with undecodable bytes (surrogate escapes from
    # argv) that a strict stderr could not print
    return " ".join(str(message).splitlines()).encode("utf-8", "backslashreplace").decode("utf-8")


def _check_out(args) -> None:
    """--out of train / experiment / tour names a folder to create or fill: refused before anything is written
    if it (or a folder above it) is a file, or, for experiment and tour, if it holds a training run."""
    out = getattr(args, "out", None)
    if args.command not in ("train", "experiment", "tour") or not out:
        return
    path = Path(out)
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                raise UserError(f"--out {out}: {p} is a file, not a folder; give a folder to create, e.g. "
                                f"--out runs/{args.command}-1")
            break
    if args.command != "train" and (path / "config.json").is_file():
        raise UserError(f"--out {out} holds a training run, which would be changed; give another folder")


def build_parser() -> argparse.ArgumentParser:
    from .train.config import PRECISIONS
    p = Parser(prog="nnzoo", description="Classic deep learning from the lectures' equations, "
               "trained on real data offline.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("list", help="every recipe with its data, headline metric and recorded figure")
    s.add_argument("recipe", nargs="?", help="show one recipe's settings and every model key with its doc")
    s.add_argument("--json", action="store_true", help="print one JSON array")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("train", help="train a recipe into a run folder",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_train_keys_help())
    s.add_argument("recipe", nargs="?", help="recipe name (see `nnzoo list`)")
    s.add_argument("overrides", nargs="*", metavar="key=value",
                   help="override a training or model key, e.g. seed=7 epochs=3 lr=0.01 batch_size=64 data=digits")
    s.add_argument("--out", help="run folder to create (default runs/RECIPE-TIME)")
    s.add_argument("--resume", metavar="RUN_DIR", help="continue a stopped run exactly where it stopped")
    s.add_argument("--device", help="same as device=...: auto (cuda, then mps, then cpu), cpu, cuda, cuda:N, mps")
    s.add_argument("--precision", choices=PRECISIONS,
                   help="same as precision=...: autocast dtype; bf16 falls back to fp32 with a warning on a CPU "
                        "without bf16 units")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("eval", help="test metrics of a trained run")
    s.add_argument("run_dir")
    s.add_argument("--json", action="store_true", help="print one JSON object a script can read")
    s.add_argument("--no-write", action="store_true", help="do not rewrite eval.json / artifacts.npz or redraw the run's pictures")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("predict", help="classify image files (sentences, for a sentiment run) with a trained run")
    s.add_argument("run_dir")
    s.add_argument("files", nargs="+", metavar="INPUT",
                   help="image files of the size the model was trained on; for a sentence classifier (e.g. "
                        "sentiment-bilstm), sentences in quotes: \"a gripping, funny film\"")
    s.add_argument("--invert", action="store_true",
                   help="invert grey levels first (MNIST digits are white on black; scans are usually black on white)")
    s.add_argument("--json", action="store_true", help="print one JSON array")
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("sample", help="generate text from a character language model, or an image grid from a GAN")
    s.add_argument("run_dir")
    s.add_argument("--prime", default="\n", help="language model: text to start from (default a newline)")
    s.add_argument("--length", type=int, default=500,
                   help="language model: characters to generate (default 500); NTM or LSTM run on an algorithmic "
                        "task: the sequence's length in vectors (items for associative recall), e.g. 40")
    s.add_argument("--temperature", type=float, default=0.8,
                   help="language model: softmax temperature: below 1 safer and more repetitive, above 1 wilder "
                        "(default 0.8)")
    s.add_argument("--n", type=int, default=64, help="GAN: how many images in the grid (default 64)")
    s.add_argument("--class", dest="label", type=int,
                   help="conditional GAN (mnist-cgan): draw only this class; without it the classes take turns")
    s.add_argument("--z", metavar="FILE.npy", help="GAN: decode these latent vectors (an array N x latent) "
                   "instead of random ones")
    s.add_argument("--out", help="GAN: the PNG to write (default RUN_DIR/sample.png, RUN_DIR/sample-classN.png with --class)")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_sample)

    s = sub.add_parser("translate", help="translate an English sentence into Spanish with a trained translation run")
    s.add_argument("run_dir", help="a run of translate-en-es or translate-en-es-attention")
    s.add_argument("sentence", help="the English sentence, in quotes: \"In the beginning God created the heavens "
                   "and the earth.\"")
    s.add_argument("--beam", type=int, help="beam size (1: greedy decoding; default: the run's beam, 5)")
    s.add_argument("--json", action="store_true",
                   help="print one JSON object: translation, its words, unknown source words, attention weights")
    s.set_defaults(func=cmd_translate)

    s = sub.add_parser("analogy", help="a is to b as c is to ?, with a word2vec run (vector b - a + c)")
    s.add_argument("run_dir", help="a run of english-word2vec-sg or english-word2vec-cbow")
    s.add_argument("a")
    s.add_argument("b")
    s.add_argument("c")
    s.add_argument("--topn", type=int, default=5, help="how many answers (default 5)")
    s.add_argument("--json", action="store_true", help="print one JSON object: the query and the answers with cosines")
    s.set_defaults(func=cmd_analogy)

    s = sub.add_parser("neighbours", help="the nearest words to a word by cosine, with a word2vec run")
    s.add_argument("run_dir", help="a run of english-word2vec-sg or english-word2vec-cbow")
    s.add_argument("word")
    s.add_argument("--topn", type=int, default=10, help="how many neighbours (default 10)")
    s.add_argument("--json", action="store_true", help="print one JSON object: the word and its neighbours")
    s.set_defaults(func=cmd_neighbours)

    s = sub.add_parser("answer", help="answer a question about a story with a bAbI run, showing the sentences "
                                      "it read")
    s.add_argument("run_dir", help="a run of babi-memn2n or babi-entnet")
    s.add_argument("story", help='the story and, last, the question: "Mary moved to the bathroom. John went to '
                                 'the hallway. Where is Mary?"')
    s.add_argument("--top", type=int, default=3, help="how many supporting sentences to show (default 3)")
    s.add_argument("--json", action="store_true", help="print one JSON object: the answer, its probability and "
                                                       "the sentences with their weights")
    s.set_defaults(func=cmd_answer)

    s = sub.add_parser("play", help="let a trained DQN run play: each episode's return, a GIF of the first")
    s.add_argument("run_dir", help="a run of cartpole-dqn or breakout-dqn")
    s.add_argument("--episodes", type=int, default=10, help="episodes to play (default 10)")
    s.add_argument("--gif", metavar="FILE.gif", help="write an animated GIF of the first episode here")
    s.add_argument("--epsilon", type=float, help="chance of a random action (default: the run's eval_epsilon, "
                                                 "0 for CartPole, 0.05 for Atari)")
    s.add_argument("--seed", type=int, default=0, help="episode k starts from a seed of (seed, k) (default 0)")
    s.add_argument("--json", action="store_true", help="print one JSON object: returns, lengths, mean, GIF path")
    s.set_defaults(func=cmd_play)

    s = sub.add_parser("caption", help="describe an image (an S2VT run: a clip) in words, each caption with its "
                                       "log-probability")
    s.add_argument("run_dir", help="a run of digit-scenes-caption or emoji-caption (an image), or of "
                                   "moving-digits-s2vt / moving-digits-meanpool (a clip)")
    s.add_argument("input", help="an image file (PNG, JPEG, GIF; a square of another size is resized); for a clip "
                                 "a folder of its frame images, in the order of their names, or an animated GIF")
    s.add_argument("--beam", type=int, default=3, help="beam width (1: greedy decoding; default 3, Show and Tell's)")
    s.add_argument("--top", type=int, default=3, help="how many captions to print, best first (at most --beam; "
                                                      "default 3)")
    s.add_argument("--json", action="store_true", help="print one JSON object: the captions with their "
                                                       "log-probabilities and what was converted")
    s.set_defaults(func=cmd_caption)

    s = sub.add_parser("vectors", help="export a word2vec run's vectors in word2vec's text or binary format")
    s.add_argument("run_dir", help="a run of english-word2vec-sg or english-word2vec-cbow")
    s.add_argument("file", help="the file to write (gensim's KeyedVectors.load_word2vec_format reads it)")
    s.add_argument("--binary", action="store_true", help="the binary format (default: text)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_vectors)

    s = sub.add_parser("experiment", help="run one of the lectures' claims and draw its figure")
    s.add_argument("name", help="experiment name (see `nnzoo list`)")
    s.add_argument("--out", help="folder for the figures (default runs/experiment-NAME-TIME)")
    s.add_argument("--quick", action="store_true", help="the tour's smaller, faster version")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--run", metavar="RUN_DIR", help="a trained run to look inside, for experiments that read one "
                   "(lstm-gates: a pycode-lstm run; cnn-features: an mnist-cnn run; word-analogies: an "
                   "english-word2vec-sg or -cbow run; without it the experiment trains its own; cnn-parameters: "
                        "fashion-* runs, a folder of them or a comma list, for the accuracy and images/s columns)")
    s.set_defaults(func=cmd_experiment)

    s = sub.add_parser("tour", help="train the quick version of every recipe and experiment; write an HTML report")
    s.add_argument("--out", help="folder for the report (default runs/tour-TIME)")
    s.add_argument("--only", nargs="+", metavar="NAME", help="only these recipes / experiments")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_tour)

    s = sub.add_parser("data", help="list or install the real data sets")
    s.add_argument("action", choices=["list", "install"])
    s.add_argument("name", nargs="?",
                   help="data set to install (mnist, fashion-mnist, digits, shakespeare, pycode, rt-sentences, "
                        "bible-en-es, emoji, ...; see nnzoo data list)")
    s.set_defaults(func=cmd_data)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        # key=value overrides may come after options (train RECIPE --out DIR seed=3): collect them here
        args, extra = parser.parse_known_args(argv)
        if extra:
            if args.command == "train" and all("=" in x and not x.startswith("-") for x in extra):
                args.overrides = list(args.overrides) + extra
            else:
                parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as e:  # --help (0), or a usage mistake (2) whose one line Parser.error printed
        return 0 if e.code is None else e.code if isinstance(e.code, int) else EXIT_USER
    from .data import DataError
    try:
        _check_out(args)
        return args.func(args)
    except (UserError, DataError) as e:
        print(f"nnzoo: error: {_one_line(e)}", file=sys.stderr)
        return EXIT_USER
    except TrainingDiverged as e:
        print(f"nnzoo: training stopped: {e}", file=sys.stderr)
        return EXIT_DIVERGED
    except KeyboardInterrupt:
        print("nnzoo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
