// "Predict, then play": each question's form keeps the run's answer in data-answer and
// says, once the visitor has answered, whether the run agrees. Nothing is sent anywhere.
(() => {
  "use strict";

  for (const form of document.querySelectorAll("form.question")) {
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
    });
  }
})();
