/* gatecast.js — placeholder until the browser library lands (issue 6). */
export {};
