// The shell's progressive enhancements; every page works without JavaScript.
import { enhanceMenus } from "./shell/menus.js";
import { enhanceFilePickers } from "./shell/files.js";
import { watchWaiting } from "./shell/waiting.js";
import { enhancePushSettings } from "./shell/push.js";

document.documentElement.classList.add("js");
enhanceMenus();
enhanceFilePickers();
watchWaiting();
enhancePushSettings();
