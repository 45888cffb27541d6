// davsync in real Chromium against a real WebDAV server (x/net/webdav with
// Basic auth and If-Match). Run by `make test-browser`.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { isUtf8 } = require('node:buffer');
const lib = require('./lib');
const { ROOT, DIST, buildTestExtension, startDav, launch, until } = lib;

const OUT = path.join(ROOT, 'test-results');
const SHOTS = path.join(OUT, 'screenshots');
const EXT = path.join(ROOT, '.run', 'ext-test');
const PASS = 'correct horse battery';

let dav;
const browsers = [];

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  buildTestExtension(EXT);
  dav = await startDav({ pass: PASS });
});

after(async () => {
  for (const b of browsers) await b.close();
  if (dav) await dav.stop();
});

async function browser(opts = {}) {
  const b = await launch({ extDir: EXT, downloadsPath: path.join(OUT, 'downloads'), ...opts });
  browsers.push(b);
  return b;
}

const serverNames = () => lib.serverNames(dav);

async function names(b) {
  const r = await b.ok('accounts.list');
  return r.accounts.map((a) => a.site_name).sort();
}

async function configure(b, extra = {}) {
  await b.ok('settings.save', { settings: { url: dav.url, username: dav.user, password: PASS, ...extra } });
}

async function shoot(page, name) {
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: path.join(SHOTS, `${name}-${scheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

let A, B, C;

test('extension in Chromium', async (t) => {
  A = await browser();

  await t.test('Test Connection: wrong password shows the auth error, right one works', async () => {
    const p = await A.open('options.html');
    await p.click('#addServer');
    await p.fill('#url', dav.url);
    await p.fill('#username', dav.user);
    await p.fill('#password', 'wrong password');
    // As davsync 0.1 set a server up: syncs only when asked.
    await p.uncheck('#autoSync');
    await p.uncheck('#syncOnStartup');
    await p.click('#save');
    await until(() => p.textContent('#serversMsg').then((s) => s.includes('Saved')), { what: 'saved' });
    // Test connection in the saved server's editor: the password field is
    // empty, so the test uses the saved (wrong) password.
    const edit = p.locator('#servers button[data-act="edit"]').first();
    await edit.click();
    await p.click('#test');
    const bad = await until(async () => {
      const s = await p.textContent('#settingsMsg');
      return s.includes('Connection failed') && s;
    }, { what: 'failed test' });
    assert.match(bad, /Sign-in failed\nThe server rejected the username or password/);
    assert.doesNotMatch(bad, /wrong password/);
    await p.fill('#password', PASS);
    await p.click('#save');
    await until(async () => (await A.ok('settings.get')).settings.passwordSet && !(await p.evaluate(() => document.getElementById('editor').open)), { what: 'password saved' });
    await edit.click();
    await p.click('#test');
    await until(() => p.textContent('#settingsMsg').then((s) => s.includes('Connection works')), { what: 'good test' });
    const checks = await p.textContent('#checkResult');
    assert.match(checks, /accepted the user name and password/);
    await p.click('#cancelServer');
    const s = (await A.ok('settings.get')).settings;
    assert.deepEqual([s.url, s.username, s.autoSync, s.syncOnStartup], [dav.url, dav.user, false, false]);
    await p.close();
  });

  await t.test('add accounts in the page, Upload puts them on the server', async () => {
    const p = await A.open('accounts.html');
    p.on('dialog', (d) => d.accept());
    for (const [n, u, tags] of [['Alpha', 'alice', 'work'], ['Bravo', 'bob', 'home, work'], ['Charlie', 'carol', '']]) {
      await p.click('#add');
      await p.fill('#f_site_name', n);
      await p.fill('#f_site_url', 'https://' + n.toLowerCase() + '.example');
      await p.fill('#f_username', u);
      await p.fill('#f_tags', tags);
      await p.click('#saveAccount');
      await until(() => p.locator('#list td', { hasText: n }).count(), { what: 'row ' + n });
    }
    await p.fill('#search', 'bravo');
    await until(async () => (await p.locator('#list tbody tr').count()) === 1, { what: 'search' });
    await p.fill('#search', '');
    await shoot(p, 'accounts');
    await p.close();

    const o = await A.open('options.html');
    await o.click('#upload');
    await o.click('#confirmYes');
    await until(() => o.textContent('#backupMsg').then((s) => s.startsWith('Done')), { what: 'upload done' });
    assert.deepEqual(serverNames(), ['Alpha', 'Bravo', 'Charlie']);
    const raw = fs.readdirSync(path.join(dav.root, 'davsync')).map((f) => f);
    for (const f of raw) {
      const p2 = path.join(dav.root, 'davsync', f);
      if (fs.statSync(p2).isFile()) assert.ok(!fs.readFileSync(p2).includes(PASS), 'password on the server');
    }
    await until(() => o.textContent('#status').then((s) => s.includes('Up to date')), { what: 'status idle' });
    await shoot(o, 'options');
    const pop = await A.open('popup.html');
    await pop.setViewportSize({ width: 340, height: 260 });
    await until(() => pop.textContent('#servers').then((s) => s.includes('Last sync')), { what: 'popup status' });
    assert.match(await pop.textContent('#status'), /Up to date/);
    await shoot(pop, 'popup');
    await pop.close();
    await o.close();
  });

  await t.test('a second profile downloads them', async () => {
    B = await browser();
    await configure(B);
    await B.ok('backup.download', { mode: 'merge' });
    assert.deepEqual(await names(B), ['Alpha', 'Bravo', 'Charlie']);
  });

  await t.test('two profiles edit and delete, then converge', async () => {
    const accA = (await A.ok('accounts.list')).accounts;
    const byName = (l, n) => l.find((a) => a.site_name === n);
    // A: edit Alpha's notes, delete Charlie. B: edit Alpha's user, Bravo's tags, add Delta.
    await A.ok('accounts.put', { account: { ...byName(accA, 'Alpha'), notes: 'from A' } });
    await A.ok('accounts.delete', { id: byName(accA, 'Charlie').id });
    const accB = (await B.ok('accounts.list')).accounts;
    await B.ok('accounts.put', { account: { ...byName(accB, 'Alpha'), username: 'alice2' } });
    await B.ok('accounts.put', { account: { ...byName(accB, 'Bravo'), tags: ['home'] } });
    await B.ok('accounts.put', { account: { site_name: 'Delta', username: 'dan' } });
    await A.ok('sync.now');
    await B.ok('sync.now');
    await A.ok('sync.now');
    const la = (await A.ok('accounts.list')).accounts;
    const lb = (await B.ok('accounts.list')).accounts;
    assert.deepEqual(la.map((a) => a.site_name).sort(), ['Alpha', 'Bravo', 'Delta']);
    assert.deepEqual(la, lb);
    const alpha = byName(la, 'Alpha');
    assert.equal(alpha.notes, 'from A');
    assert.equal(alpha.username, 'alice2');
    assert.deepEqual(byName(la, 'Bravo').tags, ['home']);
    assert.deepEqual(serverNames(), ['Alpha', 'Bravo', 'Delta']);
  });

  await t.test('same field edited on two profiles: a conflict to resolve in the page', async () => {
    const delta = (await A.ok('accounts.list')).accounts.find((a) => a.site_name === 'Delta');
    await A.ok('accounts.put', { account: { ...delta, notes: 'A says' } });
    const deltaB = (await B.ok('accounts.list')).accounts.find((a) => a.site_name === 'Delta');
    await B.ok('accounts.put', { account: { ...deltaB, notes: 'B says' } });
    await A.ok('sync.now');
    await B.ok('sync.now');
    const { conflicts } = await B.ok('conflicts.list');
    assert.equal(conflicts.length, 1, JSON.stringify(conflicts));
    assert.deepEqual(conflicts[0].fields.map((f) => f.field), ['notes']);
    const p = await B.open('options.html');
    await until(() => p.locator('#conflicts tbody tr').count(), { what: 'conflict row' });
    assert.match(await p.textContent('#conflicts'), /A says/);
    await shoot(p, 'options-conflict');
    await p.locator('#conflicts button', { hasText: 'Keep the other' }).first().click();
    await until(() => p.textContent('#conflicts').then((s) => s.includes('No conflicts')), { what: 'resolved' });
    await p.close();
    await B.ok('sync.now');
    await A.ok('sync.now');
    const notes = async (b) => (await b.ok('accounts.list')).accounts.find((a) => a.site_name === 'Delta').notes;
    assert.equal(await notes(A), await notes(B));
  });

  await t.test('a rejected password shows in the status, the badge and the page', async () => {
    // Automatic sync on (hourly, so it does not fire here): the failure pauses it.
    await B.ok('settings.save', { settings: { password: 'no longer valid', autoSync: true, intervalMinutes: 60 } });
    const r = await B.send('sync.now');
    assert.equal(r.ok, false);
    assert.equal(r.error.kind, 'auth');
    const st = (await B.ok('sync.status')).status;
    assert.equal(st.error.kind, 'auth');
    assert.ok(!JSON.stringify([r, st]).includes('no longer valid'), 'the password leaked into a reply or the status');
    const badge = await until(() => B.worker().evaluate(() => chrome.action.getBadgeText({})), { what: 'badge' });
    assert.equal(badge, '!');
    const p = await B.open('popup.html');
    await p.setViewportSize({ width: 340, height: 260 });
    await until(() => p.textContent('#status').then((s) => s.includes('Sign-in failed') && s.includes('The server rejected the username or password')), { what: 'popup error' });
    assert.ok(st.paused, 'an auth failure must pause automatic sync');
    assert.match(await p.textContent('#status'), /Automatic sync is paused until you change the server settings/);
    // Title and fix read as two parts, without saying the same thing twice.
    assert.equal(((await p.textContent('#status')).match(/rejected/g) || []).length, 1);
    await shoot(p, 'popup-auth-error');
    await p.close();
    await configure(B, { autoSync: false });
    await B.ok('sync.now');
    assert.equal(await B.worker().evaluate(() => chrome.action.getBadgeText({})), '');
    assert.ok(!(await B.ok('sync.status')).status.paused, 'new settings must lift the pause');
    const { snapshots } = await A.ok('snapshots.list');
    assert.ok(snapshots.length >= 1, 'no snapshot after several uploads');
  });

  await t.test('language preference switches the pages to Chinese', async () => {
    await A.ok('preferences.save', { values: { theme: 'system', language: 'zh_CN' } });
    const p = await A.open('accounts.html');
    await until(() => p.textContent('#h-accounts').then((s) => s === '你的账号'), { what: 'zh_CN heading' });
    await shoot(p, 'accounts-zh_CN');
    await p.close();
    const o = await A.open('options.html');
    await until(() => o.textContent('#preview').then((s) => s === '预览'), { what: 'zh_CN options' });
    // The server's status too, from the first render (not only after a sync).
    await until(() => o.textContent('#servers').then((s) => s.includes('上次同步')), { what: 'zh_CN server status' });
    assert.equal(await o.textContent('#status'), '已是最新');
    await o.fill('#importText', '{"format": "davsync", "version": 1, "collections": ');
    await o.click('#preview');
    const msg = await until(() => o.textContent('#importMsg').then((s) => s.includes('备份文件无效') && s), { what: 'zh_CN error' });
    // The detail is Go's message key in Chinese, not Go's English.
    const zh = JSON.parse(fs.readFileSync(path.join(EXT, '_locales', 'zh_CN', 'messages.json'), 'utf8'));
    assert.equal(msg, '备份文件无效\n' + zh.errImportCutShort.message);
    assert.doesNotMatch(msg, /The file ends/);
    await shoot(o, 'options-error-zh_CN');
    await o.close();
    await A.ok('preferences.save', { values: { theme: 'system', language: 'auto' } });
  });

  await t.test('worker stopped mid-cycle: the next cycle completes without loss', async (tt) => {
    // 3000 imported accounts make the cycle long enough to interrupt.
    const now = Date.now();
    const records = Array.from({ length: 3000 }, (_, i) => {
      const id = 'bulk-' + String(i).padStart(5, '0');
      return { id, site_name: 'Bulk ' + i, site_url: 'https://bulk' + i + '.example', username: 'u' + i, notes: 'x'.repeat(100), updated_at: now };
    });
    const json = JSON.stringify({ format: 'davsync', version: 1, exported_at: now, collections: { accounts: { records, tombstones: [] } }, preferences: { updated_at: 0, values: {} } });
    await A.ok('data.import', { json, mode: 'add', dryRun: false });
    await A.ok('accounts.put', { account: { site_name: 'Echo', username: 'eve' } });
    // Start a cycle and stop the worker while it runs.
    const pending = A.send('sync.now').catch((e) => ({ ok: false, error: String(e) }));
    await new Promise((r) => setTimeout(r, 30));
    await A.stopWorkers();
    const first = await Promise.race([pending, new Promise((r) => setTimeout(() => r('no reply'), 5000))]);
    tt.diagnostic('interrupted cycle replied: ' + JSON.stringify(first).slice(0, 200));
    const local = await names(A); // wakes the worker
    assert.equal(local.length, 3004, 'local data lost');
    assert.ok(local.includes('Echo'));
    const st = (await A.ok('sync.status')).status;
    tt.diagnostic('status after restart: ' + st.state + ' ' + JSON.stringify(st.error));
    await A.ok('sync.now');
    await until(async () => (await A.ok('sync.status')).status.state === 'idle', { what: 'idle after restart' });
    const remote = serverNames();
    assert.equal(remote.length, 3004);
    assert.ok(remote.includes('Echo'));
    await B.ok('sync.now');
    assert.equal((await names(B)).length, 3004);
  });

  await t.test('store build: no host permission until granted; Save asks for it', async () => {
    // The packaged manifest grants no host; the worker's fetch is then a CORS
    // request the WebDAV server refuses, and the page asks on Save.
    const P = await browser({ extDir: DIST });
    const p = await P.open('options.html');
    await p.click('#addServer');
    await p.fill('#url', dav.url);
    await p.fill('#username', dav.user);
    await p.fill('#password', PASS);
    await p.click('#save');
    await until(() => p.textContent('#serversMsg').then((s) => s.includes('Saved')), { what: 'saved without the permission' });
    assert.equal(await p.evaluate(() => chrome.permissions.contains({ origins: ['http://127.0.0.1/*'] })), false);
    const r = await P.send('sync.now');
    assert.equal(r.ok, false);
    assert.equal(r.error.kind, 'network');
    assert.match(r.error.message, /permission/);
    await p.close();
    await P.close();
  });

  await t.test('automatic sync fires from a short alarm', async () => {
    // A fresh profile has never synced, so its first scheduled cycle is due at once.
    C = await browser();
    await configure(C, { autoSync: true, intervalMinutes: 0.05 });
    let last;
    const st = await until(async () => {
      const s = (last = (await C.ok('sync.status')).status);
      return s.lastSync > 0 && s.trigger === 'alarm' && s;
    }, { timeout: 30000, what: 'alarm-driven sync' }).catch((e) => { throw new Error(e.message + ': ' + JSON.stringify(last)); });
    assert.equal(st.error, null);
    const o = await C.open('options.html');
    await until(() => o.textContent('#servers').then((s) => s.includes('Next automatic sync')), { what: 'next run in the page' });
    await o.close();
    const n = await names(C);
    for (const x of ['Alpha', 'Bravo', 'Delta', 'Echo', 'Bulk 2999']) assert.ok(n.includes(x), x + ' missing in C');
  });
  await t.test('sync when the browser starts (same profile relaunched)', async () => {
    await C.ok('settings.save', { settings: { syncOnStartup: true, intervalMinutes: 60 } });
    const before = (await C.ok('sync.status')).status.lastAttempt;
    const dir = C.profileDir;
    await C.close();
    browsers.splice(browsers.indexOf(C), 1);
    C = await browser({ profileDir: dir });
    const st = await until(async () => {
      const s = (await C.ok('sync.status')).status;
      return s.trigger === 'startup' && s.lastAttempt > before && s.state === 'idle' && s;
    }, { what: 'startup sync' });
    assert.equal(st.error, null);
    const alarm = await C.worker().evaluate(() => chrome.alarms.get('davsync-auto-sync:1'));
    assert.equal(alarm && alarm.periodInMinutes, 60);
  });

  await t.test('import: preview changes nothing, import applies, export downloads', async () => {
    await C.ok('accounts.put', { account: { site_name: 'Foxtrot', username: 'fay', site_url: 'https://f.example' } });
    const { json } = await C.ok('data.export', { scope: 'all' });
    const p = await B.open('options.html');
    await p.fill('#importText', json);
    await p.selectOption('#importMode', 'add');
    await p.click('#preview');
    await until(() => p.textContent('#importMsg').then((s) => s.includes('Nothing has changed')), { what: 'preview' });
    assert.match(await p.textContent('#importPreview'), /davsync export/);
    assert.equal(await p.locator('#importPreview tbody tr').first().locator('td').nth(2).textContent(), '1');
    assert.ok(!(await names(B)).includes('Foxtrot'), 'preview changed data');
    await p.click('#applyImport');
    await until(() => p.textContent('#importMsg').then((s) => s.startsWith('Imported')), { what: 'imported' });
    assert.ok((await names(B)).includes('Foxtrot'));
    await until(() => p.locator('#undo button').count(), { what: 'undo point' });

    const [dl] = await Promise.all([p.waitForEvent('download'), p.click('#export')]);
    assert.match(dl.suggestedFilename(), /^davsync-all-.*\.json$/);
    const file = path.join(OUT, 'downloads', dl.suggestedFilename());
    await dl.saveAs(file);
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(text.includes('Foxtrot') && text.includes('Delta'));
    assert.ok(!text.includes(PASS), 'export holds the password');
    await p.close();
    // C syncs automatically: its local edit (Foxtrot) reached the server
    // through the debounced sync after edits, without a Sync Now.
    await until(() => serverNames().includes('Foxtrot'), { what: 'edit-triggered sync', timeout: 40000 });
  });

  await t.test('mass change held for confirmation; undo in the page brings the data back', async () => {
    const before = (await names(B)).length;
    const now = Date.now();
    const json = JSON.stringify({ format: 'davsync', version: 1, exported_at: now,
      collections: { accounts: { records: [{ id: 'only-one', site_name: 'Only one', updated_at: now }], tombstones: [] } },
      preferences: { updated_at: 0, values: {} } });
    await B.ok('data.import', { json, mode: 'replace', dryRun: false });
    assert.deepEqual(await names(B), ['Only one']);
    const r = await B.send('sync.now');
    assert.equal(r.ok, false);
    assert.equal(r.error.kind, 'needs_confirmation');
    assert.ok(serverNames().length >= before, 'the guard let deletions through');
    const p = await B.open('options.html');
    await until(() => p.isVisible('#confirmSync'), { what: 'confirm button' });
    await shoot(p, 'options-needs-confirmation');
    const row = p.locator('#undo tbody tr', { hasText: 'Import' }).first();
    await row.locator('button').click();
    await p.click('#confirmYes');
    await until(() => p.textContent('#undoMsg').then((s) => s.includes('Restored')), { what: 'undo' });
    await p.close();
    assert.equal((await names(B)).length, before);
    await B.ok('sync.now');
    assert.equal((await B.ok('sync.status')).status.state, 'idle');
    assert.equal(serverNames().length, before);
  });
  await t.test('download (replace) and snapshot restore from the page, each undoable', async () => {
    // No edit-triggered sync on A: its unsynced edit must still be local
    // when the page's Download replaces it.
    await A.ok('settings.save', { settings: { autoSync: false } });
    await A.ok('sync.now');
    await B.ok('sync.now');
    const base = serverNames();
    assert.deepEqual(await names(A), base);

    // B uploads a new account; the copy it replaces becomes a snapshot.
    await B.ok('accounts.put', { account: { site_name: 'Golf', username: 'gus' } });
    await B.ok('backup.upload');
    assert.ok(serverNames().includes('Golf'));
    await A.ok('accounts.put', { account: { site_name: 'Hotel', username: 'hal' } });

    const p = await A.open('options.html');
    await p.selectOption('#downloadMode', 'replace');
    const t0 = Date.now();
    await p.click('#download');
    assert.match(await p.textContent('#confirmText'), /replace/i);
    await p.click('#confirmYes');
    await until(() => p.textContent('#backupMsg').then((s) => s.startsWith('Done')), { what: 'download done' });
    assert.deepEqual(await names(A), serverNames(), 'replace must make this device equal to the server');
    assert.ok(!(await names(A)).includes('Hotel'));
    // The replaced local state (with Hotel) is one click away.
    const undo = (await A.ok('undo.list')).points;
    assert.ok(undo.some((u) => u.at >= t0), 'download replace kept no undo point');

    // The newest snapshot is the server copy before B's upload: no Golf.
    await p.click('#loadSnapshots');
    await until(() => p.locator('#snapshots tbody tr').count(), { what: 'snapshot rows' });
    const { snapshots } = await A.ok('snapshots.list');
    assert.ok(snapshots.length >= 1 && snapshots.every((s) => s.size > 0 && s.time > 0));
    assert.equal(await p.locator('#snapshots tbody tr').count(), snapshots.length);
    await shoot(p, 'options-snapshots');
    await p.locator('#snapshots tbody tr').first().locator('button.danger').click();
    await p.click('#confirmYes');
    await until(() => p.textContent('#snapMsg').then((s) => s.includes('Restored')), { what: 'snapshot restored' });
    assert.deepEqual(await names(A), base);
    assert.deepEqual(serverNames(), base, 'the restore was not synced to the server');
    await B.ok('sync.now');
    assert.deepEqual(await names(B), base);
    await p.close();
  });

  await t.test('encryption: the server holds ciphertext, a profile needs the passphrase', async (tt) => {
    const PHRASE = 'purple monkey dishwasher';
    const t0 = Date.now();
    await A.ok('settings.save', { settings: { encryption: { enabled: true, passphrase: PHRASE, remember: true } } });
    // Upload rewrites the server copy now, encrypted (a plain sync would
    // encrypt from its next write on).
    await A.ok('backup.upload');
    tt.diagnostic('encrypted upload with key derivation (600k PBKDF2 in WebCrypto) took ' + (Date.now() - t0) + ' ms');
    const raw = fs.readFileSync(fs.readdirSync(path.join(dav.root, 'davsync')).map((f) => path.join(dav.root, 'davsync', f)).find((f) => /davsync\.json/.test(f)), 'latin1');
    assert.ok(raw.startsWith('{"format":"davsync-encrypted"'), 'server file is not an encrypted envelope');
    assert.ok(!raw.includes('Alpha') && !raw.includes(PHRASE), 'plaintext on the server');
    const r = await B.send('sync.now');
    assert.equal(r.ok, false);
    assert.match(r.error.kind, /^(passphrase_needed|decrypt)$/);
    await B.ok('settings.save', { settings: { encryption: { enabled: true, passphrase: 'wrong one', remember: false } } });
    const w = await B.send('sync.now');
    assert.equal(w.ok, false);
    assert.equal(w.error.kind, 'decrypt');
    const wst = (await B.ok('sync.status')).status;
    assert.ok(!JSON.stringify([w, wst]).includes('wrong one'), 'the passphrase leaked into a reply or the status');
    await B.ok('settings.save', { settings: { encryption: { enabled: true, passphrase: PHRASE, remember: false } } });
    await B.ok('sync.now');
    await A.ok('sync.now');
    assert.deepEqual((await names(B)).length, (await names(A)).length);
    const s = (await B.ok('settings.get')).settings;
    assert.equal(s.encryption.passphraseSet, true);
    assert.ok(!JSON.stringify(s).includes(PHRASE));
  });

  await t.test('import the sync file as it lies on the server (binary: encrypted, gzip inside)', async () => {
    const file = fs.readdirSync(path.join(dav.root, 'davsync')).map((f) => path.join(dav.root, 'davsync', f)).find((f) => /davsync\.json/.test(f));
    const bytes = fs.readFileSync(file);
    assert.ok(!isUtf8(bytes), 'the server file is expected to be binary here');
    const p = await B.open('options.html');
    await p.setInputFiles('#importFile', file);
    await p.fill('#importPass', 'purple monkey dishwasher');
    await p.click('#preview');
    const msg = await until(() => p.textContent('#importMsg').then((s) => s.trim() && !s.startsWith('Working') && s), { what: 'preview of the binary file' });
    assert.match(msg, /Nothing has changed/);
    assert.match(await p.textContent('#importPreview'), /davsync/);
    await p.close();
  });

  await t.test('a record stamped by a clock two days ahead is synced and named in the status', async () => {
    const ahead = Date.now() + 2 * 24 * 3600 * 1000;
    const json = JSON.stringify({ format: 'davsync', version: 1, exported_at: ahead,
      collections: { accounts: { records: [{ id: 'from-the-future', site_name: 'Skewed', updated_at: ahead }], tombstones: [] } },
      preferences: { updated_at: 0, values: {} } });
    await A.ok('data.import', { json, mode: 'add', dryRun: false });
    await A.ok('sync.now');
    const st = (await A.ok('sync.status')).status;
    assert.ok(st.warnings && st.warnings.some((w) => w.key === 'warnFutureRecord' && w.text.includes('"from-the-future"') && w.text.includes('ahead')), JSON.stringify(st.warnings));
    const p = await A.open('options.html');
    await until(() => p.textContent('#servers').then((s) => s.includes('Notes from the last sync:') && s.includes('from-the-future')), { what: 'warning in the page' });
    await p.close();
  });

  await t.test('keyboard only: add an account, confirm a dialog, Sync now', async () => {
    // A fresh profile with no server, so nothing here reaches the others.
    const D = await browser();
    const focused = (p) => p.evaluate(() => document.activeElement && document.activeElement.id);
    const focusRing = (p) => p.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    async function tabTo(p, id) {
      for (let i = 0; i < 60; i++) {
        await p.keyboard.press('Tab');
        if (await focused(p) === id) return;
      }
      throw new Error('Tab never reaches #' + id);
    }

    const p = await D.open('accounts.html');
    await until(() => p.textContent('#list').then((s) => s.trim() !== ''), { what: 'list' });
    await tabTo(p, 'add');
    assert.notEqual(await focusRing(p), 'none', 'no visible focus on #add');
    await p.keyboard.press('Enter');
    assert.equal(await focused(p), 'f_site_name');
    await p.keyboard.type('Kilo');
    await p.keyboard.press('Tab');
    await p.keyboard.type('https://kilo.example');
    await p.keyboard.press('Tab');
    await p.keyboard.type('kim');
    await p.keyboard.press('Tab');
    await p.keyboard.type('keys, work');
    await shoot(p, 'accounts-editor');
    await p.keyboard.press('Enter'); // submits the form
    await until(() => p.locator('#list td', { hasText: 'Kilo' }).count(), { what: 'row Kilo' });
    assert.equal(await p.evaluate(() => document.getElementById('editor').open), false);
    const kilo = (await D.ok('accounts.list')).accounts.find((a) => a.site_name === 'Kilo');
    assert.deepEqual([kilo.site_url, kilo.username, kilo.tags], ['https://kilo.example', 'kim', ['keys', 'work']]);
    // Escape closes the editor and gives the focus back.
    assert.equal(await focused(p), 'add');
    await p.keyboard.press('Enter');
    await p.keyboard.press('Escape');
    assert.equal(await p.evaluate(() => document.getElementById('editor').open), false);
    assert.equal(await focused(p), 'add');
    await p.close();

    const o = await D.open('options.html');
    await tabTo(o, 'upload');
    await o.keyboard.press('Enter');
    assert.equal(await focused(o), 'confirmNo', 'the confirmation starts on Cancel');
    await o.keyboard.press('Escape');
    assert.equal(await o.evaluate(() => document.getElementById('confirm').open), false);
    assert.equal(await o.textContent('#backupMsg'), '', 'Escape must not upload');
    await tabTo(o, 'upload');
    await o.keyboard.press('Enter');
    await o.keyboard.press('Shift+Tab');
    assert.equal(await focused(o), 'confirmYes');
    await shoot(o, 'options-confirm');
    await o.keyboard.press('Enter');
    // No server in this profile: the action ran and reports why it failed.
    await until(() => o.textContent('#backupMsg').then((s) => s.includes('No server set up')), { what: 'upload by keyboard' });
    await tabTo(o, 'syncNow');
    await o.keyboard.press('Enter');
    await until(() => o.textContent('#syncMsg').then((s) => s.includes('No server set up')), { what: 'sync by keyboard' });
    await o.close();
  });

});
