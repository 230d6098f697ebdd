// Content swapped in by htmx is not read out whole: only what it marks [data-announce-swap] (a
// count of results, an error) is said, through the shell's polite live region (WCAG 4.1.3).

export function announceSwaps() {
  document.body.addEventListener("htmx:afterSwap", (event) => {
    const said = event.detail?.target?.querySelector("[data-announce-swap]");
    const region = document.querySelector("[data-announce]");
    if (!said || !region) return;
    region.textContent = "";
    setTimeout(() => {
      region.textContent = said.textContent.replace(/\s+/g, " ").trim();
    }, 50);
  });
}
