// Form errors that a screen reader hears and a keyboard user lands on (WCAG 3.3.1, 4.1.3):
// a page that comes back with errors says so in its title, marks the fields in error
// (aria-invalid, aria-describedby to their message) and moves focus to the first message, which
// is then read out. Django's error lists (".errorlist") and error messages (".message.error").

export function enhanceFormErrors() {
  const errors = Array.from(document.querySelectorAll("main .errorlist, main .message.error, main .notice.error"));
  if (!errors.length) return;
  const prefix = document.body.dataset.errorTitle || "Error:";
  if (!document.title.startsWith(prefix)) document.title = `${prefix} ${document.title}`;
  errors.forEach((list, index) => {
    if (!list.id) list.id = `form-error-${index + 1}`;
    const form = list.closest("form");
    let fields = [];
    if (list.classList.contains("nonfield") && form) {
      fields = Array.from(form.querySelectorAll("input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea"));
    } else if (list.classList.contains("errorlist")) {
      const holder = list.parentElement;
      fields = Array.from(holder.querySelectorAll("input:not([type=hidden]), select, textarea"));
      if (!fields.length && list.nextElementSibling) fields = Array.from(list.nextElementSibling.querySelectorAll("input, select, textarea"));
    }
    for (const field of fields) {
      field.setAttribute("aria-invalid", "true");
      const described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (!described.includes(list.id)) field.setAttribute("aria-describedby", [list.id, ...described].join(" "));
    }
  });
  // The first message is wrapped in an alert (a list keeps its list role) and takes the focus.
  let first = errors[0];
  if (first.tagName === "UL" || first.tagName === "OL") {
    const holder = document.createElement("div");
    holder.className = "error-focus";
    first.replaceWith(holder);
    holder.append(first);
    first = holder;
  }
  first.setAttribute("role", "alert");
  first.setAttribute("tabindex", "-1");
  first.focus();
}
