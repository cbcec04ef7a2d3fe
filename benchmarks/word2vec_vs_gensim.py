"""nnzoo's word2vec beside gensim 4.4.0's, in one run, on the same token stream and settings.

    pip install gensim==4.4.0        # the peer (not an nnzoo dependency)
    python benchmarks/word2vec_vs_gensim.py [--arch skip-gram cbow] [--epochs 5] [--curve] [--json OUT]

Both read english-text (12.1 M words, one sentence a line) with 100-d vectors, window 5, 5 noise words,
min_count 5, subsampling 1e-3, 5 epochs, lr 0.025 falling linearly to 0.0001 of it, two threads
(gensim: Word2Vec(workers=2)). Training time is timed alone on both sides: gensim's `train()` after its
`build_vocab()`, nnzoo's training loop (`FitResult.wall`, the fused CPU loop through the engine with its
checkpoints and logging) after the corpus is loaded. Words per second = corpus words x epochs / seconds.

Both sets of vectors are scored by the same evaluator, gensim's: `evaluate_word_analogies(restrict_vocab=
30000)` on questions-words.txt (accuracy per section and overall, and how many of the 19,544 questions had
all four words among the 30,000 most frequent) and `evaluate_word_pairs` (Spearman's rho) on WordSim-353
and SimLex-999. nnzoo's vectors are handed to gensim in gensim's own word order, so the 30,000 words, and
hence the questions answered, are the same on both sides. nnzoo's own evaluator (`nnzoo eval`) is printed
beside gensim's on nnzoo's vectors: the two agree.

--curve: words per second of one epoch against the corpus size (the first 1, 2, 4, 8 M words and all).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

ARCHS = {"skip-gram": ("english-word2vec-sg", 1), "cbow": ("english-word2vec-cbow", 0)}


def sentences(path: Path, limit: int = 0) -> list[list[str]]:
    """The corpus's sentences, the first `limit` words' worth of whole sentences (0: all)."""
    out, n = [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            words = line.split()
            if not words:
                continue
            if limit and n + len(words) > limit:
                break
            out.append(words)
            n += len(words)
    return out


def gensim_scores(kv, sets) -> dict:
    acc, sections = kv.evaluate_word_analogies(sets["analogies"], restrict_vocab=30000)
    per = {s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections}
    total = per.pop("Total accuracy")
    return {"analogy_accuracy": round(100 * acc, 2), "analogy_questions_answered": total[1],
            "sections": {k: round(100 * c / n, 2) if n else None for k, (c, n) in per.items()},
            "wordsim353_spearman": round(kv.evaluate_word_pairs(sets["wordsim353"])[1][0], 4),
            "simlex999_spearman": round(kv.evaluate_word_pairs(sets["simlex999"])[1][0], 4)}


def run_gensim(sents, sg: int, epochs: int, seed: int):
    from gensim.models import Word2Vec
    m = Word2Vec(vector_size=100, window=5, negative=5, min_count=5, sample=1e-3, sg=sg, workers=2, seed=seed,
                 alpha=0.025, min_alpha=0.025 * 1e-4, epochs=epochs)
    m.build_vocab(sents)
    t = time.perf_counter()
    m.train(sents, total_examples=len(sents), epochs=epochs)  # gensim's default: no loss computed
    return m, time.perf_counter() - t


def run_nnzoo(recipe_name: str, epochs: int, seed: int, subset: int, out: Path):
    from nnzoo import registry, runs
    from nnzoo.config import parse_overrides
    recipe = registry.get_recipe(recipe_name)
    mcfg, tcfg = registry.resolve(recipe, parse_overrides([f"epochs={epochs}", f"seed={seed}", "tensorboard=false",
                                                           f"train_subset={subset}"]))
    res = runs.train(out, recipe, mcfg, tcfg, verbose=False)
    return res


def compare(arch: str, epochs: int, seed: int, corpus: Path, sets: dict, work: Path, limit: int = 0) -> dict:
    from gensim.models import KeyedVectors

    from nnzoo import runs
    recipe_name, sg = ARCHS[arch]
    sents = sentences(corpus, limit)
    words = sum(map(len, sents))
    gm, g_sec = run_gensim(sents, sg, epochs, seed)
    del sents
    res = run_nnzoo(recipe_name, epochs, seed, limit, work / recipe_name)
    doc = runs.read_config(work / recipe_name)
    _, _, _, model = runs.load_run(work / recipe_name)
    ours = dict(zip(doc["vocab"], model.vectors().numpy()))
    order = [w for w in gm.wv.index_to_key if w in ours]
    kv = KeyedVectors(100)
    kv.add_vectors(order, np.stack([ours[w] for w in order]))
    own = runs.evaluate_run(work / recipe_name, write=True)
    return {"arch": arch, "words": words, "epochs": epochs,
            "vocab": {"gensim": len(gm.wv.index_to_key), "nnzoo": len(doc["vocab"])},
            "seconds": {"gensim": round(g_sec, 1), "nnzoo": round(res.wall, 1)},
            "words_per_second": {"gensim": round(words * epochs / g_sec), "nnzoo": round(words * epochs / res.wall)},
            "speed_ratio_nnzoo_over_gensim": round(g_sec / res.wall, 2),
            "gensim": gensim_scores(gm.wv, sets), "nnzoo": gensim_scores(kv, sets),
            "nnzoo_own_evaluator": {k: own[k] for k in ("analogy_accuracy", "analogy_questions_answered",
                                                        "wordsim353_spearman", "simlex999_spearman")}}


def curve(arch: str, corpus: Path, work: Path, seed: int) -> list[dict]:
    recipe_name, sg = ARCHS[arch]
    rows = []
    for limit in (1_000_000, 2_000_000, 4_000_000, 8_000_000, 0):
        sents = sentences(corpus, limit)
        words = sum(map(len, sents))
        _, g_sec = run_gensim(sents, sg, 1, seed)
        del sents
        res = run_nnzoo(recipe_name, 1, seed, limit, work / f"{recipe_name}-{limit}")
        rows.append({"arch": arch, "words": words, "gensim_wps": round(words / g_sec), "nnzoo_wps": round(words / res.wall),
                     "ratio": round(g_sec / res.wall, 2)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def print_table(r: dict) -> None:
    g, n = r["gensim"], r["nnzoo"]
    print(f"\n{r['arch']}: {r['words']:,} words x {r['epochs']} epochs; vocabulary gensim {r['vocab']['gensim']:,}, "
          f"nnzoo {r['vocab']['nnzoo']:,}")
    print(f"{'':34s}{'gensim':>10s}{'nnzoo':>10s}")
    for sec in g["sections"]:
        print(f"  {sec:32s}{g['sections'][sec] if g['sections'][sec] is not None else '-':>10}"
              f"{n['sections'].get(sec) if n['sections'].get(sec) is not None else '-':>10}")
    for k in ("analogy_accuracy", "analogy_questions_answered", "wordsim353_spearman", "simlex999_spearman"):
        print(f"{k:34s}{g[k]:>10}{n[k]:>10}")
    print(f"{'seconds of training':34s}{r['seconds']['gensim']:>10}{r['seconds']['nnzoo']:>10}")
    print(f"{'words per second':34s}{r['words_per_second']['gensim']:>10,}{r['words_per_second']['nnzoo']:>10,}")
    print(f"nnzoo / gensim speed: {r['speed_ratio_nnzoo_over_gensim']}x; nnzoo's own evaluator on its vectors: "
          f"{r['nnzoo_own_evaluator']}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", nargs="+", default=list(ARCHS), choices=list(ARCHS))
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--words", type=int, default=0, help="only the first this many words (0: the whole corpus)")
    p.add_argument("--curve", action="store_true", help="also words per second against corpus size (1 epoch)")
    p.add_argument("--json", help="write every result to this JSON file")
    args = p.parse_args()
    os.environ.setdefault("NNZOO_PROGRESS", "0")
    from nnzoo.data.english_text import corpus_file, eval_sets
    corpus, sets = corpus_file(), {k: str(v) for k, v in eval_sets().items()}
    out = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores", "results": [],
           "curve": []}
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.arch:
            r = compare(arch, args.epochs, args.seed, corpus, sets, Path(tmp), args.words)
            out["results"].append(r)
            print_table(r)
            print(json.dumps(r), flush=True)
        if args.curve:
            for arch in args.arch:
                out["curve"] += curve(arch, corpus, Path(tmp), args.seed)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
