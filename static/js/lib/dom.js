// DOM helpers shared by every module: building elements, patching a subtree in place,
// telling whether a key press is typing, and whether a row of cells has room for numbers.

// An element with its attributes and, unless `text` is empty, its text (never markup).
export function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== "" && text !== null && text !== undefined) node.textContent = String(text);
  return node;
}

// A count as the page writes counts: its thousands grouped (52,801), the same in every
// browser whatever its language; anything else as it is.
export function count(value) {
  return Number.isInteger(value) ? value.toLocaleString("en-US") : String(value);
}

// Makes `old`'s subtree equal `fresh`'s, touching only what differs: a step usually
// changes a few cells, and an untouched cell costs the browser no style, layout or paint.
export function morph(old, fresh, withAttributes = true) {
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

// A key pressed here is typing (a text field, a menu, an editable box), not a shortcut.
// A range or a checkbox is not typing: the player's keys still work from the scrubber.
export function typing(target) {
  return target.closest("input:not([type=range]):not([type=checkbox]), textarea, select, [contenteditable]");
}

// Whether `count` cells across a lane `width` px wide each have room for their offset
// written in them: at most 40 cells, each at least 14 px (at 390 px, 32 cells of 7 px
// overlapped in the partition strips, 12 cells of 7 px in the replica strips). The
// partition strips (strips.js) and the replica strips (cluster.js) share this rule.
export const NUMBERED_CELLS = 40;
export const MIN_LABEL_CELL_PX = 14;
export function roomForLabels(count, width) {
  return count <= NUMBERED_CELLS && width !== null && width / count >= MIN_LABEL_CELL_PX;
}
