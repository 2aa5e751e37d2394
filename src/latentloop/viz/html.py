"""A self-contained HTML report: metrics table, resolved config, figures, and step-through viewers.

Everything is inline (CSS, JS, JSON data, images as base64 data URIs) and a Content-Security-Policy
forbids any other source, so the page works from file:// with no network. Each trajectory gets a
viewer with Prev/Next buttons and a slider; the grid is an HTML table drawn by a small plain script.

A trajectory is a dict:
    task        "sudoku" | "maze" | "arc"
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
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from latentloop.tasks import sudoku

TASKS = ("sudoku", "maze", "arc")
MIME = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
LEGEND = {
    "sudoku": "Givens bold, the model's digits blue, digits that break a rule red, cells changed since the "
    "previous step on yellow.",
    "maze": "Walls dark, start green, goal red, path blue; cells changed since the previous step outlined orange.",
    "arc": "Standard ARC palette; an empty prediction means the model produced no valid grid.",
}

CSS = """
:root { --ink: #1d2330; --muted: #667085; --line: #d0d5dd; --ok: #1a7f37; --bad: #c62828; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink);
  margin: 0 auto; max-width: 1200px; padding: 24px; line-height: 1.45; background: #fafbfc; }
h1 { margin: 0 0 16px; font-size: 1.6rem; } h2 { margin: 28px 0 10px; font-size: 1.2rem; }
section.card, details.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px;
  margin: 12px 0; }
table.metrics { border-collapse: collapse; font-size: 0.9rem; }
table.metrics th, table.metrics td { border-bottom: 1px solid var(--line); padding: 5px 10px; text-align: left; }
table.metrics td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f4f5f7; padding: 10px; border-radius: 6px; overflow: auto; font-size: 0.82rem; }
.figures { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px;
  max-width: 100%; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 0.85rem; margin-top: 4px; }
.legend { color: var(--muted); font-size: 0.85rem; margin: 2px 0 10px; }
.panels { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
.panel h3 { margin: 0 0 6px; font-size: 0.9rem; font-weight: 600; }
.grid table { border-collapse: collapse; }
.grid td { width: var(--cell); height: var(--cell); padding: 0; text-align: center; vertical-align: middle;
  font-size: calc(var(--cell) * 0.55); border: 1px solid #999; }
.grid .nogrid { color: var(--muted); font-style: italic; padding: 20px; border: 1px dashed var(--line); margin: 0; }
.sudoku td { border: 1px solid #bbb; color: #1f5fbf; }
.sudoku td.given { color: #000; font-weight: 700; } .sudoku td.bad { color: #d62728; font-weight: 700; }
.sudoku td.chg { background: #fff2a8; }
.sudoku td.br { border-right: 2px solid #000; } .sudoku td.bb { border-bottom: 2px solid #000; }
.sudoku table { border: 2px solid #000; }
.maze td { border: none; } .maze td.chg { box-shadow: inset 0 0 0 2px #ff9f1c; }
.m0 { background: #262626; } .m1 { background: #fff; } .m2 { background: #2ca02c; } .m3 { background: #d62728; }
.m4 { background: #1f77b4; } .m5 { background: #e377c2; }
.arc td { border: 1px solid #555; }
.a0 { background: #000; } .a1 { background: #0074d9; } .a2 { background: #ff4136; } .a3 { background: #2ecc40; }
.a4 { background: #ffdc00; } .a5 { background: #aaa; } .a6 { background: #f012be; } .a7 { background: #ff851b; }
.a8 { background: #7fdbff; } .a9 { background: #870c25; }
.controls { display: flex; flex-wrap: wrap; align-items: center; gap: 10px; margin-top: 12px; }
.controls button { font: inherit; padding: 3px 12px; border: 1px solid var(--line); border-radius: 6px;
  background: #fff; cursor: pointer; } .controls button:disabled { opacity: 0.4; cursor: default; }
.controls input[type=range] { width: min(320px, 60vw); }
.label { font-weight: 600; min-width: 7em; }
.badge { border-radius: 10px; padding: 1px 9px; font-size: 0.85rem; color: #fff; background: var(--muted); }
.badge.yes { background: var(--ok); } .badge.no { background: var(--bad); } .badge.halt { background: #6941c6; }
.qbar { display: inline-block; width: 80px; height: 8px; background: #eee; border-radius: 4px; vertical-align: middle; }
.qbar span { display: block; height: 100%; background: #6941c6; border-radius: 4px; }
.timeline { display: flex; gap: 3px; margin-top: 10px; }
.timeline i { width: 16px; height: 16px; border-radius: 2px; background: #d0d5dd; cursor: pointer; }
.timeline i.yes { background: #7bc88f; } .timeline i.no { background: #f1a1a1; }
.timeline i.halt { outline: 2px solid #6941c6; } .timeline i.now { transform: scale(1.35); }
"""

JS = """
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("latentloop-data").textContent);
  const hook = (root, id) => root.querySelector(`[data-testid="${id}"]`);

  function cellSize(task, grid) {
    const side = Math.max(grid.length, grid[0].length);
    return Math.max(6, Math.min(task === "sudoku" ? 30 : 22, Math.floor(330 / side)));
  }

  function classes(traj, grid, r, c, prev, bad) {
    const v = grid[r][c], out = [];
    const changed = prev && prev.length === grid.length && prev[r] && prev[r][c] !== v;
    if (traj.task === "sudoku") {
      if (traj.puzzle[r][c]) out.push("given");
      if (bad && bad.has(r * grid.length + c)) out.push("bad");
      if (changed) out.push("chg");
      if ((c + 1) % traj.box[1] === 0 && c + 1 < grid.length) out.push("br");
      if ((r + 1) % traj.box[0] === 0 && r + 1 < grid.length) out.push("bb");
    } else if (traj.task === "maze") {
      out.push("m" + (v >= 0 && v <= 4 ? v : 5));
      if (changed) out.push("chg");
    } else {
      out.push("a" + v);
    }
    return out;
  }

  function drawGrid(box, traj, grid, prev, bad) {
    box.replaceChildren();
    if (!grid || !grid.length || !grid[0].length) {
      const p = document.createElement("p");
      p.className = "nogrid";
      p.textContent = "no valid grid";
      box.append(p);
      return;
    }
    const table = document.createElement("table");
    table.style.setProperty("--cell", cellSize(traj.task, grid) + "px");
    grid.forEach((row, r) => {
      const tr = table.insertRow();
      row.forEach((v, c) => {
        const td = tr.insertCell();
        td.dataset.v = v;
        td.className = classes(traj, grid, r, c, prev, bad).join(" ");
        if (traj.task === "sudoku" && v) td.textContent = v;
      });
    });
    box.append(table);
  }

  function viewer(root, traj, i) {
    const n = traj.steps.length;
    const slider = hook(root, `step-slider-${i}`), grid = hook(root, `grid-${i}`);
    const prev = hook(root, `prev-${i}`), next = hook(root, `next-${i}`);
    const dots = Array.from(root.querySelectorAll(".timeline i"));
    drawGrid(hook(root, `input-grid-${i}`), traj, traj.puzzle, null, null);
    const target = hook(root, `target-grid-${i}`);
    if (target) drawGrid(target, traj, traj.target, null, null);
    let current = 0;
    function show(k) {
      k = Math.max(0, Math.min(n - 1, k));
      const bad = traj.bad ? new Set(traj.bad[k]) : null;
      drawGrid(grid, traj, traj.steps[k], k ? traj.steps[k - 1] : traj.puzzle, bad);
      grid.dataset.step = k + 1;
      slider.value = k + 1;
      hook(root, `step-label-${i}`).textContent = `step ${k + 1} / ${n}`;
      hook(root, `grid-title-${i}`).textContent = `step ${k + 1}`;
      prev.disabled = k === 0;
      next.disabled = k === n - 1;
      const ok = traj.correct ? traj.correct[k] : null, badge = hook(root, `step-correct-${i}`);
      badge.textContent = ok === null ? "correctness unknown" : ok ? "correct" : "wrong";
      badge.className = "badge " + (ok === null ? "" : ok ? "yes" : "no");
      const q = traj.q_halt ? traj.q_halt[k] : null;
      hook(root, `step-qhalt-${i}`).textContent = q === null ? "p(halt) n/a" : `p(halt) = ${q.toFixed(3)}`;
      hook(root, `qbar-${i}`).style.width = `${Math.round(100 * Math.max(0, Math.min(1, q || 0)))}%`;
      hook(root, `halted-${i}`).hidden = traj.halt_step !== k + 1;
      dots.forEach((d, j) => d.classList.toggle("now", j === k));
      current = k;
    }
    prev.addEventListener("click", () => show(current - 1));
    next.addEventListener("click", () => show(current + 1));
    slider.addEventListener("input", () => show(Number(slider.value) - 1));
    dots.forEach((d, j) => d.addEventListener("click", () => show(j)));
    show(0);
  }

  document.querySelectorAll("[data-trajectory]").forEach((root) => {
    const i = Number(root.dataset.trajectory);
    viewer(root, data[i], i);
  });
})();
"""


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
    """The JSON the viewer reads for one trajectory: validated grids, per-step data, Sudoku violations."""
    name = str(traj.get("name", "trajectory"))
    if traj.get("task") not in TASKS:
        raise ValueError(f"trajectory {name!r}: task must be one of {', '.join(TASKS)}, got {traj.get('task')!r}")
    if traj.get("steps") is None or len(traj["steps"]) == 0:
        raise ValueError(f"trajectory {name!r}: needs at least one step")
    steps = [_grid(g, f"trajectory {name!r} step {t + 1}") for t, g in enumerate(traj["steps"])]
    target = traj.get("target")
    out: dict[str, Any] = {
        "task": traj["task"],
        "name": name,
        "puzzle": _grid(traj["puzzle"], f"trajectory {name!r} puzzle"),
        "steps": steps,
        "target": None if target is None else _grid(target, f"trajectory {name!r} target"),
        "q_halt": _per_step(traj.get("q_halt"), f"trajectory {name!r} q_halt", len(steps), float),
        "correct": _per_step(traj.get("correct"), f"trajectory {name!r} correct", len(steps), bool),
        "halt_step": None if traj.get("halt_step") is None else int(traj["halt_step"]),
    }
    if traj["task"] == "sudoku":
        shape = sudoku.shape_for_size(len(out["puzzle"]))
        out["box"] = [shape.box_rows, shape.box_cols]
        out["bad"] = [np.flatnonzero(sudoku.violations(np.array(g), shape)).tolist() for g in steps]
    return out


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
  <p class="legend">{html.escape(LEGEND[traj["task"]])}</p>
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
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{CSS}</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
{"".join(sections)}
<script type="application/json" id="latentloop-data">{_json_for_script(data)}</script>
<script>{JS}</script>
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
