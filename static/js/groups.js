// Group view and lag dashboard (issue 4).
//
// At each step: per group its state, generation, lag, Burrow-style status and catch-up
// estimate (frame.group_summary), and its members with their partitions, each partition
// in its own colour (frame.consumers, frame.groups); the rebalance rows in progress are
// highlighted; the `kafka-consumer-groups --describe` table (frame.groups). From meta: the
// tool lag per partition stacked with each group's total ("<group> total"), rebalances as
// bands with their cause, and the time lag per partition.
import { el } from "./lib/dom.js";
import { afterFirstFrame, chartConfig, colour, cursor, moveCursor, plot } from "./lib/charts.js";
import { onPlayer, partName } from "./lib/frames.js";

function mountGroups(player, panel) {
  const lagChart = document.getElementById("lag-chart");
  const timeChart = document.getElementById("time-lag-chart");
  let meta = null;

  // Each group's card: its state, lag and members at the step.
  function drawGroupCards(frame) {
    const index = Object.fromEntries(frame.partitions.map((p, k) => [partName(p), k]));
    for (const g of frame.group_summary) {
      const box = panel.querySelector(`.group[data-group="${CSS.escape(g.group)}"]`);
      if (!box) continue;
      const set = (field, text) => { box.querySelector(`[data-field="${field}"]`).textContent = text; };
      set("state", g.state);
      set("generation", String(g.generation));
      set("total_lag", String(g.total_lag));
      set("status", g.status);
      box.querySelector('[data-field="status"]').dataset.status = g.status;
      set("catch_up", g.catch_up_ms === null ? "never at this pace" : `${g.catch_up_ms} ms`);
      drawMembers(box, frame, g.group, index, g.group_protocol === "consumer");
      for (const row of box.querySelectorAll("tr[data-rebalance]")) {
        const r = meta && meta.rebalances[g.group] ? meta.rebalances[g.group][Number(row.dataset.rebalance)] : null;
        row.classList.toggle("active", !!r && r.start_ms <= frame.t && (r.end_ms === null || frame.t < r.end_ms));
      }
    }
  }

  // The describe table (kafka-consumer-groups --describe): one row per group and partition.
  function drawDescribe(frame) {
    const body = panel.querySelector("table.describe.live tbody");
    if (!body) return;
    const hw = Object.fromEntries(frame.partitions.map((p) => [partName(p), p.hw]));
    const dash = (v) => (v === null || v === undefined ? "-" : String(v));
    body.replaceChildren(...frame.groups.map((g) => {
      const tr = el("tr");
      for (const v of [g.group, g.topic, g.partition, dash(g.committed), hw[`${g.topic}-${g.partition}`],
        dash(g.lag), dash(g.position), dash(g.consumer)]) tr.append(el("td", {}, String(v)));
      return tr;
    }));
  }

  function drawMembers(box, frame, group, index, epochs) {
    const rows = frame.groups.filter((r) => r.group === group);
    const members = frame.consumers.filter((c) => c.group === group);
    box.querySelector(".members").replaceChildren(...members.map((c) => {
      const owned = rows.filter((r) => r.consumer === c.id);
      const li = el("li", { "data-member": c.id, "data-state": c.state });
      li.append(el("b", {}, c.id), el("span", { class: "state", "data-state": c.state }, c.state),
        el("small", {}, c.generation < 0 ? (epochs ? "not in the group" : "no generation yet")
          : `${epochs ? "member epoch" : "generation"} ${c.generation}`));
      const chips = el("span", { class: "chips" });
      for (const r of owned) {
        const name = `${r.topic}-${r.partition}`;
        const chip = el("span", { class: "part-chip", "data-partition": name, style: `--part: ${colour(index[name])}` }, name);
        chip.title = `position ${r.position ?? "-"}, committed ${r.committed ?? "-"}, lag ${r.lag ?? "-"}`;
        chips.append(chip);
      }
      if (!owned.length) chips.append(el("span", { class: "note" }, "no partition (idle)"));
      li.append(chips);
      return li;
    }));
  }

  // --- charts -----------------------------------------------------------------------------------

  // Series keys are `<group>/<topic>-<partition>`: a group id may hold "/", a topic not.
  const groupOf = (key) => key.slice(0, key.lastIndexOf("/"));

  function partitionsOf(group) {
    return Object.keys(meta.series.groups).filter((k) => groupOf(k) === group);
  }

  function rebalanceBands() {
    const shapes = [];
    const notes = [];
    for (const [group, list] of Object.entries(meta.rebalances || {})) {
      list.forEach((r, k) => {
        const end = r.end_ms === null ? meta.t_end : r.end_ms;
        shapes.push({ type: "rect", x0: r.start_ms, x1: Math.max(end, r.start_ms + 1), yref: "paper", y0: 0, y1: 1,
          fillcolor: "rgba(255, 152, 0, 0.18)", line: { width: 0 }, layer: "below" });
        const paused = Object.entries(r.paused_ms).map(([tp, ms]) => `${tp} ${ms} ms`).join(", ");
        notes.push({ x: r.start_ms, y: 1, yref: "paper", xanchor: "left", yanchor: "top", showarrow: false,
          yshift: -(k % 3) * 13, font: { size: 10, color: "#8a5300" },
          text: `${group}: ${r.cause} (${r.duration_ms} ms)`,
          hovertext: paused ? `paused: ${paused}` : "no partition paused" });
      });
    }
    return { shapes, notes };
  }

  function drawLag() {
    afterFirstFrame(drawLagNow);
  }

  function drawLagNow() {
    if (!lagChart || !window.Plotly || !meta || !meta.series || lagChart.dataset.drawn) return;
    const s = meta.series;
    const groups = [...new Set(Object.keys(s.groups).map(groupOf))];
    const partIndex = Object.fromEntries(Object.keys(s.partitions).map((name, k) => [name, k]));
    const traces = [];
    for (const group of groups) {
      const keys = partitionsOf(group);
      for (const key of keys) {
        const part = key.slice(group.length + 1);
        traces.push({ x: s.t, y: s.groups[key].lag.map((v) => v ?? 0), name: `${group} ${part}`, stackgroup: group,
          mode: "lines", line: { shape: "hv", width: 0.5, color: colour(partIndex[part]) } });
      }
      const total = s.t.map((_, i) => keys.reduce((sum, key) => sum + (s.groups[key].lag[i] ?? 0), 0));
      traces.push({ x: s.t, y: total, name: `${group} total`, mode: "lines", line: { shape: "hv", width: 2.5, color: "#222" } });
    }
    const bands = rebalanceBands();
    const layout = {
      height: 300, margin: { l: 55, r: 20, t: 10, b: 40 },
      xaxis: { title: { text: "simulated time (ms)" } }, yaxis: { title: { text: "lag (records)" }, rangemode: "tozero" },
      legend: { orientation: "h", y: -0.25 }, showlegend: traces.length <= 14,
      shapes: [cursor(Number(lagChart.dataset.cursor || 0)), ...bands.shapes], annotations: bands.notes,
    };
    plot(lagChart, traces, layout, chartConfig);
    lagChart.dataset.drawn = "true";
    moveCursor(lagChart, Number(lagChart.dataset.cursor || 0));  // steps shown before it was drawn
    drawTimeLag(groups, partIndex, bands);
  }

  function drawTimeLag(groups, partIndex, bands) {
    if (!timeChart) return;
    const s = meta.series;
    const traces = [];
    for (const group of groups) {
      for (const key of partitionsOf(group)) {
        const part = key.slice(group.length + 1);
        traces.push({ x: s.t, y: s.groups[key].time_lag_ms, name: `${group} ${part}`, mode: "lines",
          line: { shape: "hv", width: 1.5, color: colour(partIndex[part]) } });
      }
    }
    const layout = {
      height: 220, margin: { l: 55, r: 20, t: 10, b: 40 },
      xaxis: { title: { text: "simulated time (ms)" } }, yaxis: { title: { text: "time lag (ms)" }, rangemode: "tozero" },
      legend: { orientation: "h", y: -0.35 }, showlegend: traces.length <= 14,
      shapes: [cursor(Number(timeChart.dataset.cursor || 0)), ...bands.shapes],
    };
    plot(timeChart, traces, layout, chartConfig);
    timeChart.dataset.drawn = "true";
    moveCursor(timeChart, Number(timeChart.dataset.cursor || 0));
  }

  onPlayer(player, {
    meta(detail) { meta = detail.meta; drawLag(); },
    step({ meta: m, frame }) {
      meta = m;
      drawGroupCards(frame);
      drawDescribe(frame);
      drawLag();
      for (const chart of [lagChart, timeChart]) if (chart) moveCursor(chart, frame.t);
    },
  });
  window.addEventListener("load", drawLag);
}

const player = document.getElementById("player");
const panel = document.getElementById("groups");
if (player && panel) mountGroups(player, panel);
