// Disclosure menus (<details data-menu>) and the phone's navigation drawer.
//
// A menu closes on Escape (focus back on its summary), when focus leaves it (Tab past its last
// link) and on a click elsewhere, so that an open panel never covers what focus moves to.

function closeMenu(menu, { focusSummary = false } = {}) {
  if (!menu.open) return;
  menu.open = false;
  if (focusSummary) menu.querySelector("summary")?.focus();
}

function enhanceMenu(menu) {
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menu.open) {
      event.preventDefault();
      closeMenu(menu, { focusSummary: true });
    }
  });
  menu.addEventListener("focusout", (event) => {
    if (event.relatedTarget && !menu.contains(event.relatedTarget)) closeMenu(menu);
  });
  document.addEventListener("click", (event) => {
    if (!menu.contains(event.target)) closeMenu(menu);
  });
}

function enhanceDrawer(toggle) {
  const drawer = document.getElementById(toggle.getAttribute("aria-controls"));
  if (!drawer) return;
  toggle.setAttribute("role", "button");
  toggle.setAttribute("aria-expanded", "false");
  const setOpen = (open, { focus = false } = {}) => {
    drawer.classList.toggle("is-open", open);
    document.body.classList.toggle("drawer-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    if (open) drawer.querySelector("a")?.focus();
    else if (focus) toggle.focus();
  };
  toggle.addEventListener("click", (event) => {
    event.preventDefault();
    setOpen(!drawer.classList.contains("is-open"));
  });
  toggle.addEventListener("keydown", (event) => {
    if (event.key === " ") {
      event.preventDefault();
      setOpen(!drawer.classList.contains("is-open"));
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && drawer.classList.contains("is-open")) setOpen(false, { focus: true });
  });
  drawer.addEventListener("focusout", (event) => {
    if (event.relatedTarget && !drawer.contains(event.relatedTarget) && event.relatedTarget !== toggle) setOpen(false);
  });
  document.addEventListener("click", (event) => {
    if (drawer.classList.contains("is-open") && !drawer.contains(event.target) && !toggle.contains(event.target)) setOpen(false);
  });
}

export function enhanceMenus() {
  for (const menu of document.querySelectorAll("details[data-menu]")) enhanceMenu(menu);
  for (const toggle of document.querySelectorAll("[data-drawer-toggle]")) enhanceDrawer(toggle);
}
