// A server the user does not fully control, seen from the pages: a
// plaintext file swapped in while encryption is on is taken only after a
// question that names what would arrive, and an http:// server on another
// machine needs an explicit, per-server choice. Run by make test-browser.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const lib = require('./lib');
const { ROOT, buildTestExtension, startDav, launch, until } = lib;

const EXT = path.join(ROOT, '.run', 'ext-hostile-test');
const SHOTS = path.join(ROOT, 'test-results', 'screenshots');
const PASS = 'correct horse battery';
const FOREIGN = JSON.stringify({
  format: 'davsync', version: 1, exported_at: 1,
  collections: { accounts: { records: [{ id: 'foreign-1', site_name: 'Foreign Relay', username: 'mallory', updated_at: 1700000000000 }] } },
  preferences: { updated_at: 0, values: {} },
});
let dav;
let B;

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  buildTestExtension(EXT);
  dav = await startDav({ pass: PASS });
  B = await launch({ extDir: EXT });
});
after(async () => {
  if (B) await B.close();
  if (dav) await dav.stop();
});

async function names() {
  return (await B.ok('accounts.list')).accounts.map((a) => a.site_name).sort();
}

test('a plaintext file swapped in under encryption is asked about, naming what would arrive', async () => {
  await B.ok('settings.save', { settings: { url: dav.url, username: dav.user, password: PASS,
    encryption: { enabled: true, passphrase: 'a passphrase', remember: true } } });
  await B.ok('accounts.put', { account: { site_name: 'Mine', username: 'me' } });
  await B.ok('sync.now');
  // Someone who can write to the folder, but does not know the passphrase,
  // replaces the file with a plaintext one.
  fs.writeFileSync(path.join(dav.root, 'davsync', 'davsync.json'), FOREIGN);

  const p = await B.open('options.html');
  await p.selectOption('#downloadMode', 'replace');
  await p.click('#download');
  await p.click('#confirmYes'); // "replace this device's data?"
  // The engine's question, in the dialog, with the counts and the name.
  const text = await until(async () => {
    const s = await p.textContent('#confirmText');
    return s.includes('not encrypted') && s;
  }, { what: 'the encryption question' });
  assert.match(text, /\badd 1\b/);
  assert.match(text, /Foreign Relay/);
  assert.match(text, /do not confirm/);
  for (const scheme of ['light', 'dark']) {
    await p.emulateMedia({ colorScheme: scheme });
    await p.screenshot({ path: path.join(SHOTS, `encryption-question-${scheme}.png`) });
  }
  await p.click('#confirmNo');
  await until(() => p.textContent('#backupMsg').then((s) => s.includes('not encrypted')), { what: 'refusal shown' });
  assert.equal(await p.evaluate(() => document.getElementById('confirm').open), false);
  assert.deepEqual(await names(), ['Mine'], 'nothing of the file arrived after "no"');

  // "Sync now" asks too, in the status card, and nothing arrives.
  await p.click('#syncNow');
  await until(() => p.textContent('#syncMsg').then((s) => s.includes('not encrypted')), { what: 'sync now refused' });
  await until(() => p.textContent('#servers').then((s) => s.includes('not encrypted')), { what: 'the question in the status' });
  assert.ok(await p.isVisible('#confirmSync'));
  assert.deepEqual(await names(), ['Mine']);

  // Yes to that very file takes it.
  await p.click('#download');
  await p.click('#confirmYes');
  await until(() => p.textContent('#confirmText').then((s) => s.includes('Foreign Relay')), { what: 'question again' });
  await p.click('#confirmYes');
  await until(async () => (await names()).includes('Foreign Relay'), { what: 'file taken after yes' });
  await p.close();
});

test('http:// to another machine needs an explicit choice for that server', async () => {
  const p = await B.open('options.html');
  const edit = p.locator('#servers button[data-act="edit"]').first();
  await edit.click();
  assert.equal(await p.isVisible('#insecureBox'), false);
  await p.fill('#url', 'http://nas.example.test:5005/dav/');
  await until(() => p.isVisible('#insecureBox'), { what: 'the unencrypted-connection choice' });
  assert.match(await p.textContent('#insecureBox'), /unencrypted/);
  assert.match(await p.textContent('#allowInsecureLabel'), /http:\/\/nas\.example\.test:5005/);
  await p.fill('#password', 'a password');
  await p.click('#save');
  const err = await until(async () => {
    const s = await p.textContent('#settingsMsg');
    return /Unencrypted connection/.test(s) && s;
  }, { what: 'refused save' });
  assert.doesNotMatch(err, /a password/);
  assert.ok(await p.evaluate(() => document.getElementById('editor').open), 'a refused save keeps the editor open');
  assert.notEqual((await B.ok('settings.get')).settings.url, 'http://nas.example.test:5005/dav/');
  await p.check('#allowInsecure');
  await p.click('#save');
  await until(async () => (await B.ok('settings.get')).settings.allowInsecure, { what: 'allowed and saved' });
  // The editor shows the choice made for this server.
  await until(async () => !(await p.evaluate(() => document.getElementById('editor').open)), { what: 'editor closed' });
  await edit.click();
  assert.equal(await p.isChecked('#allowInsecure'), true);
  for (const scheme of ['light', 'dark']) {
    await p.emulateMedia({ colorScheme: scheme });
    await p.locator('#insecureBox').screenshot({ path: path.join(SHOTS, `insecure-choice-${scheme}.png`) });
  }
  // Another http:// server is not covered by that choice.
  await p.fill('#url', 'http://other.example.test/dav/');
  assert.equal(await p.isChecked('#allowInsecure'), true, 'the box still shows the old choice');
  await p.uncheck('#allowInsecure');
  await p.click('#save');
  await until(() => p.textContent('#settingsMsg').then((s) => /Unencrypted connection/.test(s)), { what: 'second server refused' });
  await p.close();
});
