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
from pathlib import Path

from . import __version__, registry, runs
from .config import parse_overrides
from .errors import TrainingDiverged, UserError
from .data import DataError


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def recipe_section(recipe, out: Path, verbose: bool) -> dict:
    from .report.plots import plot_run
    from .train.loop import fit
    overrides = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in recipe.quick.items()}
    mcfg, tcfg = registry.resolve(recipe, parse_overrides([f"{k}={v}" for k, v in overrides.items()]))
    run_dir = out / recipe.name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    result = fit(run_dir, recipe, mcfg, tcfg, verbose=verbose)
    figures = runs.evaluate_run(run_dir)
    images = [p.relative_to(out).as_posix() for p in plot_run(run_dir)]
    value = figures.get(recipe.metric)
    quick = ", ".join(f"{k}={v}" for k, v in recipe.quick.items()) or "the full recipe"
    recorded = _recorded().get(recipe.name)
    rows = [{"metric": recipe.metric, "value": _fmt(value),
             "reference": recipe.reference + (f"; full recipe in BENCHMARKS.md: {recorded}" if recorded else ""),
             "status": ("pass" if (value <= recipe.target if recipe.lower_is_better else value >= recipe.target)
                        else "fail")
             if recipe.target is not None and not recipe.quick else "info"}]
    rows += [{"metric": k, "value": _fmt(v), "reference": "", "status": "info"}
             for k, v in figures.items() if k not in (recipe.metric, "recipe", "data") and not isinstance(v, str)]
    summary = (f"{recipe.summary}. Data: {tcfg.data}. Tour setting: {quick} "
               f"({result.step} steps, {result.wall:.0f} s). Full recipe: nnzoo train {recipe.name}")
    texts = {k: v for k, v in figures.items() if isinstance(v, str) and k not in ("recipe", "data")}
    summary += "".join(f"\n\n{k}:\n{v}" for k, v in texts.items())
    return {"title": f"{recipe.name}", "summary": summary, "rows": rows, "images": images}


def experiment_section(name: str, out: Path, verbose: bool) -> dict:
    mod = registry.get_experiment(name)
    folder = out / f"experiment-{name}"
    res = mod.run(folder, quick=True, seed=0, progress=verbose)
    (folder / "figures.json").write_text(json.dumps(res, indent=2) + "\n")
    rows = [{"metric": k, "value": _fmt(v), "reference": "", "status": "info"} for k, v in res["figures"].items()]
    return {"title": f"experiment: {name}", "summary": res["summary"] + f" Full version: nnzoo experiment {name}",
            "rows": rows, "images": [f"experiment-{name}/{i}" for i in res["images"]]}


def _recorded() -> dict:
    from .cli import benchmark_values
    return benchmark_values()


def run_tour(out: Path | None = None, only: list[str] | None = None, verbose: bool = True) -> Path:
    from tqdm.auto import tqdm

    from .report.html import write_report
    out = out or runs.new_run_dir("tour")
    out.mkdir(parents=True, exist_ok=True)
    items = [("recipe", r) for r in registry.RECIPES.values()] + [("experiment", e) for e in registry.EXPERIMENTS]
    if only:
        known = {r.name for _, r in items if not isinstance(r, str)} | set(registry.EXPERIMENTS)
        bad = [n for n in only if n not in known]
        if bad:
            raise UserError(f"unknown tour item {bad[0]!r}; choose from {', '.join(sorted(known))}")
        items = [(k, x) for k, x in items if (x if isinstance(x, str) else x.name) in only]
    start = time.time()
    sections = []
    bar = tqdm(items, desc="tour", unit="item", file=sys.stderr, disable=not verbose, position=0)
    for kind, item in bar:
        name = item if isinstance(item, str) else item.name
        bar.set_postfix_str(name)
        try:
            if kind == "recipe":
                sections.append(recipe_section(item, out, verbose))
            else:
                sections.append(experiment_section(item, out, verbose))
        except (UserError, DataError, TrainingDiverged) as e:
            sections.append({"title": name, "summary": "", "rows": [], "images": [], "error": str(e)})
        except Exception as e:  # one broken section must not lose the others' results
            sections.append({"title": name, "summary": "", "rows": [], "images": [],
                             "error": f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}"})
    bar.close()
    meta = {"machine": f"{platform.machine()}, {_cpu()}, {_cores()} cores, {platform.system()}",
            "date": time.strftime("%Y-%m-%d %H:%M"), "total wall time": f"{time.time() - start:.0f} s",
            "nnzoo": __version__, "command": "nnzoo tour" + (" --only " + " ".join(only) if only else "")}
    (out / "tour.json").write_text(json.dumps({"meta": meta, "sections": sections}, indent=2) + "\n")
    return write_report(out, "nnzoo tour", sections, meta)


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
