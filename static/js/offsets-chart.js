// The player's offsets chart (#chart): per partition its HW and LEO, per group its
// committed offset, position and lag over simulated time, with the step's cursor; zoomed
// on "where it happens" (the captions' story window) until playing goes past it. Its text
// alternative is the table #chart-table.
import { el } from "./lib/dom.js";
import { LEGEND_UNDER, afterFirstFrame, integerAxis, legendFit, maxOf, moveCursor, plot, refitLegendOnResize } from "./lib/charts.js";
import { focusedNames } from "./lib/focus.js";
import { onPlayer } from "./lib/frames.js";

const LEGEND_MAX_TRACES = 12;   // beyond this the legend hides the chart; hover names lines
const MARGIN = { l: 50, r: 50, t: 10, b: 36 };  // b: the x axis's ticks and title

// Where the story happens: around the first caption that is not a rebalance, padded by a
// tenth of the run; null when that is most of the run anyway.
function storyWindow(meta, captions) {
  const tEnd = meta.t_end;
  const keys = captions.filter((c) => c.kind !== "rebalance").map((c) => c.t);
  if (!keys.length || tEnd <= 0) return null;
  const pad = Math.max(2000, tEnd / 10);
  const within = keys.filter((t) => t <= keys[0] + 2 * pad);
  let lo = keys[0] - pad;
  if (lo < tEnd / 4) lo = 0;
  const hi = Math.min(tEnd, within[within.length - 1] + pad);
  return hi - lo > 0.7 * tEnd ? null : [lo, hi];
}

// The chart's text alternative (#chart-table, for screen readers): every line's value at
// the start, at each moment a caption tells, and at the end.
function chartTable(s, captions, focused) {
  const table = document.getElementById("chart-table");
  if (!table || !s.t.length) return;
  const moments = [0, ...captions.filter((c) => c.kind !== "rebalance").slice(0, 6).map((c) => c.t), s.t[s.t.length - 1]];
  const at = (t) => { let k = 0; while (k + 1 < s.t.length && s.t[k + 1] <= t) k++; return k; };
  const columns = [];
  for (const [name, p] of Object.entries(s.partitions)) {
    if (!focused || focused.has(name)) columns.push([`${name} HW`, p.hw], [`${name} LEO`, p.leo]);
  }
  for (const [name, g] of Object.entries(s.groups)) {
    if (!focused || focused.has(name.slice(name.indexOf("/") + 1))) columns.push([`${name} committed`, g.committed], [`${name} lag`, g.lag]);
  }
  if (focused) for (const [group, lag] of groupTotals(s)) columns.push([`${group} total lag`, lag]);
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

// Each line's partition (null: a group's total), in the order of traces().
function linePartitions(s, wide) {
  const out = [];
  for (const name of Object.keys(s.partitions)) out.push(name, name);
  for (const name of Object.keys(s.groups)) out.push(...Array(3).fill(name.slice(name.indexOf("/") + 1)));
  if (wide) for (const _ of groupTotals(s)) out.push(null);
  return out;
}

// Per group, its lag summed over its partitions (a wide topic's "group total").
function groupTotals(s) {
  const totals = new Map();
  for (const [name, g] of Object.entries(s.groups)) {
    const group = name.slice(0, name.indexOf("/"));
    const sum = totals.get(group) || s.t.map(() => 0);
    g.lag.forEach((v, k) => { sum[k] += v || 0; });
    totals.set(group, sum);
  }
  return [...totals.entries()];
}

// A wide topic (meta.focus) also draws each group's total lag; the lines of partitions
// outside the focus (lib/focus.js) are hidden until the focus bar's "show all": 300 lines
// of a 60-partition topic drown the ones that tell the story.
function traces(s, focused, wide) {
  const out = [];
  for (const [name, p] of Object.entries(s.partitions)) {
    out.push({ x: s.t, y: p.hw, name: `${name} HW`, line: { shape: "hv", width: 2 } });
    out.push({ x: s.t, y: p.leo, name: `${name} LEO`, line: { shape: "hv", dash: "dot" } });
  }
  for (const [name, g] of Object.entries(s.groups)) {
    out.push({ x: s.t, y: g.committed, name: `${name} committed`, line: { shape: "hv", width: 2 } });
    out.push({ x: s.t, y: g.position, name: `${name} position`, line: { shape: "hv", dash: "dash" } });
    out.push({ x: s.t, y: g.lag, name: `${name} lag`, yaxis: "y2", type: "scatter", fill: "tozeroy",
      line: { shape: "hv", width: 0 }, opacity: 0.3 });
  }
  if (wide) {
    for (const [group, lag] of groupTotals(s)) {
      out.push({ x: s.t, y: lag, name: `${group} total lag`, yaxis: "y2", line: { shape: "hv", width: 2, color: "#c62828" } });
    }
  }
  const parts = linePartitions(s, wide);
  out.forEach((trace, k) => {
    trace.mode = "lines";
    trace.visible = !focused || parts[k] === null || focused.has(parts[k]);
  });
  return out;
}

// Mounts the chart in the player `root`; returns what the player's shortcuts use.
export function mountOffsetsChart(root) {
  const chart = root.querySelector(".chart");
  const zoomButtons = root.querySelectorAll("[data-zoom]");
  let meta = null;
  let captions = [];
  let story = null;  // the story window [from, to] in ms, or null
  let legendNames = null;  // the legend's names (null: no legend, too many lines)
  let baseHeight = 236;    // the figure's height without its legend rows

  // The legend's rows at the chart's width now (lib/charts.js legendFit): shorter under
  // three or more strips, so that the stage still fits one screen.
  const fit = () => legendFit(chart, legendNames, MARGIN, baseHeight);

  function setZoom(mode) {
    const range = mode === "story" ? story : null;
    chart.dataset.zoom = range ? "story" : "full";
    for (const b of zoomButtons) b.setAttribute("aria-pressed", String(b.dataset.zoom === chart.dataset.zoom));
    if (!chart.dataset.drawn) return;
    window.Plotly.relayout(chart, range ? { "xaxis.range": range } : { "xaxis.autorange": true });
  }
  for (const b of zoomButtons) b.addEventListener("click", () => setZoom(b.dataset.zoom));

  function draw() {
    if (!chart || !window.Plotly || !meta || !meta.series || chart.dataset.drawn) return;
    const s = meta.series;
    const focused = focusedNames(root, meta);
    const wide = Boolean(meta.focus);
    const lines = traces(s, focused, wide);
    const offsets = maxOf(Object.values(s.partitions).map((p) => p.leo));
    const lags = wide ? maxOf(groupTotals(s).map(([, lag]) => lag)) : maxOf(Object.values(s.groups).map((g) => g.lag));
    story = storyWindow(meta, captions);
    const drawn = lines.filter((line) => line.visible !== false);
    legendNames = drawn.length <= LEGEND_MAX_TRACES ? drawn.map((line) => line.name) : null;
    baseHeight = Object.keys(s.partitions).length > 2 ? 206 : 236;
    const legend = fit();
    chart.dataset.legendRows = String(legend.rows);
    const layout = {
      margin: { ...MARGIN, b: legend.b },
      height: legend.height,
      xaxis: { title: { text: "simulated time (ms)" }, ...(story ? { range: story } : {}) },
      yaxis: { title: { text: "offset" }, ...integerAxis(offsets) },
      yaxis2: { title: { text: "lag" }, overlaying: "y", side: "right", showgrid: false, ...integerAxis(lags) },
      legend: { ...LEGEND_UNDER },
      showlegend: Boolean(legendNames),
    };
    plot(chart, lines, layout, { displayModeBar: false, responsive: true });
    chart.dataset.drawn = "true";
    chart.dataset.zoom = story ? "story" : "full";
    for (const b of zoomButtons) {
      b.hidden = !story;
      b.setAttribute("aria-pressed", String(b.dataset.zoom === chart.dataset.zoom));
    }
    moveCursor(chart, Number(chart.dataset.cursor || 0));  // the chart may come after the first steps
    chartTable(s, captions, focused);
  }

  // The focus bar's "show all" / back (lib/focus.js): the partitions' lines shown or hidden.
  function refocus() {
    if (!chart || !chart.dataset.drawn || !meta || !meta.series) return;
    const focused = focusedNames(root, meta);
    const visible = linePartitions(meta.series, Boolean(meta.focus)).map((name) => !focused || name === null || focused.has(name));
    window.Plotly.restyle(chart, { visible }, visible.map((_, k) => k));
    chartTable(meta.series, captions, focused);
  }

  // The step's cursor; playing past the story window shows the whole run.
  function follow(t) {
    chart.dataset.cursor = String(t);
    afterFirstFrame(draw);
    if (!chart.dataset.drawn) return;
    if (chart.dataset.zoom === "story" && story && t > story[1]) setZoom("full");
    moveCursor(chart, t);
  }

  if (chart) {
    onPlayer(root, {
      meta(detail) { meta = detail.meta; captions = detail.captions; afterFirstFrame(draw); },
      step(detail) { follow(detail.frame.t); },
    });
    root.addEventListener("player:partitions", refocus);
    window.addEventListener("load", () => afterFirstFrame(draw));  // plotly.js may load after the first frames
    refitLegendOnResize(chart, () => (legendNames ? fit() : null));
  }
  return {
    toggleZoom() { if (chart) setZoom(chart.dataset.zoom === "story" ? "full" : "story"); },
    resize() { if (chart && chart.dataset.drawn) window.Plotly.Plots.resize(chart); },
  };
}
