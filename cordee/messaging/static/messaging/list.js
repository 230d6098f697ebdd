// The conversation list page: badges follow new messages live (no message text ever comes here).
import { ChatSocket } from "./socket.js";
import { noticeArrived, removeEntry, setUnread } from "./sidebar.js";

const configElement = document.getElementById("chat-config");
if (configElement) {
  const config = JSON.parse(configElement.textContent);
  const strings = config.strings;
  const state = document.querySelector("[data-conn]");
  const socket = new ChatSocket(config.socket, {
    onState: (name) => {
      if (state) state.textContent = strings[name] || name;
    },
    onFrame: (frame) => {
      if (frame.type === "notice") noticeArrived(frame, config.user, strings);
      else if (frame.type === "read") setUnread(frame.conversation, 0, strings);
      else if (frame.type === "removed") removeEntry(frame.conversation);
    },
  });
  socket.connect();
}
