// The scenario page's panels under the stage (cluster, producers, consumers, groups, metrics,
// processing, outcome, configuration) are each a <details class="fold" open>: on a phone they
// stack into a page tens of thousands of pixels tall (the production topic's 60 partitions:
// 29,585 px at 390 px), so on a narrow screen they start folded to their titles, one tap
// (or Enter / Space on the focused summary) away. The server renders them open: without
// JavaScript, and on a wide screen, every panel shows as before.
//
// - a panel the visitor opened or closed keeps their choice when the window is resized;
// - a panel holding an error (a refused button, a bad field) or the target of the URL's #hash
//   stays open;
// - a panel opened: its charts are told the window resized (Plotly's `responsive` listens to
//   the window), since they were laid out while hidden.
const NARROW = window.matchMedia("(max-width: 700px)");

const folds = () => [...document.querySelectorAll("details.fold")];

function hashTarget() {
  try {
    return location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
  } catch {
    return null;  // a malformed #% escape: no target, rather than no folds at all
  }
}

function mustShow(fold) {
  if (fold.querySelector(".error, [role=alert]")) return true;
  const target = hashTarget();
  return Boolean(target && (fold.contains(target) || target.contains(fold)));
}

// A fold the visitor toggled (a click on its summary; Enter and Space on it are clicks too)
// is theirs from then on: data-touched. (Not read off the toggle event: it comes a task
// later, after a resize in between could have set the fold again.)
function fold(narrow) {
  for (const details of folds()) {
    if (details.dataset.touched) continue;
    details.open = !narrow || mustShow(details);
  }
}

document.addEventListener("click", (event) => {
  const summary = event.target instanceof Element ? event.target.closest("summary") : null;
  const details = summary ? summary.parentElement : null;
  if (details && details.matches("details.fold") && summary === details.querySelector(":scope > summary")) {
    details.dataset.touched = "1";
  }
});

document.addEventListener("toggle", (event) => {
  const details = event.target;
  if (details instanceof HTMLDetailsElement && details.matches(".fold") && details.open) {
    window.dispatchEvent(new Event("resize"));
  }
}, true);  // toggle does not bubble

window.addEventListener("hashchange", () => {
  for (const details of folds()) if (!details.open && mustShow(details)) details.open = true;
});

NARROW.addEventListener("change", (event) => fold(event.matches));
fold(NARROW.matches);
