// What waits for the user, kept fresh in an open tab: the navigation's badges, the count in the
// tab's title, a short sound (when the user turned it on) and a polite announcement for screen
// readers when something new arrives. Counts come from /attente/ (one query per entry), asked:
// every minute while the tab is visible, when it comes back to the front, when the service
// worker relays a push, and when a page's own socket says something changed ("cordee:waiting").
// These requests say X-Cordee-Background: they do not keep an idle session alive.

const POLL_MS = 60_000;
export const SOUND_KEY = "cordee.sound";

let total = null;
let baseTitle = document.title;
let timer = null;
let audio = null;

function announce(text) {
  const region = document.querySelector("[data-announce]");
  if (!region || !text) return;
  region.textContent = "";
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

function setTitle(count) {
  document.title = count > 0 ? `(${count}) ${baseTitle}` : baseTitle;
}

function chime() {
  if (localStorage.getItem(SOUND_KEY) !== "1") return;
  if (navigator.userActivation && !navigator.userActivation.hasBeenActive) return; // browsers refuse sound before a gesture
  try {
    audio = audio || new AudioContext();
    const now = audio.currentTime;
    for (const [delay, frequency] of [
      [0, 880],
      [0.16, 660],
    ]) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + delay);
      gain.gain.exponentialRampToValueAtTime(0.2, now + delay + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + delay + 0.15);
      tone.connect(gain).connect(audio.destination);
      tone.start(now + delay);
      tone.stop(now + delay + 0.16);
    }
  } catch {
    // no sound on this browser: the title and the badges still say it
  }
}

function setBadges(entries) {
  for (const badge of document.querySelectorAll("[data-count]")) {
    const state = entries[badge.dataset.count];
    if (!state) continue;
    const shown = badge.querySelector("[aria-hidden]");
    const spoken = badge.querySelector(".visually-hidden");
    if (shown) shown.textContent = String(state.count);
    if (spoken) spoken.textContent = state.describe ? `, ${state.describe}` : "";
    badge.classList.toggle("is-zero", !state.count);
  }
}

export async function refreshWaiting({ quiet = false } = {}) {
  const url = document.body.dataset.waitingUrl;
  if (!url) return;
  let data;
  try {
    const response = await fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-Cordee-Background": "1" },
      redirect: "manual",
    });
    if (!response.ok) return; // signed out (a redirect), or the server is away: try again later
    data = await response.json();
  } catch {
    return;
  }
  setBadges(data.entries || {});
  if (total !== null && data.total > total) {
    chime();
    if (quiet) {
      total = data.total;
      setTitle(total);
      return;
    }
    const news = Object.values(data.entries || {})
      .map((state) => state.describe)
      .filter(Boolean)
      .join(", ");
    announce(news);
  }
  total = data.total;
  setTitle(total);
}

function schedule() {
  clearInterval(timer);
  if (document.visibilityState === "visible") timer = setInterval(refreshWaiting, POLL_MS);
}

function registerServiceWorker() {
  const url = document.body.dataset.sw;
  if (!url || !("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register(url, { scope: "/" }).catch(() => {});
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data && event.data.type === "cordee:waiting") refreshWaiting();
  });
}

export function watchWaiting() {
  if (!document.body.dataset.waitingUrl) return;
  baseTitle = document.title;
  total = Number(document.body.dataset.waitingTotal || 0);
  setTitle(total);
  schedule();
  document.addEventListener("visibilitychange", () => {
    schedule();
    if (document.visibilityState === "visible") refreshWaiting();
  });
  document.addEventListener("cordee:waiting", (event) => refreshWaiting({ quiet: Boolean(event.detail?.announced) }));
  registerServiceWorker();
}
