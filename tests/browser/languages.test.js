// Every page in every language the extension ships (issue 15), in real
// Chromium: the language preference is set as a user sets it, each page is
// loaded and screenshotted (.run/screenshots/languages/<code>-<view>.png, to
// look at), and the test fails when a translation does not fit: text cut
// off inside its box (a button, a badge, a cell that clips) or anything
// sticking out of the page sideways. German, Russian and the CJK languages
// are where that happens first. Run by make test-browser.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { ROOT, buildTestExtension, startDav, launch, until } = require('./lib');

const EXT = path.join(ROOT, '.run', 'ext-languages-test');
const SHOTS = path.join(ROOT, '.run', 'screenshots', 'languages');
const PASS = 'many tongues';

let dav, A, languages;

before(async () => {
  buildTestExtension(EXT);
  fs.rmSync(SHOTS, { recursive: true, force: true });
  fs.mkdirSync(SHOTS, { recursive: true });
  dav = await startDav({ pass: PASS });
  A = await launch({ extDir: EXT });
  // A server that synced, an account, a conflict-free history: the pages
  // show their full state (a server row, its status, the accounts table).
  await A.ok('settings.save', { settings: { url: dav.url, username: dav.user, password: PASS, autoSync: false } });
  await A.ok('accounts.put', { account: { site_name: 'Alpha', username: 'ada', site_url: 'https://alpha.example', tags: ['work'] } });
  await A.ok('sync.now');
  const p = await A.open('popup.html');
  languages = await p.evaluate(() => DAVSYNC_PROTOCOL.languages.map((l) => l.code));
  await p.close();
});

after(async () => {
  if (A) await A.close();
  if (dav) await dav.stop();
});

/**
 * What does not fit on the page as it is: elements whose own text is cut
 * off by their box (a clipping overflow, an ellipsis, a button or select
 * narrower than its label), and elements that reach past the right edge of
 * the page's body. An element with a title shows its whole text on hover
 * and may shorten it on purpose.
 */
function misfits(page) {
  return page.evaluate(() => {
    const out = [];
    const edge = Math.min(document.documentElement.clientWidth, document.body.getBoundingClientRect().right);
    const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '');
    for (const e of document.querySelectorAll('body *')) {
      if (!e.getClientRects().length || e.closest('[hidden], dialog:not([open])')) continue;
      // Text for screen readers only sits in a 1px box on purpose.
      if (e.clientWidth <= 1 && e.clientHeight <= 1) continue;
      const own = [...e.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join(' ').trim();
      if (!own) continue;
      const cs = getComputedStyle(e);
      const clips = cs.overflowX !== 'visible' || cs.textOverflow === 'ellipsis' || /^(BUTTON|SELECT)$/.test(e.tagName);
      if (clips && !e.title && e.scrollWidth > e.clientWidth + 1) {
        out.push(`${name(e)} cuts off "${own.slice(0, 50)}" (${e.scrollWidth}px of text in ${e.clientWidth}px)`);
      }
      const r = e.getBoundingClientRect();
      if (r.right > edge + 1) out.push(`${name(e)} "${own.slice(0, 50)}" reaches ${Math.round(r.right)}px, past the page's ${Math.round(edge)}px`);
    }
    return out;
  });
}

async function setLanguage(code) {
  const { values } = await A.ok('preferences.get');
  await A.ok('preferences.save', { values: { ...(values || {}), language: code } });
}

/**
 * Waits until page speaks code, screenshots it as view (the whole page, or
 * what the user sees: a dialog's backdrop covers only the window, the
 * popup only its body), and returns what does not fit.
 */
async function look(page, code, view, { shot = 'page' } = {}) {
  const lang = code.replace('_', '-');
  await until(() => page.evaluate((l) => document.documentElement.lang === l, lang), { what: `${view} in ${code}` });
  const file = path.join(SHOTS, `${code}-${view}.png`);
  if (shot === 'body') await page.locator('body').screenshot({ path: file });
  else await page.screenshot({ path: file, fullPage: shot === 'page' });
  return (await misfits(page)).map((m) => `${code} ${view}: ${m}`);
}

test('every page fits in every language', async () => {
  assert.ok(languages.length >= 11, `only ${languages.length} languages`);
  const found = [];
  for (const code of languages) {
    await setLanguage(code);

    const o = await A.open('options.html');
    await until(() => o.locator('#status').innerText().then((s) => s.trim().length > 0), { what: 'status shown' });
    // The import's file button is ours, in the chosen language, not the
    // browser's own ("Choose File" in an English browser).
    const pick = await o.locator('.file-pick').innerText();
    if (code !== 'en') assert.doesNotMatch(pick, /Choose File|No file chosen/, `${code}: the file picker speaks the browser's language`);
    found.push(...await look(o, code, 'options'));
    await o.click('#addServer');
    await until(() => o.isVisible('#url'), { what: 'server editor' });
    found.push(...await look(o, code, 'editor', { shot: 'window' }));
    await o.close();

    const acc = await A.open('accounts.html');
    await until(() => acc.locator('#list tbody tr').count(), { what: 'account rows' });
    found.push(...await look(acc, code, 'accounts'));
    await acc.close();

    const pop = await A.open('popup.html');
    await until(() => pop.locator('body').innerText().then((s) => s.includes('Alpha') || s.trim().length > 20), { what: 'popup filled' });
    found.push(...await look(pop, code, 'popup', { shot: 'body' }));
    await pop.close();
  }
  console.log(`${languages.length} languages x 4 views: screenshots in ${path.relative(ROOT, SHOTS)}`);
  assert.deepEqual(found, [], `text that does not fit:\n${found.join('\n')}`);
});

test('an error reads in the chosen language, its specifics included', async () => {
  // The server refuses the password: Go sends the detail as the key
  // errHTTPAuth with the status as its parameter, and the popup must say
  // it in each language's own words, not Go's English.
  await A.ok('settings.save', { settings: { password: 'not the password' } });
  const r = await A.send('sync.now');
  assert.equal(r.ok, false);
  assert.deepEqual(r.error.notes.map((n) => n.key), ['errHTTPAuth']);
  const english = JSON.parse(fs.readFileSync(path.join(EXT, '_locales', 'en', 'messages.json'), 'utf8')).errHTTPAuth.message;
  try {
    for (const code of languages) {
      await setLanguage(code);
      const want = JSON.parse(fs.readFileSync(path.join(EXT, '_locales', code, 'messages.json'), 'utf8')).errHTTPAuth.message.replace('$1', '401');
      const pop = await A.open('popup.html');
      const lang = code.replace('_', '-');
      await until(() => pop.evaluate((l) => document.documentElement.lang === l, lang), { what: `popup in ${code}` });
      const shown = await until(async () => {
        const s = await pop.textContent('#status');
        return s.includes(want.slice(1)) && s;
      }, { what: `${code}: the popup shows the translated detail "${want}"` });
      if (code !== 'en') assert.ok(!shown.includes(english.slice(1, 40)), `${code}: Go's English is still shown: ${shown}`);
      await pop.close();
    }
  } finally {
    await setLanguage('auto');
    await A.ok('settings.save', { settings: { password: PASS } });
  }
});
