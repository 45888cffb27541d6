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

  /**
   * A message Go sent as a key with parameters ({key, args, n, text}) in
   * the page's language: for a count n, the plural form the language's
   * Intl.PluralRules picks (key_one or key_other); Go's English text when
   * the locale lacks the key. A plain string is shown as it is.
   * @param {MsgMsg | string | null | undefined} m
   */
  function say(m) {
    if (!m) return '';
    if (typeof m === 'string') return m;
    let key = m.key;
    if (m.n != null) {
      key += new Intl.PluralRules(document.documentElement.lang || 'en').select(m.n) === 'one' ? '_one' : '_other';
    }
    const s = t(key, ...(m.args || []));
    return s && s !== key ? s : m.text;
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
   * ("Sign-in failed"), the detail what happened and what to do, as a
   * sentence. Kept apart so the two never run into one repetitive line.
   * In English the detail is Go's message. In any other language it is the
   * message's keys (notes) in that language; an error Go sent without keys
   * gets the translated fix for its kind, with Go's English below it for
   * its specifics.
   * @param {DavsyncError | AppErrorInfo | null | undefined} err
   */
  function errorParts(err) {
    if (!err) return { title: '', detail: '' };
    const kind = err.kind || 'unknown';
    const title = kindTitle(kind);
    const translated = !english() && err.notes && err.notes.length ? err.notes.map(say) : null;
    let detail = translated ? translated.join('\n') : String(err.message || '').trim();
    if (detail === err.kind) detail = '';
    if (detail) detail = detail[0].toUpperCase() + detail.slice(1);
    const fix = !english() && !translated && kindFix(kind);
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
    return new Date(ms).toLocaleString(locale());
  }

  /** The page's language for Intl (the chosen one, else the browser's). */
  function locale() {
    return document.documentElement.lang || undefined;
  }

  /** A count in the page's language (1,234 / 1 234 / 1.234). */
  function fmtCount(n) {
    return new Intl.NumberFormat(locale()).format(n);
  }

  /** "3 added, 1 updated" for a Changes map {collection: {added, updated, deleted}}. */
  function fmtChanges(changes) {
    if (!changes) return '';
    let a = 0, u = 0, d = 0;
    for (const c of Object.values(changes)) { a += c.added || 0; u += c.updated || 0; d += c.deleted || 0; }
    if (!a && !u && !d) return t('noChanges');
    return t('changesSummary', fmtCount(a), fmtCount(u), fmtCount(d));
  }

  /** A byte count as "812 B", "12.4 kB", "3.1 MB", in the page's language's digits and unit names. */
  function fmtBytes(n) {
    if (!(n >= 0)) return '';
    const [v, unit] = n < 1024 ? [n, 'byte'] : n < 1048576 ? [n / 1024, 'kilobyte'] : [n / 1048576, 'megabyte'];
    return new Intl.NumberFormat(locale(), { style: 'unit', unit, unitDisplay: 'short', maximumFractionDigits: unit === 'byte' ? 0 : 1 }).format(v);
  }

  /** What a server is called on the pages: its name, else its host. */
  function serverName(r) {
    if (r.name) return r.name;
    try { if (r.url) return new URL(r.url).host; } catch (e) { /* not a URL yet */ }
    return t('serverN', r.id);
  }

  /** A running sync's phase and the bytes it moved: "Writing to the server · 12 kB of 40 kB". */
  function progressText(p) {
    if (!p || !p.phase) return '';
    const key = 'phase_' + p.phase;
    const phase = t(key) === key ? p.phase : t(key);
    const bytes = p.done > 0 ? (p.total > 0 ? t('bytesOf', fmtBytes(p.done), fmtBytes(p.total)) : fmtBytes(p.done)) : '';
    return bytes ? phase + ' · ' + bytes : phase;
  }

  /**
   * One server's state in a few words and the class that colours it:
   * {text, cls, spin}. enabled is the server's setting (remotes.list).
   * @param {AppRemoteStatus} st
   */
  function serverState(st, enabled) {
    if (st.state === 'syncing') {
      const p = progressText(st.progress);
      return { text: t('statusSyncing') + (p ? ' ' + p : ''), cls: '', spin: true };
    }
    if (enabled === false) return { text: t('srvDisabled'), cls: 'muted' };
    if (st.state === 'idle') return { text: t('statusIdle'), cls: 'okc' };
    if (st.state === 'never_synced') return { text: t('srvNeverSynced'), cls: 'muted' };
    if (st.state === 'not_configured') return { text: t('srvNoAddress'), cls: 'muted' };
    const cls = st.state === 'needs_confirmation' ? 'warn' : 'error';
    return { text: st.error ? errorParts(st.error).title : t('srvAttention'), cls };
  }

  /** Appends a div with class cls and text to el; returns it. */
  function addLine(el, cls, text) {
    const div = document.createElement('div');
    div.className = cls;
    div.textContent = text;
    el.append(div);
    return div;
  }

  /** "If you confirm: This device: …; Server: …" for a held cycle's preview. */
  function previewLine(pv) {
    return t('previewWould') + ' ' + t('lastChangesLocal') + ': ' + fmtChanges(pv.local) + '; ' +
      t('lastChangesRemote') + ': ' + fmtChanges(pv.remote);
  }

  /**
   * The device's state in one place (the worst server's, as the badge):
   * what to do first on a new profile, "Up to date", or which server needs
   * the user and why. withDetail adds the fix and the pause under the
   * title (the popup; the options page shows those in the server's row).
   * remotes (remotes.list) tells a disabled server apart.
   * @param {HTMLElement} el
   * @param {AppStatus} status
   * @param {AppRemote[] | null} remotes
   * @param {boolean} [withDetail]
   */
  function renderSummary(el, status, remotes, withDetail) {
    el.textContent = '';
    if (!status) return;
    const list = status.remotes || [];
    const line = document.createElement('div');
    line.className = 'status-line';
    el.append(line);
    const anyEnabled = remotes ? remotes.some((r) => r.enabled && r.url) : status.state !== 'not_configured';
    if (!list.length || !status.configured) {
      line.append(t('firstRunTitle'));
      addLine(el, 'muted', t(withDetail ? 'firstRunPopup' : 'firstRunHelp'));
      return;
    }
    if (!anyEnabled) {
      line.append(t('allDisabled'));
    } else if (status.state === 'syncing') {
      const sp = document.createElement('span');
      sp.className = 'spinner';
      sp.setAttribute('aria-hidden', 'true');
      line.append(sp, t('statusSyncing'));
    } else if (status.state === 'idle') {
      line.classList.add('okc');
      line.append(t('statusIdle'));
    } else if (status.state === 'never_synced') {
      line.append(t('statusNeverSynced'));
    } else {
      const w = list.find((r) => r.id === status.worst) || list[0];
      const { title, detail } = errorParts(w.status.error);
      line.classList.add(status.state === 'needs_confirmation' ? 'warn' : 'error');
      line.append((list.length > 1 ? w.name + ': ' : '') + (title || t('srvAttention')));
      if (withDetail) {
        if (detail) addLine(el, 'error-detail', detail);
        if (w.status.paused) addLine(el, 'warn', t('syncPaused'));
        if (w.status.preview && w.status.preview.message) addLine(el, 'warn', previewLine(w.status.preview));
      }
    }
    if (status.conflicts > 0) addLine(el, 'warn', t('conflictsPending', status.conflicts));
  }

  /**
   * One server's status in full, under its name: the error and its fix,
   * the last and next sync, what the last sync changed, what a held sync
   * would do, and the notes of the last sync.
   * @param {HTMLElement} el
   * @param {AppRemoteStatus} st
   * @param {boolean} enabled
   */
  function renderServerStatus(el, st, enabled) {
    el.textContent = '';
    const failed = st.error && st.state !== 'syncing';
    if (failed) {
      const detail = errorParts(st.error).detail;
      if (detail) addLine(el, 'error-detail', detail);
    }
    const when = [t('lastSync') + ': ' + fmtTime(st.lastSync)];
    // When the next automatic cycle runs: after a failure this is the
    // backoff (or the server's Retry-After), so the user sees when davsync
    // tries again instead of guessing.
    if (enabled && !st.paused && st.nextRun > 0 && st.state !== 'syncing') when.push(t('nextSync') + ': ' + fmtTime(st.nextRun));
    addLine(el, 'muted', when.join(' · '));
    if (enabled && st.paused) addLine(el, 'warn', t('syncPaused'));
    if (st.lastChanges && !failed && st.state !== 'syncing') {
      addLine(el, 'muted', t('lastChangesLocal') + ': ' + fmtChanges(st.lastChanges.local) + '; ' +
        t('lastChangesRemote') + ': ' + fmtChanges(st.lastChanges.remote));
    }
    // What a held cycle would do, so the user can confirm knowingly.
    if (st.preview && st.preview.message) {
      if (st.preview.note) addLine(el, 'warn', say(st.preview.note));
      addLine(el, 'warn', previewLine(st.preview));
    }
    if (st.warnings && st.warnings.length) {
      // What Go found (e.g. a record stamped far in the future by a device
      // whose clock is wrong), under a translated heading.
      const w = addLine(el, 'warn', t('syncWarnings'));
      const ul = document.createElement('ul');
      for (const m of st.warnings) {
        const li = document.createElement('li');
        li.textContent = say(m);
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

  /**
   * Disables a button while fn runs, so a double click cannot run it twice.
   * A disabled button drops the keyboard focus to the page: the focus goes
   * back to it after, unless fn moved it elsewhere meanwhile.
   */
  async function busy(btn, fn) {
    const had = document.activeElement === btn;
    btn.disabled = true;
    btn.setAttribute('aria-busy', 'true');
    try { return await fn(); } finally {
      btn.disabled = false;
      btn.removeAttribute('aria-busy');
      const now = document.activeElement;
      if (had && btn.isConnected && (!now || now === document.body || now === btn)) btn.focus();
    }
  }

  /** The element each open dialog gives the focus back to. @type {Map<HTMLDialogElement, any>} */
  const openers = new Map();

  /**
   * Opens dlg as a modal: Tab and Shift+Tab stay inside it (the page behind
   * is inert, but Tab would otherwise leave for the browser's own controls),
   * and the focus goes back to opener when it closes, however it closes (a
   * button, Escape). opener may be a function that finds it then: the
   * button can have been re-rendered meanwhile.
   * @param {HTMLDialogElement} dlg
   * @param {HTMLElement | (() => HTMLElement | null)} opener
   * @param {HTMLElement} [first] the control to start on
   */
  function openModal(dlg, opener, first) {
    if (!dlg.dataset.modal) {
      dlg.dataset.modal = '1';
      dlg.addEventListener('keydown', (ev) => {
        if (ev.key !== 'Tab') return;
        const all = /** @type {HTMLElement[]} */ ([...dlg.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')])
          .filter((e) => !(/** @type {any} */ (e).disabled) && e.tabIndex >= 0 && e.getClientRects().length > 0);
        if (!all.length) return;
        const firstEl = all[0], last = all[all.length - 1];
        if (ev.shiftKey && (document.activeElement === firstEl || !dlg.contains(document.activeElement))) { last.focus(); ev.preventDefault(); }
        else if (!ev.shiftKey && document.activeElement === last) { firstEl.focus(); ev.preventDefault(); }
      });
      dlg.addEventListener('close', () => {
        // The close event comes a moment after close(): the same dialog may
        // have opened again meanwhile (a second question), and keeps it.
        if (dlg.open) return;
        const o = openers.get(dlg);
        openers.delete(dlg);
        const back = typeof o === 'function' ? o() : o;
        if (back && back.isConnected) back.focus();
      });
    }
    const usable = typeof opener === 'function' || (opener && opener !== document.body && !dlg.contains(opener));
    if (usable || !openers.has(dlg)) openers.set(dlg, opener);
    dlg.showModal();
    if (first) first.focus();
  }

  return { t, say, translate, send, errorText, errorParts, init, applyTheme, applyLanguage, fmtTime, fmtChanges, fmtBytes,
    serverName, serverState, progressText, renderSummary, renderServerStatus, watchStatus, toast, busy, openModal };
})();
