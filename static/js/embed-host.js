// The share page's preview: the same few lines as the snippet it offers (embeds.RESIZE_SCRIPT),
// as a file, since this site's policy runs no inline script. Sizes each
// iframe[data-playground-embed] to the height its embed reports.
addEventListener("message", (event) => {
  const data = event.data;
  if (!data || data.type !== "playground:embed-height") return;
  for (const frame of document.querySelectorAll("iframe[data-playground-embed]")) {
    if (frame.contentWindow === event.source) frame.style.height = `${Math.ceil(data.height)}px`;
  }
});
