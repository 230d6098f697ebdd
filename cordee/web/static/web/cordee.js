// The shell's progressive enhancements; every page works without JavaScript.
import { enhanceMenus } from "./shell/menus.js";
import { enhanceFilePickers } from "./shell/files.js";
import { enhanceFormErrors } from "./shell/forms.js";
import { watchIdle } from "./shell/idle.js";
import { announceSwaps } from "./shell/live.js";
import { watchWaiting } from "./shell/waiting.js";
import { enhancePushSettings } from "./shell/push.js";
import { catchUpTyping } from "./shell/typed.js";

document.documentElement.classList.add("js");
enhanceMenus();
enhanceFilePickers();
enhanceFormErrors();
watchIdle();
announceSwaps();
watchWaiting();
enhancePushSettings();
catchUpTyping();
