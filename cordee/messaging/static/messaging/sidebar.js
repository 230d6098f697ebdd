// The conversation list's live badges (unread count, urgent, mention), shared by both pages.

function entry(conversationId) {
  return document.querySelector(`.chat-list a[data-conversation="${Number(conversationId)}"]`);
}

export function setUnread(conversationId, count, strings = {}) {
  const link = entry(conversationId);
  if (!link) return;
  const badge = link.querySelector("[data-unread]");
  if (!badge || badge.dataset.unread === "") return; // read as a delegate: no count of one's own
  badge.dataset.unread = String(count);
  badge.classList.toggle("is-zero", count === 0);
  badge.replaceChildren();
  if (count > 0) {
    const shown = document.createElement("span");
    shown.setAttribute("aria-hidden", "true");
    shown.textContent = String(count);
    const spoken = document.createElement("span");
    spoken.className = "visually-hidden";
    spoken.textContent = (strings.unread || "%(n)s").replace("%(n)s", String(count));
    badge.append(shown, " ", spoken);
  }
  if (count === 0) {
    const flags = link.querySelector("[data-flags]");
    if (flags) flags.replaceChildren();
    // Read now: the shell's own counts (navigation, title) follow, quietly.
    document.dispatchEvent(new CustomEvent("cordee:waiting", { detail: { announced: true } }));
  }
}

function announce(text) {
  const region = document.querySelector("[data-announce]");
  if (!region || !text) return;
  region.textContent = text;
}

export function noticeArrived(notice, me, strings = {}) {
  if (notice.sender === me || notice.edited || notice.deleted) return;
  // The shell refreshes its counts (quietly: this page says what arrived).
  document.dispatchEvent(new CustomEvent("cordee:waiting", { detail: { announced: true } }));
  const link = entry(notice.conversation);
  if (!link) return;
  const label = link.querySelector(".chat-label")?.textContent || "";
  announce((strings.new_in || "").replace("%(name)s", label));
  const badge = link.querySelector("[data-unread]");
  if (badge && badge.dataset.unread !== "") setUnread(notice.conversation, Number(badge.dataset.unread || 0) + 1, strings);
  const flags = link.querySelector("[data-flags]");
  if (!flags) return;
  for (const [on, name, label] of [
    [notice.urgent, "urgent", strings.urgent],
    [notice.mentioned, "mention", strings.mentioned],
  ]) {
    if (on && !flags.querySelector(`.${name}`)) {
      const flag = document.createElement("span");
      flag.className = `badge warn ${name}`;
      flag.textContent = label || name;
      flags.append(flag);
    }
  }
  const list = link.closest("ul");
  const item = link.closest("li");
  if (list && item && list.firstElementChild !== item) list.prepend(item); // latest activity first
}

export function removeEntry(conversationId) {
  const link = entry(conversationId);
  if (link) link.closest("li").remove();
}
