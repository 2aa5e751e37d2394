"""A self-contained HTML report: metrics table, resolved config, figures, and step-through viewers.

Everything is inline (CSS, JS, JSON data, images as base64 data URIs) and a Content-Security-Policy
forbids any other source, so the page works from file:// with no network. Each trajectory gets a
viewer with Prev/Next buttons and a slider; the grid is an HTML table drawn by a small plain script.

A trajectory is a dict:
    task        the task's name (a registered task; its view draws the cells)
    name        str, shown as the viewer's heading
    puzzle      grid (list of lists or array): the input
    steps       [grid, ...]: the model's answer after each supervision step (an ARC grid may be empty)
    target      grid or None
    q_halt      [float per step], the halting probability in [0, 1] (optional)
    halt_step   int, the 1-based step at which the model halted (optional)
    correct     [bool per step] (optional)
Stable test hooks: data-testid="trajectory-i", "grid-i" (the shown step; its td carry data-v),
"input-grid-i", "target-grid-i", "step-slider-i", "step-label-i", "prev-i", "next-i",
"step-correct-i", "step-qhalt-i" for the i-th trajectory.
"""

from __future__ import annotations

import base64
import html
import json
import numbers
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from latentloop.tasks import registered
from latentloop.viz.views import view_of

MIME = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def _static(name: str) -> str:
    """A package data file of the report (viz/static/)."""
    return (resources.files("latentloop.viz") / "static" / name).read_text(encoding="utf-8")


def _grid(value: Any, where: str) -> list[list[int]]:
    """A grid as a list of int rows; an empty value (no valid grid) becomes []."""
    arr = np.asarray(value)
    if arr.size == 0:
        return []
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{where}: a grid must be a 2-D array of integers, got shape {arr.shape} ({arr.dtype})")
    return arr.astype(int).tolist()


def _per_step(values: Sequence | None, where: str, n: int, cast: type) -> list | None:
    """One value per step, cast to `cast`; None when absent."""
    if values is None:
        return None
    if len(values) != n:
        raise ValueError(f"{where} has {len(values)} values for {n} steps")
    return [cast(v) for v in values]


def trajectory_payload(traj: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON the viewer reads for one trajectory: validated grids, per-step data, and every grid's cells
    (text and CSS classes) as the task's view draws them."""
    name = str(traj.get("name", "trajectory"))
    tasks = registered()
    if traj.get("task") not in tasks:
        raise ValueError(f"trajectory {name!r}: task must be one of {', '.join(tasks)}, got {traj.get('task')!r}")
    if traj.get("steps") is None or len(traj["steps"]) == 0:
        raise ValueError(f"trajectory {name!r}: needs at least one step")
    view = view_of(tasks[traj["task"]])
    steps = [_grid(g, f"trajectory {name!r} step {t + 1}") for t, g in enumerate(traj["steps"])]
    puzzle = _grid(traj["puzzle"], f"trajectory {name!r} puzzle")
    target = None if traj.get("target") is None else _grid(traj["target"], f"trajectory {name!r} target")

    def cells(grid: list, previous: list | None) -> list:
        if not grid:
            return []
        return view.html_cells(np.array(grid), np.array(puzzle), None if previous is None else np.array(previous))

    return {
        "task": traj["task"],
        "name": name,
        "puzzle": puzzle,
        "steps": steps,
        "target": target,
        "q_halt": _per_step(traj.get("q_halt"), f"trajectory {name!r} q_halt", len(steps), float),
        "correct": _per_step(traj.get("correct"), f"trajectory {name!r} correct", len(steps), bool),
        "halt_step": None if traj.get("halt_step") is None else int(traj["halt_step"]),
        "cell_max": int(view.HTML_CELL_MAX),
        "legend": view.LEGEND,
        "cells": {
            "puzzle": cells(puzzle, None),
            "steps": [cells(g, steps[t - 1] if t else puzzle) for t, g in enumerate(steps)],
            "target": None if target is None else cells(target, None),
        },
    }


def _json_for_script(value: Any) -> str:
    """JSON that cannot close its <script> element."""
    return (
        json.dumps(value, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    )


def _format(value: Any) -> tuple[str, bool]:
    """(text, is_number) for a metrics-table cell."""
    if value is None:
        return "—", False
    if isinstance(value, bool | np.bool_):
        return ("yes" if value else "no"), False
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}", True
    if isinstance(value, numbers.Real):
        return f"{float(value):.4g}", True
    return str(value), False


def _summary_table(rows: Sequence[Mapping[str, Any]], testid: str = "summary") -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for row in rows:
        cells = (_format(row.get(c)) for c in columns)
        body.append(
            "".join(
                f'<td class="num">{html.escape(t)}</td>' if num else f"<td>{html.escape(t)}</td>" for t, num in cells
            )
        )
    rows_html = "".join(f"<tr>{r}</tr>" for r in body)
    return (
        f'<table class="metrics" data-testid="{testid}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows_html}</tbody></table>"
    )


def _config_block(config: Mapping[str, Any]) -> str:
    plain = json.loads(json.dumps(config, default=str))
    text = yaml.safe_dump(plain, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return (
        '<details class="card" data-testid="config"><summary>Resolved config</summary>'
        f"<pre>{html.escape(text)}</pre></details>"
    )


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "figure"


def _figure(name: str, path: Path) -> str:
    path = Path(path)
    mime = MIME.get(path.suffix.lower())
    if mime is None:
        raise ValueError(f"figure {name!r}: {path} is not a PNG, GIF, SVG or JPEG file")
    if not path.is_file():
        raise FileNotFoundError(f"figure {name!r}: {path} does not exist")
    uri = f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
    label = html.escape(name)
    return (
        f'<figure data-testid="figure-{_slug(name)}"><img src="{uri}" alt="{label}">'
        f"<figcaption>{label}</figcaption></figure>"
    )


def _viewer(i: int, traj: Mapping[str, Any]) -> str:
    """The static skeleton of one step-through viewer; the script fills in the grids."""
    n = len(traj["steps"])
    target = (
        f'<div class="panel"><h3>target</h3><div class="grid" data-testid="target-grid-{i}"></div></div>'
        if traj["target"] is not None
        else ""
    )
    correct, halt = traj["correct"], traj["halt_step"]
    dots = "".join(
        f'<i title="step {t + 1}" class="{"" if correct is None else ("yes" if correct[t] else "no")}'
        f'{" halt" if halt == t + 1 else ""}"></i>'
        for t in range(n)
    )
    halted = f"halted at step {halt}" if halt is not None else "no halting step"
    return f"""
<section class="card {traj["task"]}" data-trajectory="{i}" data-testid="trajectory-{i}">
  <h3>{html.escape(traj["name"])} <span class="legend">({traj["task"]}, {n} steps, {halted})</span></h3>
  <p class="legend">{html.escape(traj["legend"])}</p>
  <div class="panels">
    <div class="panel"><h3>input</h3><div class="grid" data-testid="input-grid-{i}"></div></div>
    <div class="panel"><h3 data-testid="grid-title-{i}">step 1</h3><div class="grid" data-testid="grid-{i}"></div></div>
    {target}
  </div>
  <div class="controls">
    <button type="button" data-testid="prev-{i}" aria-label="previous step">&#9664; Prev</button>
    <input type="range" min="1" max="{n}" value="1" step="1" data-testid="step-slider-{i}" aria-label="step">
    <button type="button" data-testid="next-{i}" aria-label="next step">Next &#9654;</button>
    <span class="label" data-testid="step-label-{i}">step 1 / {n}</span>
    <span class="badge" data-testid="step-correct-{i}"></span>
    <span data-testid="step-qhalt-{i}"></span>
    <span class="qbar"><span data-testid="qbar-{i}"></span></span>
    <span class="badge halt" data-testid="halted-{i}" hidden>halted here</span>
  </div>
  <div class="timeline" aria-hidden="true">{dots}</div>
</section>"""


def _page(title: str, sections: Iterable[str], data: list[dict[str, Any]]) -> str:
    views = dict.fromkeys(view_of(registered()[t["task"]]) for t in data)
    css = _static("report.css") + "".join(v.HTML_CSS for v in views)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{css}</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
{"".join(sections)}
<script type="application/json" id="latentloop-data">{_json_for_script(data)}</script>
<script>{_static("report.js")}</script>
</body>
</html>
"""


def write_html_report(
    path: str | Path,
    *,
    title: str,
    config: Mapping[str, Any],
    summary_rows: Sequence[Mapping[str, Any]],
    figures: Mapping[str, Path],
    trajectories: Sequence[Mapping[str, Any]],
    notes: Sequence[str] = (),
    tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> Path:
    """Write one self-contained HTML page (atomically) and return its path.

    Args:
        path: The .html file to write.
        title: Page heading.
        config: The resolved config (nested dict), shown collapsed as YAML.
        summary_rows: One dict per run; the union of their keys gives the table's columns.
        figures: Caption -> picture file (PNG, GIF, SVG, JPEG), embedded as data URIs.
        trajectories: Step-through viewers; see the module docstring for the keys.
        notes: Paragraphs shown under the table.
        tables: Further tables (title -> rows), e.g. accuracy per difficulty bucket.
    """
    data = [trajectory_payload(t) for t in trajectories]
    sections = (
        [f'<h2>Summary</h2><section class="card">{_summary_table(summary_rows)}</section>'] if summary_rows else []
    )
    if notes:
        sections.append('<ul class="notes">' + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    for name, rows in (tables or {}).items():
        if rows:
            table = _summary_table(rows, f"table-{_slug(name)}")
            sections.append(f'<h2>{html.escape(name)}</h2><section class="card">{table}</section>')
    sections.append(_config_block(config))
    if figures:
        figs = "".join(_figure(name, p) for name, p in figures.items())
        sections.append(f'<h2>Figures</h2><div class="figures">{figs}</div>')
    if data:
        sections.append("<h2>Step by step</h2>" + "".join(_viewer(i, t) for i, t in enumerate(data)))
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    tmp.write_text(_page(title, sections, data), encoding="utf-8")
    os.replace(tmp, path)
    return path
