// The notifications page: turn Web Push on or off for this browser, and the sound of open tabs.
import { SOUND_KEY } from "./waiting.js";

function keyBytes(base64url) {
  const text = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(text + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(raw, (char) => char.charCodeAt(0));
}

async function post(url, body, csrf) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.detail || response.statusText);
  return data;
}

export function enhancePushSettings() {
  const sound = document.querySelector("[data-sound]");
  if (sound) {
    sound.checked = localStorage.getItem(SOUND_KEY) === "1";
    sound.addEventListener("change", () => {
      if (sound.checked) localStorage.setItem(SOUND_KEY, "1");
      else localStorage.removeItem(SOUND_KEY);
    });
  }
  const box = document.querySelector("[data-push]");
  if (!box || !box.dataset.key) return;
  const state = box.querySelector("[data-push-state]");
  const on = box.querySelector("[data-push-on]");
  const off = box.querySelector("[data-push-off]");
  const csrf = box.querySelector("[name=csrfmiddlewaretoken]")?.value || "";
  const words = JSON.parse(document.getElementById("push-strings")?.textContent || "{}");
  const say = (text) => {
    state.textContent = text;
  };
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say(words.unsupported || "");
    return;
  }
  const registration = () => navigator.serviceWorker.register(document.body.dataset.sw, { scope: "/" });

  async function show() {
    const subscription = await (await registration()).pushManager.getSubscription();
    on.hidden = Boolean(subscription);
    off.hidden = !subscription;
    if (Notification.permission === "denied") {
      say(words.denied || "");
      on.hidden = true;
    } else say(subscription ? words.on || "" : words.off || "");
  }

  on.addEventListener("click", async () => {
    on.disabled = true;
    try {
      if ((await Notification.requestPermission()) !== "granted") {
        await show();
        return;
      }
      const reg = await registration();
      await navigator.serviceWorker.ready;
      const subscription = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.key) });
      await post(box.dataset.subscribeUrl, subscription.toJSON(), csrf);
      await show();
    } catch (error) {
      say(`${words.failed || ""} ${error.message || ""}`.trim());
    } finally {
      on.disabled = false;
    }
  });

  off.addEventListener("click", async () => {
    off.disabled = true;
    try {
      const subscription = await (await registration()).pushManager.getSubscription();
      if (subscription) {
        await post(box.dataset.unsubscribeUrl, { endpoint: subscription.endpoint }, csrf);
        await subscription.unsubscribe();
      }
      await show();
    } catch (error) {
      say(`${words.failed || ""} ${error.message || ""}`.trim());
    } finally {
      off.disabled = false;
    }
  });
  show();
}
