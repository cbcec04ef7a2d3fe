"""Config dataclasses, their field docs, and validated `key=value` overrides.

A field's documentation is the string literal right under it (the CleanRL habit); `field_docs` reads it
back from the source so `--help` and error messages show it. What values a field takes is declared beside
it (`between`, `positive`, `fraction`, `choice`, `ints`, `floats`, `shape`, which put a `Rule` into the
field's metadata); `replace` and `from_dict` check every field's type and rule, so a bad value stops where
it is parsed instead of deep inside PyTorch.
"""
from __future__ import annotations

import ast
import copy
import dataclasses
import inspect
import json
import math
import numbers
import textwrap
from functools import lru_cache
from typing import Any

from .errors import UserError

RULE = "nnzoo.rule"  # the metadata key of a field's Rule


@dataclasses.dataclass(frozen=True)
class Rule:
    """What values one config field (or each element of a list field) may take."""
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: Any = None
    """An iterable of the allowed values, or a function returning one: a model's table of names (ARCHS,
    POOLS, ...) is often defined below its config, so it is looked up when a value is checked."""
    joined: str = ""
    """Several choices may be joined by this separator (pool=max+mean)."""
    item: str = ""
    """List / tuple fields: the elements' kind, int or float; lo / hi then bound each element."""
    length: int | None = None
    """List / tuple fields: the exact number of elements."""


def _field(default, rule: Rule):
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata={RULE: rule})
    return dataclasses.field(default=default, metadata={RULE: rule})


def between(default, lo=None, hi=None, *, lo_open: bool = False, hi_open: bool = False):
    """A number in a range: [lo, hi] by default; lo_open / hi_open exclude an end; None leaves it unbounded."""
    return _field(default, Rule(lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open))


def positive(default):
    """An int >= 1, or a float > 0."""
    if isinstance(default, float):
        return between(default, 0.0, lo_open=True)
    return between(default, 1)


def nonneg(default):
    """A count or weight >= 0 (0 usually turns the feature off)."""
    return between(default, 0)


def fraction(default: float, hi_open: bool = False):
    """A probability or share: in [0, 1], or [0, 1) with hi_open (a dropout of 1 would drop everything)."""
    return between(default, 0.0, 1.0, hi_open=hi_open)


def choice(default, options, joined: str = ""):
    """One of `options` (an iterable, or a function returning one); with `joined`, several joined by it."""
    return _field(default, Rule(choices=options, joined=joined))


def ints(default: list, lo=1, hi=None, length: int | None = None):
    """A list of ints, each in [lo, hi] (layer widths, channels: >= 1)."""
    return _field(default, Rule(lo=lo, hi=hi, item="int", length=length))


def floats(default: list, lo=None, hi=None, *, lo_open: bool = False, hi_open: bool = False,
           length: int | None = None):
    """A list of finite numbers, each in the range."""
    return _field(default, Rule(lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open, item="float", length=length))


def shape(default: tuple = (1, 28, 28)):
    """An image shape (C, H, W): three ints >= 1."""
    return _field(default, Rule(lo=1, item="int", length=3))


# the field's kind, from its annotation (a string under `from __future__ import annotations`)
_KINDS = {"int": "int", "float": "float", "str": "str", "bool": "bool", "list": "list", "tuple": "tuple"}


def _kind(f: dataclasses.Field) -> str:
    if isinstance(f.type, str):
        return _KINDS.get(f.type.strip(), "")
    return _KINDS.get(getattr(f.type, "__name__", ""), "")


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _show(v, quote: bool = True) -> str:
    """A value as it would be typed in `key=value` (nan, [0.5,0.999], true), strings quoted unless quote=False."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if _is_int(v):
        return str(int(v))
    if _is_number(v):
        return repr(float(v))
    if isinstance(v, str):
        return repr(v) if quote else v
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_show(x) for x in v) + "]"
    return repr(v)


def _num(x) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def _range_text(r: Rule) -> str:
    if r.lo is not None and r.hi is not None:
        return f"in {'(' if r.lo_open else '['}{_num(r.lo)}, {_num(r.hi)}{')' if r.hi_open else ']'}"
    if r.lo is not None:
        return f"{'>' if r.lo_open else '>='} {_num(r.lo)}"
    if r.hi is not None:
        return f"{'<' if r.hi_open else '<='} {_num(r.hi)}"
    return ""


def _in_range(v, r: Rule) -> bool:
    if r.lo is not None and (v <= r.lo if r.lo_open else v < r.lo):
        return False
    return not (r.hi is not None and (v >= r.hi if r.hi_open else v > r.hi))


def _options(r: Rule) -> list:
    opts = r.choices() if callable(r.choices) else r.choices
    return list(opts)


def _scalar_ok(v, kind: str, r: Rule | None) -> bool:
    if kind == "int" and not _is_int(v):
        return False
    if kind == "float" and not (_is_number(v) and math.isfinite(v)):
        return False
    if kind in ("int", "float") and r is not None and not _in_range(v, r):
        return False
    return True


def _rule_text(kind: str, r: Rule | None) -> str:
    """The rule in words: 'a finite number > 0', 'one of sgd, adam', 'a list of 2 finite numbers in [0, 1)'."""
    if r is not None and r.choices is not None:
        names = ", ".join(_show(o, quote=False) for o in _options(r))
        return f"one of {names}" + (f", or several joined by {r.joined}" if r.joined else "")
    rng = _range_text(r) if r is not None else ""
    if kind in ("list", "tuple"):
        n = f"{r.length} " if r is not None and r.length is not None else ""
        item = (r.item if r is not None else "") or "value"
        what = {"int": "integers", "float": "finite numbers"}.get(item, "values")
        return f"a list of {n}{what}" + (f" {rng}" if rng else "")
    base = {"int": "an integer", "float": "a finite number", "bool": "true or false", "str": "a string"}.get(kind, "")
    return (base + (f" {rng}" if rng else "")).strip()


def _valid(v, kind: str, r: Rule | None) -> bool:
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "str" and not isinstance(v, str):
        return False
    if kind in ("int", "float") and not _scalar_ok(v, kind, r):
        return False
    if kind in ("list", "tuple"):
        if not isinstance(v, (list, tuple)):
            return False
        if r is not None and r.length is not None and len(v) != r.length:
            return False
        if r is not None and r.item and not all(_scalar_ok(x, r.item, r) for x in v):
            return False
    if r is not None and r.choices is not None:
        opts = _options(r)
        parts = v.split(r.joined) if r.joined and isinstance(v, str) else [v]
        # bool is an int to Python: keep true from passing for 1
        if not all(any(p == o and isinstance(p, bool) == isinstance(o, bool) for o in opts) for p in parts):
            return False
    return True


def _doc_hint(cls, name: str) -> str:
    doc = field_docs(cls).get(name, "")
    if len(doc) > 200:
        doc = doc[:200].rsplit(" ", 1)[0] + " ..."
    return f" ({doc})" if doc else ""


def check_field(cls, f: dataclasses.Field, value, default=dataclasses.MISSING) -> None:
    """UserError naming the key, the bad value, the rule and an example, unless `value` suits field f."""
    kind, r = _kind(f), f.metadata.get(RULE)
    if _valid(value, kind, r):
        return
    rule = _rule_text(kind, r) or f"like its default {_show(default)}"
    example = ""
    if default is not dataclasses.MISSING and _valid(default, kind, r):
        example = f"; e.g. {f.name}={_show(default, quote=False)}"
    raise UserError(f"{f.name}={_show(value)} is not allowed: {f.name} must be {rule}{_doc_hint(cls, f.name)}"
                    f"{example}")


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def validate(obj):
    """Check every field of a config against its type and declared rule; returns obj."""
    cls = type(obj)
    for f in dataclasses.fields(obj):
        check_field(cls, f, getattr(obj, f.name), _default(f))
    return obj


def _coerce(f: dataclasses.Field, v):
    # a JSON file or a parsed override gives a list where the field holds a tuple (in_shape)
    return tuple(v) if _kind(f) == "tuple" and isinstance(v, list) else v


@lru_cache(maxsize=None)
def field_docs(cls) -> dict[str, str]:
    """{field name: the docstring under it} for a dataclass, read from its source."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body
        for node, nxt in zip(body, body[1:]):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(nxt, ast.Expr) and isinstance(getattr(nxt, "value", None), ast.Constant)
                    and isinstance(nxt.value.value, str)):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def parse_value(raw: str, current: Any, key: str) -> Any:
    """Turn the string of a `key=value` override into the type of the field's current value."""
    try:
        if isinstance(current, bool):
            low = raw.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(current, int):
            return int(raw)
        if isinstance(current, float):
            return float(raw)
        if isinstance(current, (list, tuple)):
            text = raw.strip()
            if not text.startswith("["):
                text = "[" + text + "]"
            value = json.loads(text)
            return type(current)(value)
        if current is None:
            try:
                return json.loads(raw)
            except json.JSONDecodeError:
                return raw
        return raw
    except (ValueError, json.JSONDecodeError):
        kind = type(current).__name__
        raise UserError(f"{key}={raw!r} is not a valid {kind}; e.g. {key}={_show(current, quote=False)}") from None


def parse_field(raw: str, cfg: Any, key: str) -> Any:
    """parse_value for the field `key` of the dataclass `cfg`: a float field whose value a recipe wrote as an
    int (time_limit=30) still takes `key=1.5`."""
    current = getattr(cfg, key)
    declared = {f.name: f for f in dataclasses.fields(cfg)}.get(key)
    if declared is not None and _kind(declared) == "float" and _is_int(current):
        current = float(current)
    return parse_value(raw, current, key)


def parse_overrides(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"expected key=value, got {item!r}; e.g. epochs=3 lr=0.01")
        key, value = item.split("=", 1)
        out[key.strip()] = value
    return out


def replace(obj, values: dict[str, Any]):
    """dataclasses.replace that validates keys (the list of valid ones in the error) and every value."""
    fields = {f.name: f for f in dataclasses.fields(obj)}
    bad = [k for k in values if k not in fields]
    if bad:
        raise UserError(f"unknown key {bad[0]!r} for {type(obj).__name__}; valid keys: {', '.join(fields)}")
    return validate(dataclasses.replace(obj, **{k: _coerce(fields[k], v) for k, v in values.items()}))


def to_dict(obj) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(obj)))


def from_dict(cls, data: dict, source: str = ""):
    """Rebuild a config from its JSON form, ignoring nothing: an unknown key means the file is not ours.
    The file is untrusted, so every value is checked as an override would be; `source` (the file) is named
    in the error."""
    where = f"{source}: " if source else ""
    if not isinstance(data, dict):
        raise UserError(f"{where}the {cls.__name__} is {type(data).__name__}, not a JSON object of keys; "
                        "it is not a run folder written by nnzoo: retrain the run")
    kwargs = {}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for k, v in data.items():
        if k not in fields:
            raise UserError(f"{where}config has unknown key {k!r} for {cls.__name__}; the run folder is from "
                            "another version or model")
        kwargs[k] = _coerce(fields[k], v)
    try:
        return validate(cls(**kwargs))
    except UserError as e:
        if not source:
            raise
        raise UserError(f"{where}{e}; the file is not as nnzoo wrote it: retrain the run") from None


def describe(cls) -> list[tuple[str, Any, str]]:
    """(name, default, doc) for each field, for --help and `nnzoo list --keys`."""
    docs = field_docs(cls)
    inst = cls()
    return [(f.name, getattr(inst, f.name), docs.get(f.name, "")) for f in dataclasses.fields(cls)]
