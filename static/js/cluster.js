// Cluster view and replica timeline (issue 3), drawn from the player's frames.
//
// At each step: every broker's state and leaderships, and per partition one log strip per
// replica (cells up to its LEO, blue below the partition's HW, a tick at the replica's own
// HW). Once every frame is in: the replica timeline (Plotly) — LEO per replica and the HW
// over time, ISR membership as bands under it, leader changes marked, and the
// acknowledged-then-lost records (meta.lost) as red crosses where they were acknowledged.
import { el, roomForLabels } from "./lib/dom.js";
import { LEGEND_UNDER, afterFirstFrame, chartConfig, colour, cursor, legendFit, moveCursor, plot, refitLegendOnResize } from "./lib/charts.js";
import { focusedNames } from "./lib/focus.js";
import { brokerState, onPlayer, partName } from "./lib/frames.js";

function mountCluster(player, cluster) {
  const chart = document.getElementById("replica-chart");
  const picker = document.getElementById("replica-partition");
  const MAX_CELLS = 60;
  const LOST_LABELS = 6;      // more lost records than this: crosses without their ids
  const LOST_TRACE = "acknowledged, then lost";
  const TIMELINE_MARGIN = { l: 70, r: 20, t: 30, b: 40 };
  // without the legend's rows, under the axis title; shorter in an embed (an iframe column:
  // the CSS once pinned it at 220 px, and Plotly's 380 px figure overflowed the box)
  const TIMELINE_HEIGHT = document.body.classList.contains("embedded") ? 300 : 380;
  let legendNames = null;       // the timeline's legend (its traces shown there)
  let latest = null;  // the last event's detail: {meta, frames, step, frame}
  let sizes = null;   // per partition, the largest LEO any replica reaches in the run
  let laneWidth = null;  // px of a replica strip's cells, measured on the first draw and on resizes

  function drawBrokers(frame) {
    for (const b of frame.brokers) {
      const item = cluster.querySelector(`.brokers [data-broker="${b.id}"]`);
      if (!item) continue;
      const badge = item.querySelector(".bstate");
      badge.dataset.state = brokerState(b);
      badge.textContent = brokerState(b);
      const leads = frame.partitions.filter((p) => p.leader === b.id).map(partName);
      const coordinates = (frame.transactions || []).filter((c) => c.coordinator === `broker-${b.id}`);
      const txn = coordinates.length ? ` · transaction coordinator of ${coordinates.map((c) => c.transactional_id).join(", ")}` : "";
      item.querySelector(".leads").textContent = (leads.length ? `leads ${leads.join(", ")}` : "") + txn;
    }
    // each transactional.id: its coordinator broker, state and producer epoch at this step
    for (const c of frame.transactions || []) {
      const row = cluster.querySelector(`[data-txn-coordinator="${CSS.escape(c.transactional_id)}"]`);
      if (row) row.querySelector(".txn-now").textContent = `${c.coordinator} · ${c.state} · producer epoch ${c.epoch}`;
    }
  }

  function sizeOf(p) {
    const own = Math.max(1, p.leo, ...p.replicas.map((r) => r.leo));
    return Math.max(own, sizes ? sizes[partName(p)] || 0 : latest.meta.log_size[partName(p)] || 0);
  }

  function replicaStrip(p, r, size, alive) {
    const inIsr = p.isr.includes(r.broker);
    const row = el("div", {
      class: `replica${r.leading ? " leader" : ""}${inIsr ? "" : " out"}${alive ? "" : " dead"}`,
      "data-broker": String(r.broker), "data-leo": String(r.leo), "data-hw": String(r.hw),
    });
    row.append(el("span", { class: "rname", title: inIsr ? "in the ISR" : "out of the ISR" },
      `broker-${r.broker}${r.leading ? " ★" : ""}`));
    const lane = el("div", { class: "rlane" });
    const cells = el("div", { class: "cells" });
    const count = Math.min(size, MAX_CELLS);
    const per = size / count;
    for (let k = 0; k < count; k++) {
      const offset = Math.floor(k * per);
      const kind = offset >= r.leo ? "future" : offset < p.hw ? "written" : "unreplicated";
      const cell = el("span", { class: `cell ${kind}`, title: per > 1 ? `offsets ${offset}…` : `offset ${offset}` });
      if (per === 1 && roomForLabels(count, laneWidth)) cell.textContent = String(offset);
      cells.append(cell);
    }
    lane.append(cells, el("i", { class: "rhw", style: `left: ${(100 * r.hw) / size}%`, title: `this replica's HW = ${r.hw}` }));
    row.append(lane, el("span", { class: "rnums" }, `LEO ${r.leo} · HW ${r.hw}`),
      el("span", { class: `risr ${inIsr ? "isr-in" : "isr-out"}` }, inIsr ? "ISR" : "out"));
    return row;
  }

  function drawPartitions(frame) {
    const box = cluster.querySelector(".partitions");
    const alive = Object.fromEntries(frame.brokers.map((b) => [b.id, b.alive]));
    // a wide topic: the partitions the strips show (lib/focus.js), all behind their button
    const focused = latest ? focusedNames(player, latest.meta) : null;
    const parts = focused ? frame.partitions.filter((p) => focused.has(partName(p))) : frame.partitions;
    const note = focused
      ? [el("p", { class: "note focus-note" }, `${parts.length} of ${frame.partitions.length} partitions: those the strips show ("show all ${frame.partitions.length}" above shows every one).`)]
      : [];
    box.replaceChildren(...note, ...parts.map((p) => {
      const block = el("div", { class: "partition", "data-partition": partName(p), "data-leader": String(p.leader) });
      const leader = p.leader === null ? "none (offline)" : `broker-${p.leader}`;
      block.append(el("div", { class: `phead${p.leader === null ? " offline" : ""}` },
        `${partName(p)} · leader ${leader} · epoch ${p.epoch} · ISR [${p.isr.join(", ")}] · HW ${p.hw}`));
      const size = sizeOf(p);
      for (const r of p.replicas) block.append(replicaStrip(p, r, size, alive[r.broker] !== false));
      return block;
    }));
    // the lanes' width is read once (a forced layout), then kept by the ResizeObserver below
    if (laneWidth === null && measureLane()) drawPartitions(frame);
  }

  function measureLane() {
    const lane = cluster.querySelector(".partitions .replica .cells");
    const width = lane ? lane.clientWidth : null;
    const changed = width !== laneWidth;
    laneWidth = width;
    return changed;
  }

  // A wider or narrower screen: the offsets written in the cells only where they fit.
  const partitionsBox = cluster.querySelector(".partitions");
  if (partitionsBox) {
    new ResizeObserver(() => {
      if (laneWidth !== null && latest && measureLane()) drawPartitions(latest.frame);
    }).observe(partitionsBox);
  }

  // --- the replica timeline ---------------------------------------------------------------------

  function computeSizes(frames) {
    sizes = {};
    for (const f of frames) {
      for (const p of f.partitions) {
        const top = Math.max(p.leo, ...p.replicas.map((r) => r.leo));
        sizes[partName(p)] = Math.max(sizes[partName(p)] || 1, top);
      }
    }
  }

  function leaderChanges(frames, name) {
    const marks = [];
    let before;
    for (const f of frames) {
      const p = f.partitions.find((q) => partName(q) === name);
      if (before !== undefined && p.leader !== before) {
        const unclean = f.events.some((e) => e.kind === "leader_elected" && e.part === name && e.unclean);
        marks.push({ t: f.t, text: p.leader === null ? "offline" : `leader → broker-${p.leader} (epoch ${p.epoch})${unclean ? " UNCLEAN" : ""}` });
      }
      before = p.leader;
    }
    return marks;
  }

  function drawTimeline() {
    if (!chart || !window.Plotly || !latest || !latest.meta) return;
    const frames = latest.frames;
    const name = picker ? picker.value : partName(frames[0].partitions[0]);
    const t = frames.map((f) => f.t);
    const rows = frames.map((f) => f.partitions.find((p) => partName(p) === name));
    const brokers = rows[0].replicas.map((r) => r.broker);
    const traces = brokers.map((b, k) => ({
      x: t, y: rows.map((p) => p.replicas[k].leo), name: `broker-${b} LEO`, mode: "lines",
      line: { shape: "hv", width: 1.5, dash: "dot", color: colour(k) },
    }));
    traces.push({ x: t, y: rows.map((p) => p.hw), name: "HW", mode: "lines", line: { shape: "hv", width: 3, color: "#1f3a5f" } });
    brokers.forEach((b, k) => traces.push({
      ...band(t, rows.map((p) => p.isr.includes(b)), k), name: `broker-${b} in ISR`, yaxis: "y2",
      mode: "lines", line: { width: 9, color: colour(k) }, opacity: 0.45, showlegend: false,
      hovertemplate: `broker-${b} in the ISR at %{x} ms<extra></extra>`,
    }));
    traces.push({
      x: t, y: rows.map((p) => (p.leader === null ? null : brokers.indexOf(p.leader))), name: "leader", yaxis: "y2",
      mode: "lines", line: { width: 3, color: "#222", shape: "hv" }, hovertemplate: "leader at %{x} ms<extra></extra>",
    });
    const lost = (latest.meta.lost || []).filter((m) => m.partition === name);
    traces.push({
      x: lost.map((m) => m.acked_ms),
      y: lost.map((m) => (m.offset !== null ? m.offset : leoAt(frames, name, m.acked_ms))),
      text: lost.map((m) => m.id), name: LOST_TRACE, textposition: "top center",
      mode: lost.length <= LOST_LABELS ? "markers+text" : "markers",
      marker: { symbol: "x", size: 11, color: "#c62828", line: { width: 2, color: "#c62828" } },
      textfont: { color: "#c62828", size: 10 },
      hovertemplate: "%{text}: acknowledged at %{x} ms (offset %{y}), then lost<extra></extra>",
    });
    const marks = leaderChanges(frames, name);
    const shapes = [cursor(Number(chart.dataset.cursor || 0))];
    for (const m of marks) shapes.push({ type: "line", x0: m.t, x1: m.t, yref: "paper", y0: 0, y1: 1, line: { color: "#555", width: 1, dash: "dash" } });
    // the legend under the axis title, the figure growing by its rows (lib/charts.js): left
    // to Plotly at y -0.18 it covered the axis title and squeezed the ISR lanes at 600 px
    legendNames = traces.filter((trace) => trace.showlegend !== false).map((trace) => trace.name);
    const legend = legendFit(chart, legendNames, TIMELINE_MARGIN, TIMELINE_HEIGHT);
    chart.dataset.legendRows = String(legend.rows);
    const layout = {
      height: legend.height, margin: { ...TIMELINE_MARGIN, b: legend.b },
      xaxis: { title: { text: "simulated time (ms)" }, anchor: "y2" },
      yaxis: { title: { text: "offset" }, domain: [0.34, 1], rangemode: "tozero", tickformat: "," },
      yaxis2: { domain: [0, 0.24], tickvals: brokers.map((_, k) => k), ticktext: brokers.map((b) => `broker-${b}`),
        range: [-0.6, brokers.length - 0.4], title: { text: "ISR" }, zeroline: false },
      legend: { ...LEGEND_UNDER },
      shapes,
      annotations: marks.map((m, k) => ({ x: m.t, y: 1, yref: "paper", text: m.text, showarrow: false,
        yanchor: "bottom", xanchor: "left", yshift: (k % 2) * -14, font: { size: 10, color: "#555" } })),
    };
    plot(chart, traces, layout, chartConfig);
    chart.dataset.drawn = "true";
    moveCursor(chart, Number(chart.dataset.cursor || 0));  // steps shown before it was drawn
    chart.dataset.partition = name;
    chart.dataset.lost = String(lost.length);
  }

  // A lane at height y drawn while `member[i]` holds, kept up to the frame where it stops
  // (frames are sparse where nothing happens: a plain line would end at the last sample).
  function band(t, member, y) {
    const xs = [];
    const ys = [];
    member.forEach((inside, i) => {
      if (inside) { xs.push(t[i]); ys.push(y); } else if (i > 0 && member[i - 1]) {
        xs.push(t[i], t[i]); ys.push(y, null);
      } else { xs.push(t[i]); ys.push(null); }
    });
    return { x: xs, y: ys };
  }

  function leoAt(frames, name, t) {
    let leo = 0;
    for (const f of frames) {
      if (f.t > t) break;
      leo = f.partitions.find((p) => partName(p) === name).leo;
    }
    return leo;
  }

  // --- wiring -----------------------------------------------------------------------------------

  onPlayer(player, {
    step(detail) {
      latest = detail;
      drawBrokers(latest.frame);
      drawPartitions(latest.frame);
      if (chart) moveCursor(chart, latest.frame.t);
    },
    end(detail) {
      latest = detail;
      computeSizes(latest.frames);
      afterFirstFrame(drawTimeline);
    },
  });
  player.addEventListener("player:partitions", () => { if (latest) drawPartitions(latest.frame); });
  if (picker) picker.addEventListener("change", drawTimeline);
  if (chart) refitLegendOnResize(chart, () => (legendNames ? legendFit(chart, legendNames, TIMELINE_MARGIN, TIMELINE_HEIGHT) : null));
  window.addEventListener("load", () => { if (sizes && chart && !chart.dataset.drawn) drawTimeline(); });
}

const player = document.getElementById("player");
const cluster = document.getElementById("cluster");
if (player && cluster) mountCluster(player, cluster);
