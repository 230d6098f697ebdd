// Imaging upload: each file (or each file of a folder) is sent in chunks with its own progress
// bar; after a network cut the upload resumes from the offset the server gives (GET, or a 409).
const form = document.getElementById("imaging-upload");

function csrf() {
  return form.querySelector("input[name=csrfmiddlewaretoken]").value;
}

function sendChunk(url, offset, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.setRequestHeader("X-CSRFToken", csrf());
    xhr.setRequestHeader("Upload-Offset", String(offset));
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (event) => onProgress(offset + event.loaded);
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new Error("network"));
    xhr.send(blob);
  });
}

async function json(url, options) {
  const response = await fetch(url, { credentials: "same-origin", ...options });
  return { status: response.status, body: await response.json().catch(() => ({})) };
}

async function uploadOne(file, row) {
  const bar = row.querySelector("progress");
  const status = row.querySelector("[data-status]");
  const started = await json(form.dataset.start, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
    body: JSON.stringify({ size: file.size }),
  });
  if (started.status !== 201) {
    status.textContent = started.body.detail || "Refusé";
    row.classList.add("refused");
    return;
  }
  const url = form.dataset.chunk.replace("TOKEN", started.body.token);
  const size = started.body.chunk;
  let offset = 0;
  let failures = 0;
  for (;;) {
    let answer;
    try {
      answer = await sendChunk(url, offset, file.slice(offset, offset + size), (sent) => { bar.value = sent; });
    } catch (error) {
      failures += 1;
      if (failures > 20) { status.textContent = "Connexion perdue"; return; }
      status.textContent = "Connexion coupée, reprise…";
      await new Promise((r) => setTimeout(r, Math.min(500 * failures, 5000)));
      const where = await json(url).catch(() => null);
      if (where && where.status === 200) offset = where.body.received;
      continue;
    }
    if (answer.status === 409) { offset = answer.body.received; continue; }
    if (answer.status !== 200) { status.textContent = answer.body.detail || "Erreur"; row.classList.add("refused"); return; }
    offset = answer.body.received;
    bar.value = offset;
    if (answer.body.done) {
      const b = answer.body;
      const refused = (b.refused || []).map((r) => r.message).join(" ");
      status.textContent = `${b.stored} enregistrée(s), ${b.duplicates} déjà présente(s)` +
        (b.no_preview ? `, ${b.no_preview} sans aperçu` : "") + (refused ? ` — refusé : ${refused}` : "");
      row.classList.add(refused && !b.stored ? "refused" : "done");
      return;
    }
  }
}

if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const list = document.getElementById("imaging-progress");
    const files = [...form.querySelector("#imaging-files").files, ...form.querySelector("#imaging-folder").files];
    list.replaceChildren();
    const rows = files.map((file) => {
      const row = document.createElement("li");
      const label = document.createElement("span");
      label.textContent = file.webkitRelativePath || file.name;
      const bar = document.createElement("progress");
      bar.max = file.size || 1;
      bar.value = 0;
      bar.setAttribute("aria-label", label.textContent);
      const status = document.createElement("span");
      status.dataset.status = "";
      row.append(label, bar, status);
      list.append(row);
      return row;
    });
    for (let i = 0; i < files.length; i += 1) {
      await uploadOne(files[i], rows[i]);
    }
    const done = document.getElementById("imaging-done");
    done.querySelector("a").href = window.location.pathname;
    done.hidden = false;
  });
}
