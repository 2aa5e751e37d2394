// Step-through viewers of latentloop's report.html. Every grid arrives as cells [[text, classes], ...]
// per row, computed by the task's view in Python, so this script knows no task.
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("latentloop-data").textContent);
  const hook = (root, id) => root.querySelector(`[data-testid="${id}"]`);

  function drawGrid(box, traj, values, cells) {
    box.replaceChildren();
    if (!values || !values.length || !values[0].length) {
      const p = document.createElement("p");
      p.className = "nogrid";
      p.textContent = "no valid grid";
      box.append(p);
      return;
    }
    const side = Math.max(values.length, values[0].length);
    const table = document.createElement("table");
    table.style.setProperty("--cell", Math.max(6, Math.min(traj.cell_max, Math.floor(330 / side))) + "px");
    values.forEach((row, r) => {
      const tr = table.insertRow();
      row.forEach((v, c) => {
        const td = tr.insertCell();
        const [text, classes] = cells[r][c];
        td.dataset.v = v;
        td.className = classes;
        td.textContent = text;
      });
    });
    box.append(table);
  }

  function viewer(root, traj, i) {
    const n = traj.steps.length;
    const slider = hook(root, `step-slider-${i}`), grid = hook(root, `grid-${i}`);
    const prev = hook(root, `prev-${i}`), next = hook(root, `next-${i}`);
    const dots = Array.from(root.querySelectorAll(".timeline i"));
    drawGrid(hook(root, `input-grid-${i}`), traj, traj.puzzle, traj.cells.puzzle);
    const target = hook(root, `target-grid-${i}`);
    if (target) drawGrid(target, traj, traj.target, traj.cells.target);
    let current = 0;
    function show(k) {
      k = Math.max(0, Math.min(n - 1, k));
      drawGrid(grid, traj, traj.steps[k], traj.cells.steps[k]);
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
