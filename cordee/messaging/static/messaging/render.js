// Messages as DOM nodes. Every text goes in with textContent: a body or a file name full of HTML
// stays text. Shared by the conversation pane (conversation.js).

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function when(iso) {
  const date = new Date(iso);
  const lang = document.documentElement.lang || "fr";
  const time = date.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  return date.toDateString() === new Date().toDateString() ? time : `${date.toLocaleDateString(lang)} ${time}`;
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} o`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} Ko`;
  return `${(bytes / 1024 / 1024).toFixed(1)} Mo`;
}

// A card sent with a message (a library reference): its texts as text, its link a path inside Cordée.
function renderCard(card, S) {
  const box = el("div", `msg-card msg-card-${card.kind}`);
  box.append(el("span", "msg-card-kind", card.kind === "reference" ? S.reference || "Référence" : card.kind));
  const link = el("a", "msg-card-title", card.title);
  if (card.url.startsWith("/") && !card.url.startsWith("//")) link.href = card.url;
  box.append(link);
  if (card.detail) box.append(el("p", "msg-card-detail", card.detail));
  if (card.label) box.append(el("p", "help", card.label));
  return box;
}

function renderFiles(files, S) {
  const ul = el("ul", "msg-files");
  for (const file of files) {
    const li = el("li");
    if (file.preview_url) {
      const img = el("img", "msg-preview");
      img.src = file.preview_url;
      img.alt = S.preview_of.replace("%(name)s", file.name);
      img.loading = "lazy";
      li.append(img);
    }
    const link = el("a", "msg-file", file.name);
    link.href = file.url;
    link.setAttribute("download", "");
    li.append(link, el("span", "help", ` (${size(file.size)})`));
    ul.append(li);
  }
  return ul;
}

// "Edit" and "Delete" say, to screen readers, which message they act on (WCAG 2.4.6).
function which(m, S) {
  const start = (m.body || "").trim().split(/\s+/).slice(0, 6).join(" ");
  return (S.which_message || "").replace("%(time)s", when(m.created_at)).replace("%(start)s", start);
}

function actionButton(label, m, S) {
  const button = el("button", "link-button", label);
  button.type = "button";
  button.append(el("span", "visually-hidden", ` ${which(m, S)}`));
  return button;
}

function renderActions(m, S, { onEdit, onDelete }) {
  const actions = el("div", "msg-actions");
  const edit = actionButton(S.edit, m, S);
  edit.addEventListener("click", () => onEdit(m));
  const del = actionButton(S.delete, m, S);
  del.addEventListener("click", () => onDelete(m));
  actions.append(edit, del);
  return actions;
}

// ``view``: {me, strings, canWrite, editWindow (seconds), onEdit(m), onDelete(m)}
export function renderMessage(m, view) {
  const { me, strings: S } = view;
  const li = el("li", "msg");
  li.id = `m-${m.id}`;
  li.dataset.seq = m.seq;
  li.classList.toggle("mine", m.sender === me);
  li.classList.toggle("urgent", m.urgent);
  li.classList.toggle("deleted", m.deleted);
  li.classList.toggle("mentioned", m.mentions.includes(me));
  const meta = el("p", "msg-meta");
  meta.append(el("span", "msg-author", m.sender === me ? S.you : m.sender_name), " ");
  const time = el("time", "", when(m.created_at));
  time.dateTime = m.created_at;
  meta.append(time);
  if (m.urgent) meta.append(" ", el("span", "badge warn", S.urgent));
  if (m.mentions.includes(me)) meta.append(" ", el("span", "badge", S.mentioned));
  if (m.edited && !m.deleted) meta.append(" ", el("span", "help", `(${S.edited})`));
  li.append(meta);
  li.append(el("p", "msg-body", m.deleted ? S.deleted : m.body));
  if (m.card && !m.deleted) li.append(renderCard(m.card, S));
  if (m.attachments.length) li.append(renderFiles(m.attachments, S));
  const editable = Date.now() - new Date(m.created_at).getTime() < view.editWindow * 1000;
  if (m.sender === me && !m.deleted && view.canWrite && editable) li.append(renderActions(m, S, view));
  return li;
}
