// Buttons data-copy="<selector>" copy that element's text; where there is no clipboard
// (an http: page), the text is selected for the reader to copy. The embed options' panel
// checkboxes are folded into one ?panels= value on submit.
for (const button of document.querySelectorAll("[data-copy]")) {
  button.addEventListener("click", async () => {
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    const text = source.value ?? source.textContent;
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "copied ✓";
    } catch (error) {
      if (source.select) source.select();
    }
  });
}
for (const form of document.querySelectorAll("form.embed-options")) {
  form.addEventListener("submit", () => {
    const names = [...form.querySelectorAll("[data-panel]:checked")].map((b) => b.value);
    form.querySelector('input[name="panels"]').value = names.join(",");
    for (const box of form.querySelectorAll("[data-panel]")) box.disabled = true;
  });
}
