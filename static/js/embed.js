// The embed (templates/playground/embed.html): tells the page that frames it how tall it
// is, so the snippet on the share page can size the iframe without a scroll bar, and
// starts playing once every frame is in when the link says ?autoplay=1.
//
// Message to the parent window: {type: "playground:embed-height", slug, height} (CSS px),
// sent whenever the height changes. Any origin may read it: it carries nothing private.
function embedPage() {
  const embed = document.querySelector(".embed");
  if (!embed) return;
  const slug = embed.dataset.slug;
  let sent = 0;

  function report() {
    const height = Math.ceil(document.documentElement.scrollHeight);
    if (height === sent || window.parent === window) return;
    sent = height;
    window.parent.postMessage({ type: "playground:embed-height", slug, height }, "*");
  }

  if (window.ResizeObserver) new ResizeObserver(report).observe(document.body);
  window.addEventListener("load", report);
  report();

  const player = document.getElementById("player");
  if (player && embed.dataset.autoplay === "1") {
    player.addEventListener("player:end", () => {
      if (player.dataset.playing === "true") return;
      const play = player.querySelector('[data-action="play"]');
      if (play && !play.disabled) play.click();
    }, { once: true });
  }
}
embedPage();
