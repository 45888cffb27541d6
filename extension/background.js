// davsync service worker: loads the Go module and routes messages to it.
// It holds no sync logic; see PROTOCOL.md for the contract.
//
// Chrome may stop this worker at any moment and start it again for an event.
// So every listener is registered synchronously at the top level (an event
// that woke the worker is delivered only to listeners present in the first
// turn), and each one awaits `ready` before touching Go.
'use strict';

importScripts('wasm_exec.js');

const AUTO_ALARM = 'davsync-auto-sync';
const EDIT_ALARM = 'davsync-edit-sync';
// One-shot, at the status's nextRun when that comes before the periodic
// alarm: a failed cycle's backoff (30 s, 1 min, ... up to 1 h) or a
// follow-up after a race, which an interval of hours would otherwise delay.
const RETRY_ALARM = 'davsync-retry';
const EDIT_DELAY_MS = 3000; // sync this long after the last local edit
// Backstop if the worker is stopped before the timer fires: Chrome clamps
// one-shot alarms to 30 s in packed extensions anyway.
const EDIT_ALARM_MS = 30000;
// Methods whose success changes local data, so a sync should follow.
const EDITS = new Set(['accounts.put', 'accounts.delete', 'preferences.save',
  'data.import', 'conflicts.resolve', 'undo.restore', 'snapshots.restore']);

let signalReady;
const ready = new Promise((resolve) => { signalReady = resolve; });
let bootError = null;

// Go calls these two globals (see wasm/main.go).
self.davsyncReady = () => signalReady();
self.davsyncOnStatus = (json) => {
  let status;
  try { status = JSON.parse(json); } catch (e) { return; }
  onStatus(status);
};

async function boot() {
  const t0 = performance.now();
  const go = new Go();
  const { instance } = await WebAssembly.instantiateStreaming(
    fetch(chrome.runtime.getURL('davsync.wasm')), go.importObject);
  // Never await run(): it settles only when Go exits. Go calls davsyncReady.
  go.run(instance).then(() => {
    bootError = { kind: 'unknown', message: 'The davsync module stopped; reload the extension.' };
  });
  await ready;
  // Worker start to Go ready, and the wasm part of it (read by the benchmark).
  self.davsyncReadyAt = performance.now();
  self.davsyncBootMs = self.davsyncReadyAt - t0;
}
boot().catch((e) => {
  bootError = { kind: 'unknown', message: 'The davsync module failed to load: ' + String(e && e.message || e) };
  signalReady();
});

/** Calls Go; resolves with the parsed result or rejects with {kind, message}. */
async function call(method, params) {
  await ready;
  if (bootError) throw bootError;
  let out;
  try {
    out = await self.davsync.call(method, JSON.stringify(params || {}));
  } catch (e) {
    if (e && typeof e.kind === 'string') throw e;
    throw { kind: 'unknown', message: String(e && e.message || e) };
  }
  return JSON.parse(out);
}

function toError(e) {
  if (e && typeof e.kind === 'string') {
    const out = { kind: e.kind, message: String(e.message || e.kind) };
    if (e.detail) out.detail = e.detail; // e.g. the preview a confirmation must name
    return out;
  }
  return { kind: 'unknown', message: String(e && e.message || e) };
}

async function handle(msg) {
  try {
    const result = await call(msg.method, msg.params);
    afterCall(msg.method, msg.params || {});
    return Object.assign({ ok: true }, result);
  } catch (e) {
    return { ok: false, error: toError(e) };
  }
}

// After a successful call: keep the alarm in step with the settings, and
// schedule a sync after local edits.
function afterCall(method, params) {
  if (method === 'settings.save') {
    syncAlarm().catch(() => {});
  } else if (EDITS.has(method) && !(method === 'data.import' && params.dryRun)) {
    scheduleEditSync();
  }
}

let editTimer = null;
let editSeq = 0; // counts scheduled edit syncs, so a cycle only drops those it covered
function scheduleEditSync() {
  editSeq++;
  clearTimeout(editTimer);
  editTimer = setTimeout(() => runSync('edit'), EDIT_DELAY_MS);
  chrome.alarms.create(EDIT_ALARM, { when: Date.now() + EDIT_ALARM_MS });
}

/** Runs a background sync if auto sync is on and a server is set up. */
function clearEditSync() {
  clearTimeout(editTimer);
  editTimer = null;
  chrome.alarms.clear(EDIT_ALARM).catch(() => {});
}

async function runSync(trigger) {
  // A pending edit sync is dropped only by a cycle that runs: a scheduled
  // one that is skipped (not due yet) must not swallow the edit.
  if (trigger === 'edit') clearEditSync();
  const seq = editSeq;
  try {
    const { settings } = await call('settings.get');
    if (!settings.configured || !settings.autoSync) return;
    const { result } = await call('sync.now', { trigger });
    // An edit made while it ran may not be in what it uploaded: keep its sync.
    if (result && !result.skipped && trigger !== 'edit' && editSeq === seq) clearEditSync();
    // The data changed while the cycle ran: sync again shortly.
    if (result && result.followUp) scheduleEditSync();
  } catch (e) {
    // Another cycle was running: it may have missed this edit, so retry.
    if (e && e.kind === 'busy' && trigger === 'edit') scheduleEditSync();
    // Any other failure is already in the status (badge, notification, pages).
  }
}

/** Makes the auto-sync alarm match the settings; creates it if missing. */
async function syncAlarm() {
  const { settings } = await call('settings.get');
  const want = settings.configured && settings.autoSync;
  const period = Math.max(Number(settings.intervalMinutes) || 60, 0.01);
  const have = await chrome.alarms.get(AUTO_ALARM);
  if (!want) {
    if (have) await chrome.alarms.clear(AUTO_ALARM);
    return;
  }
  if (!have || Math.abs(have.periodInMinutes - period) > 1e-9) {
    await chrome.alarms.create(AUTO_ALARM, { periodInMinutes: period, delayInMinutes: period });
  }
}

// ---- status: broadcast, badge, notifications -----------------------------

// What the last notification was about, kept for the browser session: a
// restarted worker must not show the same notification again.
const NOTIFIED_KEY = 'davsync.lastNotified';
let notifyChain = Promise.resolve();
function onStatus(status) {
  chrome.runtime.sendMessage({ type: 'sync.status', status }).catch(() => {
    // "Receiving end does not exist": no page is open. Pages read the
    // persisted status when they open, so nothing is lost.
  });
  setBadge(status);
  notifyChain = notifyChain.then(() => notify(status)).catch(() => {});
  scheduleRetry(status).catch(() => {});
}

/** Keeps RETRY_ALARM at status.nextRun when the periodic alarm comes later. */
async function scheduleRetry(status) {
  const next = status && status.state !== 'syncing' ? Number(status.nextRun) || 0 : 0;
  const auto = await chrome.alarms.get(AUTO_ALARM);
  if (!next || !auto || next >= auto.scheduledTime - 1000) {
    await chrome.alarms.clear(RETRY_ALARM);
    return;
  }
  // Chrome fires it no earlier than 30 s from now in a packed extension.
  await chrome.alarms.create(RETRY_ALARM, { when: Math.max(next, Date.now() + 1000) });
}

function setBadge(status) {
  const err = status.error && status.error.kind;
  const badge = err === 'needs_confirmation' ? '?' : err ? '!' : (status.conflicts > 0 ? String(status.conflicts) : '');
  chrome.action.setBadgeText({ text: badge }).catch(() => {});
  chrome.action.setBadgeBackgroundColor({ color: err ? '#b91c1c' : '#b45309' }).catch(() => {});
}

async function notify(status) {
  const kind = status.error && status.error.kind;
  let key = '';
  if (kind === 'auth' || kind === 'needs_confirmation' || kind === 'decrypt' || kind === 'passphrase_needed') key = kind;
  else if (status.conflicts > 0) key = 'conflicts:' + status.conflicts;
  const last = (await chrome.storage.session.get(NOTIFIED_KEY))[NOTIFIED_KEY] || '';
  if (!key || key === last) {
    if (!key && last) await chrome.storage.session.set({ [NOTIFIED_KEY]: '' });
    return;
  }
  await chrome.storage.session.set({ [NOTIFIED_KEY]: key });
  if (status.notify === false) return;
  const msgKey = key.startsWith('conflicts') ? 'notifyConflicts' : 'notify_' + kind;
  await chrome.notifications.create('davsync-attention', {
    type: 'basic',
    iconUrl: chrome.runtime.getURL('icons/icon128.png'),
    title: chrome.i18n.getMessage('extName'),
    message: chrome.i18n.getMessage(msgKey) || (status.error && status.error.message) || '',
  });
}

// ---- listeners: all registered synchronously, here ----------------------

chrome.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  if (!msg || typeof msg.method !== 'string' || sender.id !== chrome.runtime.id) return false;
  handle(msg).then(sendResponse);
  return true; // the reply is sent asynchronously
});

chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === AUTO_ALARM || alarm.name === RETRY_ALARM) runSync('alarm');
  else if (alarm.name === EDIT_ALARM) runSync('edit');
});

// Sync at browser start, once per browser session. The listener makes
// Chrome start the worker with the browser; the session-storage flag
// (cleared when the browser exits) also catches starts where onStartup is
// not delivered (an unpacked extension reloaded at launch) and keeps a
// worker restart within the session from syncing again.
let startupOnce = null;
function startupSync() {
  startupOnce = startupOnce || runStartupSync();
  return startupOnce;
}
async function runStartupSync() {
  try {
    const flag = await chrome.storage.session.get('davsync.sessionStarted');
    if (flag['davsync.sessionStarted']) return;
    await chrome.storage.session.set({ 'davsync.sessionStarted': true });
    // Chrome keeps the badge across worker restarts but not browser
    // restarts: show the persisted status once per browser session.
    call('sync.status').then((r) => setBadge(r.status)).catch(() => {});
    const { settings } = await call('settings.get');
    if (settings.configured && settings.syncOnStartup) await call('sync.now', { trigger: 'startup' });
  } catch (e) { /* reported through the status */ }
}
chrome.runtime.onStartup.addListener(() => { startupSync(); });

chrome.runtime.onInstalled.addListener(() => { syncAlarm().catch(() => {}); });

chrome.notifications.onClicked.addListener((id) => {
  if (id === 'davsync-attention') chrome.runtime.openOptionsPage();
});

// Every start of the worker: re-create the alarm if it went missing, and
// run the once-per-session startup sync.
syncAlarm().catch(() => {});
startupSync();
