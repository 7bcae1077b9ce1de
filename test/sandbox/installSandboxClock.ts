/** `node --import` this in the sandbox's app process: its `Date` follows the emulator's clock (see sandboxClock.ts). */
import { installSandboxClock } from './sandboxClock.js';

installSandboxClock();
