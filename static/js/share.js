// "Copy link at this step": a button in the player's toolbar (added here, so the player's
// own template stays as it is) that copies /r/<slug>?at=<ms of the step shown>, and keeps
// every "open in the playground" link (.open-link) pointing at that step. Used by the
// scenario page and the embed.
(() => {
  "use strict";

  const player = document.getElementById("player");
  if (!player) return;
  const slug = (player.dataset.wsPath || "").split("/").pop();
  const toolbar = player.querySelector(".controls");
  if (!slug || !toolbar) return;
  let at = null;

  const link = () => `${location.origin}/r/${slug}${at === null ? "" : `?at=${at}`}`;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "copy-step-link";
  button.textContent = "copy link at this step";
  button.title = "A link that opens this run at the step shown";
  const out = document.createElement("input");
  out.type = "text";
  out.readOnly = true;
  out.className = "step-link";
  out.setAttribute("aria-label", "Link at this step");
  out.hidden = true;
  toolbar.append(button, out);

  button.addEventListener("click", async () => {
    out.value = link();
    try {
      await navigator.clipboard.writeText(out.value);
      button.textContent = "copied ✓";
      setTimeout(() => { button.textContent = "copy link at this step"; }, 1500);
      out.hidden = true;
    } catch (error) {
      // No clipboard (an http: page, a sandboxed frame): show the link, selected.
      out.hidden = false;
      out.select();
    }
  });

  player.addEventListener("player:step", (event) => {
    const frame = event.detail.frame;
    if (!frame) return;
    at = frame.t;
    player.dataset.linkAt = String(at);
    for (const a of document.querySelectorAll("a.open-link")) a.href = link();
    if (!out.hidden) out.value = link();
  });
})();
