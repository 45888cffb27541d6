// Shared by every davsync page: messages to the worker, translated strings,
// theme, and status formatting. Plain script, no modules, no bundler.
'use strict';

const davsync = (() => {
  let override = null; // messages of the language chosen in preferences, if any

  /** Translated string for key; $1.. replaced by subs. */
  function t(key, ...subs) {
    let s = '';
    if (override && override[key]) {
      s = override[key].message.replace(/\$(\d)/g, (_, n) => subs[n - 1] ?? '');
    } else {
      s = chrome.i18n.getMessage(key, subs.map(String));
    }
    return s || key;
  }

  /** Fills every data-i18n* attribute below root. */
  function translate(root = document) {
    /** @param {string} sel @returns {HTMLInputElement[]} */
    const all = (sel) => /** @type {any[]} */ ([...root.querySelectorAll(sel)]);
    for (const el of all('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    for (const el of all('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
    for (const el of all('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
    for (const el of all('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
    if (root === document) {
      const title = /** @type {HTMLElement | null} */ (document.querySelector('title[data-i18n]'));
      if (title) document.title = t(title.dataset.i18n);
    }
  }

  /**
   * Sends one protocol message; resolves with the reply, throws a
   * DavsyncError ({kind, message, detail?}) on failure.
   * @template {keyof DavsyncMethods} M
   * @param {M} method
   * @param {Partial<DavsyncMethods[M]['params']>} [params]
   * @returns {Promise<DavsyncMethods[M]['result'] & {ok: true}>}
   */
  async function send(method, params) {
    let reply;
    try {
      reply = await chrome.runtime.sendMessage({ method, params: params || {} });
    } catch (e) {
      throw { kind: 'unknown', message: String(e && e.message || e) };
    }
    if (!reply) throw { kind: 'unknown', message: t('errNoReply') };
    if (!reply.ok) throw reply.error;
    return reply;
  }

  /** The translated short name of an error kind, in the chosen language. */
  function kindTitle(kind) {
    const key = 'kind_' + kind;
    if (override && override[key]) return override[key].message;
    return chrome.i18n.getMessage(key) || '';
  }

  /** The translated "what to do" for an error kind, in the chosen language. */
  function kindFix(kind) {
    const key = 'fix_' + kind;
    if (override && override[key]) return override[key].message;
    return chrome.i18n.getMessage(key) || '';
  }

  /**
   * Whether the pages speak English, the language of Go's messages: the
   * locale the strings resolve to (a browser in German falls back to en).
   */
  function english() {
    return t('localeCode') === 'en';
  }

  /**
   * An error as a title and a detail: the title is the translated kind
   * ("Sign-in failed"), the detail Go's message (what happened and what to
   * do), as a sentence. Kept apart so the two never run into one repetitive
   * line. Go's messages are English; in any other language the detail
   * starts with the translated fix for the kind, so the user can act on it,
   * and keeps Go's message below for its specifics (a time, a URL, a file).
   */
  function errorParts(err) {
    if (!err) return { title: '', detail: '' };
    const kind = err.kind || 'unknown';
    const title = kindTitle(kind);
    let detail = String(err.message || '').trim();
    if (detail === err.kind) detail = '';
    if (detail) detail = detail[0].toUpperCase() + detail.slice(1);
    const fix = !english() && kindFix(kind);
    if (fix) detail = detail ? fix + '\n' + detail : fix;
    return title ? { title, detail } : { title: detail || String(kind), detail: '' };
  }

  /** An error as text: title, then the detail on its own line (messages are pre-wrap). */
  function errorText(err) {
    const { title, detail } = errorParts(err);
    return detail ? title + '\n' + detail : title;
  }

  function applyTheme(theme) {
    const root = document.documentElement;
    if (theme === 'light' || theme === 'dark') root.dataset.theme = theme;
    else delete root.dataset.theme;
    try { localStorage.setItem('davsync.theme', theme || 'system'); } catch (e) { /* private mode */ }
  }

  // The languages the extension ships (Go's internal/languages, through the
  // protocol's constants). A synced preference is data from another device
  // or an import: anything else is ignored, never turned into a path to
  // fetch.
  const LANGUAGES = DAVSYNC_PROTOCOL.languages.map((l) => l.code);

  async function applyLanguage(lang) {
    if (!LANGUAGES.includes(lang)) lang = 'auto';
    try { localStorage.setItem('davsync.lang', lang || ''); } catch (e) { /* ignore */ }
    override = null;
    if (lang && lang !== 'auto') {
      try {
        const r = await fetch(chrome.runtime.getURL('_locales/' + lang + '/messages.json'));
        if (r.ok) override = await r.json();
      } catch (e) { override = null; }
      document.documentElement.lang = lang.replace('_', '-');
    } else {
      document.documentElement.lang = chrome.i18n.getUILanguage();
    }
  }

  /** Theme and language from preferences, cached so the page does not flash. */
  async function init() {
    let cached = 'system';
    try { cached = localStorage.getItem('davsync.theme') || 'system'; } catch (e) { /* ignore */ }
    applyTheme(cached);
    let lang = '';
    try { lang = localStorage.getItem('davsync.lang') || ''; } catch (e) { /* ignore */ }
    await applyLanguage(lang);
    translate();
    try {
      const { values } = await send('preferences.get');
      const v = values || {};
      applyTheme(v.theme);
      if ((v.language || '') !== lang) { await applyLanguage(v.language); translate(); }
    } catch (e) { /* defaults stay */ }
  }

  function fmtTime(ms) {
    if (!ms) return t('never');
    return new Date(ms).toLocaleString(document.documentElement.lang || undefined);
  }

  /** "3 added, 1 updated" for a Changes map {collection: {added, updated, deleted}}. */
  function fmtChanges(changes) {
    if (!changes) return '';
    let a = 0, u = 0, d = 0;
    for (const c of Object.values(changes)) { a += c.added || 0; u += c.updated || 0; d += c.deleted || 0; }
    if (!a && !u && !d) return t('noChanges');
    return t('changesSummary', a, u, d);
  }

  /** Renders a status object into the element (role=status keeps it announced). */
  function renderStatus(el, status) {
    el.textContent = '';
    if (!status) return;
    const line = document.createElement('div');
    line.className = 'status-line';
    if (status.state === 'syncing') {
      const sp = document.createElement('span');
      sp.className = 'spinner';
      sp.setAttribute('aria-hidden', 'true');
      line.append(sp, t('statusSyncing'));
    } else if (!status.configured) {
      line.append(t('statusNotConfigured'));
    } else if (status.error) {
      line.classList.add('error');
      line.append(errorParts(status.error).title);
    } else {
      line.append(t('statusIdle'));
    }
    el.append(line);
    const detail = line.classList.contains('error') && errorParts(status.error).detail;
    if (detail) {
      const d = document.createElement('div');
      d.className = 'error-detail';
      d.textContent = detail;
      el.append(d);
    }
    const add = (cls, text) => {
      const div = document.createElement('div');
      div.className = cls;
      div.textContent = text;
      el.append(div);
      return div;
    };
    add('muted', t('lastSync') + ': ' + fmtTime(status.lastSync));
    // When the next automatic cycle runs: after a failure this is the
    // backoff (or the server's Retry-After), so the user sees when davsync
    // tries again instead of guessing.
    if (status.paused) add('warn', t('syncPaused'));
    else if (status.nextRun > 0 && status.state !== 'syncing') add('muted', t('nextSync') + ': ' + fmtTime(status.nextRun));
    if (status.lastChanges && !status.error && status.state !== 'syncing') {
      const ch = document.createElement('div');
      ch.className = 'muted';
      ch.textContent = t('lastChangesLocal') + ': ' + fmtChanges(status.lastChanges.local) + '; ' +
        t('lastChangesRemote') + ': ' + fmtChanges(status.lastChanges.remote);
      el.append(ch);
    }
    if (status.preview && status.preview.message) {
      // What a held cycle would do, so the user can confirm knowingly.
      const pv = document.createElement('div');
      pv.className = 'warn';
      pv.textContent = t('previewWould') + ' ' + t('lastChangesLocal') + ': ' + fmtChanges(status.preview.local) +
        '; ' + t('lastChangesRemote') + ': ' + fmtChanges(status.preview.remote);
      el.append(pv);
    }
    if (status.conflicts > 0) add('warn', t('conflictsPending', status.conflicts));
    if (status.warnings && status.warnings.length) {
      // Go's words (e.g. a record stamped far in the future by a device
      // whose clock is wrong), under a translated heading.
      const w = add('warn', t('syncWarnings'));
      const ul = document.createElement('ul');
      for (const text of status.warnings) {
        const li = document.createElement('li');
        li.textContent = text;
        ul.append(li);
      }
      w.append(ul);
    }
  }

  /** Calls fn(status) now and on every status broadcast from the worker. */
  function watchStatus(fn) {
    chrome.runtime.onMessage.addListener((msg) => {
      if (msg && msg.type === 'sync.status') fn(msg.status);
    });
    send('sync.status').then((r) => fn(r.status)).catch(() => {});
  }

  /** Shows a transient message in a live region. */
  function toast(el, text, isError) {
    el.textContent = text;
    el.classList.toggle('error', !!isError);
  }

  /** Disables a button while fn runs, so a double click cannot run it twice. */
  async function busy(btn, fn) {
    btn.disabled = true;
    btn.setAttribute('aria-busy', 'true');
    try { return await fn(); } finally { btn.disabled = false; btn.removeAttribute('aria-busy'); }
  }

  return { t, translate, send, errorText, errorParts, init, applyTheme, applyLanguage, fmtTime, fmtChanges, renderStatus, watchStatus, toast, busy };
})();
