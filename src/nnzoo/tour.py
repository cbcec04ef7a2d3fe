"""`nnzoo tour`: the quick version of every registered recipe and experiment, on real data, on CPU,
gathered into one HTML report. New families appear here by registering recipes and experiments; nothing
in this file names a model."""
from __future__ import annotations

import json
import platform
import shutil
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from . import __version__, registry, runs
from .config import parse_overrides
from .errors import UserError
from .data import DataMissing
from .experiments.catalog import EXPERIMENTS, get_experiment


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


# what the terminal table and the report say of each section
PASS, BELOW, QUICK, NO_TARGET, NO_DATA, ERROR = "pass", "below target", "quick setting", "no target", "no data", "ERROR"
ERROR_LOG = "errors.log"


def _target(recipe) -> str:
    return "" if recipe.target is None else f"{'<=' if recipe.lower_is_better else '>='} {recipe.target:g}"


def recipe_section(recipe, out: Path, verbose: bool) -> dict:
    from .report.plots import plot_run
    overrides = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in recipe.quick.items()}
    mcfg, tcfg = registry.resolve(recipe, parse_overrides([f"{k}={v}" for k, v in overrides.items()]))
    run_dir = out / recipe.name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    result = runs.train(run_dir, recipe, mcfg, tcfg, verbose=verbose)
    figures = runs.evaluate_run(run_dir)
    images = [p.relative_to(out).as_posix() for p in plot_run(run_dir)]
    value = figures.get(recipe.metric)
    quick = ", ".join(f"{k}={v}" for k, v in recipe.quick.items()) or "the full recipe"
    recorded = _recorded().get(recipe.name)
    if recipe.quick:  # a smaller setting than the recipe's: its figure says nothing about the target
        state = QUICK
    elif recipe.target is None or not isinstance(value, (int, float)):
        state = NO_TARGET
    else:
        state = PASS if (value <= recipe.target if recipe.lower_is_better else value >= recipe.target) else BELOW
    rows = [{"metric": recipe.metric, "value": _fmt(value),
             "reference": recipe.reference + (f"; full recipe in BENCHMARKS.md: {recorded}" if recorded else ""),
             "status": {PASS: "pass", BELOW: "fail"}.get(state, "info")}]
    rows += [{"metric": k, "value": _fmt(v), "reference": "", "status": "info"}
             for k, v in figures.items() if k not in (recipe.metric, "recipe", "data") and not isinstance(v, str)]
    summary = (f"{recipe.summary}. Data: {tcfg.data}. Tour setting: {quick} "
               f"({result.step} steps, {result.wall:.0f} s). Full recipe: nnzoo train {recipe.name}")
    texts = {k: v for k, v in figures.items() if isinstance(v, str) and k not in ("recipe", "data")}
    summary += "".join(f"\n\n{k}:\n{v}" for k, v in texts.items())
    return {"title": f"{recipe.name}", "summary": summary, "rows": rows, "images": images, "state": state,
            "headline": f"{recipe.metric} = {_fmt(value)}", "target": _target(recipe)}


def experiment_section(name: str, out: Path, verbose: bool) -> dict:
    mod = get_experiment(name)
    folder = out / f"experiment-{name}"
    res = mod.run(folder, quick=True, seed=0, progress=verbose)
    (folder / "figures.json").write_text(json.dumps(res, indent=2) + "\n")
    rows = [{"metric": k, "value": _fmt(v), "reference": "", "status": "info"} for k, v in res["figures"].items()]
    # the first number it reports (some lead with a path or a text)
    first = next(((k, v) for k, v in res["figures"].items() if isinstance(v, (int, float))), None)
    return {"title": f"experiment: {name}", "summary": res["summary"] + f" Full version: nnzoo experiment {name}",
            "rows": rows, "images": [f"experiment-{name}/{i}" for i in res["images"]], "state": QUICK,
            "headline": f"{first[0]} = {_fmt(first[1])}" if first else "", "target": ""}


def _recorded() -> dict:
    from .report.benchmarks import benchmark_values
    return benchmark_values()


@dataclass
class TourResult:
    report: Path
    sections: list
    """[{"title", "state", "headline", "target", "seconds", ...}] in the order they ran."""

    @property
    def errors(self) -> list:
        return [s for s in self.sections if s["state"] == ERROR]

    def table(self) -> str:
        """The terminal's summary: one line per section."""
        head = ("section", "headline figure", "target", "status", "seconds")
        rows = [(s["title"], s.get("headline", ""), s.get("target", ""), s["state"], f"{s['seconds']:.0f}")
                for s in self.sections]
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
        lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip() for row in [head, *rows]]
        counts = {}
        for s in self.sections:
            counts[s["state"]] = counts.get(s["state"], 0) + 1
        lines.append(", ".join(f"{n} {state}" for state, n in counts.items())
                     + f"; {sum(s['seconds'] for s in self.sections):.0f} s in all")
        return "\n".join(lines)


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}".rstrip(": ")


def run_tour(out: Path | None = None, only: list[str] | None = None, verbose: bool = True) -> TourResult:
    from tqdm.auto import tqdm

    from .report.html import write_report
    from .train.logging import progress_enabled
    if out is not None and out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder for the report")
    out = out or runs.new_run_dir("tour")
    items = [("recipe", r) for r in registry.RECIPES.values()] + [("experiment", e) for e in EXPERIMENTS]
    if only:
        known = {r.name for _, r in items if not isinstance(r, str)} | set(EXPERIMENTS)
        bad = [n for n in only if n not in known]
        if bad:
            raise UserError(f"unknown tour item {bad[0]!r}; choose from {', '.join(sorted(known))}")
        items = [(k, x) for k, x in items if (x if isinstance(x, str) else x.name) in only]
    out.mkdir(parents=True, exist_ok=True)
    log = out / ERROR_LOG
    log.unlink(missing_ok=True)
    start = time.time()
    sections = []
    bar = tqdm(items, desc="tour", unit="item", file=sys.stderr, disable=not (verbose and progress_enabled()),
               position=0)
    for kind, item in bar:
        name = item if isinstance(item, str) else item.name
        bar.set_postfix_str(name)
        t0 = time.time()
        try:
            if kind == "recipe":
                sec = recipe_section(item, out, verbose)
            else:
                sec = experiment_section(item, out, verbose)
        except DataMissing as e:  # this machine lacks a data set: say how to install it, run the rest
            sec = {"title": name if kind == "recipe" else f"experiment: {name}", "summary": "", "rows": [],
                   "images": [], "state": NO_DATA, "skipped": str(e), "headline": "", "target": ""}
        except Exception as e:  # one broken section must not lose the others' results
            with open(log, "a") as f:
                f.write(f"== {name} ==\n{traceback.format_exc()}\n")
            sec = {"title": name if kind == "recipe" else f"experiment: {name}", "summary": "", "rows": [],
                   "images": [], "state": ERROR, "headline": "", "target": "",
                   "error": f"{_one_line(e)}  (full traceback: {ERROR_LOG} in this folder)"}
        sec["seconds"] = round(time.time() - t0, 1)
        sections.append(sec)
    bar.close()
    meta = {"machine": f"{platform.machine()}, {_cpu()}, {_cores()} cores, {platform.system()}",
            "date": time.strftime("%Y-%m-%d %H:%M"), "total wall time": f"{time.time() - start:.0f} s",
            "nnzoo": __version__, "command": "nnzoo tour" + (" --only " + " ".join(only) if only else "")}
    if log.exists():
        meta["errors"] = f"{ERROR_LOG} (full tracebacks)"
    (out / "tour.json").write_text(json.dumps({"meta": meta, "sections": sections}, indent=2) + "\n")
    return TourResult(write_report(out, "nnzoo tour", sections, meta), sections)


def _cores() -> int:
    import os
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _cpu() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
