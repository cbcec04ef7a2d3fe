"""A self-contained static HTML report: inline CSS, no JavaScript, no external URLs.

Images are referenced by paths relative to the report's folder, so the folder can be moved, zipped or
served as it is. Every piece of text given is escaped with `html.escape`.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import os
import re
from pathlib import Path

__all__ = ["write_report"]

STATUS = {
    "pass": ("✓", "pass", "pass"),
    "fail": ("✗", "fail", "fail"),
    "info": ("•", "info", "info"),
}

CSS = """
:root {
  --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9; --accent: #0969da;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; color: var(--fg); background: #fff; line-height: 1.5; font-size: 15px;
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
}
main { max-width: 1100px; margin: 0 auto; padding: 32px 24px 64px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
header { border-bottom: 1px solid var(--line); padding-bottom: 20px; margin-bottom: 24px; }
h1 { font-size: 28px; margin: 0 0 6px; letter-spacing: -0.01em; }
.subtitle { color: var(--muted); margin: 0 0 16px; }
.tally { display: flex; flex-wrap: wrap; gap: 8px; margin: 0 0 16px; padding: 0; list-style: none; }
.tally li { border-radius: 999px; padding: 2px 12px; font-size: 13px; font-weight: 600;
  background: var(--soft); border: 1px solid var(--line); }
.tally .pass { color: var(--pass); background: var(--pass-bg); border-color: #aceebb; }
.tally .fail { color: var(--fail); background: var(--fail-bg); border-color: #ffcecb; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; color: var(--muted); font-size: 12px;
  text-transform: uppercase; letter-spacing: 0.04em; }
table.meta { width: auto; min-width: 50%; font-size: 13px; }
table.meta th { text-transform: none; letter-spacing: 0; font-size: 13px; width: 1%; white-space: nowrap; }
table.meta td { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, monospace;
  font-size: 12.5px; word-break: break-word; }
nav.toc { background: var(--soft); border: 1px solid var(--line); border-radius: 8px; padding: 14px 20px;
  margin: 0 0 32px; }
nav.toc h2 { font-size: 13px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: 0.05em;
  color: var(--muted); border: 0; padding: 0; }
nav.toc ol { margin: 0; padding-left: 22px; }
nav.toc ol.many { columns: 2 300px; column-gap: 32px; }
nav.toc li { margin: 2px 0; break-inside: avoid; }
nav.toc .badge { margin-left: 6px; }
section { margin: 0 0 44px; scroll-margin-top: 12px; }
section h2 { font-size: 21px; margin: 0 0 8px; padding-bottom: 6px; border-bottom: 1px solid var(--line);
  display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
section h2 .num { color: var(--muted); font-weight: 400; }
.summary p { margin: 0 0 10px; }
.badge { display: inline-block; border-radius: 999px; padding: 0 9px; font-size: 12px; font-weight: 600;
  line-height: 20px; white-space: nowrap; vertical-align: middle; }
.badge.pass { color: var(--pass); background: var(--pass-bg); }
.badge.fail { color: var(--fail); background: var(--fail-bg); }
.badge.info { color: var(--muted); background: var(--soft); border: 1px solid var(--line); }
td.value { font-variant-numeric: tabular-nums; font-weight: 600; white-space: nowrap; }
td.ref { color: var(--muted); }
td.status { width: 1%; white-space: nowrap; }
tr.fail td { background: #fff8f7; }
.error { border: 1px solid #ffcecb; border-left: 4px solid var(--fail); background: var(--fail-bg);
  color: #82071e; border-radius: 6px; padding: 12px 16px; margin: 12px 0; }
.skipped { border: 1px solid var(--line); border-left: 4px solid var(--muted); background: var(--soft);
  padding: 10px 14px; border-radius: 6px; margin: 10px 0; }
.skipped pre { margin: 0; white-space: pre-wrap; word-break: break-word; font-size: 12.5px; }
.error strong { display: block; margin-bottom: 4px; color: var(--fail); }
.error pre { margin: 0; white-space: pre-wrap; word-break: break-word; font-size: 12.5px;
  font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, monospace; }
.figures { display: grid; grid-template-columns: 1fr; gap: 18px; margin-top: 18px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 10px; background: #fff; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 6px; text-align: center; }
.missing { color: var(--muted); font-style: italic; padding: 12px; text-align: center; }
footer { color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 14px;
  margin-top: 48px; }
@media print {
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  figure, tr { break-inside: avoid; }
}
""".strip()


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _slug(text: str, index: int) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:40]
    return f"s{index}-{base}" if base else f"s{index}"


def _badge(status: str) -> str:
    mark, cls, word = STATUS.get(str(status).lower(), STATUS["info"])
    return f'<span class="badge {cls}">{mark} {word}</span>'


def _section_state(sec: dict) -> tuple[str, str]:
    """(css class, label) summarising one section for the contents and the tally."""
    if sec.get("error"):
        return "fail", "✗ error"
    if sec.get("skipped"):
        return "info", "– not run"
    statuses = [str(r.get("status", "info")).lower() for r in sec.get("rows") or []]
    fails = statuses.count("fail")
    if fails:
        return "fail", f"✗ {fails} failed"
    if "pass" in statuses:
        return "pass", "✓ pass"
    return "info", ""


def _text_block(text) -> str:
    if not text:
        return ""
    paras = [p.strip() for p in re.split(r"\n\s*\n", str(text)) if p.strip()]
    return "".join(f"<p>{_e(p).replace(chr(10), '<br>')}</p>" for p in paras)


def _meta_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    return str(value)


def _rel(path, out_dir: Path) -> str:
    """A relative URL for an image path (absolute paths are made relative to the report's folder)."""
    p = Path(path)
    if p.is_absolute():
        try:
            p = Path(os.path.relpath(p, out_dir))
        except ValueError:  # another drive on Windows
            pass
    return p.as_posix()


def _figures(images, out_dir: Path) -> str:
    if not images:
        return ""
    out = []
    for img in images:
        rel = _rel(img, out_dir)
        caption = _e(Path(rel).name)
        if (out_dir / rel).is_file():
            out.append(f'<figure><a href="{_e(rel)}"><img src="{_e(rel)}" alt="{caption}" loading="lazy"></a>'
                       f"<figcaption>{caption}</figcaption></figure>")
        else:
            out.append(f'<figure><div class="missing">image not found: {_e(rel)}</div></figure>')
    return f'<div class="figures">{"".join(out)}</div>'


def _rows(rows) -> str:
    if not rows:
        return ""
    body = []
    for r in rows:
        status = str(r.get("status", "info")).lower()
        body.append(f'<tr class="{_e(status)}"><td>{_e(r.get("metric", ""))}</td>'
                    f'<td class="value">{_e(r.get("value", ""))}</td>'
                    f'<td class="ref">{_e(r.get("reference", ""))}</td>'
                    f'<td class="status">{_badge(status)}</td></tr>')
    return ("<table class=\"results\"><thead><tr><th>Metric</th><th>Value</th><th>Reference</th>"
            f"<th>Status</th></tr></thead><tbody>{''.join(body)}</tbody></table>")


def write_report(out_dir: Path, title: str, sections: list[dict], meta: dict | None = None) -> Path:
    """Write `out_dir/report.html` and return its path.

    sections: [{"title", "summary", "rows": [{"metric", "value", "reference", "status"}], "images": [paths
    relative to out_dir], "error": optional str}]. A section with an error shows it in red instead of its rows.
    meta: shown as a small table under the title (machine, time, wall time, version, command, ...).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sections = list(sections or [])

    states = [_section_state(s) for s in sections]
    n_fail = sum(1 for cls, _ in states if cls == "fail")
    n_pass = sum(1 for cls, _ in states if cls == "pass")
    tally = [f'<li>{len(sections)} section{"s" if len(sections) != 1 else ""}</li>']
    if n_pass:
        tally.append(f'<li class="pass">✓ {n_pass} passed</li>')
    if n_fail:
        tally.append(f'<li class="fail">✗ {n_fail} failed</li>')

    meta_html = ""
    if meta:
        rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(_meta_value(v))}</td></tr>" for k, v in meta.items())
        meta_html = f'<table class="meta"><tbody>{rows}</tbody></table>'

    toc, body = [], []
    for i, (sec, (cls, label)) in enumerate(zip(sections, states), start=1):
        sec_title = sec.get("title") or f"Section {i}"
        anchor = _slug(sec_title, i)
        badge = f' <span class="badge {cls}">{_e(label)}</span>' if label else ""
        toc.append(f'<li><a href="#{anchor}">{_e(sec_title)}</a>{badge}</li>')
        parts = [f'<section id="{anchor}"><h2><span class="num">{i}.</span> {_e(sec_title)}{badge}</h2>']
        if sec.get("summary"):
            parts.append(f'<div class="summary">{_text_block(sec["summary"])}</div>')
        if sec.get("error"):
            parts.append(f'<div class="error"><strong>This section failed</strong><pre>{_e(sec["error"])}</pre></div>')
        elif sec.get("skipped"):
            parts.append(f'<div class="skipped"><strong>Not run on this machine</strong><pre>{_e(sec["skipped"])}'
                         '</pre></div>')
        else:
            parts.append(_rows(sec.get("rows")))
        parts.append(_figures(sec.get("images"), out_dir))
        parts.append("</section>")
        body.append("".join(parts))

    ol = '<ol class="many">' if len(sections) > 8 else "<ol>"
    toc_html = f'<nav class="toc"><h2>Contents</h2>{ol}{"".join(toc)}</ol></nav>' if sections else ""
    made = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>
{CSS}
</style>
</head>
<body>
<main>
<header>
<h1>{_e(title)}</h1>
<p class="subtitle">Generated by nnzoo on {_e(made)}</p>
<ul class="tally">{"".join(tally)}</ul>
{meta_html}
</header>
{toc_html}
{"".join(body)}
<footer>Static report written by nnzoo from run folders alone; every figure beside this file can be rebuilt
from the runs' metrics.jsonl, eval.json and artifacts.npz.</footer>
</main>
</body>
</html>
"""
    path = out_dir / "report.html"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    return path
