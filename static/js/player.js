// The run player: streams frames over a websocket and draws one step at a time.
//
// Protocol: see playground/consumers.py. Frames are kept in `frames` as they arrive; a
// dropped connection reconnects with backoff and asks for the frames it does not have
// yet, so the step being shown never changes under the reader's eyes; a busy server's
// answer is retried after the seconds it names.
//
// The panels (cluster.js, producers.js, groups.js, metrics.js) listen on the player's
// root for "player:meta", "player:end" (every frame is in) and "player:step" (a step is
// shown), each with {meta, frames, step, frame} in `detail`. window.Playground holds the
// small helpers they share.
(() => {
  "use strict";

  const root = document.getElementById("player");
  if (!root) return;

  const BASE_FPS = 2;          // frames per second at 1×
  const MAX_CELLS = 120;       // beyond this, one cell stands for a range of offsets
  const EVENT_LOG_LIMIT = 200;
  const LABEL_WIDTH_PERCENT = 4;  // markers closer than this get stacked
  const LEGEND_MAX_TRACES = 12;   // beyond this the legend hides the chart; hover names lines
  const NARROW_CHART_PX = 560;    // below this the chart's legend wraps into rows
  const LEGEND_ROW_PX = 20;
  const $ = (selector) => root.querySelector(selector);
  const buttons = {
    back: $('[data-action="back"]'), play: $('[data-action="play"]'), step: $('[data-action="step"]'),
  };
  const scrub = $(".scrub");
  const speed = $(".speed select");
  const counter = $(".counter");
  const status = $(".status");
  const strips = $(".strips");
  const chart = $(".chart");

  // After a button "at this step" the new run opens where the old one was left.
  const START_KEY = "playground:start-ms";
  function takeStartMs() {
    const value = sessionStorage.getItem(START_KEY);
    sessionStorage.removeItem(START_KEY);
    return value === null ? null : Number(value);
  }

  const state = {
    meta: null, fates: null, captions: [], frames: [], step: 0, done: false, timer: null, clock: null, retries: 0, socket: null,
    recordKey: null,  // the strip's record that Tab reaches (roving tabindex), by data-key
    // where to open: after a button, where it was pressed; else a link's ?at=<ms>
    startMs: takeStartMs() ?? (root.dataset.startMs ? Number(root.dataset.startMs) : null),
  };
  document.addEventListener("submit", (event) => {
    const at = event.target.querySelector(".at-ms, .at-step");
    if (at) sessionStorage.setItem(START_KEY, at.value);
  });

  // The charts (Plotly: 100–450 ms each for a big run) are drawn once the first step is on
  // screen, not before it: `afterFirstFrame(fn)` runs `fn` after the first step has been
  // painted (an animation frame, then a task), or at once if it has been.
  const painted = { done: false, waiting: [] };
  function afterFirstFrame(fn) {
    if (painted.done) fn();
    else if (!painted.waiting.includes(fn)) painted.waiting.push(fn);
  }
  function firstFramePainted() {
    if (painted.done) return;
    painted.done = true;
    for (const fn of painted.waiting.splice(0)) fn();
  }

  function announce(name) {
    root.dispatchEvent(new CustomEvent(`player:${name}`, {
      detail: { meta: state.meta, frames: state.frames, step: state.step, frame: state.frames[state.step] },
    }));
  }

  // --- websocket --------------------------------------------------------------------------

  // The server sends the meta and the frames as binary messages: an 8-byte token, then
  // deflated JSON. Each is acknowledged with its token as it arrives (the server keeps
  // only a few unacknowledged); they are inflated in order, so "end" (text) comes last.
  // A deferred script runs while readyState is already "interactive", before the other
  // deferred scripts and DOMContentLoaded: wait for that event (or "load", should this run
  // after it), so that no message is read before every panel script listens.
  const documentReady = new Promise((resolve) => {
    if (document.readyState === "complete") return resolve();
    document.addEventListener("DOMContentLoaded", resolve, { once: true });
    window.addEventListener("load", resolve, { once: true });
  });

  function connect() {
    performance.mark("player:connect");  // marks for `make bench` (bench/browser.py)
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}${root.dataset.wsPath}`);
    socket.binaryType = "arraybuffer";
    state.socket = socket;
    let received = 0;
    let inbox = documentReady;  // read once every panel script listens (below)
    const then = (read) => { inbox = inbox.then(read).then(receive).catch(failed); };
    socket.onopen = () => {
      performance.mark("player:open");
      state.retries = 0;
      askForRun(socket);
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") return then(() => JSON.parse(event.data));
      received += 1;
      const token = [...new Uint8Array(event.data, 0, 8)]
        .map((b) => b.toString(16).padStart(2, "0")).join("");
      socket.send(JSON.stringify({ type: "ack", chunks: received, token }));
      then(() => inflate(event.data.slice(8)));
    };
    socket.onclose = () => {
      if (state.done) return;
      const delay = Math.min(10000, 500 * 2 ** state.retries++);
      setStatus(`Connection lost; reconnecting in ${Math.round(delay / 1000)} s…`);
      setTimeout(connect, delay);
    };
  }

  function askForRun(socket) {
    socket.send(JSON.stringify({ type: "run", from: state.frames.length }));
  }

  async function inflate(buffer) {
    const stream = new Blob([buffer]).stream().pipeThrough(new DecompressionStream("deflate"));
    return JSON.parse(await new Response(stream).text());
  }

  function failed(error) {
    setStatus(`The stream could not be read: ${error}`);
  }

  function receive(message) {
    if (message.type === "meta") {
      performance.mark("player:meta");
      state.meta = message;
      state.fates = indexFates(message.fates);
      state.captions = (message.captions || []).slice().sort((a, b) => a.t - b.t);
      root.dataset.fates = state.fates ? "records" : "offsets";
      root.dataset.total = String(message.total);
      if (message.error) setStatus(message.error);
      if (!message.total) firstFramePainted();  // nothing to show but the charts
      drawChart();
      announce("meta");
    } else if (message.type === "frames") {
      message.frames.forEach((frame, k) => { state.frames[message.start + k] = frame; });
      scrub.max = String(Math.max(0, state.frames.length - 1));
      root.dataset.loaded = String(state.frames.length);
      enable();
      show(startStep());
    } else if (message.type === "end") {
      state.done = true;
      setStatus(state.meta && state.meta.error ? state.meta.error : "");
      state.socket.close();
      announce("end");
      show(startStep());
    } else if (message.type === "error") {
      setStatus(`${message.field}: ${message.message}`);
      if (message.retry_after) retryLater(state.socket, message);
    }
  }

  // The server was busy: ask again on the same connection once it said it may have room.
  function retryLater(socket, error) {
    setStatus(`${error.message}; trying again in ${error.retry_after} s…`);
    setTimeout(() => {
      if (socket.readyState === WebSocket.OPEN) askForRun(socket);
    }, error.retry_after * 1000);
  }

  // The step to show: where the reader is, or (once) the first frame at the start time.
  function startStep() {
    if (state.startMs === null) return state.step;
    const last = state.frames.length - 1;
    if (state.frames[last].t < state.startMs && !state.done) return state.step;
    const k = state.frames.findIndex((f) => f && f.t >= state.startMs);
    state.startMs = null;
    return k < 0 ? last : k;
  }

  function setStatus(text) {
    status.textContent = text;
  }

  // --- controls -----------------------------------------------------------------------------

  function enable() {
    for (const button of Object.values(buttons)) button.disabled = false;
    scrub.disabled = false;
  }

  // Playback runs on animation frames: each frame works out which step is due (by steps per
  // second, or by simulated time when the pace is "time") and draws that one step, so a
  // fast speed skips the steps a frame cannot show instead of queueing them.
  function play() {
    if (state.step >= state.frames.length - 1) show(0);
    setPlaying(true);
    state.clock = { at: performance.now(), step: state.step, t: state.frames[state.step].t };
    state.timer = requestAnimationFrame(frameTick);
  }

  function pause() {
    if (state.timer !== null) cancelAnimationFrame(state.timer);
    state.timer = null;
    setPlaying(false);
  }

  function setPlaying(playing) {
    root.dataset.playing = String(playing);
    buttons.play.setAttribute("aria-label", playing ? "Pause" : "Play");
    buttons.play.title = playing ? "Pause (space)" : "Play (space)";
    buttons.play.dataset.state = playing ? "playing" : "paused";
  }

  // The step due now: steps per second, or the last frame at or before the simulated time
  // that has passed at "1 s simulated = 1/speed s".
  function dueStep(now) {
    const last = state.frames.length - 1;
    // A frame's timestamp may precede the click that started playing: never a negative time.
    const elapsed = Math.max(0, now - state.clock.at) / 1000;
    if (pace && pace.value === "time") {
      const t = state.clock.t + elapsed * 1000 * Number(speed.value);
      let lo = state.clock.step, hi = last;
      while (lo < hi) { const mid = Math.ceil((lo + hi) / 2); if (state.frames[mid].t <= t) lo = mid; else hi = mid - 1; }
      return lo;
    }
    return Math.min(last, state.clock.step + Math.floor(elapsed * BASE_FPS * Number(speed.value)));
  }

  function frameTick(now) {
    state.timer = null;
    const last = state.frames.length - 1;
    let target = Math.max(state.step, dueStep(now));
    const stop = pauseAtCaptions && pauseAtCaptions.checked ? captionStepBetween(state.step, target) : null;
    if (stop !== null) target = stop;
    if (target > state.step) show(target);
    if (stop !== null || (state.step >= last && state.done)) return pause();
    state.timer = requestAnimationFrame(frameTick);
  }

  // The first step after `from` and at or before `to` where a caption begins, if any.
  function captionStepBetween(from, to) {
    const t0 = state.frames[from].t, t1 = state.frames[to].t;
    const c = state.captions.find((x) => x.t > t0 && x.t <= t1);
    if (!c) return null;
    for (let k = from + 1; k <= to; k++) if (state.frames[k].t >= c.t) return k;
    return null;
  }

  const pace = $(".pace select");
  const paceNote = $(".pace-note");
  function describePace() {
    if (!paceNote) return;
    const v = Number(speed.value);
    paceNote.textContent = pace && pace.value === "time" ? `1 s simulated = ${1 / v} s` : `${BASE_FPS * v} steps/s`;
  }
  // A change of speed or pace while playing starts the clock again from the current step.
  for (const control of [speed, pace]) {
    if (!control) continue;
    control.addEventListener("change", () => {
      describePace();
      if (root.dataset.playing === "true") state.clock = { at: performance.now(), step: state.step, t: state.frames[state.step].t };
    });
  }
  describePace();

  buttons.play.addEventListener("click", () => (root.dataset.playing === "true" ? pause() : play()));
  buttons.step.addEventListener("click", () => { pause(); show(state.step + 1); });
  buttons.back.addEventListener("click", () => { pause(); show(state.step - 1); });
  scrub.addEventListener("input", () => { pause(); show(Number(scrub.value)); });

  // Shortcuts work wherever the focus is, except where typing or choosing: space plays or
  // pauses, ← → step, Home/End jump, [ ] change speed, c toggles pausing at captions,
  // f the chart's full run, ? the list of shortcuts.
  const help = document.getElementById("shortcuts");
  function typing(target) {
    return target.closest("input:not([type=range]):not([type=checkbox]), textarea, select, [contenteditable]");
  }
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    // Space keeps pressing a focused button, link or box outside the player's controls.
    if (event.key === " " && (event.target.matches("input[type=checkbox]")
        || (event.target.closest("button, a, summary") && !event.target.closest(".controls")))) return;
    if (help && !help.hidden && event.key === "Escape") { help.hidden = true; return; }
    if (!state.frames.length && event.key !== "?") return;
    const act = {
      " ": () => buttons.play.click(), k: () => buttons.play.click(),
      ArrowRight: () => buttons.step.click(), ArrowLeft: () => buttons.back.click(),
      Home: () => { pause(); show(0); }, End: () => { pause(); show(state.frames.length - 1); },
      "]": () => nudgeSpeed(1), "[": () => nudgeSpeed(-1),
      c: () => { if (pauseAtCaptions) pauseAtCaptions.click(); },
      f: () => setZoom(chart.dataset.zoom === "story" ? "full" : "story"),
      p: () => presenter.click(),
      "?": () => { if (help) help.hidden = !help.hidden; },
    }[event.key];
    if (!act) return;
    event.preventDefault();  // no page scroll on space or arrows, no button press twice
    act();
  });
  for (const close of document.querySelectorAll("[data-close-shortcuts]")) close.addEventListener("click", () => { help.hidden = true; });
  for (const open of document.querySelectorAll("[data-open-shortcuts]")) open.addEventListener("click", () => { help.hidden = false; });

  // Presenter mode: large type for a projector, remembered on this browser; ?presenter=1
  // in a link turns it on.
  const PRESENTER_KEY = "playground:presenter";
  const presenter = $(".presenter-toggle") || document.createElement("button");
  function setPresenter(on) {
    document.body.classList.toggle("presenter", on);
    presenter.setAttribute("aria-pressed", String(on));
    try { localStorage.setItem(PRESENTER_KEY, on ? "1" : "0"); } catch (_) { /* private mode */ }
    if (chart.dataset.drawn) window.Plotly.Plots.resize(chart);
  }
  presenter.addEventListener("click", () => setPresenter(!document.body.classList.contains("presenter")));
  {
    const asked = new URLSearchParams(location.search).get("presenter");
    let stored = null;
    try { stored = localStorage.getItem(PRESENTER_KEY); } catch (_) { /* private mode */ }
    if (asked === "1" || (asked === null && stored === "1")) setPresenter(true);
  }

  function nudgeSpeed(by) {
    const k = Math.max(0, Math.min(speed.options.length - 1, speed.selectedIndex + by));
    speed.selectedIndex = k;
    speed.dispatchEvent(new Event("change"));
  }

  // --- drawing one step -------------------------------------------------------------------------

  function show(step) {
    const last = state.frames.length - 1;
    if (last < 0) return;
    state.step = Math.max(0, Math.min(step, last));
    const frame = state.frames[state.step];
    if (!state.drawnOnce) {  // for the browser tests' and the benchmark's first-frame time
      state.drawnOnce = true;
      performance.mark("player:first-frame");
      requestAnimationFrame(() => setTimeout(firstFramePainted, 0));
    }
    root.dataset.step = String(state.step);
    scrub.value = String(state.step);
    counter.textContent = `step ${state.step + 1} / ${state.meta ? state.meta.total : "?"} · t = ${frame.t} ms`;
    drawStrips(frame);
    moveCursor(frame.t);
    drawConsumers(frame);
    drawGroups(frame);
    drawEvents();
    drawStageCluster(frame);
    drawNow(frame);
    drawCaption(frame);
    announce("step");
  }

  // --- narration (meta.captions: see playground/captions.py) ------------------------------------

  const captionBox = $(".caption");
  const pauseAtCaptions = $(".pause-at-captions input");

  // The latest caption at or before the step's time; "now" when it happened at this step.
  function captionAt(t) {
    let found = null;
    for (const c of state.captions) { if (c.t <= t) found = c; else break; }
    return found;
  }

  function captionHere() {
    const frame = state.frames[state.step];
    const before = state.step > 0 ? state.frames[state.step - 1].t : -1;
    const c = captionAt(frame.t);
    return c !== null && c.t > before;
  }

  function drawCaption(frame) {
    if (!captionBox) return;
    const c = captionAt(frame.t);
    captionBox.hidden = c === null;
    if (!c) return;
    captionBox.dataset.kind = c.kind;
    captionBox.classList.toggle("now", captionHere());
    captionBox.replaceChildren(el("span", { class: "t" }, `${c.t} ms`), document.createTextNode(` ${c.text}`));
  }

  // Every button "at this step" acts at the current simulated time.
  function drawNow(frame) {
    for (const input of document.querySelectorAll(".at-ms, .at-step")) input.value = String(frame.t);
    for (const out of document.querySelectorAll(".now-ms")) out.textContent = String(frame.t);
    for (const out of document.querySelectorAll(".now-step")) out.textContent = String(state.step);
  }

  function el(tag, attrs = {}, text = "") {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text) node.textContent = text;
    return node;
  }

  function drawStrips(frame) {
    const fresh = el("div");
    fresh.append(...frame.partitions.map((p) => strip(frame, p)));
    morph(strips, fresh, false);
    // One record in the strips is in the Tab order (the last one the keyboard reached, else
    // the first); arrows move between records (stripKeys).
    if (!strips.querySelector('[data-message][tabindex="0"]')) {
      const first = strips.querySelector("[data-message]");
      if (first) first.tabIndex = 0;
    }
  }

  // A record's attributes in the strips: a button in the roving Tab order, named by its fate.
  function recordAttrs(key, id, title) {
    return { "data-message": id, "data-key": key, role: "button", "aria-label": title,
      tabindex: key === state.recordKey ? "0" : "-1" };
  }

  // Makes `old`'s subtree equal `fresh`'s, touching only what differs: a step usually
  // changes a few cells, and an untouched cell costs the browser no style, layout or paint.
  function morph(old, fresh, withAttributes = true) {
    if (withAttributes) {
      for (const a of fresh.attributes) if (old.getAttribute(a.name) !== a.value) old.setAttribute(a.name, a.value);
      for (const a of [...old.attributes]) if (!fresh.hasAttribute(a.name)) old.removeAttribute(a.name);
    }
    const next = [...fresh.childNodes];
    for (let i = 0; i < next.length; i++) {
      const o = old.childNodes[i], f = next[i];
      if (!o) old.append(f);
      else if (o.nodeType !== f.nodeType || o.nodeName !== f.nodeName) old.replaceChild(f, o);
      else if (f.nodeType === Node.TEXT_NODE) { if (o.data !== f.data) o.data = f.data; }
      else morph(o, f);
    }
    while (old.childNodes.length > next.length) old.lastChild.remove();
  }

  // --- each record's fate (meta.fates: see playground/fates.py) ---------------------------------

  // Per partition: the entries (who held each offset, from when to when) indexed by offset,
  // and per entry what each group finished and who held it. Built once per meta.
  function indexFates(fates) {
    if (!fates) return null;
    const groupOf = Object.fromEntries(state.meta.consumers.map((c) => [c.id, c.group]));
    const out = {};
    for (const [name, data] of Object.entries(fates.partitions)) {
      const entries = data.entries.map(([o, id, tIn, tOut, tAck, lost]) => ({
        o, id, tIn, tOut, tAck, lost, done: [], held: [],
      }));
      for (const [e, group, t] of data.done) entries[e].done.push([group, t]);
      for (const [e, consumer, from, to] of data.held) entries[e].held.push([consumer, groupOf[consumer], from, to]);
      const byOffset = new Map();
      for (const entry of entries) {
        if (!byOffset.has(entry.o)) byOffset.set(entry.o, []);
        byOffset.get(entry.o).push(entry);
      }
      out[name] = { entries, byOffset, lost: entries.filter((e) => e.lost) };
    }
    return { parts: out, skips: fates.skips || {} };
  }

  // The record at `offset` at time t, if the partition's log holds one.
  function entryAt(part, offset, t) {
    const list = part.byOffset.get(offset);
    if (!list) return null;
    for (let k = list.length - 1; k >= 0; k--) {
      const e = list[k];
      if (e.tIn <= t && (e.tOut === null || e.tOut > t)) return e;
    }
    return null;
  }

  function skipMark(group, name, t) {
    let mark = null;
    for (const [when, offset] of ((state.fates.skips[group] || {})[name] || [])) if (when <= t) mark = offset;
    return mark;
  }

  // One record's fate for one group at time t (FATE_ORDER: the most telling wins a range).
  const FATE_ORDER = ["lost", "skipped", "several", "progress", "expired", "once", "above-hw", "unread", "future"];
  const FATE_TEXT = {
    unread: "unread", "above-hw": "written, above the HW (not readable yet)", progress: "in progress",
    once: "processed once", several: "processed several times", skipped: "skipped behind the committed offset — lost to the group",
    lost: "acknowledged, then lost from the log", expired: "expired by retention", future: "not written yet",
  };
  function fateOf(entry, t, p, group, committed) {
    if (entry.o < p.log_start) return { fate: "expired" };
    if (!group) return { fate: entry.o < p.hw ? "unread" : "above-hw" };
    const held = entry.held.find(([, g, from, to]) => g === group && from <= t && (to === null || to > t));
    const times = entry.done.filter(([g, when]) => g === group && when <= t).length;
    const mark = Math.max(committed ?? -1, skipMark(group, `${p.topic}-${p.partition}`, t) ?? -1);
    if (held) return { fate: "progress", who: held[0], risk: times === 0 && mark > entry.o };
    if (times >= 2) return { fate: "several", times };
    if (times === 1) return { fate: "once" };
    if (mark > entry.o) return { fate: "skipped" };
    return { fate: entry.o < p.hw ? "unread" : "above-hw" };
  }

  function strip(frame, p) {
    const name = `${p.topic}-${p.partition}`;
    const size = Math.max(1, p.leo, state.meta ? state.meta.log_size[name] || 0 : 0);
    const rows = frame.groups.filter((g) => g.topic === p.topic && g.partition === p.partition);
    const part = state.fates ? state.fates.parts[name] : null;
    const cells = Math.min(size, MAX_CELLS);
    const per = size / cells;
    const wrap = el("div", { class: "strip", "data-partition": name });
    wrap.append(el("div", { class: "strip-name" }, `${name}`));
    const track = el("div", { class: "track" });
    const lane = el("div", { class: "lane" });  // markers are placed against the cells
    if (part) {
      // one row of fates per group reading the partition (none: the log alone)
      const readers = rows.length ? rows : [null];
      for (const g of readers) lane.append(fateRow(frame, p, part, g, readers.length > 1, size, cells, per));
      const lost = part.lost.filter((e) => e.tOut !== null && e.tOut <= frame.t);
      if (lost.length) lane.append(lostRow(lost, size, name));
    } else {
      const readers = rows.length ? rows : [null];
      for (const g of readers) lane.append(rangeRow(p, g, readers.length > 1, cells, per));
    }
    track.append(lane);
    const marks = [
      ["log_start", "start", p.log_start, "below"], ["hw", "HW", p.hw, "below"], ["leo", "LEO", p.leo, "below"],
    ];
    // transactions: the last stable offset, where read_committed readers stop
    if (p.lso !== undefined && p.lso !== p.hw) marks.push(["lso", "LSO", p.lso, "below"]);
    const groups = new Set(rows.map((g) => g.group));
    for (const g of rows) {
      const label = groups.size > 1 ? `${g.group}:` : "";
      if (g.committed !== null) marks.push(["committed", `${label}C`, g.committed, "above", g.group]);
      if (g.position !== null) marks.push(["position", `${label}P`, g.position, "above", g.group]);
    }
    const placed = { above: [], below: [] };  // [percent, level] of labels already drawn
    const shown = new Map();  // side/offset -> the label drawn there: "HW·LEO", not two rows
    for (const [kind, label, offset, side, group] of marks) {
      const left = (100 * offset) / size;
      const title = `${group ? group + " " : ""}${kind.replace("_", " ")} = ${offset}`;
      const twin = shown.get(`${side}/${offset}`);
      const marker = el("b", { class: `mk ${kind} ${side}`, "data-marker": kind, "data-offset": String(offset), title });
      if (group) marker.dataset.group = group;
      if (twin) {
        twin.textContent += `·${label}`;
        twin.title += `, ${title}`;
        marker.classList.add("merged");  // kept for its data, drawn by its twin
        lane.append(marker);
        continue;
      }
      const near = placed[side].filter(([x]) => Math.abs(x - left) < LABEL_WIDTH_PERCENT);
      let level = 0;
      while (near.some(([, l]) => l === level)) level++;  // stack labels that would overlap
      placed[side].push([left, level]);
      marker.textContent = label;
      marker.style.cssText = `left: ${left}%; --level: ${level}`;
      shown.set(`${side}/${offset}`, marker);
      lane.append(marker);
    }
    // Room for however many rows of labels were stacked on each side.
    const levels = (side) => 1 + Math.max(0, ...placed[side].map(([, l]) => l));
    track.style.paddingTop = `${levels("above") * 1.1 + 0.2}rem`;
    track.style.paddingBottom = `${levels("below") * 1.1 + 0.2}rem`;
    wrap.append(track);
    return wrap;
  }

  // A small run: each cell is a record (or a range of them) coloured by its fate for `g`.
  function fateRow(frame, p, part, g, labelled, size, cells, per) {
    const row = el("div", { class: "cells fates" });
    if (g) row.dataset.group = g.group;
    if (labelled && g) row.append(el("span", { class: "row-label" }, g.group));
    for (let k = 0; k < cells; k++) {
      const first = Math.floor(k * per);
      const last = Math.max(first, Math.floor((k + 1) * per) - 1);
      let best = { fate: "future" };
      let entry = null;
      for (let o = first; o <= last; o++) {
        const e = entryAt(part, o, frame.t);
        if (!e) continue;
        const f = fateOf(e, frame.t, p, g && g.group, g && g.committed);
        if (FATE_ORDER.indexOf(f.fate) < FATE_ORDER.indexOf(best.fate)) { best = f; entry = e; }
      }
      const span = per > 1 ? `offsets ${first}–${last}` : `offset ${first}`;
      let text = FATE_TEXT[best.fate];
      if (best.fate === "progress") text += ` by ${best.who}${best.risk ? " — the committed offset is already past it" : ""}`;
      if (best.fate === "several") text = `processed ${best.times} times`;
      const txn = txnCell(p, first, last);
      if (txn.marker && !entry) { best = { fate: "marker" }; text = txn.text; }
      const attrs = {
        class: `cell f-${best.fate}${best.risk ? " at-risk" : ""}${txn.aborted ? " aborted" : ""}`,
        "data-offset": String(first), "data-fate": best.fate,
        title: `${span}${entry ? ` · ${entry.id}` : ""}${g ? ` · ${g.group}` : ""}: ${text}${txn.aborted ? " · in an aborted transaction (read_committed readers skip it)" : ""}`,
      };
      if (txn.aborted) attrs["data-aborted"] = "true";
      if (entry) Object.assign(attrs, recordAttrs(`${p.topic}-${p.partition}|${g ? g.group : ""}|${first}`, entry.id, attrs.title));
      const cell = el("span", attrs);
      if (per === 1 && cells <= 40) cell.textContent = String(first);
      row.append(cell);
    }
    return row;
  }

  // A cell's transaction marks: a commit/abort marker (a control record: it takes an
  // offset and is never delivered) or records of an aborted transaction.
  function txnCell(p, first, last) {
    const out = { marker: null, aborted: false, text: "" };
    for (const [offset, kind] of p.markers || []) {
      if (offset >= first && offset <= last) {
        out.marker = kind;
        out.text = `${kind} marker: a control record — it takes an offset, no consumer receives it`;
      }
    }
    for (const [a, b] of p.aborted || []) if (a <= last && first < b) out.aborted = true;
    return out;
  }

  // Acknowledged records that have left the log, at the offsets they had.
  function lostRow(lost, size, name) {
    const row = el("div", { class: "lost-row", "aria-label": "acknowledged, then lost" });
    for (const e of lost) {
      const title = `${e.id} was at offset ${e.o}, acknowledged at ${e.tAck} ms, gone from the log at ${e.tOut} ms`;
      row.append(el("span", {
        class: "ghost", "data-offset": String(e.o), "data-fate": "lost", title,
        style: `left: ${(100 * e.o) / size}%; width: ${Math.max(100 / size, 0.6)}%`,
        ...recordAttrs(`${name}|lost|${e.o}`, e.id, title),
      }, size <= 40 ? "×" : ""));
    }
    return row;
  }

  // A big run (no per-record fates): each cell a range of offsets, its fate for the group
  // read off the frame's offsets — expired below the log start; below the committed offset
  // (processed, or skipped: the ledger counts which); between the committed offset and the
  // position: in progress by the partition's owner (fetched, not committed); unread below
  // the HW; above it.
  function rangeRow(p, g, labelled, cells, per) {
    const row = el("div", { class: "cells fates ranges" });
    if (g) row.dataset.group = g.group;
    if (labelled && g) row.append(el("span", { class: "row-label" }, g.group));
    const committed = g && g.committed !== null ? g.committed : -1;
    const position = g && g.position !== null ? g.position : committed;
    for (let k = 0; k < cells; k++) {
      const first = Math.floor(k * per);
      const last = Math.max(first, Math.floor((k + 1) * per) - 1);
      let fate = "future", text = "not written yet";
      if (first >= p.leo) { /* future */ } else if (last < p.log_start) { fate = "expired"; text = FATE_TEXT.expired; }
      else if (last < committed) { fate = "committed"; text = "below the committed offset: processed, or skipped (the ledger counts which)"; }
      else if (g && first < position && g.consumer) { fate = "progress"; text = `in progress by ${g.consumer} (fetched, not committed)`; }
      else if (first < p.hw) { fate = "unread"; text = FATE_TEXT.unread; }
      else { fate = "above-hw"; text = FATE_TEXT["above-hw"]; }
      const span = per > 1 ? `offsets ${first}–${last}` : `offset ${first}`;
      const txn = txnCell(p, first, last);
      if (txn.marker && per === 1) { fate = "marker"; text = txn.text; }
      const cell = el("span", {
        class: `cell f-${fate}${txn.aborted ? " aborted" : ""}`, "data-offset": String(first), "data-fate": fate,
        title: `${span}${g ? ` · ${g.group}` : ""}: ${text}${txn.aborted ? " · in an aborted transaction" : ""}`,
      });
      if (per === 1 && cells <= 40) cell.textContent = String(first);
      row.append(cell);
    }
    return row;
  }

  // The keyboard in the strips: ← → the previous/next record in its row, ↑ ↓ the nearest
  // record in the row above/below, Home/End the row's first/last, Enter or Space its story.
  function recordRows() {
    return [...strips.querySelectorAll(".cells, .lost-row")].filter((row) => row.querySelector("[data-message]"));
  }
  function focusRecord(next) {
    if (!next) return;
    for (const other of strips.querySelectorAll('[data-message][tabindex="0"]')) other.tabIndex = -1;
    next.tabIndex = 0;
    state.recordKey = next.dataset.key;
    next.focus();
  }
  function stripKeys(event) {
    const cell = event.target.closest("[data-message]");
    if (!cell || event.ctrlKey || event.metaKey || event.altKey) return;
    const rows = recordRows();
    const row = cell.parentElement;
    const inRow = [...row.querySelectorAll("[data-message]")];
    const k = inRow.indexOf(cell);
    const nearest = (r) => {
      const items = [...r.querySelectorAll("[data-message]")];
      const o = Number(cell.dataset.offset);
      return items.reduce((best, x) => (Math.abs(Number(x.dataset.offset) - o) < Math.abs(Number(best.dataset.offset) - o) ? x : best));
    };
    const r = rows.indexOf(row);
    const act = {
      ArrowRight: () => focusRecord(inRow[k + 1]), ArrowLeft: () => focusRecord(inRow[k - 1]),
      ArrowDown: () => { if (rows[r + 1]) focusRecord(nearest(rows[r + 1])); },
      ArrowUp: () => { if (r > 0) focusRecord(nearest(rows[r - 1])); },
      Home: () => focusRecord(inRow[0]), End: () => focusRecord(inRow[inRow.length - 1]),
      Enter: () => cell.click(), " ": () => cell.click(),
    }[event.key];
    if (!act) return;
    event.preventDefault();
    event.stopPropagation();  // not the player's shortcuts (arrows step, space plays)
    act();
  }
  strips.addEventListener("keydown", stripKeys);
  strips.addEventListener("focusin", (event) => {
    const cell = event.target.closest("[data-message]");
    if (cell) state.recordKey = cell.dataset.key;
  });

  // Clicking a record (in the strip) opens its story beside the strip.
  strips.addEventListener("click", (event) => {
    const cell = event.target.closest("[data-message]");
    if (!cell || !root.dataset.storyPath) return;
    const url = `${root.dataset.storyPath}?m=${encodeURIComponent(cell.dataset.message)}`;
    const target = document.getElementById("record-story");
    if (!target || !window.htmx) { location.href = url; return; }
    target.hidden = false;
    window.htmx.ajax("GET", url, { target: "#record-story", swap: "innerHTML" });
  });

  // The stage's cluster at a glance: each broker's state, each partition's leader and ISR.
  function drawStageCluster(frame) {
    const list = document.querySelector(".cluster-now");
    if (!list) return;
    const items = frame.brokers.map((b) => {
      const st = !b.alive ? "dead" : b.fenced ? "fenced" : b.isolated ? "isolated" : "alive";
      const leads = frame.partitions.filter((p) => p.leader === b.id).map((p) => `${p.topic}-${p.partition}`);
      const li = el("li", { "data-broker": String(b.id) });
      li.append(el("b", {}, `broker-${b.id}`), el("span", { class: "bstate", "data-state": st }, st));
      if (leads.length) li.append(el("span", { class: "leads" }, `leads ${leads.join(", ")}`));
      return li;
    });
    for (const p of frame.partitions) {
      const li = el("li", { "data-partition": `${p.topic}-${p.partition}` });
      const leader = p.leader === null ? "offline" : `leader ${p.leader}`;
      const lso = p.lso !== undefined && p.lso !== p.hw ? ` · LSO ${p.lso}` : "";
      li.append(el("code", {}, `${p.topic}-${p.partition}`), document.createTextNode(
        ` ${leader} · ISR [${p.isr.join(", ")}] · epoch ${p.epoch} · HW ${p.hw}${lso}`));
      items.push(li);
    }
    // each transactional.id's coordinator (the leader of its __transaction_state partition)
    for (const c of frame.transactions || []) {
      const li = el("li", { "data-txn-coordinator": c.transactional_id });
      li.append(el("b", {}, "transaction coordinator"), document.createTextNode(
        ` of ${c.transactional_id}: ${c.coordinator} · ${c.state} · producer epoch ${c.epoch}`));
      items.push(li);
    }
    list.replaceChildren(...items);
  }

  function drawConsumers(frame) {
    for (const c of frame.consumers) {
      const item = document.querySelector(`[data-consumer="${CSS.escape(c.id)}"]`);
      if (!item) continue;
      const badge = item.querySelector(".state");
      badge.dataset.state = c.state;
      badge.textContent = c.offset === null ? c.state : `${c.state} @ ${c.offset}`;
    }
  }

  function drawGroups(frame) {
    const body = document.querySelector("table.describe.live tbody");
    if (!body) return;
    const hw = Object.fromEntries(frame.partitions.map((p) => [`${p.topic}-${p.partition}`, p.hw]));
    const dash = (v) => (v === null || v === undefined ? "-" : String(v));
    body.replaceChildren(...frame.groups.map((g) => {
      const tr = el("tr");
      for (const v of [g.group, g.topic, g.partition, dash(g.committed), hw[`${g.topic}-${g.partition}`],
        dash(g.lag), dash(g.position), dash(g.consumer)]) tr.append(el("td", {}, String(v)));
      return tr;
    }));
  }

  // The event log up to the step. Stepping forward appends the new frame's events (the
  // log is not rebuilt); a jump rebuilds it. The stage's log (.newest-first) holds its
  // newest event first and shows it at the bottom (column-reverse), so it stays scrolled
  // to the latest without a forced layout per step.
  let eventsDrawn = -1;
  function eventItems(frame) {
    const items = frame.skipped_events ? [eventItem({ t: frame.t, text: `… ${frame.skipped_events} more events`, skipped: true })] : [];
    for (const e of frame.events) items.push(eventItem(e));
    return items;
  }

  function eventItem(e) {
    const li = el("li", e.injected ? { class: "injected" } : e.skipped ? { class: "skipped" } : {});
    li.append(el("span", { class: "t" }, `${e.t} ms`), document.createTextNode(` ${e.text}`));
    if (e.injected) li.append(document.createTextNode(" "), el("em", { class: "tag" }, "injected"));
    return li;
  }

  function drawEvents() {
    const list = document.getElementById("events");
    if (!list || state.step === eventsDrawn) return;
    const newestFirst = list.classList.contains("newest-first");
    let items = [];
    if (eventsDrawn >= 0 && state.step > eventsDrawn && state.step - eventsDrawn <= 20) {
      for (let k = eventsDrawn + 1; k <= state.step; k++) items.push(...eventItems(state.frames[k]));
      if (newestFirst) list.prepend(...items.reverse());
      else list.append(...items);
    } else {
      for (let k = state.step; k >= 0 && items.length < EVENT_LOG_LIMIT; k--) items.unshift(...eventItems(state.frames[k]));
      items = items.slice(-EVENT_LOG_LIMIT);
      list.replaceChildren(...(newestFirst ? items.reverse() : items));
    }
    while (list.children.length > EVENT_LOG_LIMIT) (newestFirst ? list.lastElementChild : list.firstElementChild).remove();
    eventsDrawn = state.step;
    if (!newestFirst) list.scrollTop = list.scrollHeight;
  }

  // --- the chart ---------------------------------------------------------------------------------

  // Plotly renders a subset of HTML in trace names, titles, annotations and hover text
  // (<a href>, <b>, <br>), and a group id, topic or scenario name may hold any text: & < >
  // become entities, which Plotly shows as the characters (it splits tags before decoding).
  const inert = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const inertAll = (value) => (Array.isArray(value) ? value.map(inert) : inert(value));

  // Plotly.newPlot with every text field that may carry a visitor's words made inert.
  // (hovertemplate is ours alone: it keeps its <extra></extra>.)
  function plot(div, traces, layout, config) {
    const TRACE_TEXT = ["name", "text", "hovertext"];
    for (const trace of traces) {
      for (const key of TRACE_TEXT) if (typeof trace[key] === "string" || Array.isArray(trace[key])) trace[key] = inertAll(trace[key]);
    }
    for (const note of layout.annotations || []) {
      if (note.text !== undefined) note.text = inert(note.text);
      if (note.hovertext !== undefined) note.hovertext = inert(note.hovertext);
    }
    for (const [key, value] of Object.entries(layout)) {
      if (!/^(title|[xy]axis\d*)$/.test(key) || !value) continue;
      if (key === "title" && typeof value === "string") layout.title = inert(value);
      if (value.title && typeof value.title.text === "string") value.title.text = inert(value.title.text);
      if (Array.isArray(value.ticktext)) value.ticktext = value.ticktext.map(inert);
    }
    return window.Plotly.newPlot(div, traces, layout, config);
  }

  // A whole-number tick step giving about five ticks up to `max` (counts and offsets are
  // integers: no 0.667 ticks).
  function integerAxis(max) {
    const raw = Math.max(1, max) / 5;
    const pow = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * pow).find((v) => v >= raw);
    return { dtick: Math.max(1, Math.round(step)), tick0: 0, tickformat: "d", rangemode: "tozero" };
  }
  const maxOf = (lists) => Math.max(0, ...lists.flat().filter((v) => v !== null && v !== undefined));

  // Where the story happens: around the first caption that is not a rebalance, padded by a
  // tenth of the run; null when that is most of the run anyway.
  function storyWindow() {
    const tEnd = state.meta.t_end;
    const keys = state.captions.filter((c) => c.kind !== "rebalance").map((c) => c.t);
    if (!keys.length || tEnd <= 0) return null;
    const pad = Math.max(2000, tEnd / 10);
    const within = keys.filter((t) => t <= keys[0] + 2 * pad);
    let lo = keys[0] - pad;
    if (lo < tEnd / 4) lo = 0;
    const hi = Math.min(tEnd, within[within.length - 1] + pad);
    return hi - lo > 0.7 * tEnd ? null : [lo, hi];
  }

  const zoomButtons = root.querySelectorAll("[data-zoom]");
  function setZoom(mode) {
    const range = mode === "story" ? state.window : null;
    chart.dataset.zoom = range ? "story" : "full";
    for (const b of zoomButtons) b.setAttribute("aria-pressed", String(b.dataset.zoom === chart.dataset.zoom));
    if (!chart.dataset.drawn) return;
    window.Plotly.relayout(chart, range ? { "xaxis.range": range } : { "xaxis.autorange": true });
  }
  for (const b of zoomButtons) b.addEventListener("click", () => setZoom(b.dataset.zoom));

  function drawChart() {
    if (!painted.done) return afterFirstFrame(drawChart);
    if (!window.Plotly || !state.meta || !state.meta.series || chart.dataset.drawn) return;
    const s = state.meta.series;
    const traces = [];
    for (const [name, p] of Object.entries(s.partitions)) {
      traces.push({ x: s.t, y: p.hw, name: `${name} HW`, line: { shape: "hv", width: 2 } });
      traces.push({ x: s.t, y: p.leo, name: `${name} LEO`, line: { shape: "hv", dash: "dot" } });
    }
    for (const [name, g] of Object.entries(s.groups)) {
      traces.push({ x: s.t, y: g.committed, name: `${name} committed`, line: { shape: "hv", width: 2 } });
      traces.push({ x: s.t, y: g.position, name: `${name} position`, line: { shape: "hv", dash: "dash" } });
      traces.push({ x: s.t, y: g.lag, name: `${name} lag`, yaxis: "y2", type: "scatter", fill: "tozeroy",
        line: { shape: "hv", width: 0 }, opacity: 0.3 });
    }
    const offsets = maxOf(Object.values(s.partitions).map((p) => p.leo));
    const lags = maxOf(Object.values(s.groups).map((g) => g.lag));
    state.window = storyWindow();
    // The legend sits in the bottom margin, under the axis title: one row, or on a narrow
    // screen about one row per line, the figure growing by those rows (a legend placed by
    // the plot's height touched the title, and on a phone its wrapped rows climbed over it).
    const legend = traces.length <= LEGEND_MAX_TRACES;
    const rows = legend ? (chart.clientWidth < NARROW_CHART_PX ? traces.length : 1) : 0;
    const layout = {
      // shorter under three or more strips, so that the stage still fits one screen
      margin: { l: 50, r: 50, t: 10, b: 36 + (rows ? 24 + rows * LEGEND_ROW_PX : 0) },
      height: (Object.keys(s.partitions).length > 2 ? 206 : 236) + rows * LEGEND_ROW_PX,
      xaxis: { title: { text: "simulated time (ms)" }, ...(state.window ? { range: state.window } : {}) },
      yaxis: { title: { text: "offset" }, ...integerAxis(offsets) },
      yaxis2: { title: { text: "lag" }, overlaying: "y", side: "right", showgrid: false, ...integerAxis(lags) },
      legend: { orientation: "h", yref: "container", y: 0, yanchor: "bottom" },
      showlegend: legend,
    };
    for (const trace of traces) trace.mode = "lines";
    plot(chart, traces, layout, { displayModeBar: false, responsive: true });
    chart.dataset.drawn = "true";
    chart.dataset.zoom = state.window ? "story" : "full";
    for (const b of zoomButtons) {
      b.hidden = !state.window;
      b.setAttribute("aria-pressed", String(b.dataset.zoom === chart.dataset.zoom));
    }
    attachCursor(chart);  // at the step shown: the chart may come after the first steps
    placeCursor(chart);
    chartTable(s);
  }

  // The chart's text alternative (#chart-table, for screen readers): every line's value at
  // the start, at each moment a caption tells, and at the end.
  function chartTable(s) {
    const table = document.getElementById("chart-table");
    if (!table || !s.t.length) return;
    const moments = [0, ...state.captions.filter((c) => c.kind !== "rebalance").slice(0, 6).map((c) => c.t), s.t[s.t.length - 1]];
    const at = (t) => { let k = 0; while (k + 1 < s.t.length && s.t[k + 1] <= t) k++; return k; };
    const columns = [];
    for (const [name, p] of Object.entries(s.partitions)) columns.push([`${name} HW`, p.hw], [`${name} LEO`, p.leo]);
    for (const [name, g] of Object.entries(s.groups)) columns.push([`${name} committed`, g.committed], [`${name} lag`, g.lag]);
    const head = el("tr");
    head.append(el("th", { scope: "col" }, "time (ms)"), ...columns.map(([label]) => el("th", { scope: "col" }, label)));
    const rows = [...new Set(moments)].map((t) => {
      const k = at(t);
      const tr = el("tr");
      tr.append(el("th", { scope: "row" }, String(t)), ...columns.map(([, values]) => el("td", {}, values[k] === null ? "–" : String(values[k]))));
      return tr;
    });
    table.querySelector("tbody").replaceChildren(head, ...rows);
  }

  // The cursor is an element over the plot, moved with a transform: moving it never makes
  // Plotly lay the figure out again (that was most of a step's time at 100×).
  function placeCursor(div) {
    const layout = div._fullLayout;
    const line = div.querySelector(":scope > .cursor-line");
    if (!layout || !layout.xaxis || !line) return;
    const xa = layout.xaxis;
    const t = Number(div.dataset.cursor || 0);
    const x = xa._offset + xa.l2p(t);
    const inside = x >= xa._offset - 0.5 && x <= xa._offset + xa._length + 0.5;
    line.hidden = !inside;
    line.style.top = `${layout._size.t}px`;
    line.style.height = `${layout._size.h}px`;
    line.style.transform = `translateX(${x}px)`;
    line.dataset.t = String(t);
    // "No spoilers" (predict.js): a veil over what the chart shows after the step
    const veil = div.querySelector(":scope > .future-mask");
    if (veil) {
      const left = Math.max(x, xa._offset);
      veil.style.top = line.style.top;
      veil.style.height = line.style.height;
      veil.style.transform = `translateX(${left}px)`;
      veil.style.width = `${Math.max(0, xa._offset + xa._length - left)}px`;
    }
  }

  function attachCursor(div) {
    if (div.querySelector(":scope > .cursor-line")) return;
    div.classList.add("has-cursor");
    div.append(el("div", { class: "cursor-line", "aria-hidden": "true" }));
    div.append(el("div", { class: "future-mask", "aria-hidden": "true" }));
    div.on("plotly_afterplot", () => placeCursor(div));  // zoom, resize, redraw
  }

  let cursorPending = false;
  function moveCursor(t) {
    chart.dataset.cursor = String(t);
    if (!chart.dataset.drawn) drawChart();
    if (!chart.dataset.drawn) return;
    // Playing past the story window: show the whole run.
    if (chart.dataset.zoom === "story" && state.window && t > state.window[1]) setZoom("full");
    if (cursorPending) return;
    cursorPending = true;  // at most one placement per animation frame, however fast we play
    requestAnimationFrame(() => {
      cursorPending = false;
      attachCursor(chart);
      placeCursor(chart);
    });
  }

  // --- shared with the panels ------------------------------------------------------------------

  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf"];
  window.Playground = {
    el,
    plot,  // use instead of Plotly.newPlot: user text in names and labels stays text
    afterFirstFrame,  // draw a chart once the player's first step is on screen
    inert,
    colour: (k) => PALETTE[k % PALETTE.length],  // partition k's colour, everywhere
    // A placeholder for shapes[0] (the panels index their shapes after it); the cursor
    // itself is an element over the plot (moveCursor), never a relayout.
    cursor: (t) => ({ type: "line", x0: t, x1: t, yref: "paper", y0: 0, y1: 1, visible: false }),
    // Moves the cursor line over a drawn Plotly chart, at most once per animation frame.
    moveCursor(div, t) {
      div.dataset.cursor = String(t);
      if (!div.dataset.drawn || div.dataset.cursorPending) return;
      div.dataset.cursorPending = "true";
      requestAnimationFrame(() => {
        delete div.dataset.cursorPending;
        attachCursor(div);
        placeCursor(div);
      });
    },
    chartConfig: { displayModeBar: false, responsive: true },
  };

  window.addEventListener("load", drawChart);  // plotly.js may load after the first frames
  // Connect at once: this is the first deferred script, so the websocket's handshake and the
  // server's first chunks overlap plotly.js's evaluation (100-800 ms after a "crash here",
  // bench/browser.py). Messages are acknowledged as they come and read once every deferred
  // panel script has run and listens for the player's events (DOMContentLoaded).
  connect();
})();
