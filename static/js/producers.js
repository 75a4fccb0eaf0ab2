// Producer panel (issue 3): per producer at the current step, requests in flight and queued
// batches (frame.producers), requests sent, retried and acknowledged, deduplications and
// errors by name (frame.produce: counted over every event up to the step, by the server).
import { count, el } from "./lib/dom.js";
import { onPlayer } from "./lib/frames.js";

function draw(panel, frame) {
  const counts = frame.produce || {};
  for (const p of frame.producers) {
    const row = panel.querySelector(`tr[data-producer="${CSS.escape(p.id)}"]`);
    if (!row) continue;
    const c = counts[p.id] || { errors: {} };
    const values = { ...c, in_flight: p.in_flight, queued_batches: p.queued_batches, acked: p.acked, failed: p.failed };
    for (const cell of row.querySelectorAll("td[data-col]")) {
      const col = cell.dataset.col;
      if (col === "errors") {
        const errors = Object.entries(c.errors || {});
        cell.replaceChildren(...(errors.length
          ? errors.map(([name, n]) => el("span", { class: "err-chip" }, `${name} × ${count(n)}`))
          : [document.createTextNode("–")]));
      } else if (col in values) {
        cell.textContent = count(values[col]);
      }
    }
  }
}

const player = document.getElementById("player");
const panel = document.getElementById("producers");
if (player && panel) onPlayer(player, { step: ({ frame }) => draw(panel, frame) });
