// Text typed before htmx was ready: an as-you-type search (hx-trigger "input …, search") binds
// its trigger when htmx processes the page, at DOMContentLoaded; what a quick user (or a slow
// phone) typed before that fired no request, and the results came only at the next keystroke.
// Once htmx has bound the page, each such field whose value differs from the one the server
// rendered is searched at once (its "search" trigger). Done here, not with an hx-trigger filter
// such as load[this.value]: htmx evaluates filters with eval, which the CSP refuses.

function searchWhatWasTyped() {
  if (!window.htmx) return;
  for (const field of document.querySelectorAll("input[hx-trigger*='search']")) {
    if (field.value !== field.defaultValue && field.value.trim()) window.htmx.trigger(field, "search");
  }
}

export function catchUpTyping() {
  // This module runs before DOMContentLoaded (deferred, after htmx's script), when htmx has not
  // bound anything yet: its own DOMContentLoaded listener, added first, binds the triggers, then
  // this one searches. A page already loaded (readyState "complete") is searched at once.
  if (document.readyState === "complete") searchWhatWasTyped();
  else document.addEventListener("DOMContentLoaded", () => setTimeout(searchWhatWasTyped, 0), { once: true });
}
