"""`python -m nnzoo.data SET [options]`: the generators `nnzoo data install` runs for the sets nnzoo makes on
this machine: `babi` (both generated bAbI-style sizes, data/babi.py) and `go-games` (GNU Go self-play, then the
input planes, data/go.py; `python -m nnzoo.data go-games --help` for its options).

They are reached through this entry point rather than `python -m nnzoo.data.go`: the package imports those
modules before runpy would run one as __main__, and runpy then warns that it runs a module twice.
"""
import sys

from . import babi, go

GENERATORS = {"babi": lambda argv: babi.main(), "go-games": go.main}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in GENERATORS:
        given = f"unknown set {argv[0]!r}" if argv else "no set named"
        print(f"python -m nnzoo.data: {given}; give one of {', '.join(GENERATORS)}", file=sys.stderr)
        return 2
    return GENERATORS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
