// Collecting runs for a custom course (course_views, custom_courses): "add to a course" on a
// scenario page keeps its permalink in this browser (localStorage); the course builder
// (/courses/new) starts its list with the runs collected, and forgets them once the course
// is made. Without JavaScript (or storage) the builder still takes pasted links.
const KEY = "playground:course:links";
const MAX = 60;  // custom_courses: at most 60 runs

function collected() {
  try {
    const links = JSON.parse(localStorage.getItem(KEY) || "[]");
    return Array.isArray(links) ? links.filter((l) => typeof l === "string") : [];
  } catch (_) {
    return [];
  }
}

function keep(links) {
  try { localStorage.setItem(KEY, JSON.stringify(links)); return true; } catch (_) { return false; }
}

const add = document.querySelector("button.collect-run");
if (add) {
  const made = document.querySelector(".collect-make");
  const show = () => {
    const links = collected();
    const here = links.includes(add.dataset.link);
    add.textContent = here ? "in your course ✓" : "add to a course";
    add.disabled = here || links.length >= MAX;
    if (made) {
      made.hidden = links.length === 0;
      made.textContent = `make the course (${links.length} run${links.length === 1 ? "" : "s"})`;
    }
  };
  add.addEventListener("click", () => {
    const links = collected();
    if (!links.includes(add.dataset.link) && links.length < MAX) {
      links.push(add.dataset.link);
      keep(links);
    }
    show();
  });
  if (keep(collected())) { add.hidden = false; show(); }  // storage works: offer it
}

const items = document.querySelector("form.course-new textarea[name=items]");
if (items) {
  const links = collected();
  const note = document.querySelector(".collected-note");
  if (links.length && !items.value.trim()) {
    items.value = `# Chapter 1\n${links.map((l) => `${l} `).join("\n")}\n`;
    if (note) {
      note.hidden = false;
      note.querySelector(".collected-count").textContent = String(links.length);
    }
  }
  const forget = document.querySelector("button.collected-forget");
  if (forget) {
    forget.addEventListener("click", () => {
      keep([]);
      items.value = "";
      if (note) note.hidden = true;
    });
  }
  items.form.addEventListener("submit", () => { if (links.length) keep([]); });
}
