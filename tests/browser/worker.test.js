// The worker and the pages under timing that the main suite does not
// produce: edits during a cycle, worker and browser restarts, a preview
// overtaken by a new input, keyboard focus across list reloads. Each test
// failed before its fix (found in a review of the extension side).
// Run by make test-browser, after e2e.test.js.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const lib = require('./lib');
const { ROOT, buildTestExtension, startDav, launch, until } = lib;

const EXT = path.join(ROOT, '.run', 'ext-worker-test');
const PASS = 'correct horse battery';
let dav;
const browsers = [];

before(async () => {
  buildTestExtension(EXT);
  dav = await startDav({ pass: PASS });
});
after(async () => {
  for (const b of browsers) await b.close();
  if (dav) await dav.stop();
});

async function browser(opts = {}) {
  const b = await launch({ extDir: EXT, ...opts });
  browsers.push(b);
  return b;
}

const serverNames = () => lib.serverNames(dav);

/**
 * A proxy in front of dav that holds every PUT of the sync file for delayMs
 * and, while fail() returns true, answers every request 500.
 */
async function slowProxy(target, delayMs, fail = () => false) {
  const t = new URL(target);
  const seen = [];
  const srv = http.createServer((req, res) => {
    seen.push(req.method + ' ' + req.url);
    if (fail()) {
      req.resume();
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('down for maintenance');
      return;
    }
    const go = () => {
      const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (req.method === 'PUT' && /davsync\.json/.test(req.url)) setTimeout(go, delayMs);
    else go();
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: 'http://127.0.0.1:' + srv.address().port + t.pathname, seen, close: () => new Promise((r) => srv.close(r)) };
}

test('edit made while an alarm cycle runs still reaches the server shortly', async () => {
  const proxy = await slowProxy(dav.url, 2000);
  try {
    const D = await browser();
    // A fresh profile (never synced, so the first alarm cycle is due), automatic sync off while data is added.
    await D.ok('settings.save', { settings: { url: proxy.url, username: dav.user, password: PASS, autoSync: false } });
    await D.ok('accounts.put', { account: { site_name: 'Before' } });
    await new Promise((r) => setTimeout(r, 4000)); // its edit sync ran and found automatic sync off
    // Hourly automatic sync: only the edit-triggered sync can carry a new edit soon.
    await D.ok('settings.save', { settings: { autoSync: true, intervalMinutes: 60 } });
    const putsBefore = proxy.seen.filter((s) => s.startsWith('PUT')).length;
    await D.worker().evaluate(() => chrome.alarms.create('davsync-auto-sync:1', { when: Date.now() + 50, periodInMinutes: 60 }));
    // The alarm cycle is uploading (the PUT is held 2 s): the user adds an account now.
    await until(() => proxy.seen.filter((s) => s.startsWith('PUT')).length > putsBefore, { what: 'alarm cycle PUT', timeout: 20000 });
    await D.ok('accounts.put', { account: { site_name: 'During alarm cycle' } });
    const st = await until(async () => { const s = (await D.ok('sync.status')).status; return s.state === 'idle' && s.trigger === 'alarm' && s; }, { what: 'alarm cycle done' });
    assert.equal(st.error, null);
    // "syncs 3 s after an edit (alarm davsync-edit-sync as a backstop)": give it 40 s.
    await until(() => serverNames().includes('During alarm cycle'), { what: 'the edit made during the alarm cycle on the server', timeout: 40000 });
  } finally { await proxy.close(); }
});

test('a failed cycle is retried at its backoff time, not an interval later', async () => {
  let down = true;
  const proxy = await slowProxy(dav.url, 0, () => down);
  try {
    const R = await browser();
    await R.ok('settings.save', { settings: { url: proxy.url, username: dav.user, password: PASS, autoSync: true, intervalMinutes: 60 } });
    await R.ok('accounts.put', { account: { site_name: 'Retried' } });
    const r = await R.send('sync.now');
    assert.equal(r.ok, false);
    assert.equal(r.error.kind, 'server');
    const { status } = await R.ok('sync.status');
    const retry = await until(() => R.worker().evaluate(() => chrome.alarms.get('davsync-retry')), { what: 'retry alarm' });
    const auto = await R.worker().evaluate(() => chrome.alarms.get('davsync-auto-sync:1'));
    assert.ok(Math.abs(retry.scheduledTime - status.nextRun) < 2000, `retry at ${retry.scheduledTime}, nextRun ${status.nextRun}`);
    assert.ok(retry.scheduledTime < auto.scheduledTime - 50 * 60 * 1000, 'the retry is not before the hourly alarm');
    down = false; // the server is back before the retry fires (30 s backoff)
    await until(() => serverNames().includes('Retried'), { what: 'the retried cycle uploaded the edit', timeout: 60000 });
    await until(async () => (await R.ok('sync.status')).status.state === 'idle', { what: 'idle after the retry' });
    assert.equal(await R.worker().evaluate(() => chrome.alarms.get('davsync-retry')), undefined, 'the retry alarm is left after success');
  } finally { await proxy.close(); }
});

test('a notification the user dismissed does not come back after a worker restart', async () => {
  const E = await browser();
  await E.ok('settings.save', { settings: { url: dav.url, username: dav.user, password: 'rejected password', autoSync: true, intervalMinutes: 60 } });
  const r = await E.send('sync.now');
  assert.equal(r.error.kind, 'auth');
  const page = await E.open('popup.html');
  const shown = () => page.evaluate(() => chrome.notifications.getAll().then((n) => Object.keys(n)));
  await until(async () => (await shown()).includes('davsync-attention'), { what: 'auth notification' });
  // The user dismisses it. Nothing changes: the password is still wrong.
  await page.evaluate(() => chrome.notifications.clear('davsync-attention'));
  assert.deepEqual(await shown(), []);
  // The hourly alarm wakes a worker Chrome had stopped (here in 3 s).
  await E.worker().evaluate(() => chrome.alarms.create('davsync-auto-sync:1', { when: Date.now() + 3000, periodInMinutes: 60 }));
  await E.stopWorkers();
  await until(async () => (await E.ok('sync.status')).status.lastAttempt > 0, { what: 'status' });
  await new Promise((res) => setTimeout(res, 6000)); // the alarm has fired
  assert.equal((await E.worker().evaluate(() => chrome.alarms.get('davsync-auto-sync:1'))).periodInMinutes, 60);
  assert.deepEqual(await shown(), [], 'the same "sign-in failed" notification was shown again after a worker restart');
});

test('the module is kept in IndexedDB: a restart reads the copy; a damaged copy or another build\'s is replaced from the package', async () => {
  const K = await browser();
  await K.ok('accounts.put', { account: { site_name: 'Kept' } });
  const w = () => K.worker();
  assert.equal((await w().evaluate(() => self.davsyncBoot)).source, 'package', 'a new profile has no copy');
  // The copies in the store: build id -> size.
  const copies = () => w().evaluate(async () => {
    const db = await openModuleDB();
    const store = db.transaction('bytes').objectStore('bytes');
    const keys = await idbResult(store.getAllKeys());
    const vals = await idbResult(store.getAll());
    db.close();
    return Object.fromEntries(keys.map((k, i) => [String(k), vals[i].size]));
  });
  const size = fs.statSync(path.join(EXT, 'davsync.wasm')).size;
  const id = await w().evaluate(() => self.DAVSYNC_WASM_ID);
  assert.match(id, /^[0-9a-f]{32}$/);
  await until(async () => (await copies())[id] === size, { what: 'the copy kept' });
  const restart = async () => {
    await K.stopWorkers();
    const r = await K.ok('accounts.list'); // wakes the worker: the data and the module work
    assert.deepEqual(r.accounts.map((a) => a.site_name), ['Kept']);
    return (await w().evaluate(() => self.davsyncBoot)).source;
  };
  assert.equal(await restart(), 'cache');
  // Damaged bytes under this build's id: the package is read and the copy replaced.
  await w().evaluate(async (key) => {
    const db = await openModuleDB();
    const tx = db.transaction('bytes', 'readwrite');
    tx.objectStore('bytes').put(new Blob(['not a module']), key);
    await new Promise((r) => { tx.oncomplete = r; });
    db.close();
  }, id);
  assert.equal(await restart(), 'package');
  await until(async () => (await copies())[id] === size, { what: 'the damaged copy replaced' });
  // Only another build's copy (an update): it is not run, and it is dropped.
  await w().evaluate(async () => {
    const db = await openModuleDB();
    const tx = db.transaction('bytes', 'readwrite');
    tx.objectStore('bytes').clear();
    tx.objectStore('bytes').put(new Blob(['an older build']), '0123456789abcdef0123456789abcdef');
    await new Promise((r) => { tx.oncomplete = r; });
    db.close();
  });
  assert.equal(await restart(), 'package');
  await until(async () => JSON.stringify(await copies()) === JSON.stringify({ [id]: size }), { what: 'only this build kept' });
  assert.equal(await restart(), 'cache');
});

test('badge still shows the error after the browser restarts', async () => {
  const F = await browser();
  await F.ok('settings.save', { settings: { url: dav.url, username: dav.user, password: 'rejected password', autoSync: true, intervalMinutes: 60 } });
  assert.equal((await F.send('sync.now')).error.kind, 'auth');
  await until(async () => (await F.worker().evaluate(() => chrome.action.getBadgeText({}))) === '!', { what: 'badge' });
  const dir = F.profileDir;
  await F.close();
  browsers.splice(browsers.indexOf(F), 1);
  const G = await browser({ profileDir: dir });
  const st = (await G.ok('sync.status')).status;
  assert.equal(st.error.kind, 'auth');
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(await G.worker().evaluate(() => chrome.action.getBadgeText({})), '!', 'status is an auth error but the badge is empty');
});

test('alarms a browser restart dropped are re-created once at the next browser start, not at each worker start', async () => {
  const A = await browser();
  await A.ok('settings.save', { settings: { url: dav.url, username: dav.user, password: PASS, autoSync: true, intervalMinutes: 60 } });
  const alarm = (b) => b.worker().evaluate(() => chrome.alarms.get('davsync-auto-sync:1'));
  await until(() => alarm(A), { what: 'the automatic sync alarm' });
  // Chrome may drop alarms when the browser restarts: here they go before it.
  await A.worker().evaluate(() => chrome.alarms.clearAll());
  await A.stopWorkers();
  await A.ok('sync.status'); // a worker restart within the session leaves alarms to Chrome
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(await alarm(A), undefined);
  const dir = A.profileDir;
  await A.close();
  browsers.splice(browsers.indexOf(A), 1);
  const B = await browser({ profileDir: dir });
  const got = await until(() => alarm(B), { what: 'the alarm re-created at browser start' });
  assert.equal(got.periodInMinutes, 60);
});

test('account editor: saving a name change does not revert a change another page made meanwhile', async () => {
  const H = await browser();
  const { account } = await H.ok('accounts.put', { account: { site_name: 'Juliet', username: 'jul', notes: 'old notes' } });
  const p = await H.open('accounts.html');
  await until(() => p.locator('#list td', { hasText: 'Juliet' }).count(), { what: 'row' });
  await p.locator('#list tr', { hasText: 'Juliet' }).locator('button', { hasText: 'Edit' }).click();
  // While the editor is open, another page (or a sync from another device) changes the notes.
  await H.ok('accounts.put', { account: { ...account, notes: 'new notes from the other page' } });
  await p.fill('#f_site_name', 'Juliet renamed');
  await p.click('#saveAccount');
  await until(() => p.locator('#list td', { hasText: 'Juliet renamed' }).count(), { what: 'renamed row' });
  const now = (await H.ok('accounts.list')).accounts.find((a) => a.id === account.id);
  assert.equal(now.site_name, 'Juliet renamed');
  assert.equal(now.notes, 'new notes from the other page', 'the other page\'s edit was lost');
});

test('import: a preview that arrives after the input changed cannot be applied to the new input', async () => {
  const I = await browser();
  const doc = (name) => JSON.stringify({ format: 'davsync', version: 1, exported_at: Date.now(),
    collections: { accounts: { records: [{ id: 'id-' + name, site_name: name, updated_at: Date.now() }], tombstones: [] } },
    preferences: { updated_at: 0, values: {} } });
  const p = await I.open('options.html');
  // A slow worker: hold the dry-run reply until the test releases it.
  await p.evaluate(() => {
    const orig = chrome.runtime.sendMessage.bind(chrome.runtime);
    window.releasePreview = null;
    chrome.runtime.sendMessage = (msg) => {
      const r = orig(msg);
      if (msg.method === 'data.import' && msg.params.dryRun) return new Promise((res) => { window.releasePreview = () => r.then(res); });
      return r;
    };
  });
  const file = (name) => ({ name: name.replace(/ /g, '-') + '.json', mimeType: 'application/json', buffer: Buffer.from(doc(name)) });
  await p.setInputFiles('#importFile', file('From file A'));
  await p.click('#preview');
  await until(() => p.evaluate(() => !!window.releasePreview), { what: 'preview pending' });
  // The user picks another file before the preview shows.
  await p.setInputFiles('#importFile', file('From file B'));
  await p.evaluate(() => window.releasePreview()); // resolves once the late reply reached the page
  await new Promise((r) => setTimeout(r, 500));
  const enabled = await p.evaluate(() => !document.getElementById('applyImport').disabled);
  if (enabled) {
    await p.click('#applyImport');
    await until(() => p.textContent('#importMsg').then((s) => s.startsWith('Imported')), { what: 'imported' });
  }
  const names = (await I.ok('accounts.list')).accounts.map((a) => a.site_name);
  assert.ok(!names.includes('From file A'), 'Import applied file A while the page showed file B: ' + JSON.stringify(names));
});

test('keyboard: after editing an account from its row, focus is back on that row', async () => {
  const K = await browser();
  await K.ok('accounts.put', { account: { site_name: 'Lima' } });
  await K.ok('accounts.put', { account: { site_name: 'Mike' } });
  const p = await K.open('accounts.html');
  await until(() => p.locator('#list td', { hasText: 'Mike' }).count(), { what: 'rows' });
  const focused = () => p.evaluate(() => { const a = document.activeElement; return a.tagName + ' ' + (a.getAttribute('aria-label') || a.id); });
  for (let i = 0; i < 40 && (await focused()) !== 'BUTTON Edit Lima'; i++) await p.keyboard.press('Tab');
  assert.equal(await focused(), 'BUTTON Edit Lima');
  await p.keyboard.press('Enter');
  await p.keyboard.type(' 2');
  await p.keyboard.press('Enter'); // saves
  await until(() => p.locator('#list td', { hasText: 'Lima 2' }).count(), { what: 'renamed' });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await focused(), 'BUTTON Edit Lima 2', 'focus was lost after the dialog closed');
});
