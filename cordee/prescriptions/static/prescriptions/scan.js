// The pharmacist's QR reader: the camera (getUserMedia) feeds a canvas, jsQR (served locally,
// vendor/jsqr) reads each frame; the first code found is put in the form, which is sent. The
// server verifies the code's signature: this script only reads it.
const button = document.querySelector("[data-scan]");
const form = document.querySelector("#scan-form");
const video = document.querySelector("#scan-video");
const status = document.querySelector("#scan-status");

function stop(stream) {
  stream.getTracks().forEach((track) => track.stop());
  video.hidden = true;
}

async function scan() {
  if (!navigator.mediaDevices || !window.jsQR) {
    status.textContent = status.dataset.unsupported;
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (error) {
    status.textContent = status.dataset.denied;
    return;
  }
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  status.textContent = status.dataset.looking;
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const started = Date.now();
  const tick = () => {
    if (video.readyState >= video.HAVE_CURRENT_DATA && video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      const frame = context.getImageData(0, 0, canvas.width, canvas.height);
      const code = window.jsQR(frame.data, frame.width, frame.height, { inversionAttempts: "dontInvert" });
      if (code && code.data) {
        stop(stream);
        form.querySelector("[name=qr]").value = code.data;
        status.textContent = status.dataset.found;
        form.submit();
        return;
      }
    }
    if (Date.now() - started > 60000) {
      stop(stream);
      status.textContent = status.dataset.timeout;
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

if (button) {
  button.hidden = false;
  button.addEventListener("click", scan);
}
