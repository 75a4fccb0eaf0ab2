// "Predict, then play": each question's form keeps the run's answer in data-answer and
// says, once the visitor has answered, whether the run agrees. Nothing is sent anywhere.
// "No spoilers" (?spoilers=0, or the box's checkbox): the verdict, the outcome, the
// description and every chart past the current step stay hidden until the visitor shows
// them or has revealed every question.
const body = document.body;
const banner = document.createElement("p");
banner.className = "spoiler-note";
banner.setAttribute("role", "status");
banner.textContent = "No spoilers: the outcome and what happens after this step are hidden. ";
const show = document.createElement("button");
show.type = "button";
show.textContent = "Show the outcome";
banner.append(show);
banner.hidden = true;
const player = document.getElementById("player");
if (player) player.before(banner);
const toggle = document.querySelector("input.no-spoilers-toggle");

function spoilers(hidden) {
  body.classList.toggle("no-spoilers", hidden);
  banner.hidden = !hidden;
  if (toggle) toggle.checked = hidden;
}
show.addEventListener("click", () => spoilers(false));
if (toggle) toggle.addEventListener("change", () => spoilers(toggle.checked));
if (new URLSearchParams(location.search).get("spoilers") === "0") spoilers(true);

const forms = [...document.querySelectorAll("form.question")];
for (const form of forms) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const guess = new FormData(form).get("guess");
    if (guess === null || guess === "") return;
    const answer = form.dataset.answer;
    const right = form.dataset.kind === "number" ? Number(guess) === Number(answer) : guess === answer;
    const line = form.querySelector(".verdict-line");
    line.textContent = right
      ? `Right: the run says ${answer}.`
      : `The run says ${answer}; you said ${guess}. Play it to see why.`;
    line.dataset.right = right ? "yes" : "no";
    line.hidden = false;
    for (const input of form.querySelectorAll("input, button")) input.disabled = true;
    form.dataset.revealed = "true";
    if (forms.every((f) => f.dataset.revealed)) spoilers(false);  // everything answered
  });
}
