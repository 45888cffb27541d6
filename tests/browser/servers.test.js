// The Servers card of the Import/Export page and the popup's per-server
// lines, in real Chromium against two real WebDAV servers: add two servers
// through the editor (a preset, Test connection with discovery, the folder
// picker creating a folder), sync all, each server's status, a server
// select for backup and snapshots, disable, remove, and the popup at 200%
// zoom. Screenshots go to .run/screenshots/. Run by make test-browser.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const lib = require('./lib');
const { ROOT, buildTestExtension, startDav, launch, until } = lib;

const EXT = path.join(ROOT, '.run', 'ext-servers-test');
const SHOTS = path.join(ROOT, '.run', 'screenshots');
const HOME_PASS = 'home battery staple';
const OFFICE_PASS = 'office battery staple';

let home, office, B;

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  buildTestExtension(EXT);
  home = await startDav({ user: 'alice', pass: HOME_PASS });
  office = await startDav({ user: 'olga', pass: OFFICE_PASS });
  B = await launch({ extDir: EXT });
});

after(async () => {
  if (B) await B.close();
  for (const d of [home, office]) if (d) await d.stop();
});

async function shoot(page, name, { fullPage = true } = {}) {
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: path.join(SHOTS, `${name}-${scheme}.png`), fullPage });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

/** A server's row on the options page, by its name. */
const row = (p, name) => p.locator('#servers li.server', { has: p.locator('.server-name', { hasText: name }) });
const text = (p, sel) => p.locator(sel).innerText();
const focused = (p) => p.evaluate(() => {
  const a = document.activeElement;
  return a ? (a.getAttribute('aria-label') || a.id || a.textContent) : '';
});
const remotes = async () => (await B.ok('remotes.list')).remotes;
const status = async () => (await B.ok('sync.status')).status;
const isOpen = (p, id) => p.evaluate((i) => document.getElementById(i).open, id);

/** Nothing sticks out sideways: the page scrolls only down. */
async function noSidewaysOverflow(p) {
  return p.evaluate(() => {
    const w = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')].filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > w + 0.5);
    return { scroll: document.documentElement.scrollWidth, width: w, wide: wide.map((e) => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40)) };
  });
}

test('servers: add, test, pick a folder, sync all, disable, remove', async (t) => {
  let o; // the options page, open throughout

  await t.test('a new profile says what to do first, not "Up to date"', async () => {
    o = await B.open('options.html');
    await until(() => text(o, '#status').then((s) => s.includes('Add a server to start syncing')), { what: 'first-run message' });
    assert.doesNotMatch(await text(o, '#status'), /Up to date/);
    assert.equal(await o.getAttribute('#addServer', 'class'), 'primary', 'Add server is the first thing to do');
    await shoot(o, 'servers-empty');
    const pop = await B.open('popup.html');
    await until(() => text(pop, '#status').then((s) => s.includes('Add a server to start syncing')), { what: 'popup first run' });
    assert.ok(await pop.isVisible('#addLink'));
    assert.equal(await pop.getAttribute('#addLink', 'href'), 'options.html#add');
    await pop.close();
  });

  await t.test('a preset fills the address and says where to get a password', async () => {
    await o.click('#addServer');
    assert.ok(await isOpen(o, 'editor'));
    assert.equal(await focused(o), 'provider', 'the editor starts on its first field');
    await o.selectOption('#provider', 'nextcloud');
    assert.ok(await o.isVisible('#host'));
    await o.fill('#host', 'cloud.example.com');
    await o.fill('#username', 'me');
    await until(async () => (await o.inputValue('#url')) === 'https://cloud.example.com/remote.php/dav/files/me/', { what: 'URL from providers.fill' });
    assert.ok(await o.isVisible('#fillMsg'));
    assert.match(await text(o, '#providerHint'), /Devices & sessions/);
    assert.equal(await o.getAttribute('#appPasswordLink', 'href'), 'https://cloud.example.com/settings/user/security');
    await o.selectOption('#provider', 'jianguoyun');
    await until(async () => (await o.inputValue('#url')) === 'https://dav.jianguoyun.com/dav/', { what: 'fixed URL of a preset' });
    assert.equal(await o.isVisible('#host'), false);
    const limits = await text(o, '#providerLimits');
    assert.match(limits, /600 requests per 30 minutes/);
    assert.match(limits, /choose a folder/);
    const floor = Number(await o.getAttribute('#intervalMinutes', 'min'));
    assert.ok(floor > 1 && Number(await o.inputValue('#intervalMinutes')) >= floor, 'the interval floor applies to the field');
    await shoot(o, 'editor-preset', { fullPage: false });
    // Escape closes without saving and gives the focus back to Add server.
    await o.keyboard.press('Escape');
    assert.equal(await isOpen(o, 'editor'), false);
    assert.equal(await focused(o), 'addServer');
    assert.deepEqual(await remotes(), []);
  });

  await t.test('first server: Test connection finds the folder, the picker creates one, Save adds it', async () => {
    await o.click('#addServer');
    await o.selectOption('#provider', 'other');
    await o.fill('#name', 'Home');
    // Only the server's address: Test connection looks for its WebDAV folder.
    await o.fill('#url', new URL(home.url).origin);
    await o.fill('#username', home.user);
    await o.fill('#password', HOME_PASS);
    await o.click('#test');
    await until(() => text(o, '#settingsMsg').then((s) => s.includes('Connection works')), { what: 'good test' });
    assert.match(await text(o, '#checkResult'), /accepted the user name and password/);
    assert.ok(await o.isVisible('#discovered'), 'the discovered folder is offered');
    assert.match(await text(o, '#discoveredText'), new RegExp(home.url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    await o.click('#useDiscovered');
    assert.equal(await o.inputValue('#url'), home.url);

    await o.click('#browse');
    assert.ok(await isOpen(o, 'picker'));
    await until(() => text(o, '#pickerMsg').then((s) => s.includes('Folders in /')), { what: 'folder list' });
    await o.fill('#newFolder', 'davsync-home');
    await o.keyboard.press('Enter');
    await until(() => text(o, '#pickerMsg').then((s) => s.includes('Created /davsync-home')), { what: 'mkdir' });
    assert.ok(fs.statSync(path.join(home.root, 'davsync-home')).isDirectory(), 'the folder was made on the server');
    assert.match(await text(o, '#pickerCrumbs'), /Top level\s*›\s*davsync-home/);
    // Up, and the new folder is in the list; into it again by its button.
    await o.click('#pickerUp');
    await until(() => o.locator('#pickerList button', { hasText: 'davsync-home' }).count(), { what: 'folder in the list' });
    await shoot(o, 'picker', { fullPage: false });
    await o.locator('#pickerList button', { hasText: 'davsync-home' }).click();
    await until(() => text(o, '#pickerCrumbs').then((s) => s.includes('davsync-home')), { what: 'into the folder' });
    await o.click('#pickerChoose');
    assert.equal(await isOpen(o, 'picker'), false);
    assert.ok(await isOpen(o, 'editor'), 'the editor stays open under the picker');
    assert.equal(await focused(o), 'browse', 'focus back on Browse');
    assert.equal(await o.inputValue('#folder'), 'davsync-home');
    await shoot(o, 'editor', { fullPage: false });

    await o.click('#save');
    await until(() => text(o, '#serversMsg').then((s) => s.includes('Saved')), { what: 'saved' });
    assert.equal(await isOpen(o, 'editor'), false);
    assert.equal(await focused(o), 'addServer');
    const [r] = await remotes();
    assert.deepEqual([r.name, r.url, r.username, r.folder, r.passwordSet, r.enabled], ['Home', home.url, home.user, 'davsync-home', true, true]);
    assert.ok(!JSON.stringify(r).includes(HOME_PASS));
    await until(() => row(o, 'Home').count(), { what: 'Home row' });
  });

  await t.test('second server: a wrong password is named without showing it, the right one works', async () => {
    await o.click('#addServer');
    await o.fill('#name', 'Office');
    await o.fill('#url', office.url);
    await o.fill('#username', office.user);
    await o.fill('#password', 'wrong password');
    await o.click('#test');
    const bad = await until(async () => {
      const s = await text(o, '#settingsMsg');
      return s.includes('Connection failed') && s;
    }, { what: 'failed test' });
    assert.match(bad, /Sign-in failed\nThe server rejected the username or password/);
    assert.doesNotMatch(bad, /wrong password/);
    await o.fill('#password', OFFICE_PASS);
    // Office syncs when asked only: its file changes only in the steps below.
    await o.uncheck('#autoSync');
    assert.equal(await o.isDisabled('#intervalMinutes'), true, 'no interval without automatic sync');
    await o.click('#test');
    await until(() => text(o, '#settingsMsg').then((s) => s.includes('Connection works')), { what: 'good test' });
    assert.equal(await o.isVisible('#discovered'), false, 'a full folder address needs no discovery');
    await o.click('#save');
    await until(async () => (await remotes()).length === 2, { what: 'second server saved' });
    await until(() => row(o, 'Office').count(), { what: 'Office row' });
    const second = (await remotes())[1];
    assert.deepEqual([second.name, second.folder, second.passwordSet], ['Office', 'davsync', true]);
    // Each server keeps its own password: Home's was not overwritten.
    assert.equal((await remotes())[0].passwordSet, true);
    await until(() => text(o, '#status').then((s) => s.includes('Not synced yet')), { what: 'never synced' });
  });

  await t.test('Sync now syncs every server; each row shows its own status', async () => {
    await B.ok('accounts.put', { account: { site_name: 'Alpha', username: 'ada' } });
    await o.click('#syncNow');
    await until(() => text(o, '#syncMsg').then((s) => s.includes('Done: 2 servers synced')), { what: 'synced all' });
    for (const name of ['Home', 'Office']) {
      await until(() => row(o, name).locator('.server-state').innerText().then((s) => s === 'Up to date'), { what: name + ' up to date' });
      const st = await row(o, name).locator('.server-status').innerText();
      assert.match(st, /Last sync: /);
      assert.doesNotMatch(st, /Last sync: never/);
    }
    assert.match(await row(o, 'Home').locator('.server-status').innerText(), /Next automatic sync/);
    assert.match(await row(o, 'Home').locator('.tags').innerText(), /Every 60 min/);
    assert.match(await row(o, 'Office').locator('.tags').innerText(), /Manual sync only/);
    await until(() => text(o, '#status').then((s) => s.includes('Up to date')), { what: 'summary up to date' });
    assert.ok(fs.readdirSync(path.join(home.root, 'davsync-home')).some((f) => /^davsync\.json/.test(f)), 'no sync file in the chosen folder');
    assert.deepEqual(lib.serverNames(office), ['Alpha']);
    assert.match(await row(o, 'Home').locator('.server-where').innerText(), /Folder: davsync-home/);
    await shoot(o, 'servers-two');
  });

  await t.test('a running sync shows its phase and bytes in its row', async () => {
    // The status as the worker broadcasts it while Home uploads.
    const st = await status();
    const home1 = st.remotes.find((r) => r.name === 'Home');
    home1.status = { ...home1.status, state: 'syncing', progress: { phase: 'writing', done: 12288, total: 40960 } };
    await o.evaluate((s) => onStatus(s), { ...st, state: 'syncing' });
    assert.equal(await row(o, 'Home').locator('.server-state').innerText(), 'Syncing… Writing to the server · 12 kB of 40 kB');
    assert.match(await text(o, '#status'), /Syncing/);
    await row(o, 'Home').screenshot({ path: path.join(SHOTS, 'server-row-syncing-light.png') });
    await o.evaluate((s) => onStatus(s), await status());
    await until(() => row(o, 'Home').locator('.server-state').innerText().then((s) => s === 'Up to date'), { what: 'back to idle' });
  });

  await t.test('backup and snapshots act on the server chosen; undo names where a change came from', async () => {
    assert.ok(await o.isVisible('#backupRemote'));
    assert.deepEqual(await o.locator('#backupRemote option').allInnerTexts(), ['Home', 'Office']);
    await o.selectOption('#backupRemote', { label: 'Office' });
    // Something new to upload: an upload that changes nothing writes nothing.
    await B.ok('accounts.put', { account: { site_name: 'Bravo' } });
    await o.click('#upload');
    assert.match(await text(o, '#confirmText'), /^Server: Office\n/);
    await o.click('#confirmYes');
    await until(() => text(o, '#backupMsg').then((s) => s.startsWith('Done')), { what: 'upload to Office' });
    const offSnaps = (await B.ok('snapshots.list', { remote: (await remotes())[1].id })).snapshots;
    assert.ok(offSnaps.length >= 1, 'Office kept no snapshot');
    await o.selectOption('#snapRemote', { label: 'Office' });
    await until(async () => (await o.locator('#snapshots tbody tr').count()) === offSnaps.length, { what: 'Office snapshots' });
    // Download (replace) from Office: the undo point says it came from Office.
    await B.ok('accounts.put', { account: { site_name: 'Local only' } });
    await o.selectOption('#downloadMode', 'replace');
    await o.click('#download');
    assert.match(await text(o, '#confirmText'), /Server: Office/);
    await o.click('#confirmYes');
    await until(() => text(o, '#backupMsg').then((s) => s.startsWith('Done')), { what: 'download from Office' });
    await until(() => o.locator('#undo tbody tr', { hasText: 'from Office' }).count(), { what: 'undo point from Office' });
    await o.selectOption('#downloadMode', 'merge');
  });

  await t.test('the popup: the worst state, one line per server, Sync now; fits at 200% zoom', async () => {
    const pop = await B.open('popup.html');
    await until(() => pop.locator('#servers li').count().then((n) => n === 2), { what: 'two server lines' });
    const lines = await pop.locator('#servers li').allInnerTexts();
    assert.match(lines[0], /^Home\s+Up to date\s+Last sync: /);
    assert.match(lines[1], /^Office\s+Up to date\s+Last sync: /);
    assert.match(await text(pop, '#status'), /Up to date/);
    await pop.setViewportSize({ width: 340, height: 300 });
    await shoot(pop, 'popup');
    await pop.click('#syncNow');
    await until(() => text(pop, '#msg').then((s) => s.includes('Done')), { what: 'popup sync' });
    // 200% zoom: the popup's 320 CSS px at twice the pixels, with a long
    // name and an error line that must wrap, not run off to the side.
    const [h] = await remotes();
    await B.ok('remotes.save', { remote: { id: h.id, name: 'Home Nextcloud on the family NAS in the basement' } });
    await B.ok('remotes.save', { remote: { id: (await remotes())[1].id, password: 'no longer valid' } });
    assert.equal((await B.send('sync.now', { remote: (await remotes())[1].id })).error.kind, 'auth');
    await until(() => text(pop, '#servers').then((s) => s.includes('Sign-in failed') && s.includes('basement')), { what: 'error line' });
    const cdp = await B.context.newCDPSession(pop);
    await cdp.send('Emulation.setDeviceMetricsOverride', { width: 320, height: 300, deviceScaleFactor: 2, mobile: false });
    const fit = await noSidewaysOverflow(pop);
    assert.ok(fit.scroll <= fit.width && !fit.wide.length, JSON.stringify(fit));
    assert.match(await text(pop, '#status'), /Office: Sign-in failed\nThe server rejected the username or password/);
    await shoot(pop, 'popup-200');
    await cdp.send('Emulation.clearDeviceMetricsOverride');
    await cdp.detach();
    await pop.close();
    await B.ok('remotes.save', { remote: { id: h.id, name: 'Home' } });
    await B.ok('remotes.save', { remote: { id: (await remotes())[1].id, password: OFFICE_PASS } });
    await B.ok('sync.now');
  });

  await t.test('Disable: Sync now skips the server, the row says so, focus stays on the button', async () => {
    await until(() => row(o, 'Office').locator('.server-state').innerText().then((s) => s === 'Up to date'), { what: 'Office fixed' });
    const before = (await status()).remotes.find((r) => r.name === 'Office').status.lastAttempt;
    await row(o, 'Office').locator('button[data-act="toggle"]').click();
    await until(() => row(o, 'Office').locator('.server-state').innerText().then((s) => s === 'Disabled'), { what: 'disabled' });
    assert.equal((await remotes())[1].enabled, false);
    assert.equal(await focused(o), 'Enable: Office', 'focus stays on the same button of the same server');
    assert.match(await row(o, 'Office').locator('.msg').innerText(), /skip this server/);
    await o.click('#syncNow');
    await until(() => text(o, '#syncMsg').then((s) => s.startsWith('Done')), { what: 'sync with one enabled' });
    assert.equal((await status()).remotes.find((r) => r.name === 'Office').status.lastAttempt, before, 'a disabled server was synced');
    // Its own Sync now still runs it, on purpose.
    await row(o, 'Office').locator('button[data-act="sync"]').click();
    await until(() => row(o, 'Office').locator('.msg').innerText().then((s) => s.startsWith('Done')), { what: 'row sync' });
    await shoot(o, 'servers-disabled');
  });

  await t.test('Edit shows the password as saved; the editor keeps Tab inside and returns focus', async () => {
    const edit = row(o, 'Home').locator('button[data-act="edit"]');
    await edit.click();
    assert.equal(await text(o, '#editorTitle'), 'Edit server: Home');
    assert.equal(await o.inputValue('#password'), '');
    assert.equal(await o.getAttribute('#password', 'placeholder'), 'Saved (leave empty to keep it)');
    assert.equal(await o.inputValue('#folder'), 'davsync-home');
    assert.equal(await focused(o), 'provider');
    await o.keyboard.press('Shift+Tab');
    assert.equal(await focused(o), 'save', 'Shift+Tab from the first field wraps to the last button');
    await o.keyboard.press('Tab');
    assert.equal(await focused(o), 'provider', 'Tab from the last button wraps to the first field');
    assert.notEqual(await o.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), 'none', 'no visible focus');
    await o.keyboard.press('Escape');
    assert.equal(await isOpen(o, 'editor'), false);
    assert.equal(await focused(o), 'Edit: Home');
    // Saving without touching the password keeps it.
    await edit.click();
    await o.fill('#name', 'Home NAS');
    await o.click('#save');
    await until(() => row(o, 'Home NAS').count(), { what: 'renamed' });
    assert.equal((await remotes())[0].passwordSet, true);
    assert.equal(await focused(o), 'Edit: Home NAS', 'focus on the re-rendered Edit button');
  });

  await t.test('Remove: the confirmation says what is kept; the server file stays', async () => {
    await row(o, 'Office').locator('button[data-act="remove"]').click();
    const q = await text(o, '#confirmText');
    assert.match(q, /Remove “Office” from this device\?/);
    assert.match(q, /Your data on this device and the file on the server are kept/);
    assert.equal(await text(o, '#confirmYes'), 'Remove');
    assert.equal(await focused(o), 'confirmNo', 'the question starts on Cancel');
    await shoot(o, 'servers-remove-confirm', { fullPage: false });
    await o.click('#confirmYes');
    await until(async () => (await remotes()).length === 1, { what: 'removed' });
    await until(async () => (await row(o, 'Office').count()) === 0, { what: 'row gone' });
    assert.match(await text(o, '#serversMsg'), /“Office” was removed/);
    assert.equal(await focused(o), 'addServer');
    assert.ok(lib.serverNames(office).includes('Alpha'), 'the file on the server was kept');
    assert.ok((await B.ok('accounts.list')).accounts.length > 0, 'local data kept');
    assert.equal(await o.isVisible('#backupRemote'), false, 'no server choice with one server');
    const pop = await B.open('popup.html');
    await until(() => pop.locator('#servers li').count().then((n) => n === 1), { what: 'one server line' });
    await pop.close();
  });

  await t.test('zh_CN: the server card in Chinese', async () => {
    await B.ok('preferences.save', { values: { theme: 'system', language: 'zh_CN' } });
    const z = await B.open('options.html');
    await until(() => text(z, '#h-servers').then((s) => s === '服务器'), { what: 'zh_CN heading' });
    await until(() => z.locator('#servers').innerText().then((s) => s.includes('上次同步')), { what: 'zh_CN row status' });
    await shoot(z, 'servers-zh_CN');
    await z.click('#addServer');
    await z.selectOption('#provider', 'jianguoyun');
    await until(() => text(z, '#providerHint').then((s) => s.includes('第三方应用管理')), { what: 'zh_CN hint' });
    await shoot(z, 'editor-zh_CN', { fullPage: false });
    await z.close();
    await B.ok('preferences.save', { values: { theme: 'system', language: 'auto' } });
  });
});
