// The partition strips: per partition one row of cells per group reading it, each cell a
// record (or a range of offsets) coloured by its fate for that group at the step shown,
// with the offsets' markers (log start, HW, LEO, LSO; each group's committed offset and
// position) over and under them. Records are buttons: Tab reaches one, arrows move between
// them, Enter or a click opens its story (#record-story).
import { el, morph, roomForLabels } from "./lib/dom.js";
import { focusedNames, mountFocusBar } from "./lib/focus.js";
import { onPlayer, partName } from "./lib/frames.js";

const MAX_CELLS = 120;          // beyond this, one cell stands for a range of offsets
const LABEL_WIDTH_PERCENT = 4;  // markers closer than this get stacked

// One record's fate for one group at time t (FATE_ORDER: the most telling wins a range).
const FATE_ORDER = ["lost", "skipped", "several", "progress", "expired", "once", "above-hw", "unread", "future"];
const FATE_TEXT = {
  unread: "unread", "above-hw": "written, above the HW (not readable yet)", progress: "in progress",
  once: "processed once", several: "processed several times", skipped: "skipped behind the committed offset — lost to the group",
  lost: "acknowledged, then lost from the log", expired: "expired by retention", future: "not written yet",
};

// --- each record's fate (meta.fates: see playground/fates.py) ---------------------------------

// Per partition: the entries (who held each offset, from when to when) indexed by offset,
// and per entry what each group finished and who held it. Built once per meta.
function indexFates(meta) {
  const fates = meta.fates;
  if (!fates) return null;
  const groupOf = Object.fromEntries(meta.consumers.map((c) => [c.id, c.group]));
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

function skipMark(fates, group, name, t) {
  let mark = null;
  for (const [when, offset] of ((fates.skips[group] || {})[name] || [])) if (when <= t) mark = offset;
  return mark;
}

function fateOf(fates, entry, t, p, group, committed) {
  if (entry.o < p.log_start) return { fate: "expired" };
  if (!group) return { fate: entry.o < p.hw ? "unread" : "above-hw" };
  const held = entry.held.find(([, g, from, to]) => g === group && from <= t && (to === null || to > t));
  const times = entry.done.filter(([g, when]) => g === group && when <= t).length;
  const mark = Math.max(committed ?? -1, skipMark(fates, group, partName(p), t) ?? -1);
  if (held) return { fate: "progress", who: held[0], risk: times === 0 && mark > entry.o };
  if (times >= 2) return { fate: "several", times };
  if (times === 1) return { fate: "once" };
  if (mark > entry.o) return { fate: "skipped" };
  return { fate: entry.o < p.hw ? "unread" : "above-hw" };
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

export function mountStrips(root) {
  const strips = root.querySelector(".strips");
  if (!strips) return;
  let meta = null;
  let fates = null;
  let recordKey = null;  // the strip's record that Tab reaches (roving tabindex), by data-key
  let laneWidth = null;  // px of a strip's lane (its cells), measured on the first draw and on resizes
  let shown = null;      // the frame drawn, to draw again when the width changes

  // Whether `count` cells across a lane leave each room for a label (lib/dom.js).
  const roomFor = (count) => roomForLabels(count, laneWidth);

  function measureLane() {
    const lane = strips.querySelector(".lane");
    const width = lane ? lane.clientWidth : null;
    const changed = width !== laneWidth;
    laneWidth = width;
    return changed;
  }

  // A record's attributes in the strips: a button in the roving Tab order, named by its fate.
  function recordAttrs(key, id, title) {
    return { "data-message": id, "data-key": key, role: "button", "aria-label": title,
      tabindex: key === recordKey ? "0" : "-1" };
  }

  function drawStrips(frame) {
    shown = frame;
    const fresh = el("div");
    const focused = focusedNames(root, meta);  // a wide topic: where it happens (lib/focus.js)
    const parts = focused ? frame.partitions.filter((p) => focused.has(partName(p))) : frame.partitions;
    fresh.append(...parts.map((p) => strip(frame, p)));
    morph(strips, fresh, false);
    // the lane's width is read once (a forced layout), then kept by the ResizeObserver below
    if (laneWidth === null && measureLane()) drawStrips(frame);
    // One record in the strips is in the Tab order (the last one the keyboard reached, else
    // the first); arrows move between records (stripKeys).
    if (!strips.querySelector('[data-message][tabindex="0"]')) {
      const first = strips.querySelector("[data-message]");
      if (first) first.tabIndex = 0;
    }
  }

  function strip(frame, p) {
    const name = partName(p);
    const size = Math.max(1, p.leo, meta ? meta.log_size[name] || 0 : 0);
    const rows = frame.groups.filter((g) => g.topic === p.topic && g.partition === p.partition);
    const part = fates ? fates.parts[name] : null;
    const cells = Math.min(size, MAX_CELLS);
    const per = size / cells;
    const wrap = el("div", { class: "strip", "data-partition": name });
    wrap.append(el("div", { class: "strip-name" }, `${name}`));
    const track = el("div", { class: "track" });
    const lane = el("div", { class: "lane" });  // markers are placed against the cells
    const readers = rows.length ? rows : [null];  // one row per group reading it (none: the log alone)
    if (part) {
      for (const g of readers) lane.append(fateRow(frame, p, part, g, readers.length > 1, cells, per));
      const lost = part.lost.filter((e) => e.tOut !== null && e.tOut <= frame.t);
      if (lost.length) lane.append(lostRow(lost, size, name));
    } else {
      for (const g of readers) lane.append(rangeRow(p, g, readers.length > 1, cells, per));
    }
    track.append(lane);
    const placed = placeMarkers(lane, p, rows, size);
    // Room for however many rows of labels were stacked on each side.
    const levels = (side) => 1 + Math.max(0, ...placed[side].map(([, l]) => l));
    track.style.paddingTop = `${levels("above") * 1.1 + 0.2}rem`;
    track.style.paddingBottom = `${levels("below") * 1.1 + 0.2}rem`;
    wrap.append(track);
    return wrap;
  }

  // The offsets' markers on the lane; labels that would overlap are stacked in levels.
  function placeMarkers(lane, p, rows, size) {
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
    return placed;
  }

  // A small run: each cell is a record (or a range of them) coloured by its fate for `g`.
  function fateRow(frame, p, part, g, labelled, cells, per) {
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
        const f = fateOf(fates, e, frame.t, p, g && g.group, g && g.committed);
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
      if (entry) Object.assign(attrs, recordAttrs(`${partName(p)}|${g ? g.group : ""}|${first}`, entry.id, attrs.title));
      const cell = el("span", attrs);
      if (per === 1 && roomFor(cells)) cell.textContent = String(first);
      row.append(cell);
    }
    return row;
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
      }, roomFor(size) ? "×" : ""));
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
      if (per === 1 && roomFor(cells)) cell.textContent = String(first);
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
    recordKey = next.dataset.key;
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
    if (cell) recordKey = cell.dataset.key;
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

  // A wider or narrower screen (a phone turned, a window resized): labels where they fit.
  new ResizeObserver(() => {
    if (laneWidth !== null && shown && measureLane()) drawStrips(shown);
  }).observe(strips);

  root.addEventListener("player:partitions", () => { if (shown) drawStrips(shown); });
  onPlayer(root, {
    meta(detail) {
      meta = detail.meta;
      fates = indexFates(meta);
      root.dataset.fates = fates ? "records" : "offsets";
      mountFocusBar(root, meta);
    },
    step(detail) { drawStrips(detail.frame); },
  });
}
