// Checks of the extension's files that need no browser: locales complete,
// every string the pages use translated, manifest acceptable to the stores.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const EXT = path.join(ROOT, 'extension');
const read = (p) => fs.readFileSync(path.join(EXT, p), 'utf8');
const locale = (l) => JSON.parse(read(`_locales/${l}/messages.json`));

function files(dir, ext) {
  return fs.readdirSync(path.join(EXT, dir)).filter((f) => f.endsWith(ext)).map((f) => path.join(dir, f));
}

test('every shipped language has every key, its placeholders, and its own words', () => {
  const en = locale('en');
  const codes = fs.readdirSync(path.join(EXT, '_locales')).filter((f) => fs.statSync(path.join(EXT, '_locales', f)).isDirectory());
  assert.ok(codes.length >= 11, 'at least 11 languages: ' + codes);
  // Names that are the same in every language.
  const sameEverywhere = new Set(['extName', 'urlPlaceholder', 'hostPlaceholder']);
  const n = (s) => (s.match(/\$\d/g) || []).sort().join();
  for (const code of codes) {
    const l = locale(code);
    assert.deepEqual(Object.keys(l).sort(), Object.keys(en).sort(), code + ': the same keys as en');
    for (const [k, v] of Object.entries(l)) {
      assert.ok(v.message && v.message.trim(), code + ': empty message ' + k);
      assert.match(k, /^[A-Za-z0-9_]+$/, 'bad key ' + k);
      assert.equal(n(v.message), n(en[k].message), code + ': placeholders differ in ' + k);
      // Chrome reads $name$ as a named placeholder and refuses the whole
      // extension when it is not declared: "$3$4" would be one.
      assert.doesNotMatch(v.message, /\$[A-Za-z0-9_]+\$/, code + ': ' + k + ' has a $..$ sequence Chrome takes for a named placeholder');
      assert.ok(!(v.message.trim() in en && v.message.trim() !== k) && !v.message.includes('__MSG_'), code + ': ' + k + ' is a raw key');
      if (code !== 'en' && !sameEverywhere.has(k)) {
        assert.notEqual(v.message, en[k].message, code + ': ' + k + ' is still English');
      }
    }
  }
});

test('every key the pages and the worker use exists', () => {
  const en = locale('en');
  const used = new Set();
  for (const f of files('pages', '.html')) {
    for (const m of read(f).matchAll(/data-i18n(?:-[a-z-]+)?="([^"]+)"/g)) used.add(m[1]);
  }
  const js = [...files('pages', '.js'), 'background.js'].map(read).join('\n');
  for (const m of js.matchAll(/\bt\('([A-Za-z0-9_]+)'(?!\s*\+)/g)) used.add(m[1]);
  for (const m of js.matchAll(/getMessage\('([A-Za-z0-9_]+)'\)/g)) used.add(m[1]);
  // Keys picked at run time: t(cond ? 'a' : 'b').
  for (const m of js.matchAll(/\bt\([^()']*\?\s*'(\w+)'\s*:\s*'(\w+)'\s*\)/g)) { used.add(m[1]); used.add(m[2]); }
  for (const m of read('manifest.json').matchAll(/__MSG_([A-Za-z0-9_]+)__/g)) used.add(m[1]);
  const missing = [...used].filter((k) => !(k in en));
  assert.deepEqual(missing, []);
});

/** The protocol's constants as Go generated them (extension/protocol.gen.js). */
function protocol() {
  const self = {};
  new Function('self', read('protocol.gen.js'))(self);
  return self.DAVSYNC_PROTOCOL;
}

test('every error kind has a translated name and fix', () => {
  const en = locale('en');
  const { kinds } = protocol();
  assert.ok(kinds.length > 20);
  assert.deepEqual(kinds.filter((k) => !('kind_' + k in en)), []);
  // Go's messages are English: other languages show this translated fix.
  assert.deepEqual(kinds.filter((k) => !('fix_' + k in en)), [], 'every kind has a fix_ message');
  assert.deepEqual(Object.keys(en).filter((k) => /^(kind|fix)_/.test(k) && !kinds.includes(k.replace(/^(kind|fix)_/, ''))), [],
    'no kind_/fix_ message for a kind errkind does not have');
});

test('manifest is store-ready', () => {
  const m = JSON.parse(read('manifest.json'));
  assert.equal(m.manifest_version, 3);
  assert.equal(m.key, undefined);
  assert.equal(m.host_permissions, undefined);
  assert.deepEqual(m.permissions.sort(), ['alarms', 'notifications', 'storage', 'unlimitedStorage']);
  assert.deepEqual(m.optional_host_permissions, ['https://*/*', 'http://*/*']);
  assert.ok(!JSON.stringify(m).includes('<all_urls>'));
  assert.match(m.content_security_policy.extension_pages, /'wasm-unsafe-eval'/);
  for (const p of [m.background.service_worker, m.action.default_popup, m.options_ui.page, ...Object.values(m.icons)]) {
    assert.ok(fs.existsSync(path.join(EXT, p)), p);
  }
});

test('pages load only local scripts and no inline script', () => {
  for (const f of files('pages', '.html')) {
    const html = read(f);
    assert.doesNotMatch(html, /<script>(?!<\/script>)/, f + ' has an inline script');
    assert.doesNotMatch(html, /\son[a-z]+="/, f + ' has an inline handler');
    for (const m of html.matchAll(/<script src="([^"]+)"/g)) assert.ok(fs.existsSync(path.join(EXT, 'pages', m[1])), m[1]);
    // every form control is labelled
    for (const m of html.matchAll(/<(input|select|textarea)\b[^>]*\bid="([^"]+)"/g)) {
      assert.ok(html.includes(`for="${m[2]}"`) || new RegExp(`<label[^>]*>\\s*<${m[1]}[^>]*id="${m[2]}"`).test(html), f + ': #' + m[2] + ' has no label');
    }
  }
});

test('the worker and the pages take the protocol from Go, not from a copy', () => {
  const { methods, edits } = protocol();
  assert.ok(methods.includes('sync.now') && edits.includes('accounts.put') && !edits.includes('sync.status'));
  const worker = read('background.js');
  assert.match(worker, /importScripts\([^)]*'protocol\.gen\.js'/);
  assert.match(worker, /DAVSYNC_PROTOCOL\.edits/);
  assert.doesNotMatch(worker, /new Set\(\['accounts\.put'/, 'no hand-kept list of editing methods');
  for (const f of files('pages', '.html')) {
    assert.match(read(f), /<script src="\.\.\/protocol\.gen\.js"><\/script>/, f + ' loads the protocol constants');
  }
});
