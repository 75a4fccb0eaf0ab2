// Client metrics at the current step (issue 4), with Kafka's names: meta.metric_keys says
// which metric each of a frame's `metrics` values is (the same numbers /metrics/<slug> serves).
import { el } from "./lib/dom.js";
import { onPlayer } from "./lib/frames.js";

function draw(body, meta, frame) {
  const keys = meta.metric_keys || [];
  if (!keys.length || !frame.metrics) return;
  body.replaceChildren(...keys.map((key, k) => {
    const value = frame.metrics[k];
    const tr = el("tr", { "data-metric": key.name });
    const name = el("td");
    name.append(el("code", {}, key.name));
    const labels = Object.entries(key.labels).map(([a, b]) => `${a}=${b}`).join(", ");
    tr.append(name, el("td", {}, key.group), el("td", {}, labels),
      el("td", { class: "num" }, value === null || value === undefined ? "–" : String(value)));
    return tr;
  }));
}

const player = document.getElementById("player");
const body = document.querySelector("#metrics table.metrics tbody");
if (player && body) onPlayer(player, { step: ({ meta, frame }) => { if (meta) draw(body, meta, frame); } });
