"""Config dataclasses, their field docs, and validated `key=value` overrides.

A field's documentation is the string literal right under it (the CleanRL habit); `field_docs` reads it
back from the source so `--help` and error messages show it.
"""
from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import textwrap
from functools import lru_cache
from typing import Any

from .errors import UserError


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
        raise UserError(f"{key}={raw!r} is not a valid {kind}; e.g. {key}={json.dumps(current)}") from None


def parse_overrides(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"expected key=value, got {item!r}; e.g. epochs=3 lr=0.01")
        key, value = item.split("=", 1)
        out[key.strip()] = value
    return out


def replace(obj, values: dict[str, Any]):
    """dataclasses.replace that validates keys, with the list of valid ones in the error."""
    names = [f.name for f in dataclasses.fields(obj)]
    bad = [k for k in values if k not in names]
    if bad:
        raise UserError(f"unknown key {bad[0]!r} for {type(obj).__name__}; valid keys: {', '.join(names)}")
    return dataclasses.replace(obj, **values)


def to_dict(obj) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(obj)))


def from_dict(cls, data: dict):
    """Rebuild a config from its JSON form, ignoring nothing: an unknown key means the file is not ours."""
    kwargs = {}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for k, v in data.items():
        if k not in fields:
            raise UserError(f"config has unknown key {k!r} for {cls.__name__}; the run folder is from "
                            "another version or model")
        default = getattr(cls(), k)
        kwargs[k] = tuple(v) if isinstance(default, tuple) else v
    return cls(**kwargs)


def describe(cls) -> list[tuple[str, Any, str]]:
    """(name, default, doc) for each field, for --help and `nnzoo list --keys`."""
    docs = field_docs(cls)
    inst = cls()
    return [(f.name, getattr(inst, f.name), docs.get(f.name, "")) for f in dataclasses.fields(cls)]
