// The article page: "copy the citation" (a module script: no inline code under the CSP).
for (const button of document.querySelectorAll("button[data-copy]")) {
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copy);
    const status = button.parentElement.querySelector("[data-copy-status]");
    if (!source) return;
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      if (status) status.textContent = button.dataset.copied || "";
    } catch {
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
  });
}
