// Accessibility of the pages in real Chromium with the extension loaded,
// against a real WebDAV server (issue 15):
//  - axe-core on every state of every page (first run, a server synced, a
//    wrong password, the server editor, the folder picker, snapshots, an
//    import preview, a conflict, the accounts list and editor, the popup),
//    each in the light and the dark theme, with zero violations of any
//    impact allowed;
//  - a journey with the keyboard alone, from an empty profile to a synced
//    server, an import and a resolved conflict, the focus visible at each
//    step; the popup at 200% zoom without sideways scrolling.
// Run by make test-browser.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const lib = require('./lib');
const { ROOT, buildTestExtension, startDav, launch, until } = lib;

const EXT = path.join(ROOT, '.run', 'ext-a11y-test');
const AXE = require.resolve('axe-core/axe.min.js');
const PASS = 'accessible battery staple';

let dav, A, K;

before(async () => {
  buildTestExtension(EXT);
  // The pages' CSP allows only the extension's own scripts: axe is served
  // from the test build (never from the shipped one), and injected by URL.
  fs.copyFileSync(AXE, path.join(EXT, 'axe.min.js'));
  dav = await startDav({ pass: PASS });
  [A, K] = await Promise.all([launch({ extDir: EXT }), launch({ extDir: EXT })]);
});

after(async () => {
  for (const b of [A, K]) if (b) await b.close();
  if (dav) await dav.stop();
});

const text = (p, sel) => p.locator(sel).innerText();

/** Sets the theme as the user does (the preference), and applies it to page. */
async function setTheme(page, theme) {
  await page.evaluate(async (th) => {
    const { values } = await davsync.send('preferences.get');
    await davsync.send('preferences.save', { values: { ...(values || {}), theme: th } });
    davsync.applyTheme(th);
  }, theme);
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).colorScheme || document.documentElement.dataset.theme), theme);
}

/** axe's violations on the page as it is: [{id, impact, help, nodes: [{target, summary}]}]. */
async function axeRun(page) {
  if (!await page.evaluate(() => typeof window.axe === 'object')) {
    await page.addScriptTag({ url: new URL('/axe.min.js', page.url()).href });
  }
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    }));
  });
}

/** Runs axe on the page in the light and the dark theme; fails listing every violation. */
async function checkAxe(page, name) {
  const found = [];
  for (const theme of ['light', 'dark']) {
    await setTheme(page, theme);
    for (const v of await axeRun(page)) found.push({ theme, ...v });
  }
  await setTheme(page, 'light');
  if (!found.length) return;
  const lines = [];
  for (const v of found) {
    lines.push(`[${name}, ${v.theme}] ${v.id} (${v.impact}): ${v.help}`);
    for (const n of v.nodes) lines.push(`    ${n.target}\n      ${String(n.summary).replace(/\n/g, '\n      ')}`);
  }
  const report = lines.join('\n');
  console.log(report);
  assert.fail(`${found.length} axe violation(s) on ${name}:\n${report}`);
}

/** The focused element shows it: an outline or a box shadow (from :focus-visible). */
function focusInfo(page) {
  return page.evaluate(() => {
    const a = document.activeElement;
    if (!a || a === document.body) return { id: '', visible: false, what: 'body' };
    const cs = getComputedStyle(a);
    const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
    const shadow = cs.boxShadow && cs.boxShadow !== 'none';
    return {
      id: a.id, label: a.getAttribute('aria-label') || '', text: (a.textContent || '').trim().slice(0, 60),
      visible: (outline || shadow) && a.matches(':focus-visible'),
      what: a.tagName + '#' + a.id + ' ' + (a.getAttribute('aria-label') || (a.textContent || '').trim().slice(0, 40)),
    };
  });
}

async function assertFocusVisible(page, step) {
  const f = await focusInfo(page);
  assert.ok(f.visible, `${step}: the focus on ${f.what} is not visible`);
  return f;
}

/**
 * Presses key (Tab or Shift+Tab) until want(focus) holds, checking at each
 * stop that the focus is visible; fails after max presses.
 */
async function tabTo(page, want, { key = 'Tab', max = 60, what = 'target' } = {}) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(key);
    const f = await assertFocusVisible(page, 'Tab towards ' + what);
    if (want(f)) return f;
  }
  throw new Error(`${what} not reached with ${max} presses of ${key}`);
}
const byId = (id) => (f) => f.id === id;

/** Nothing sticks out sideways: the page scrolls only down. */
function overflow(p) {
  return p.evaluate(() => {
    const w = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')].filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > w + 0.5);
    return { scroll: document.documentElement.scrollWidth, width: w, wide: wide.map((e) => e.tagName + '.' + e.className) };
  });
}

test('axe: no violations on any page, state or theme', async (t) => {
  let o;
  await t.test('first run: options, popup, accounts', async () => {
    o = await A.open('options.html');
    await until(() => text(o, '#status').then((s) => s.includes('Add a server to start syncing')), { what: 'first-run message' });
    await until(() => o.locator('#undo .empty').count(), { what: 'undo card loaded' });
    await checkAxe(o, 'options, first run');
    const pop = await A.open('popup.html');
    await until(() => pop.isVisible('#addLink'), { what: 'popup first run' });
    await checkAxe(pop, 'popup, first run');
    await pop.close();
    const acc = await A.open('accounts.html');
    await until(() => acc.locator('#list .empty').count(), { what: 'no accounts' });
    await checkAxe(acc, 'accounts, empty');
    await acc.close();
  });

  await t.test('the server editor, a test result, the folder picker', async () => {
    await o.click('#addServer');
    await checkAxe(o, 'server editor');
    await o.fill('#url', dav.url);
    await o.fill('#username', dav.user);
    await o.fill('#password', 'wrong password');
    await o.click('#test');
    await until(() => text(o, '#settingsMsg').then((s) => s.includes('Connection failed')), { what: 'failed test' });
    await checkAxe(o, 'server editor, wrong password');
    // An address to another machine over http: the warning and its choice.
    await o.fill('#url', 'http://nas.example.com/dav/');
    await until(() => o.isVisible('#insecureBox'), { what: 'insecure warning' });
    await o.selectOption('#provider', 'nextcloud');
    await until(() => o.isVisible('#providerHelp'), { what: 'provider help' });
    await checkAxe(o, 'server editor, preset and http warning');
    await o.selectOption('#provider', 'other');
    await o.fill('#url', dav.url);
    await o.fill('#password', PASS);
    await o.fill('#name', 'Home');
    await o.click('#test');
    await until(() => text(o, '#settingsMsg').then((s) => s.includes('Connection works')), { what: 'good test' });
    await checkAxe(o, 'server editor, test passed');
    await o.click('#browse');
    await until(() => text(o, '#pickerMsg').then((s) => s.includes('Folders in /')), { what: 'folder list' });
    await o.fill('#newFolder', 'davsync');
    await o.click('#mkdir');
    await until(() => text(o, '#pickerMsg').then((s) => s.includes('Created /davsync')), { what: 'mkdir' });
    await checkAxe(o, 'folder picker');
    await o.click('#pickerChoose');
    await o.click('#save');
    await until(() => text(o, '#serversMsg').then((s) => s.includes('Saved')), { what: 'saved' });
  });

  await t.test('a server synced, snapshots listed, accounts listed and edited', async () => {
    for (const [n, u] of [['Alpha', 'ada'], ['Bravo', 'bob']]) {
      await A.ok('accounts.put', { account: { site_name: n, username: u, site_url: 'https://' + n.toLowerCase() + '.example', tags: ['work'] } });
    }
    await o.click('#syncNow');
    await until(() => text(o, '#syncMsg').then((s) => s.startsWith('Done')), { what: 'synced' });
    await until(() => text(o, '#status').then((s) => s.includes('Up to date')), { what: 'up to date' });
    await checkAxe(o, 'options, synced');
    // A second write keeps the first file as a snapshot.
    await A.ok('accounts.put', { account: { site_name: 'Charlie', username: 'cy' } });
    await A.ok('backup.upload');
    await o.click('#loadSnapshots');
    await until(() => o.locator('#snapshots tbody tr').count(), { what: 'snapshot rows' });
    await checkAxe(o, 'options, snapshots');
    await o.click('#upload');
    await until(() => o.evaluate(() => document.getElementById('confirm').open), { what: 'confirmation' });
    await checkAxe(o, 'confirmation dialog');
    await o.keyboard.press('Escape');
    const acc = await A.open('accounts.html');
    await until(() => acc.locator('#list tbody tr').count().then((n) => n === 3), { what: 'account rows' });
    await checkAxe(acc, 'accounts, list');
    await acc.locator('#list tbody tr').first().locator('button').first().click();
    await until(() => acc.evaluate(() => document.getElementById('editor').open), { what: 'account editor' });
    await checkAxe(acc, 'accounts, editor');
    await acc.close();
    const pop = await A.open('popup.html');
    await until(() => text(pop, '#servers').then((s) => s.includes('Last sync')), { what: 'popup status' });
    await checkAxe(pop, 'popup, synced');
    await pop.close();
  });

  await t.test('an import preview', async () => {
    const { json } = await A.ok('data.export', { scope: 'all' });
    await o.fill('#importText', json.replace('"Alpha"', '"Alpha Imported"'));
    await o.selectOption('#importMode', 'add');
    await o.click('#preview');
    await until(() => text(o, '#importMsg').then((s) => s.includes('Nothing has changed')), { what: 'preview' });
    await checkAxe(o, 'options, import preview');
    await o.fill('#importText', '');
  });

  await t.test('a wrong password: options and popup (and the popup at 200% zoom)', async () => {
    const [r] = (await A.ok('remotes.list')).remotes;
    await A.ok('remotes.save', { remote: { id: r.id, password: 'no longer valid' } });
    assert.equal((await A.send('sync.now')).error.kind, 'auth');
    await until(() => text(o, '#status').then((s) => s.includes('Sign-in failed')), { what: 'error state' });
    await until(() => o.locator('#servers .error-detail').count(), { what: 'error detail in the row' });
    await checkAxe(o, 'options, wrong password');
    const pop = await A.open('popup.html');
    await until(() => text(pop, '#status').then((s) => s.includes('Sign-in failed')), { what: 'popup error' });
    await checkAxe(pop, 'popup, wrong password');
    // 200% zoom: the popup's 320 CSS px at twice the pixels.
    const cdp = await A.context.newCDPSession(pop);
    await cdp.send('Emulation.setDeviceMetricsOverride', { width: 320, height: 300, deviceScaleFactor: 2, mobile: false });
    const fit = await overflow(pop);
    assert.ok(fit.scroll <= fit.width && !fit.wide.length, JSON.stringify(fit));
    await cdp.send('Emulation.clearDeviceMetricsOverride');
    await cdp.detach();
    await pop.close();
    await A.ok('remotes.save', { remote: { id: r.id, password: PASS } });
    await A.ok('sync.now');
  });
});

test('keyboard only: add a server, sync, import, resolve a conflict', async (t) => {
  const o = await K.open('options.html');
  await until(() => text(o, '#status').then((s) => s.includes('Add a server to start syncing')), { what: 'first run' });
  const isOpen = (id) => o.evaluate((i) => document.getElementById(i).open, id);

  await t.test('Add server opens the editor; Escape closes it and gives the focus back', async () => {
    await tabTo(o, byId('addServer'), { what: 'Add server' });
    await o.keyboard.press('Enter');
    assert.ok(await isOpen('editor'));
    assert.equal((await assertFocusVisible(o, 'editor opened')).id, 'provider');
    await o.keyboard.press('Escape');
    assert.equal(await isOpen('editor'), false);
    assert.equal((await assertFocusVisible(o, 'editor closed')).id, 'addServer', 'focus back on Add server');
  });

  await t.test('fill the editor, Save, Sync now', async () => {
    await o.keyboard.press('Space');
    assert.ok(await isOpen('editor'));
    assert.equal((await assertFocusVisible(o, 'editor opened')).id, 'provider');
    await tabTo(o, byId('url'), { what: 'URL' });
    await o.keyboard.type(dav.url);
    await tabTo(o, byId('username'), { what: 'user name' });
    await o.keyboard.type(dav.user);
    await tabTo(o, byId('password'), { what: 'password' });
    await o.keyboard.type(PASS);
    await tabTo(o, byId('name'), { what: 'name' });
    await o.keyboard.type('Keyboard');
    // Shift+Tab back a step, then forward: the order holds both ways.
    assert.equal((await tabTo(o, () => true, { key: 'Shift+Tab', what: 'Browse' })).id, 'browse');
    await tabTo(o, byId('save'), { what: 'Save' });
    await o.keyboard.press('Enter');
    await until(() => text(o, '#serversMsg').then((s) => s.includes('Saved')), { what: 'saved' });
    assert.equal(await isOpen('editor'), false);
    assert.equal((await assertFocusVisible(o, 'after Save')).id, 'addServer');
    const [r] = (await K.ok('remotes.list')).remotes;
    assert.deepEqual([r.name, r.url, r.username, r.passwordSet], ['Keyboard', dav.url, dav.user, true]);
    assert.equal((await tabTo(o, () => true, { key: 'Shift+Tab', what: 'Sync now' })).id, 'syncNow');
    await o.keyboard.press('Enter');
    await until(() => text(o, '#syncMsg').then((s) => s.startsWith('Done')), { what: 'synced' });
    assert.equal((await assertFocusVisible(o, 'after Sync now')).id, 'syncNow', 'the focus stays on Sync now');
    assert.ok((await K.ok('accounts.list')).accounts.some((a) => a.site_name === 'Alpha'), 'the server data came down');
  });

  await t.test('paste an import, preview it, apply it', async () => {
    const json = JSON.stringify({
      format: 'davsync', version: 1,
      collections: { accounts: { records: [{ id: 'kbd-echo', site_name: 'Echo', username: 'eve', created_at: Date.now() - 1000, updated_at: Date.now() }] } },
    });
    await tabTo(o, byId('importText'), { what: 'import text' });
    await o.keyboard.insertText(json);
    await tabTo(o, byId('preview'), { what: 'Preview' });
    await o.keyboard.press('Enter');
    await until(() => text(o, '#importMsg').then((s) => s.includes('Nothing has changed')), { what: 'preview' });
    assert.match(await text(o, '#importPreview'), /davsync/);
    assert.equal((await tabTo(o, () => true, { what: 'Import' })).id, 'applyImport');
    await o.keyboard.press('Space');
    await until(() => text(o, '#importMsg').then((s) => s.startsWith('Imported')), { what: 'imported' });
    // Nothing left to import: the button is off, the focus on Preview.
    await until(() => focusInfo(o).then((f) => f.id === 'preview'), { what: 'focus on Preview' });
    await assertFocusVisible(o, 'after Import');
    assert.ok(await o.isDisabled('#applyImport'));
    assert.ok((await K.ok('accounts.list')).accounts.some((a) => a.site_name === 'Echo'));
  });

  await t.test('a conflict: axe on it, then Keep the other device\'s by keyboard', async () => {
    const pick = async (b) => (await b.ok('accounts.list')).accounts.find((a) => a.site_name === 'Bravo');
    await K.ok('accounts.put', { account: { ...await pick(K), notes: 'K says' } });
    await A.ok('accounts.put', { account: { ...await pick(A), notes: 'A says' } });
    await A.ok('sync.now');
    await K.ok('sync.now');
    assert.equal((await K.ok('conflicts.list')).conflicts.length, 1);
    await until(() => o.locator('#conflicts tbody tr').count(), { what: 'conflict row' });
    await checkAxe(o, 'options, conflict');
    // The conflicts card is above the import card, where the focus is.
    await tabTo(o, (f) => f.label.startsWith("Keep the other device's"), { key: 'Shift+Tab', what: 'Keep the other' });
    await o.keyboard.press('Enter');
    await until(() => text(o, '#conflicts').then((s) => s.includes('No conflicts')), { what: 'resolved' });
    // Its row is gone: the focus stays in the card, on its heading.
    await until(() => focusInfo(o).then((f) => f.id === 'h-conf'), { what: 'focus on the Conflicts heading' });
    await assertFocusVisible(o, 'after resolving');
    assert.equal((await pick(K)).notes, 'A says');
  });
  await o.close();
});
