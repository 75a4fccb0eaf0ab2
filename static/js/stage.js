// The stage around the strips: the step's caption (.caption), the cluster at a glance
// (.cluster-now: each broker's state, each partition's leader and ISR, each transactional
// id's coordinator) and the event log up to the step (#events).
import { el } from "./lib/dom.js";
import { focusedNames } from "./lib/focus.js";
import { brokerState, captionAt, onPlayer, partName } from "./lib/frames.js";

const EVENT_LOG_LIMIT = 200;

// --- narration (meta.captions: see playground/captions.py) ------------------------------------

function drawCaption(box, detail) {
  const { frames, step, frame, captions } = detail;
  const c = captionAt(captions, frame.t);
  box.hidden = c === null;
  if (!c) return;
  const before = step > 0 ? frames[step - 1].t : -1;
  box.dataset.kind = c.kind;
  box.classList.toggle("now", c.t > before);  // it happened at this very step
  // a rebalance's caption, shown after the rebalance ended: says so (captions.py `until`)
  const ended = c.until !== undefined && c.until !== null && frame.t >= c.until;
  box.dataset.ended = String(ended);
  const text = ended ? `${c.text} It ended at ${c.until} ms.` : c.text;
  box.replaceChildren(el("span", { class: "t" }, `${c.t} ms`), document.createTextNode(` ${text}`));
}

// --- the cluster at a glance --------------------------------------------------------------------

// `focused`: a wide topic's partitions listed (lib/focus.js), null for all; the brokers'
// "leads" lines still name every partition.
function drawStageCluster(list, frame, focused) {
  const items = frame.brokers.map((b) => {
    const st = brokerState(b);
    const leads = frame.partitions.filter((p) => p.leader === b.id).map(partName);
    const li = el("li", { "data-broker": String(b.id) });
    li.append(el("b", {}, `broker-${b.id}`), el("span", { class: "bstate", "data-state": st }, st));
    if (leads.length) li.append(el("span", { class: "leads" }, `leads ${leads.join(", ")}`));
    return li;
  });
  for (const p of frame.partitions) {
    if (focused && !focused.has(partName(p))) continue;
    const li = el("li", { "data-partition": partName(p) });
    const leader = p.leader === null ? "offline" : `leader ${p.leader}`;
    const lso = p.lso !== undefined && p.lso !== p.hw ? ` · LSO ${p.lso}` : "";
    li.append(el("code", {}, partName(p)), document.createTextNode(
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

// --- the event log --------------------------------------------------------------------------------

function eventItem(e) {
  const li = el("li", e.injected ? { class: "injected" } : e.skipped ? { class: "skipped" } : {});
  li.append(el("span", { class: "t" }, `${e.t} ms`), document.createTextNode(` ${e.text}`));
  if (e.injected) li.append(document.createTextNode(" "), el("em", { class: "tag" }, "injected"));
  return li;
}

function eventItems(frame) {
  const items = frame.skipped_events ? [eventItem({ t: frame.t, text: `… ${frame.skipped_events} more events`, skipped: true })] : [];
  for (const e of frame.events) items.push(eventItem(e));
  return items;
}

// The event log up to the step. Stepping forward appends the new frames' events (the log
// is not rebuilt); a jump rebuilds it. The stage's log (.newest-first) holds its newest
// event first and shows it at the bottom (column-reverse), so it stays scrolled to the
// latest without a forced layout per step.
function eventLog(list) {
  let drawn = -1;  // the step the log is drawn up to
  return ({ frames, step }) => {
    if (step === drawn) return;
    const newestFirst = list.classList.contains("newest-first");
    let items = [];
    if (drawn >= 0 && step > drawn && step - drawn <= 20) {
      for (let k = drawn + 1; k <= step; k++) items.push(...eventItems(frames[k]));
      if (newestFirst) list.prepend(...items.reverse());
      else list.append(...items);
    } else {
      for (let k = step; k >= 0 && items.length < EVENT_LOG_LIMIT; k--) items.unshift(...eventItems(frames[k]));
      items = items.slice(-EVENT_LOG_LIMIT);
      list.replaceChildren(...(newestFirst ? items.reverse() : items));
    }
    while (list.children.length > EVENT_LOG_LIMIT) (newestFirst ? list.lastElementChild : list.firstElementChild).remove();
    drawn = step;
    if (!newestFirst) list.scrollTop = list.scrollHeight;
  };
}

export function mountStage(root) {
  const captionBox = root.querySelector(".caption");
  const clusterNow = document.querySelector(".cluster-now");
  const events = document.getElementById("events");
  const drawEvents = events ? eventLog(events) : null;
  let latest = null;  // the step shown, drawn again when "show all" changes the partitions
  root.addEventListener("player:partitions", () => {
    if (clusterNow && latest) drawStageCluster(clusterNow, latest.frame, focusedNames(root, latest.meta));
  });
  onPlayer(root, {
    step(detail) {
      if (drawEvents) drawEvents(detail);
      latest = detail;
      if (clusterNow) drawStageCluster(clusterNow, detail.frame, focusedNames(root, detail.meta));
      if (captionBox) drawCaption(captionBox, detail);
    },
  });
}
