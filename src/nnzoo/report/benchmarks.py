"""The recorded headline values of BENCHMARKS.md, read by `nnzoo list` and the tour."""
from __future__ import annotations

import re
from pathlib import Path


def benchmark_values(path: Path | None = None) -> dict[str, str]:
    """{recipe: headline value} from the recipe table of BENCHMARKS.md (rows start with | `recipe` |)."""
    path = path or Path(__file__).resolve().parents[3] / "BENCHMARKS.md"
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"\|\s*`([\w-]+)`\s*\|[^|]*\|\s*([^|]+?)\s*\|", line)
        if m and m.group(1) not in out:
            out[m.group(1)] = m.group(2)
    return out
