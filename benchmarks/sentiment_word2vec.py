"""sentiment-bilstm's word embeddings from a random start and from word2vec's vectors, on seeds 0, 1 and 2.

Kim (2014) measured it on MR with a CNN: 76.1 % from random vectors, 81.5 % from word2vec's, fine-tuned
("non-static"). Here one member of sentiment-bilstm (`members=1`), everything else the recipe's, is trained
twice per seed, without and with `embeddings=RUN`, one run after the other; `embed` is the word2vec run's
width in both (100 for english-word2vec-sg), so the two differ in the embeddings' start alone (the rows
without a word2vec vector start as in the random run: the copy draws no random number). Prints a table of
validation and test accuracy per seed, the means and the differences (word2vec - random), the training wall
time of each run, the vectors' coverage of the vocabulary, and one JSON line.

    nnzoo train english-word2vec-sg --out runs/w2v-sg      # the vectors: a full run (BENCHMARKS.md)
    python benchmarks/sentiment_word2vec.py runs/w2v-sg [--seeds 0 1 2] [--out runs/bench/sentiment-word2vec]
    python benchmarks/sentiment_word2vec.py RUN --quick    # a smoke test: 1 epoch on 256 sentences, seed 0

Six runs of about six minutes each on a 2-core machine (one member is 346-369 s of training on one thread:
BENCHMARKS.md, sentiment-bilstm). A finished run in --out (eval.json written, same command) is reused, so an
interrupted benchmark continues where it stopped; an unfinished one is trained again.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

from run_all import ROOT, run

QUICK = ["epochs=1", "train_subset=256", "hidden=16", "batch_size=32", "subwords=0", "tensorboard=false"]
"""--quick: a smoke test of the script, not a measurement."""
ARMS = ("random", "word2vec")


def word2vec_dim(path: Path) -> int:
    """The width of the vectors of a word2vec run folder (its config.json)."""
    try:
        doc = json.loads((path / "config.json").read_text())
        if doc.get("task") != "word2vec":
            raise ValueError(f"a {doc.get('recipe')} run")
        return int(doc["model_config"]["dim"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f"{path} is not a word2vec run folder ({e}); train one with: nnzoo train english-word2vec-sg "
                 f"--out {path}")


def train(name: str, overrides: list[str], out: Path) -> dict:
    """Train and evaluate sentiment-bilstm with these overrides into out/name, or reuse a finished run of the
    same command; -> eval.json's figures plus the run's config.json."""
    run_dir = out / name
    command = ["train", "sentiment-bilstm", *overrides, "--out", str(run_dir), "--quiet"]
    stamp = run_dir / "benchmark-command.json"
    if (run_dir / "eval.json").exists() and stamp.exists() and json.loads(stamp.read_text()) == command:
        print(f"{name}: reused {run_dir}", file=sys.stderr, flush=True)
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
        print(f"{name}: nnzoo {' '.join(command)}", file=sys.stderr, flush=True)
        nnzoo = [sys.executable, "-m", "nnzoo"]
        run(nnzoo + command)  # trains, then writes eval.json
        stamp.write_text(json.dumps(command) + "\n")
    figures = json.loads((run_dir / "eval.json").read_text())
    return {**figures, "config": json.loads((run_dir / "config.json").read_text())}


def mean_std(xs: list[float]) -> str:
    return f"{statistics.mean(xs):.2f}" + (f" +- {statistics.stdev(xs):.2f}" if len(xs) > 1 else "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="a word2vec run folder (english-word2vec-sg or -cbow)")
    p.add_argument("--seeds", type=int, nargs="+", help="the seeds (default 0 1 2; --quick: 0)")
    p.add_argument("--out", default="runs/bench/sentiment-word2vec", help="folder for the runs")
    p.add_argument("--quick", action="store_true", help="a smoke test: " + " ".join(QUICK))
    args = p.parse_args()
    w2v = Path(args.run).resolve()
    dim = word2vec_dim(w2v)
    seeds = args.seeds if args.seeds is not None else [0] if args.quick else [0, 1, 2]
    out = Path(args.out)
    out = out if out.is_absolute() else ROOT / out
    base = ["members=1", f"embed={dim}", *(QUICK if args.quick else [])]
    t0 = time.time()
    rows = []
    for seed in seeds:
        row = {"seed": seed}
        for arm in ARMS:
            extra = [f"embeddings={w2v}"] if arm == "word2vec" else []
            r = train(f"{arm}-seed{seed}", [*base, f"seed={seed}", *extra], out)
            row[arm] = {"val_accuracy_percent": round(100 * r["val_accuracy"], 2),
                        "test_accuracy_percent": r["test_accuracy_percent"],
                        "train_wall_seconds": r["train_wall_seconds"]}
            if arm == "word2vec":
                row["coverage"] = r["config"].get("pretrained_embeddings", {})
            row["tfidf_logreg_test_accuracy_percent"] = r["tfidf_logreg_test_accuracy_percent"]
        rows.append(row)
    wall = time.time() - t0

    def col(arm, key):
        return [r[arm][key] for r in rows]

    head = ("seed", "random val", "random test", "word2vec val", "word2vec test", "test diff", "wall random",
            "wall word2vec")
    val, test, secs = "val_accuracy_percent", "test_accuracy_percent", "train_wall_seconds"
    table = [(str(r["seed"]), f"{r['random'][val]:.2f}", f"{r['random'][test]:.2f}", f"{r['word2vec'][val]:.2f}",
              f"{r['word2vec'][test]:.2f}", f"{r['word2vec'][test] - r['random'][test]:+.2f}",
              f"{r['random'][secs]:.0f} s", f"{r['word2vec'][secs]:.0f} s") for r in rows]
    diffs = [w - r for w, r in zip(col("word2vec", test), col("random", test))]
    val_diffs = [w - r for w, r in zip(col("word2vec", val), col("random", val))]
    table.append(("mean", mean_std(col("random", val)), mean_std(col("random", test)), mean_std(col("word2vec", val)),
                  mean_std(col("word2vec", test)), f"{statistics.mean(diffs):+.2f}",
                  f"{statistics.mean(col('random', secs)):.0f} s", f"{statistics.mean(col('word2vec', secs)):.0f} s"))
    widths = [max(len(x) for x in c) for c in zip(head, *table)]
    cov = rows[0]["coverage"]
    print(f"sentiment-bilstm members=1 embed={dim}{' (--quick)' if args.quick else ''}: random vectors vs "
          f"embeddings={w2v}")
    if cov:
        print(f"word2vec vectors for {cov['words_covered']:,} of {cov['vocabulary_words']:,} vocabulary words "
              f"({cov['train_tokens_covered_percent']} % of the training tokens); their per-coordinate RMS "
              f"{cov['covered_rms']} (the random rows': 1)")
    for line in (head, *table):
        print("  ".join(x.rjust(w) for x, w in zip(line, widths)))
    print(f"test accuracy, word2vec - random: {statistics.mean(diffs):+.2f} points (validation "
          f"{statistics.mean(val_diffs):+.2f}); TF-IDF + logistic regression: "
          f"{rows[0]['tfidf_logreg_test_accuracy_percent']} %; Kim 2014 (CNN on MR): 76.1 -> 81.5 (+5.4)")
    print(f"{len(rows) * len(ARMS)} runs, {wall:.0f} s in all")
    print(json.dumps({"name": "sentiment-word2vec", "word2vec_run": str(w2v), "quick": args.quick,
                      "overrides": base, "rows": rows, "test_diff_mean": round(statistics.mean(diffs), 2),
                      "val_diff_mean": round(statistics.mean(val_diffs), 2), "wall_seconds": round(wall, 1)}))


if __name__ == "__main__":
    main()
