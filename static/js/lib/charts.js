// Plotly helpers shared by the charts (plotly.js is the vendored classic script,
// static/vendor/plotly-basic.min.js: run by afterFirstFrame's loader below, read as
// window.Plotly, never imported).
//
// - plot(): Plotly.newPlot with every visitor-chosen text made inert;
// - moveCursor(): the one cursor line over a drawn chart, at most once per animation frame;
// - afterFirstFrame(): draw a chart once the player's first step is on screen.
import { el } from "./dom.js";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf"];

// Partition k's colour, everywhere.
export const colour = (k) => PALETTE[k % PALETTE.length];

export const chartConfig = { displayModeBar: false, responsive: true };

// A placeholder for shapes[0] (the panels index their shapes after it); the cursor itself
// is an element over the plot (moveCursor), never a relayout.
export const cursor = (t) => ({ type: "line", x0: t, x1: t, yref: "paper", y0: 0, y1: 1, visible: false });

// The charts (Plotly: 100–450 ms each for a big run) are drawn once the first step is on
// screen, not before it: `afterFirstFrame(fn)` runs `fn` after the player has called
// `firstFramePainted()` (an animation frame, then a task, after its first step) and plotly.js
// has run, or at once if both have happened.
//
// plotly.js itself is not on the first frame's path either: the page only preloads it
// (`<link rel="preload" as="script" data-plotly>`, so it downloads in parallel) and it is
// run here, after the first frame. As a deferred <script> it held DOMContentLoaded, which the
// stream waits for, and the main thread (the websocket's open event) for its evaluation:
// 30 ms warm, 180 ms cold of a 0.9 s first frame (Chromium trace, bench/browser.py).
const painted = { frame: false, plotly: false, waiting: [] };
function flush() {
  if (!painted.frame || !painted.plotly) return;
  for (const fn of painted.waiting.splice(0)) fn();
}
function plotlyRan() {
  performance.mark("charts:plotly");  // for bench/browser.py and the browser tests
  painted.plotly = true;
  flush();
}
function runPlotly() {
  const link = document.querySelector("link[data-plotly]");
  if (window.Plotly || !link) return plotlyRan();  // no link: the panels find no Plotly, as before
  const script = document.createElement("script");
  script.src = link.href;
  script.addEventListener("load", plotlyRan, { once: true });
  document.head.append(script);
}
export function afterFirstFrame(fn) {
  if (painted.frame && painted.plotly) fn();
  else if (!painted.waiting.includes(fn)) painted.waiting.push(fn);
}
export function firstFramePainted() {
  if (painted.frame) return;
  painted.frame = true;
  runPlotly();
}

// Plotly renders a subset of HTML in trace names, titles, annotations and hover text
// (<a href>, <b>, <br>), and a group id, topic or scenario name may hold any text: & < >
// become entities, which Plotly shows as the characters (it splits tags before decoding).
export const inert = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const inertAll = (value) => (Array.isArray(value) ? value.map(inert) : inert(value));

// Plotly.newPlot with every text field that may carry a visitor's words made inert.
// (hovertemplate is ours alone: it keeps its <extra></extra>.)
export function plot(div, traces, layout, config) {
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
// integers: no 0.667 ticks), their thousands grouped as the page writes counts (150,000).
export function integerAxis(max) {
  const raw = Math.max(1, max) / 5;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((v) => v >= raw);
  return { dtick: Math.max(1, Math.round(step)), tick0: 0, tickformat: ",d", rangemode: "tozero" };
}

// --- a horizontal legend's rows ---------------------------------------------------------------

// Plotly's horizontal legend (plotly.js src/components/legend/draw.js, computeLegendDimensions;
// constants.js): each item is its symbol (itemwidth 30 + 2 × itemGap 5) then its text in the
// legend font (12 px, the layout's family); all items in one row when they fit the plot
// area's width, else a grid of columns as wide as the widest item, each row about 19 px
// (max(line height, 16) + 3).
const LEGEND_SYMBOL_PX = 40;
const LEGEND_GAP_PX = 5;
const LEGEND_FONT = '12px "Open Sans", verdana, arial, sans-serif';
const FALLBACK_CHAR_PX = 7;  // a generous average where no canvas measures text

let measurer = null;
function textWidth(text) {
  if (measurer === null) measurer = document.createElement("canvas").getContext("2d") || false;
  if (!measurer) return text.length * FALLBACK_CHAR_PX;
  measurer.font = LEGEND_FONT;
  return measurer.measureText(text).width;
}

// How many rows a horizontal legend of these names takes in a plot area `width` px wide.
export function legendRows(names, width, measure = textWidth) {
  if (!names.length) return 0;
  const items = names.map((name) => LEGEND_SYMBOL_PX + measure(name));
  const oneRow = items.reduce((sum, w) => sum + w, 0) + (items.length - 1) * LEGEND_GAP_PX;
  if (oneRow < width) return 1;
  const column = Math.max(...items) + LEGEND_GAP_PX;
  const perRow = Math.max(1, Math.floor((width + LEGEND_GAP_PX) / column));
  return Math.ceil(items.length / perRow);
}

// A horizontal legend under the x axis title, in the figure's bottom margin: the margin and
// the figure grow by its rows (a legend given too few rows climbs over the axis title, and
// a legend left to Plotly's automargin squeezes the plot instead).
const LEGEND_ROW_PX = 20;  // a legend row (Plotly: 19 px at 12 px type), with a pixel to spare
export const LEGEND_UNDER = { orientation: "h", yref: "container", y: 0, yanchor: "bottom" };

// The bottom margin and height of `div`'s figure for a legend of `names` (null: none) at
// the div's width now; `margin.b` holds the x axis's ticks and title.
export function legendFit(div, names, margin, baseHeight) {
  const plotWidth = Math.max(0, div.clientWidth - margin.l - margin.r);
  const rows = names ? legendRows(names, plotWidth) : 0;
  return { rows, b: margin.b + (rows ? 24 + rows * LEGEND_ROW_PX : 0), height: baseHeight + rows * LEGEND_ROW_PX };
}

// A wider or narrower chart (a window resized, a phone turned, an iframe's column): the
// legend's rows counted again by `fit()` (legendFit's answer, or null: no legend), at most
// once an animation frame, and the figure laid out again when they change. Plotly's
// relayout of `height` pins `width` too (plotly.js plot_api.js _relayout sets the other
// size, and Plots.resize then skips a figure with both), so once refitted, every later
// width change is relayed here with the width.
export function refitLegendOnResize(div, fit) {
  let frame = 0;
  let pinned = null;  // the width given to Plotly, once the legend was refitted
  new ResizeObserver(() => {
    if (frame || !div.dataset.drawn) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      const width = div.clientWidth;
      const f = width ? fit() : null;  // hidden: refitted when shown again
      if (!f || (String(f.rows) === div.dataset.legendRows && (pinned === null || pinned === width))) return;
      div.dataset.legendRows = String(f.rows);
      pinned = width;
      window.Plotly.relayout(div, { "margin.b": f.b, height: f.height, width });
    });
  }).observe(div);
}

export const maxOf = (lists) => Math.max(0, ...lists.flat().filter((v) => v !== null && v !== undefined));

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

// Moves the cursor line over a drawn Plotly chart to simulated time t, at most once per
// animation frame however fast the player plays; before the chart is drawn it only keeps t.
export function moveCursor(div, t) {
  div.dataset.cursor = String(t);
  if (!div.dataset.drawn || div.dataset.cursorPending) return;
  div.dataset.cursorPending = "true";
  requestAnimationFrame(() => {
    delete div.dataset.cursorPending;
    attachCursor(div);
    placeCursor(div);
  });
}
