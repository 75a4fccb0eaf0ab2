// The consumers panel (templates/playground/_consumers.html): each consumer's state at the
// step shown, and the offset it is at.
import { onPlayer } from "./lib/frames.js";

function drawConsumers(panel, frame) {
  for (const c of frame.consumers) {
    const item = panel.querySelector(`[data-consumer="${CSS.escape(c.id)}"]`);
    if (!item) continue;
    const badge = item.querySelector(".state");
    badge.dataset.state = c.state;
    badge.textContent = c.offset === null ? c.state : `${c.state} @ ${c.offset}`;
  }
}

const player = document.getElementById("player");
const panel = document.querySelector("section.consumers");
if (player && panel) onPlayer(player, { step: ({ frame }) => drawConsumers(panel, frame) });
