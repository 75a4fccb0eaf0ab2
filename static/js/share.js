// "Copy link at this step": a button in the player's toolbar (added here, so the player's
// own template stays as it is) that copies /r/<slug>?at=<ms of the step shown>, and keeps
// every "open in the playground" link (.open-link) pointing at that step. Used by the
// scenario page and the embed.
function copyLinkAtStep() {
  const player = document.getElementById("player");
  if (!player) return;
  const slug = (player.dataset.wsPath || "").split("?")[0].split("/").pop();  // a room page adds ?seat=
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
}
copyLinkAtStep();

// PNG and SVG of each chart, by Plotly's own download (Plotly.downloadImage), named after
// the scenario and the chart: buttons under every chart once it is drawn.
const title = document.querySelector(".embed") ? document.querySelector(".embed").dataset.name
  : (document.querySelector("h1") || {}).textContent || "scenario";
const stem = title.normalize("NFKD").replace(/[^A-Za-z0-9]+/g, "-").replace(/^-+|-+$/g, "")
  .toLowerCase().slice(0, 60).replace(/-+$/, "") || "scenario";

function addButtons(chart) {
  if (chart.dataset.downloads || !window.Plotly) return;
  chart.dataset.downloads = "true";
  const name = chart.id ? chart.id.replace(/-chart$/, "").replace(/^chart$/, "offsets") : "chart";
  const bar = document.createElement("div");
  bar.className = "chart-downloads";
  for (const format of ["png", "svg"]) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = format.toUpperCase();
    button.title = `Download this chart as ${format.toUpperCase()}`;
    button.dataset.format = format;
    button.addEventListener("click", () => {
      window.Plotly.downloadImage(chart, {
        format, filename: `${stem}-${name}`, width: chart.clientWidth || 800, height: chart.clientHeight || 400,
      });
    });
    bar.append(button);
  }
  chart.after(bar);
}

const scan = () => document.querySelectorAll(".js-plotly-plot").forEach(addButtons);
new MutationObserver(scan).observe(document.body, { childList: true, subtree: true });
window.addEventListener("load", scan);
