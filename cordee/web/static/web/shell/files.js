// File pickers (<label class="file-pick"> around an input[type=file]): the file input keeps its
// own button and keyboard behaviour; the label becomes a drop zone for files dragged onto it, and
// says which files were chosen. A drop fills the input and fires "change", as a choice would.

function names(files) {
  return Array.from(files, (file) => file.name).join(", ");
}

function enhance(zone) {
  const input = zone.querySelector("input[type=file]");
  if (!input) return;
  const chosen = zone.querySelector("[data-file-chosen]");
  const show = () => {
    if (chosen) chosen.textContent = input.files && input.files.length ? names(input.files) : "";
  };
  input.addEventListener("change", show);
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (event) => {
      if (!event.dataTransfer || !Array.from(event.dataTransfer.types).includes("Files")) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("is-dragover");
    });
  }
  for (const type of ["dragleave", "dragend"]) {
    zone.addEventListener(type, (event) => {
      if (event.type === "dragleave" && zone.contains(event.relatedTarget)) return;
      zone.classList.remove("is-dragover");
    });
  }
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("is-dragover");
    const files = event.dataTransfer?.files;
    if (!files || !files.length) return;
    const transfer = new DataTransfer();
    for (const file of input.multiple ? Array.from(files) : [files[0]]) transfer.items.add(file);
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
}

export function enhanceFilePickers(root = document) {
  for (const zone of root.querySelectorAll(".file-pick")) enhance(zone);
}
