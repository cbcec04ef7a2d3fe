"""Lecture claim: word2vec's vectors hold relationships as directions, so "a is to b as c is to ?" is answered by
the word nearest to b - a + c (3CosAdd, `Vectors.analogy`).

  the table     Mikolov et al. 2013 ("Efficient estimation of word representations in vector space", table 8):
                ten relationships, an example pair each and three questions, with the answers of their best
                skip-gram (783 M words, 300-d; six of them wrong: small -> larger, Mozart -> violinist, uranium ->
                plutonium, Putin -> Medvedev, Google -> Yahoo, IBM -> McNealy), and the lecture's
                W(woman) - W(man) = W(aunt) - W(uncle), asked as woman : man :: aunt : ?.
                Each cell asked of our vectors: top-1 and top-3 with cosines beside the paper's answer and, where
                it is plain, the true one; the words our vocabulary lacks are named (our tokens are lower-case
                a-z: "Cu" is "cu").
  accuracy      Mikolov's 19,544 analogy questions, as `nnzoo eval` scores a word2vec run (gensim's counting,
                the 30,000 most frequent words).
  PCA           the 2-D PCA of the unit vectors of countries and their capitals, a line joining each pair
                (Mikolov et al. 2013, "Distributed representations of words and phrases", fig. 2: the lines
                run nearly parallel), and how parallel the capital - country offsets are (each one's cosine with
                the mean of the others, averaged; in all dimensions and in the plane).
  t-SNE         a map of the 1,000 most frequent words (cosine, `cnn_features.tsne_map`), labelled.

The vectors: `--run RUN_DIR` of an english-word2vec-sg or -cbow run; else the full english-word2vec-sg recipe,
trained once and kept under `<data>/word2vec/english-word2vec-sg` (train/cache.py, through cnn_features'
`cached_recipe_run`); quick mode trains the recipe on the corpus's first 2 M words for one epoch, thrown away.
"""
from __future__ import annotations

import pathlib
import sys
import tempfile
import time

import numpy as np

from ..errors import UserError

RECIPE = "english-word2vec-sg"
RECIPES = ("english-word2vec-sg", "english-word2vec-cbow")
"""The runs --run accepts (a word2vec task's run)."""
CACHED_OVERRIDES = ["tensorboard=false"]
"""The cached run (full mode without --run): the recipe as it stands, seed 0."""
QUICK_OVERRIDES = ["train_subset=2000000", "epochs=1", "tensorboard=false"]
"""Quick mode's run: the first 2 M words, one epoch (a few seconds), thrown away."""
TOPN = 3
TSNE_WORDS = 1000
TSNE_LABELS = 1000
"""How many of the t-SNE's words are labelled (the most frequent first)."""
K = 10
"""Neighbours of the t-SNE's trustworthiness."""

# (relationship, a, b, [(c, the paper's answer, true answers or None), ...]): a is to b as c is to ?
PAPER = "Mikolov et al. 2013, table 8"
LECTURE = "the lecture"
TABLE = [
    ("France - Paris", "france", "paris",
     [("italy", "rome", ("rome",)), ("japan", "tokyo", ("tokyo",)), ("florida", "tallahassee", ("tallahassee",))]),
    ("big - bigger", "big", "bigger",
     [("small", "larger", ("smaller",)), ("cold", "colder", ("colder",)), ("quick", "quicker", ("quicker",))]),
    ("Miami - Florida", "miami", "florida",
     [("baltimore", "maryland", ("maryland",)), ("dallas", "texas", ("texas",)), ("kona", "hawaii", ("hawaii",))]),
    ("Einstein - scientist", "einstein", "scientist",
     [("messi", "midfielder", None), ("mozart", "violinist", ("composer",)), ("picasso", "painter", ("painter",))]),
    ("Sarkozy - France", "sarkozy", "france",
     [("berlusconi", "italy", ("italy",)), ("merkel", "germany", ("germany",)), ("koizumi", "japan", ("japan",))]),
    ("copper - Cu", "copper", "cu",
     [("zinc", "zn", ("zn",)), ("gold", "au", ("au",)), ("uranium", "plutonium", ("u",))]),
    ("Berlusconi - Silvio", "berlusconi", "silvio",
     [("sarkozy", "nicolas", ("nicolas",)), ("putin", "medvedev", ("vladimir",)), ("obama", "barack", ("barack",))]),
    ("Microsoft - Windows", "microsoft", "windows",
     [("google", "android", ("android",)), ("ibm", "linux", None), ("apple", "iphone", None)]),
    ("Microsoft - Ballmer", "microsoft", "ballmer",
     [("google", "yahoo", ("page", "schmidt", "pichai")), ("ibm", "mcnealy", ("palmisano", "rometty", "gerstner")),
      ("apple", "jobs", ("jobs", "cook"))]),
    ("Japan - sushi", "japan", "sushi",
     [("germany", "bratwurst", None), ("france", "tapas", None), ("usa", "pizza", None)]),
    ("woman - man", "woman", "man", [("aunt", "uncle", ("uncle",))]),
]
"""The true answers: only where plain (a capital, a state, a comparative, a symbol, a first name, a CEO);
None where the relationship has no one answer (Messi's profession, IBM's or Apple's "Windows", a nation's
dish). The last row is the lecture's W("woman") - W("man") = W("aunt") - W("uncle"), asked as
woman : man :: aunt : ? (uncle = man - woman + aunt)."""

PAIRS = [("china", "beijing"), ("russia", "moscow"), ("japan", "tokyo"), ("turkey", "ankara"), ("poland", "warsaw"),
         ("germany", "berlin"), ("france", "paris"), ("italy", "rome"), ("greece", "athens"), ("spain", "madrid"),
         ("portugal", "lisbon"), ("egypt", "cairo"), ("england", "london"), ("austria", "vienna"),
         ("hungary", "budapest")]
"""Countries and capitals of the PCA: the eleven of Mikolov et al.'s fig. 2, then four more; those with both
words in the vocabulary are drawn."""


# ---- the vectors ----

def _check_run(run_dir: pathlib.Path) -> dict:
    from ..runs import read_config
    doc = read_config(run_dir)
    if doc["recipe"] not in RECIPES:
        raise UserError(f"{run_dir} is a {doc['recipe']} run; word-analogies reads the word vectors of an "
                        f"{' or '.join(RECIPES)} run (e.g. nnzoo train {RECIPE}), or give no --run to train its own")
    return doc


def _vectors(run_dir: pathlib.Path):
    """(config.json, Vectors) of a word2vec run: the vocabulary config.json lists, the latest weights."""
    from ..eval.embeddings import Vectors
    from ..runs import load_run, read_config
    doc, model = read_config(run_dir), load_run(run_dir)[3]
    try:
        return doc, Vectors(doc.get("vocab") or [], model.vectors())
    except ValueError as e:
        raise UserError(f"{run_dir}/config.json's vocabulary does not fit the run's vectors ({e}); retrain the "
                        "run") from None


def word_vectors(quick: bool, seed: int, progress: bool, run_dir: str | None):
    """(what they are, config.json, Vectors): of --run, of the cached full recipe, or of quick mode's run."""
    from . import cached_recipe_run, train_recipe
    if run_dir:
        doc, vec = _vectors(pathlib.Path(run_dir))
        return f"--run {run_dir} ({doc['recipe']})", doc, vec
    from ..data.english_text import corpus_file
    corpus_file()  # DataMissing (one line: the install command) before anything is written
    if quick:
        with tempfile.TemporaryDirectory(prefix="word-analogies-") as tmp:
            run = pathlib.Path(tmp) / "run"
            train_recipe(run, RECIPE, QUICK_OVERRIDES + [f"seed={seed}"], progress)
            doc, vec = _vectors(run)
        return f"{RECIPE}, quick: {' '.join(QUICK_OVERRIDES[:2])}", doc, vec
    from ..data import data_root
    folder = cached_recipe_run(data_root() / "word2vec" / RECIPE, RECIPE, CACHED_OVERRIDES, 0, progress,
                               f"the word vectors ({RECIPE}, full recipe)")
    doc, vec = _vectors(folder)
    return f"{RECIPE}, full recipe ({folder})", doc, vec


# ---- the pieces ----

def relationship_table(vec, topn: int = TOPN) -> list[dict]:
    """Every cell of TABLE asked of the vectors: {relationship, a, b, c, paper, truth, missing (the question's
    words the vocabulary lacks), paper_in_vocab, answers [(word, cosine)] (top-n, [] when a word is missing),
    top1, matches_paper, correct (top-1 in truth; None without a truth or an answer), correct_top3}."""
    cells = []
    for rel, a, b, questions in TABLE:
        for c, paper, truth in questions:
            missing = [w for w in dict.fromkeys((a, b, c)) if w not in vec]
            answers = [] if missing else [(w, round(s, 4)) for w, s in vec.analogy(a, b, c, topn=topn)]
            top1 = answers[0][0] if answers else None
            cells.append({"relationship": rel, "a": a, "b": b, "c": c, "source": LECTURE if rel == "woman - man"
                          else PAPER, "paper": paper, "truth": list(truth) if truth else None, "missing": missing,
                          "paper_in_vocab": paper in vec, "answers": answers, "top1": top1,
                          "matches_paper": None if top1 is None else top1 == paper,
                          "correct": None if top1 is None or not truth else top1 in truth,
                          "correct_top3": None if top1 is None or not truth else any(w in truth for w, _ in answers)})
    return cells


def table_lines(cells: list[dict]) -> list[str]:
    """The table as aligned text: one line a cell, the relationship named on its first."""
    head = ("relationship", "question", "paper", "truth", "ours (top-1)", f"top-{TOPN}")
    rows, last = [], None
    for cell in cells:
        rel = cell["relationship"] if cell["relationship"] != last else ""
        last = cell["relationship"]
        truth = "/".join(cell["truth"]) if cell["truth"] else "-"
        paper = cell["paper"] + ("" if cell["paper_in_vocab"] else "*")
        mark = {True: " ok", False: " x", None: ""}[cell["correct"]]
        if cell["missing"]:
            ours, top = f"(no {', '.join(cell['missing'])})", ""
        else:
            w, s = cell["answers"][0]
            ours = f"{w} {s:.3f}{mark}"
            top = ", ".join(f"{w} {s:.2f}" for w, s in cell["answers"])
        rows.append((rel, f"{cell['c']} : ?", paper, truth, ours, top))
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    fmt = lambda r: "  ".join(x.ljust(n) for x, n in zip(r, widths)).rstrip()  # noqa: E731
    return [fmt(head), fmt(tuple("-" * n for n in widths))] + [fmt(r) for r in rows]


def analogy_figures(vec) -> dict:
    """Accuracy (%) on Mikolov's analogy questions as `nnzoo eval` scores a word2vec run; None figures when
    english-text (the questions' source) is not installed."""
    from ..data import DataError
    from ..data import english_text as et
    from ..tasks.word2vec import RESTRICT_VOCAB
    keys = ("analogy_accuracy", "analogy_semantic_accuracy", "analogy_syntactic_accuracy",
            "analogy_questions_answered", "analogy_questions")
    try:
        sections = et.read_analogies(et.eval_sets()["analogies"])
    except DataError:
        return dict.fromkeys(keys)
    an = vec.evaluate_analogies(sections, restrict_vocab=RESTRICT_VOCAB)
    out = {"analogy_accuracy": round(100 * an["accuracy"], 2)}
    for kind, pick in (("semantic", lambda s: not s.startswith("gram")), ("syntactic", lambda s: s.startswith("gram"))):
        secs = [s for s in an["sections"] if pick(s["section"])]
        total = sum(s["total"] for s in secs)
        out[f"analogy_{kind}_accuracy"] = round(100 * sum(s["correct"] for s in secs) / total, 2) if total else None
    out.update(analogy_questions_answered=an["total"], analogy_questions=an["questions"])
    return out


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)


def _offset_cosine(offsets: np.ndarray) -> float:
    """Mean cosine of each offset (n, d) with the mean of the others: 1 when the offsets are parallel."""
    n = len(offsets)
    cos = [float(_unit(offsets[i]) @ _unit((offsets.sum(0) - offsets[i]) / (n - 1))) for i in range(n)]
    return float(np.mean(cos))


def country_pca(vec) -> dict | None:
    """PCA (scikit-learn) of the unit vectors of PAIRS' countries and capitals in the vocabulary, or None with
    fewer than 2 pairs: {pairs, z (2n, 2: countries then capitals), explained variance, offset cosines}."""
    from sklearn.decomposition import PCA
    pairs = [p for p in PAIRS if p[0] in vec and p[1] in vec]
    if len(pairs) < 2:
        return None
    words = [p[0] for p in pairs] + [p[1] for p in pairs]
    x = vec.unit[[vec.index[w] for w in words]]
    pca = PCA(2, random_state=0).fit(x)
    z = pca.transform(x)
    n = len(pairs)
    return {"pairs": pairs, "z": z, "explained": [round(float(v), 4) for v in pca.explained_variance_ratio_],
            "offset_cosine": round(_offset_cosine(x[n:] - x[:n]), 4),
            "offset_cosine_2d": round(_offset_cosine(z[n:] - z[:n]), 4)}


# ---- the experiment ----

def run(out: pathlib.Path, quick: bool = False, seed: int = 0, progress: bool = True,
        run_dir: str | None = None) -> dict:
    import torch

    from .cnn_features import TSNE_LIBRARY, trustworthiness, tsne_map

    out = pathlib.Path(out)
    say = (lambda msg: print(f"word-analogies: {msg}", file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    if run_dir:
        _check_run(pathlib.Path(run_dir))  # before anything is read or trained
    about, doc, vec = word_vectors(quick, seed, progress, run_dir)
    out.mkdir(parents=True, exist_ok=True)

    say(f"the relationship table ({PAPER})")
    cells = relationship_table(vec)
    answered = [c for c in cells if c["top1"] is not None]
    judged = [c for c in answered if c["correct"] is not None]
    missing = sorted({w for c in cells for w in c["missing"]})
    figures = {
        "relationship_top1_correct": sum(c["correct"] for c in judged),
        "relationship_top3_correct": sum(c["correct_top3"] for c in judged),
        "relationship_truth_cells_answerable": len(judged),
        "relationship_top1_matches_paper": sum(c["matches_paper"] for c in answered),
        "relationship_cells_answerable": len(answered),
        "relationship_cells": len(cells),
        "relationship_cells_with_truth": sum(c["truth"] is not None for c in cells),
        "relationship_paper_correct": sum(c["paper"] in c["truth"] for c in cells if c["truth"]),
        "relationship_missing_words": " ".join(missing),
    }
    say("Mikolov's analogy questions")
    figures.update(analogy_figures(vec))

    say("PCA of countries and capitals")
    pca = country_pca(vec)
    figures.update({"pca_pairs": 0 if pca is None else len(pca["pairs"]),
                    "pca_explained_variance": None if pca is None else pca["explained"],
                    "pca_capital_offset_cosine": None if pca is None else pca["offset_cosine"],
                    "pca_capital_offset_cosine_2d": None if pca is None else pca["offset_cosine_2d"]})

    n = min(TSNE_WORDS, len(vec))
    say(f"t-SNE ({TSNE_LIBRARY}) of the {n:,} most frequent words")
    x = vec.matrix[:n]
    start = time.perf_counter()
    z = tsne_map(x, TSNE_LIBRARY, seed, torch.get_num_threads(), metric="cosine")
    figures["tsne_seconds"] = round(time.perf_counter() - start, 1)
    k = min(K, max(1, (n - 1) // 2))  # scikit-learn's trustworthiness needs k < n / 2
    figures.update({"tsne_words": n, "tsne_library": TSNE_LIBRARY,
                    "tsne_trustworthiness_k10": round(trustworthiness(x, z, "cosine", k), 4)})
    figures.update({"vectors": about, "vocabulary": len(vec), "dim": vec.dim,
                    "corpus_words": (doc.get("corpus") or {}).get("words")})

    lines = table_lines(cells)
    images = [_plot_table(out / "word_analogies_table.png", lines, figures),
              _plot_pca(out / "word_analogies_pca.png", pca, figures),
              _plot_tsne(out / "word_analogies_tsne.png", z, vec.words[:n], figures)]
    return {"figures": figures, "images": images, "summary": _summary(figures, lines), "table": cells}


def _summary(f: dict, lines: list[str]) -> str:
    s = (f"Analogies by 3CosAdd (the word nearest to b - a + c, a, b and c left out) with {f['vectors']}: "
         f"{f['vocabulary']:,} words x {f['dim']}. {PAPER}'s relationships and the lecture's woman - man: "
         f"{f['relationship_cells_answerable']} of {f['relationship_cells']} questions have all three words in our "
         f"vocabulary; our top-1 is the true answer in {f['relationship_top1_correct']} of the "
         f"{f['relationship_truth_cells_answerable']} with a plain one (top-{TOPN}: {f['relationship_top3_correct']}; "
         f"the paper's model: {f['relationship_paper_correct']} of {f['relationship_cells_with_truth']}) and the "
         f"paper's answer in {f['relationship_top1_matches_paper']} of {f['relationship_cells_answerable']}. ")
    if f["analogy_accuracy"] is None:
        s += "Analogy questions: not scored, english-text is not installed (run: nnzoo data install english-text). "
    else:
        s += (f"Mikolov's analogy questions: {f['analogy_accuracy']:.2f} % of {f['analogy_questions_answered']:,} "
              f"answered (of {f['analogy_questions']:,}; semantic {_pct(f['analogy_semantic_accuracy'])}, syntactic "
              f"{_pct(f['analogy_syntactic_accuracy'])}). ")
    if f["pca_pairs"]:
        ev = f["pca_explained_variance"]
        s += (f"PCA of {f['pca_pairs']} countries and capitals: {ev[0]:.1%} + {ev[1]:.1%} of the variance; the "
              f"capital - country offsets' mean cosine with the others' mean {f['pca_capital_offset_cosine']:.2f} "
              f"({f['pca_capital_offset_cosine_2d']:.2f} in the plane). ")
    else:
        s += "PCA of countries and capitals: fewer than 2 pairs in the vocabulary, not drawn. "
    s += (f"t-SNE of the {f['tsne_words']:,} most frequent words: trustworthiness (k = {K}) "
          f"{f['tsne_trustworthiness_k10']:.3f}.")
    s += ("\n\n" + "\n".join(lines) + "\n\nok / x: our top-1 against the true answer; * the paper's answer is not "
          "in our vocabulary; (no w): the question's word w is not in it"
          + (f" (all missing: {f['relationship_missing_words']})." if f["relationship_missing_words"] else "."))
    return s


def _pct(v) -> str:
    return "-" if v is None else f"{v:.2f} %"


def _plot_table(path: pathlib.Path, lines: list[str], f: dict) -> str:
    from matplotlib.figure import Figure
    head = [f"{PAPER} and the lecture's woman - man, asked of {f['vectors']}",
            "ok / x: our top-1 against the true answer; * the paper's answer is not in our vocabulary; "
            "(no w): the question's word w is not in it", ""]
    text = head + lines
    # monospace 8 pt: about 0.067 inch a character, 0.135 inch a line (matplotlib's line spacing 1.2)
    fig = Figure(figsize=(0.067 * max(len(line) for line in text) + 0.4, 0.14 * len(text) + 0.4))
    fig.text(0.2 / fig.get_figwidth(), 1 - 0.15 / fig.get_figheight(), "\n".join(text), family="monospace",
             fontsize=8, va="top", ha="left")
    fig.savefig(path, dpi=110)
    return path.name


def _plot_pca(path: pathlib.Path, pca: dict | None, f: dict) -> str:
    from matplotlib.figure import Figure
    fig = Figure(figsize=(7.5, 6))
    ax = fig.subplots()
    if pca is None:
        ax.text(0.5, 0.5, "fewer than 2 country-capital pairs in the vocabulary", ha="center", va="center")
        ax.set_axis_off()
    else:
        n, z = len(pca["pairs"]), pca["z"]
        label_y = _spread(z, [p[0] for p in pca["pairs"]] + [p[1] for p in pca["pairs"]],
                          np.arange(2 * n) < n)  # countries labelled to the left, capitals to the right
        for i, (country, capital) in enumerate(pca["pairs"]):
            ax.annotate("", xy=z[n + i], xytext=z[i],
                        arrowprops=dict(arrowstyle="-", color="#999999", lw=0.8, ls="--"))
            ax.text(z[i, 0], label_y[i], f"{country} ", fontsize=9, color="#1f77b4", va="center", ha="right")
            ax.text(z[n + i, 0], label_y[n + i], f" {capital}", fontsize=9, color="#d62728", va="center",
                    ha="left")
        ax.scatter(z[:n, 0], z[:n, 1], s=14, color="#1f77b4", label="country")
        ax.scatter(z[n:, 0], z[n:, 1], s=14, color="#d62728", label="capital")
        ax.legend(fontsize=8, loc="best")
        ev = pca["explained"]
        ax.set_xlabel(f"PC 1 ({ev[0]:.1%} of the variance)")
        ax.set_ylabel(f"PC 2 ({ev[1]:.1%})")
        ax.margins(0.12)
    ax.set_title(f"2-D PCA of country and capital word vectors (cf. Mikolov et al. 2013, fig. 2)\n"
                 f"{f['vectors']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path.name


def _spread(z: np.ndarray, words: list[str], left: np.ndarray) -> np.ndarray:
    """Label heights for the points z (n, 2), labelled to the left of the point where `left` (n,) else to the
    right: each at its point's height, moved down while it would overlap a label placed before it (a label is
    about 0.0075 of the x span wide a letter and 0.04 of the y span high)."""
    span = np.ptp(z, axis=0) + 1e-12
    placed, ys = [], np.empty(len(z))
    for i in np.argsort(-z[:, 1], kind="stable"):
        width = 0.0075 * span[0] * (len(words[i]) + 1)
        lo, hi = (z[i, 0] - width, z[i, 0]) if left[i] else (z[i, 0], z[i, 0] + width)
        y = z[i, 1]
        while any(lo < h and l < hi and abs(y - py) < 0.04 * span[1] for l, h, py in placed):
            y -= 0.01 * span[1]
        placed.append((lo, hi, y))
        ys[i] = y
    return ys


def _plot_tsne(path: pathlib.Path, z: np.ndarray, words: list[str], f: dict) -> str:
    from matplotlib.figure import Figure
    fig = Figure(figsize=(16, 16))
    ax = fig.subplots()
    ax.scatter(z[:, 0], z[:, 1], s=3, color="#1f77b4", alpha=0.6, rasterized=True)
    for i, (x, y) in enumerate(z[:TSNE_LABELS]):
        ax.text(x, y, words[i], fontsize=7 if i < 100 else 5.5, color="#000000" if i < 100 else "#444444",
                ha="center", va="bottom")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"t-SNE ({f['tsne_library']}, cosine) of the {f['tsne_words']:,} most frequent words; "
                 f"trustworthiness (k = {K}) {f['tsne_trustworthiness_k10']:.3f}\n{f['vectors']}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    return path.name
