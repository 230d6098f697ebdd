// Uploads of the record: the file is the request body (streamed and encrypted by the server as it
// arrives), the form's fields travel in headers, percent-encoded; progress is shown while it goes.
// The words come from the page (translated there): data-sending, data-done, data-failed, data-too-large.

function send(form, file, headers) {
  const S = form.dataset;
  const progress = form.querySelector("#upload-progress");
  const status = form.querySelector("#upload-status");
  const button = form.querySelector("button[type=submit]");
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const max = Number(form.dataset.maxBytes || 0);
  if (max && file.size > max) {
    status.textContent = S.tooLarge;
    return;
  }
  const xhr = new XMLHttpRequest();
  xhr.open("POST", form.dataset.url);
  xhr.setRequestHeader("X-CSRFToken", csrf);
  xhr.setRequestHeader("Content-Type", "application/octet-stream");
  xhr.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
  for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
  progress.hidden = false;
  progress.value = 0;
  button.disabled = true;
  status.textContent = S.sending;
  xhr.upload.addEventListener("progress", (event) => {
    if (event.lengthComputable) progress.value = Math.round((event.loaded / event.total) * 100);
  });
  xhr.addEventListener("load", () => {
    button.disabled = false;
    let answer = {};
    try { answer = JSON.parse(xhr.responseText); } catch { answer = {}; }
    if (xhr.status === 201 && answer.url) {
      progress.value = 100;
      status.textContent = S.done;
      window.location.assign(answer.url);
    } else {
      status.textContent = answer.detail || (xhr.status === 413 ? S.tooLarge : S.failed);
      progress.hidden = true;
    }
  });
  xhr.addEventListener("error", () => {
    button.disabled = false;
    progress.hidden = true;
    status.textContent = S.failed;
  });
  xhr.send(file);
}

const value = (form, name) => form.querySelector(`[name=${name}]`)?.value ?? "";

const uploadForm = document.getElementById("upload-form");
if (uploadForm) {
  const type = uploadForm.querySelector("#doc-type");
  const visible = uploadForm.querySelector("#doc-visible");
  const hidden = (type.dataset.hiddenTypes || "").split(" ");
  const follow = () => { if (visible) visible.checked = !hidden.includes(type.value); };
  type.addEventListener("change", follow);
  follow();
  uploadForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = uploadForm.querySelector("input[type=file]").files[0];
    if (!file) return;
    const headers = {
      "X-Document-Type": value(uploadForm, "doc_type"),
      "X-Document-Title": encodeURIComponent(value(uploadForm, "title")),
      "X-Act-Date": value(uploadForm, "act_date"),
      "X-Document-Source": encodeURIComponent(value(uploadForm, "source")),
    };
    if (visible) headers["X-Visible"] = visible.checked ? "1" : "0";
    send(uploadForm, file, headers);
  });
}

const versionForm = document.getElementById("version-form");
if (versionForm) {
  versionForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = versionForm.querySelector("input[type=file]").files[0];
    if (!file) return;
    send(versionForm, file, { "X-Reason": encodeURIComponent(value(versionForm, "reason")) });
  });
}
