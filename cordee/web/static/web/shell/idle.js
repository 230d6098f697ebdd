// The idle timeout, said before it happens (WCAG 2.2.1): two minutes before the session ends for
// want of activity, a dialog offers to stay signed in (one button, or Escape). When it has ended,
// the dialog says so. A form sent after the end keeps what was typed across the new sign-in:
// every form posted puts its fields aside in this tab's sessionStorage (never passwords nor
// files); the next page forgets them, unless it is the sign-in (the server refused the form for
// want of a session, and sends back to the form's page after the sign-in), in which case the
// form's page, once back, puts them back in the form and forgets them. Nothing is restored for
// another user or another page, nor after 30 minutes.
//
// The deadline is asked from the server (/session/, a background request that is not activity),
// since another tab may have kept the session alive meanwhile.

const WARN_BEFORE_S = 120;
const KEPT_KEY = "cordee.kept-form";
const KEPT_MAX_MS = 30 * 60 * 1000;

let deadline = 0; // epoch ms
let timer = null;
let expired = false;

function dialog() {
  return document.getElementById("idle-dialog");
}

function schedule(secondsLeft) {
  clearTimeout(timer);
  deadline = Date.now() + secondsLeft * 1000;
  const until = Math.max(0, secondsLeft - WARN_BEFORE_S) * 1000;
  timer = setTimeout(check, until);
}

async function sessionState() {
  const response = await fetch(document.body.dataset.sessionUrl, {
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-Cordee-Background": "1" },
  });
  return response.ok ? response.json() : { active: false };
}

async function check() {
  let state;
  try {
    state = await sessionState();
  } catch {
    timer = setTimeout(check, 15_000); // the server is away: ask again soon
    return;
  }
  if (!state.active) return showExpired();
  if (state.seconds_left > WARN_BEFORE_S + 5) return schedule(state.seconds_left); // kept alive elsewhere
  deadline = Date.now() + state.seconds_left * 1000;
  showWarning(state.seconds_left);
}

function showWarning(secondsLeft) {
  const box = dialog();
  if (!box) return;
  box.querySelector("[data-idle-warning]").hidden = false;
  box.querySelector("[data-idle-expired]").hidden = true;
  const at = new Date(Date.now() + secondsLeft * 1000);
  const clock = box.querySelector("[data-idle-time]");
  if (clock) clock.textContent = at.toLocaleTimeString(document.documentElement.lang || "fr", { hour: "2-digit", minute: "2-digit" });
  if (!box.open) box.showModal();
  box.querySelector("[data-idle-stay]")?.focus();
  clearTimeout(timer);
  timer = setTimeout(check, Math.max(1000, secondsLeft * 1000));
}

function showExpired() {
  expired = true;
  const box = dialog();
  if (!box) return;
  box.querySelector("[data-idle-warning]").hidden = true;
  box.querySelector("[data-idle-expired]").hidden = false;
  if (!box.open) box.showModal();
  box.querySelector("[data-idle-expired] a")?.focus();
}

// "Sign in again" from the dialog: what was typed in the page's form goes along too.
function signInAgain() {
  Array.from(document.forms).find((form) => keepable(form) && keep(form));
}

async function stay(event) {
  event?.preventDefault();
  const box = dialog();
  const form = box.querySelector("form[data-idle-form]");
  try {
    const response = await fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value },
      redirect: "manual",
    });
    const state = response.ok ? await response.json() : { active: false };
    if (!state.active) return showExpired();
    box.close();
    schedule(state.seconds_left);
  } catch {
    showExpired();
  }
}

// --- what was typed, kept across a new sign-in ----------------------------------------------

function keepable(form) {
  return (form.method || "").toLowerCase() === "post" && !form.matches("[data-idle-form], [action*='/logout/'], [action*='/login/']");
}

function keep(form) {
  const fields = [];
  for (const field of form.elements) {
    if (!field.name || field.name === "csrfmiddlewaretoken" || ["password", "file", "submit", "button", "hidden"].includes(field.type)) continue;
    if ((field.type === "checkbox" || field.type === "radio") && !field.checked) continue;
    fields.push({ name: field.name, value: field.value, type: field.type });
  }
  if (!fields.some((field) => field.value && field.type !== "checkbox" && field.type !== "radio")) return false;
  const record = { user: document.body.dataset.user, path: location.pathname, action: form.getAttribute("action") || "", at: Date.now(), fields, signIn: false };
  sessionStorage.setItem(KEPT_KEY, JSON.stringify(record));
  return true;
}

function restore() {
  let record;
  try {
    record = JSON.parse(sessionStorage.getItem(KEPT_KEY) || "null");
  } catch {
    record = null;
  }
  if (!record) return;
  if (Date.now() - record.at > KEPT_MAX_MS) return sessionStorage.removeItem(KEPT_KEY);
  if (!document.body.dataset.user) {
    // The sign-in page: the form was refused for want of a session; bring it back after it.
    record.signIn = true;
    sessionStorage.setItem(KEPT_KEY, JSON.stringify(record));
    const notice = document.querySelector("[data-kept-notice]");
    if (notice) notice.hidden = false;
    return;
  }
  sessionStorage.removeItem(KEPT_KEY);
  if (!record.signIn || record.user !== document.body.dataset.user || record.path !== location.pathname) return;
  const form = Array.from(document.forms).find((f) => (f.getAttribute("action") || "") === record.action && keepable(f));
  if (!form) return;
  let first = null;
  for (const saved of record.fields) {
    const fields = Array.from(form.elements).filter((field) => field.name === saved.name);
    for (const field of fields) {
      if (field.type === "checkbox" || field.type === "radio") field.checked = field.value === saved.value;
      else field.value = saved.value;
      first = first || field;
    }
  }
  const note = document.getElementById("kept-restored");
  if (note) {
    note.hidden = false;
    form.prepend(note);
  }
  first?.focus();
}

export function watchIdle() {
  restore();
  if (!document.body.dataset.user) return;
  const idle = Number(document.body.dataset.idleTimeout || 0);
  if (!idle || !dialog()) return;
  schedule(idle);
  const box = dialog();
  box.querySelector("form[data-idle-form]").addEventListener("submit", stay);
  box.addEventListener("cancel", (event) => {
    if (!expired) stay(event); // Escape: stay signed in (once ended, Escape closes the dialog)
  });
  box.querySelector("[data-idle-expired] a")?.addEventListener("click", signInAgain);
  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      if (form instanceof HTMLFormElement && keepable(form)) keep(form);
    },
    true,
  );
}
