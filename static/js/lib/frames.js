// Reading the run the player streams (playground/streams.py encodes it, playground/consumers.py
// sends it): names, states and captions, and the player's events.
//
// The player (player.js) announces on its root element "player:meta" (the run's meta is
// in), "player:step" (a step is shown) and "player:end" (every frame is in), each with
// {meta, frames, step, frame, captions} in `detail`. Every panel draws from those.

export const partName = (p) => `${p.topic}-${p.partition}`;

export function brokerState(b) {
  if (!b.alive) return "dead";
  return b.fenced ? "fenced" : b.isolated ? "isolated" : "alive";
}

// Calls handlers.meta / .step / .end with the event's detail; .step only once a frame is in.
export function onPlayer(root, handlers) {
  for (const name of ["meta", "step", "end"]) {
    const handle = handlers[name];
    if (!handle) continue;
    root.addEventListener(`player:${name}`, (event) => {
      if (name === "step" && !event.detail.frame) return;
      handle(event.detail);
    });
  }
}

// The index of the first frame at or after simulated time t, or -1 (not streamed yet).
export function firstStepAt(frames, t) {
  return frames.findIndex((f) => f && f.t >= t);
}

// --- captions (meta.captions, sorted by time: see playground/captions.py) --------------------

export const sortedCaptions = (meta) => (meta.captions || []).slice().sort((a, b) => a.t - b.t);

// The latest caption at or before time t, or null.
export function captionAt(captions, t) {
  let found = null;
  for (const c of captions) { if (c.t <= t) found = c; else break; }
  return found;
}

// The first step after `from` and at or before `to` where a caption begins, if any.
export function captionStepBetween(frames, captions, from, to) {
  const t0 = frames[from].t, t1 = frames[to].t;
  const c = captions.find((x) => x.t > t0 && x.t <= t1);
  if (!c) return null;
  for (let k = from + 1; k <= to; k++) if (frames[k].t >= c.t) return k;
  return null;
}
