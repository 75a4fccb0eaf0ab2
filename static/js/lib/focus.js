// A wide topic's partitions shown first (meta.focus, chosen in the worker by
// playground/focus.py: where something happens), the rest behind a "show all" button. The
// strips and the offsets chart read the choice; the button is the .focus-bar in the player.
// The choice is not kept on the URL: a link, an embed or a reload opens on the focused
// partitions, which is the view the label explains; "show all" is one key press away.

// The names of the partitions to draw, or null: draw them all (a narrow topic, or shown all).
export function focusedNames(root, meta) {
  const focus = meta && meta.focus;
  if (!focus || root.dataset.partitions === "all") return null;
  return new Set(focus.partitions);
}

// Fills the player's .focus-bar for `meta` (hidden when every partition is shown anyway); a
// click on its button shows all or the focused ones again and announces "player:partitions".
export function mountFocusBar(root, meta) {
  const bar = root.querySelector(".focus-bar");
  const focus = meta && meta.focus;
  if (!bar) return;
  bar.hidden = !focus;
  if (!focus) { delete root.dataset.partitions; return; }
  const label = bar.querySelector(".focus-label");
  const button = bar.querySelector("button");
  const render = () => {
    const all = root.dataset.partitions === "all";
    label.textContent = all ? `Showing all ${focus.total} partitions.` : `${focus.label}.`;
    button.textContent = all ? `show the ${focus.partitions.length} where it happens` : `show all ${focus.total}`;
    button.setAttribute("aria-pressed", String(all));
  };
  if (!root.dataset.partitions) root.dataset.partitions = "focus";
  render();
  if (bar.dataset.mounted) return;
  bar.dataset.mounted = "true";
  button.addEventListener("click", () => {
    root.dataset.partitions = root.dataset.partitions === "all" ? "focus" : "all";
    render();
    root.dispatchEvent(new CustomEvent("player:partitions"));
  });
}
