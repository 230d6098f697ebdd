// The incoming-call banner of a conversation's page: every messaging socket passes its frames on
// (the "cordee:socket-frame" event); a call starting in this conversation shows a banner with a
// link to join it, and the banner goes when the call ends (other pages: ringing.js).
const tool = document.querySelector("[data-call-tool]");
const banner = tool?.querySelector("[data-call-banner]");
const strings = JSON.parse(document.getElementById("call-tool-strings")?.textContent || "{}");

document.addEventListener("cordee:socket-frame", (event) => {
  const frame = event.detail;
  if (!banner || String(frame.conversation) !== tool.dataset.conversation) return;
  if (frame.type === "call.ring") {
    const text = (frame.kind === "teleconsultation" ? strings.teleconsultation : strings.call) || "";
    const line = document.createElement("span");
    line.textContent = text.replace("%(name)s", frame.from) + " ";
    const join = document.createElement("a");
    join.className = "button";
    join.href = frame.url;
    join.dataset.callJoin = "";
    join.textContent = frame.kind === "teleconsultation" ? strings.joinTeleconsultation : strings.join;
    banner.replaceChildren(line, join);
    banner.hidden = false;
    tool.querySelector("[data-call-start]")?.closest("form")?.setAttribute("hidden", "");
  } else if (frame.type === "call.ended") {
    banner.hidden = true;
    banner.replaceChildren();
    tool.querySelector("[data-call-join]:not([data-call-banner] *)")?.remove();
  }
});
