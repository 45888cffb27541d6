// davsync service worker: loads the Go module and routes messages to it.
// It holds no sync logic; PROTOCOL.md (generated from internal/protocol)
// is the contract.
//
// Chrome may stop this worker at any moment and start it again for an event.
// So every listener is registered synchronously at the top level (an event
// that woke the worker is delivered only to listeners present in the first
// turn), and each one awaits `ready` before touching Go.
'use strict';

importScripts('wasm_exec.js', 'protocol.gen.js', 'wasmcache.js');
// The module's build id (DAVSYNC_WASM_ID), written by the build beside the
// module; without it every start reads the module from the package.
try { importScripts('wasm-id.js'); } catch (e) { /* not built by make */ }

// One periodic alarm per server: AUTO_PREFIX + its id.
const AUTO_PREFIX = 'davsync-auto-sync:';
const EDIT_ALARM = 'davsync-edit-sync';
// One-shot, at the earliest server's nextRun when that comes before its
// periodic alarm: a failed cycle's backoff (30 s, 1 min, ... up to 1 h) or a
// follow-up after a race, which an interval of hours would otherwise delay.
const RETRY_ALARM = 'davsync-retry';
const EDIT_DELAY_MS = 3000; // sync this long after the last local edit
// Backstop if the worker is stopped before the timer fires: Chrome clamps
// one-shot alarms to 30 s in packed extensions anyway.
const EDIT_ALARM_MS = 30000;
// Methods whose success changes local data, so a sync should follow (from Go).
const EDITS = new Set(DAVSYNC_PROTOCOL.edits);

let signalReady;
const ready = new Promise((resolve) => { signalReady = resolve; });
/** @type {DavsyncError | null} */
let bootError = null;

// Go calls these two globals (see wasm/main.go).
/** When Go's main began (Go passes it) and when it called davsyncReady (performance.now()). */
let goMainAt = 0;
let goReadyAt = 0;
self.davsyncReady = (mainAt) => {
  goReadyAt = performance.now();
  goMainAt = Number(mainAt) || 0;
  signalReady();
};
self.davsyncOnStatus = (json) => {
  // Handled in a task of its own, after the call that changed the status
  // has answered its page: Go reports the outcome of a sync just before
  // it returns it, and the broadcast, badge and notification need not
  // delay that answer. Statuses reported meanwhile are whole snapshots, so
  // only the newest is handled.
  const idle = pendingStatus === null;
  pendingStatus = json;
  if (idle) setTimeout(handleStatus, 0);
};
/** The newest status JSON Go reported and the worker has not handled yet. @type {string | null} */
let pendingStatus = null;
function handleStatus() {
  const json = pendingStatus;
  pendingStatus = null;
  let status;
  try { status = JSON.parse(json || ''); } catch (e) { return; }
  onStatus(status);
}

async function boot() {
  const t0 = performance.now();
  const go = new Go();
  const { module, source, keep } = await compileModule(chrome.runtime.getURL('davsync.wasm'), self.DAVSYNC_WASM_ID);
  const t1 = performance.now();
  const instance = await WebAssembly.instantiate(module, go.importObject);
  const t2 = performance.now();
  // The module's memory, for the benchmark's memory figures.
  self.davsyncMemory = /** @type {WebAssembly.Memory} */ (instance.exports.mem);
  // Never await run(): it settles only when Go exits. Go calls davsyncReady.
  go.run(instance).then(() => {
    bootError = { kind: 'unknown', message: 'The davsync module stopped; reload the extension.' };
  });
  await ready;
  // Worker start to Go ready, the wasm part of it, and where that went
  // (read by the benchmark): reading and compiling the module (from the
  // IndexedDB copy or the package), instantiating it, Go's runtime and
  // package initialisation up to main, main up to davsyncReady, and from
  // there to here (the calls that were waiting for ready start first).
  self.davsyncReadyAt = performance.now();
  self.davsyncBootMs = self.davsyncReadyAt - t0;
  self.davsyncBoot = {
    source, compileMs: t1 - t0, instantiateMs: t2 - t1,
    goInitMs: goMainAt ? goMainAt - t2 : 0, goMainMs: goMainAt ? goReadyAt - goMainAt : 0,
    afterReadyMs: self.davsyncReadyAt - goReadyAt,
  };
  // After a read of the package (a new install or update), a copy for the next start.
  keep().catch(() => {});
}
boot().catch((e) => {
  bootError = { kind: 'unknown', message: 'The davsync module failed to load: ' + String(e && e.message || e) };
  signalReady();
});

/**
 * Calls Go; resolves with the parsed result or rejects with a DavsyncError.
 * @template {keyof DavsyncMethods} M
 * @param {M} method
 * @param {Partial<DavsyncMethods[M]['params']>} [params]
 * @returns {Promise<DavsyncMethods[M]['result']>}
 */
async function call(method, params) {
  await ready;
  if (bootError) throw bootError;
  let out;
  const t0 = performance.now();
  try {
    out = await self.davsync.call(method, JSON.stringify(params || {}));
  } catch (e) {
    throw toError(e);
  }
  const t1 = performance.now();
  const reply = JSON.parse(out);
  // sync.now's diagnostic timings (wasm/main.go): add the worker's side.
  const t = reply && reply.result && reply.result.timings;
  if (t) Object.assign(t, { goCall: t1 - t0, goParse: performance.now() - t1 });
  return reply;
}

/** @returns {DavsyncError} */
function toError(e) {
  if (e && typeof e.kind === 'string') {
    /** @type {DavsyncError} */
    const out = { kind: e.kind, message: String(e.message || e.kind) };
    if (e.detail) out.detail = e.detail; // e.g. the preview a confirmation must name
    if (Array.isArray(e.notes)) out.notes = e.notes; // the message as keys, for the page's language
    return out;
  }
  return { kind: 'unknown', message: String(e && e.message || e) };
}

async function handle(msg) {
  const t0 = performance.now();
  try {
    const result = await call(msg.method, msg.params);
    afterCall(msg.method, msg.params || {});
    const t = result && result.result && result.result.timings;
    if (t) t.worker = performance.now() - t0;
    return Object.assign({ ok: true }, result);
  } catch (e) {
    return { ok: false, error: toError(e) };
  }
}

// After a successful call: keep the alarms in step with the settings, and
// schedule a sync after local edits.
function afterCall(method, params) {
  if (method === 'settings.save' || method === 'remotes.save' || method === 'remotes.delete') {
    syncAlarms().catch(() => {});
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

function clearEditSync() {
  clearTimeout(editTimer);
  editTimer = null;
  chrome.alarms.clear(EDIT_ALARM).catch(() => {});
}

/** The servers automatic sync runs for: enabled, configured, autoSync on. */
async function autoRemotes() {
  const { remotes } = await call('remotes.list');
  return remotes.filter((r) => r.enabled && r.url && r.autoSync);
}

/**
 * Runs a background sync: of one server (its alarm) or of every server
 * with automatic sync on (an edit, a retry). Go skips what is not due.
 * @param {string} trigger
 * @param {string} [remote]
 */
async function runSync(trigger, remote) {
  // A pending edit sync is dropped only by a cycle that runs: a scheduled
  // one that is skipped (not due yet) must not swallow the edit.
  if (trigger === 'edit') clearEditSync();
  const seq = editSeq;
  try {
    const ids = remote ? [remote] : (await autoRemotes()).map((r) => r.id);
    let ran = false;
    let follow = false;
    for (const id of ids) {
      try {
        const { result } = await call('sync.now', { trigger, remote: id });
        ran = ran || !!(result && !result.skipped);
        follow = follow || !!(result && result.followUp);
      } catch (e) {
        // Another cycle was running: it may have missed this edit, so retry.
        if (e && e.kind === 'busy' && trigger === 'edit') scheduleEditSync();
        // Any other failure is in that server's status (badge, notification, pages).
      }
    }
    // An edit made while it ran may not be in what it uploaded: keep its sync.
    if (ran && trigger !== 'edit' && !remote && editSeq === seq) clearEditSync();
    // The data changed while the cycle ran: sync again shortly.
    if (follow) scheduleEditSync();
  } catch (e) { /* reported through the status */ }
}

/** Makes the per-server alarms match the settings; creates missing ones. */
async function syncAlarms() {
  const want = new Map((await autoRemotes()).map((r) => [AUTO_PREFIX + r.id, Math.max(Number(r.intervalMinutes) || 60, 0.01)]));
  for (const a of await chrome.alarms.getAll()) {
    const legacy = a.name === 'davsync-auto-sync'; // davsync 0.1's single alarm
    if ((a.name.startsWith(AUTO_PREFIX) && !want.has(a.name)) || legacy) await chrome.alarms.clear(a.name);
  }
  for (const [name, period] of want) {
    const have = await chrome.alarms.get(name);
    if (!have || Math.abs(have.periodInMinutes - period) > 1e-9) {
      await chrome.alarms.create(name, { periodInMinutes: period, delayInMinutes: period });
    }
  }
}

// ---- status: broadcast, badge, notifications -----------------------------

// What the last notification was about, kept for the browser session: a
// restarted worker must not show the same notification again.
const NOTIFIED_KEY = 'davsync.lastNotified';
let notifyChain = Promise.resolve();
let retryChain = Promise.resolve();
/** NOTIFIED_KEY's value, once read: @type {string | null} */
let lastNotified = null;
/** @param {AppStatus} status */
function onStatus(status) {
  chrome.runtime.sendMessage({ type: 'sync.status', status }).catch(() => {
    // "Receiving end does not exist": no page is open. Pages read the
    // persisted status when they open, so nothing is lost.
  });
  setBadge(status);
  notifyChain = notifyChain.then(() => notify(status)).catch(() => {});
  // In order, so the last status decides the alarm (retryMayExist needs it too).
  retryChain = retryChain.then(() => scheduleRetry(status)).catch(() => {});
}

/** The worst server's entry in the status (what the badge speaks of). */
function worst(status) {
  return (status.remotes || []).find((r) => r.id === status.worst) || null;
}

// Whether RETRY_ALARM may exist: unknown (true) until this worker cleared
// it, so a status with nothing to retry costs no alarms call after that.
let retryMayExist = true;

/** Keeps RETRY_ALARM at the earliest nextRun when that server's periodic alarm comes later. */
async function scheduleRetry(status) {
  let earliest = 0;
  for (const r of status.remotes || []) {
    const next = r.status.state !== 'syncing' ? Number(r.status.nextRun) || 0 : 0;
    if (!next) continue;
    const auto = await chrome.alarms.get(AUTO_PREFIX + r.id);
    if (auto && next < auto.scheduledTime - 1000 && (!earliest || next < earliest)) earliest = next;
  }
  if (!earliest) {
    if (!retryMayExist) return;
    await chrome.alarms.clear(RETRY_ALARM);
    retryMayExist = false;
    return;
  }
  // Chrome fires it no earlier than 30 s from now in a packed extension.
  retryMayExist = true;
  await chrome.alarms.create(RETRY_ALARM, { when: Math.max(earliest, Date.now() + 1000) });
}

// The badge this worker last set ('' before the first): every status
// change arrives here, and most leave the badge as it was, so the two
// chrome.action calls go out only when it changes. (Chrome keeps the badge
// over a worker restart, so the first status of a worker sets it again.)
let badgeShown = '';

/** @param {AppStatus} status */
function setBadge(status) {
  const w = worst(status);
  const err = w && w.status.error && w.status.error.kind;
  const badge = err === 'needs_confirmation' ? '?' : err ? '!' : (status.conflicts > 0 ? String(status.conflicts) : '');
  const color = err ? '#b91c1c' : '#b45309';
  if (badgeShown === badge + color) return;
  badgeShown = badge + color;
  chrome.action.setBadgeText({ text: badge }).catch(() => { badgeShown = ''; });
  chrome.action.setBadgeBackgroundColor({ color }).catch(() => { badgeShown = ''; });
}

/** @param {AppStatus} status */
async function notify(status) {
  const w = worst(status);
  const kind = w && w.status.error && w.status.error.kind;
  let key = '';
  if (kind === 'auth' || kind === 'needs_confirmation' || kind === 'decrypt' || kind === 'passphrase_needed') key = kind + ':' + w.id;
  else if (status.conflicts > 0) key = 'conflicts:' + status.conflicts;
  // Read once per worker; after that this worker is its only writer (the
  // calls are serialised on notifyChain), so memory knows it.
  if (lastNotified === null) lastNotified = String((await chrome.storage.session.get(NOTIFIED_KEY))[NOTIFIED_KEY] || '');
  const last = lastNotified;
  if (!key || key === last) {
    if (!key && last) {
      await chrome.storage.session.set({ [NOTIFIED_KEY]: '' });
      lastNotified = '';
    }
    return;
  }
  await chrome.storage.session.set({ [NOTIFIED_KEY]: key });
  lastNotified = key;
  if (status.notify === false) return;
  const msgKey = key.startsWith('conflicts') ? 'notifyConflicts' : 'notify_' + kind;
  // The notification names the server when there is more than one.
  const name = w && (status.remotes || []).length > 1 ? w.name + ': ' : '';
  await chrome.notifications.create('davsync-attention', {
    type: 'basic',
    iconUrl: chrome.runtime.getURL('icons/icon128.png'),
    title: chrome.i18n.getMessage('extName'),
    message: name + (chrome.i18n.getMessage(msgKey) || (w && w.status.error && w.status.error.message) || ''),
  });
}

// ---- listeners: all registered synchronously, here ----------------------

chrome.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  if (!msg || typeof msg.method !== 'string' || sender.id !== chrome.runtime.id) return false;
  handle(msg).then(sendResponse);
  return true; // the reply is sent asynchronously
});

chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name.startsWith(AUTO_PREFIX)) runSync('alarm', alarm.name.slice(AUTO_PREFIX.length));
  else if (alarm.name === RETRY_ALARM) runSync('alarm');
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
    // Chrome keeps alarms across worker restarts but may drop them when the
    // browser restarts: re-create missing ones once per session (and on
    // install or update, onInstalled), not on every start of the worker.
    syncAlarms().catch(() => {});
    // Chrome keeps the badge across worker restarts but not browser
    // restarts: show the persisted status once per browser session.
    call('sync.status').then((r) => setBadge(r.status)).catch(() => {});
    const { remotes } = await call('remotes.list');
    for (const r of remotes) {
      if (r.enabled && r.url && r.syncOnStartup) await call('sync.now', { trigger: 'startup', remote: r.id }).catch(() => {});
    }
  } catch (e) { /* reported through the status */ }
}
chrome.runtime.onStartup.addListener(() => { startupSync(); });

chrome.runtime.onInstalled.addListener(() => { syncAlarms().catch(() => {}); });

chrome.notifications.onClicked.addListener((id) => {
  if (id === 'davsync-attention') chrome.runtime.openOptionsPage();
});

// Every start of the worker: the once-per-session startup (alarms, sync).
startupSync();
