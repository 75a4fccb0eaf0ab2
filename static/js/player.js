// The run player: its controls, and the step it shows. Loaded as a module by the scenario
// page and the embed; see docs/architecture.md for the map of static/js/.
//
// Frames come from the run's websocket stream (run-stream.js) and are kept in `frames` as
// they arrive, so the step being shown never changes under the reader's eyes. Showing a
// step announces it on the player's root: "player:meta", "player:step" and "player:end"
// (every frame is in), each with {meta, frames, step, frame, captions} in `detail`. The
// player's own panels (strips.js, offsets-chart.js, stage.js) are mounted here; the page's
// other panels (cluster.js, consumers.js, groups.js, metrics.js, producers.js) are modules
// of their own that listen to the same events.
import { typing } from "./lib/dom.js";
import { firstFramePainted } from "./lib/charts.js";
import { captionStepBetween, firstStepAt, sortedCaptions } from "./lib/frames.js";
import { mountOffsetsChart } from "./offsets-chart.js";
import { openRunStream } from "./run-stream.js";
import { mountStage } from "./stage.js";
import { mountStrips } from "./strips.js";

const BASE_FPS = 2;  // steps per second at 1×
// After a button "at this step" the new run opens where the old one was left.
const START_KEY = "playground:start-ms";
const PRESENTER_KEY = "playground:presenter";

function takeStartMs() {
  const value = sessionStorage.getItem(START_KEY);
  sessionStorage.removeItem(START_KEY);
  return value === null ? null : Number(value);
}

// Presenter mode: large type for a projector, remembered on this browser; ?presenter=1 in
// a link turns it on. Returns its toggle button (the "p" shortcut presses it).
function mountPresenter(root, resized) {
  const presenter = root.querySelector(".presenter-toggle") || document.createElement("button");
  function setPresenter(on) {
    document.body.classList.toggle("presenter", on);
    presenter.setAttribute("aria-pressed", String(on));
    try { localStorage.setItem(PRESENTER_KEY, on ? "1" : "0"); } catch (_) { /* private mode */ }
    resized();
  }
  presenter.addEventListener("click", () => setPresenter(!document.body.classList.contains("presenter")));
  const asked = new URLSearchParams(location.search).get("presenter");
  let stored = null;
  try { stored = localStorage.getItem(PRESENTER_KEY); } catch (_) { /* private mode */ }
  if (asked === "1" || (asked === null && stored === "1")) setPresenter(true);
  return presenter;
}

// Shortcuts work wherever the focus is, except where typing or choosing: space plays or
// pauses, ← → step, Home/End jump, [ ] change speed, c toggles pausing at captions, f the
// chart's full run, p presenter mode (`actions`, once `ready()`), ? the list of shortcuts.
function mountShortcuts(ready, actions) {
  const help = document.getElementById("shortcuts");
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    // Space keeps pressing a focused button, link or box outside the player's controls.
    if (event.key === " " && (event.target.matches("input[type=checkbox]")
        || (event.target.closest("button, a, summary") && !event.target.closest(".controls")))) return;
    if (help && !help.hidden && event.key === "Escape") { help.hidden = true; return; }
    const act = event.key === "?" ? () => { if (help) help.hidden = !help.hidden; }
      : ready() ? actions[event.key] : null;
    if (!act) return;
    event.preventDefault();  // no page scroll on space or arrows, no button press twice
    act();
  });
  for (const close of document.querySelectorAll("[data-close-shortcuts]")) close.addEventListener("click", () => { help.hidden = true; });
  for (const open of document.querySelectorAll("[data-open-shortcuts]")) open.addEventListener("click", () => { help.hidden = false; });
}

function mountPlayer(root) {
  const $ = (selector) => root.querySelector(selector);
  const buttons = {
    back: $('[data-action="back"]'), play: $('[data-action="play"]'), step: $('[data-action="step"]'),
  };
  const scrub = $(".scrub");
  const speed = $(".speed select");
  const pace = $(".pace select");
  const paceNote = $(".pace-note");
  const pauseAtCaptions = $(".pause-at-captions input");
  const counter = $(".counter");
  const status = $(".status");

  const state = {
    meta: null, captions: [], frames: [], step: 0, done: false, timer: null, clock: null, drawnOnce: false,
    // where to open: after a button, where it was pressed; else a link's ?at=<ms>
    startMs: takeStartMs() ?? (root.dataset.startMs ? Number(root.dataset.startMs) : null),
  };
  document.addEventListener("submit", (event) => {
    const at = event.target.querySelector(".at-ms, .at-step");
    if (at) sessionStorage.setItem(START_KEY, at.value);
  });

  // the player's own panels listen before anything is announced
  mountStrips(root);
  const chart = mountOffsetsChart(root);
  mountStage(root);

  function announce(name) {
    root.dispatchEvent(new CustomEvent(`player:${name}`, {
      detail: {
        meta: state.meta, frames: state.frames, step: state.step, frame: state.frames[state.step], captions: state.captions,
      },
    }));
  }

  const setStatus = (text) => { status.textContent = text; };

  // --- the stream's messages ----------------------------------------------------------------

  function receive(message) {
    if (message.type === "meta") {
      performance.mark("player:meta");
      state.meta = message;
      state.captions = sortedCaptions(message);
      root.dataset.total = String(message.total);
      if (message.error) setStatus(message.error);
      if (!message.total) firstFramePainted();  // nothing to show but the charts
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
      announce("end");
      show(startStep());
    }
  }

  // The step to show: where the reader is, or (once) the first frame at the start time.
  function startStep() {
    if (state.startMs === null) return state.step;
    const last = state.frames.length - 1;
    if (state.frames[last].t < state.startMs && !state.done) return state.step;
    const k = firstStepAt(state.frames, state.startMs);
    state.startMs = null;
    return k < 0 ? last : k;
  }

  // --- showing one step ---------------------------------------------------------------------

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
    drawNow(frame);
    announce("step");
  }

  // Every button "at this step" acts at the current simulated time.
  function drawNow(frame) {
    for (const input of document.querySelectorAll(".at-ms, .at-step")) input.value = String(frame.t);
    for (const out of document.querySelectorAll(".now-ms")) out.textContent = String(frame.t);
    for (const out of document.querySelectorAll(".now-step")) out.textContent = String(state.step);
  }

  // --- playing ------------------------------------------------------------------------------

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
    restartClock();
    state.timer = requestAnimationFrame(frameTick);
  }

  function pause() {
    if (state.timer !== null) cancelAnimationFrame(state.timer);
    state.timer = null;
    setPlaying(false);
  }

  function restartClock() {
    state.clock = { at: performance.now(), step: state.step, t: state.frames[state.step].t };
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
    const stop = pauseAtCaptions && pauseAtCaptions.checked
      ? captionStepBetween(state.frames, state.captions, state.step, target) : null;
    if (stop !== null) target = stop;
    if (target > state.step) show(target);
    if (stop !== null || (state.step >= last && state.done)) return pause();
    state.timer = requestAnimationFrame(frameTick);
  }

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
      if (root.dataset.playing === "true") restartClock();
    });
  }
  describePace();

  function nudgeSpeed(by) {
    const k = Math.max(0, Math.min(speed.options.length - 1, speed.selectedIndex + by));
    speed.selectedIndex = k;
    speed.dispatchEvent(new Event("change"));
  }

  buttons.play.addEventListener("click", () => (root.dataset.playing === "true" ? pause() : play()));
  buttons.step.addEventListener("click", () => { pause(); show(state.step + 1); });
  buttons.back.addEventListener("click", () => { pause(); show(state.step - 1); });
  scrub.addEventListener("input", () => { pause(); show(Number(scrub.value)); });

  const presenter = mountPresenter(root, () => chart.resize());
  mountShortcuts(() => state.frames.length > 0, {
    " ": () => buttons.play.click(), k: () => buttons.play.click(),
    ArrowRight: () => buttons.step.click(), ArrowLeft: () => buttons.back.click(),
    Home: () => { pause(); show(0); }, End: () => { pause(); show(state.frames.length - 1); },
    "]": () => nudgeSpeed(1), "[": () => nudgeSpeed(-1),
    c: () => { if (pauseAtCaptions) pauseAtCaptions.click(); },
    f: () => chart.toggleZoom(),
    p: () => presenter.click(),
  });

  // Connect at once: this is the first module of the page, so the websocket's handshake and
  // the server's first chunks overlap the other modules (plotly.js runs after the first
  // frame: lib/charts.js). Messages are acknowledged as they come and read once every
  // panel module has run and listens for the player's events (DOMContentLoaded).
  openRunStream(root.dataset.wsPath, { from: () => state.frames.length, onMessage: receive, onStatus: setStatus });
}

const root = document.getElementById("player");
if (root) mountPlayer(root);
