// The accounts page: list, search, add, edit, delete, tags; preferences.
'use strict';

const { t, send, errorText, toast, busy } = davsync;
/** The element with id, as any: form fields are read by name, not typed. @type {(id: string) => any} */
const $ = (id) => document.getElementById(id);

let accounts = [];
let editing = null; // the account being edited, or null when adding
let shownValues = null; // the form's values when the editor opened

function tagsOf(a) {
  return Array.isArray(a.tags) ? a.tags.filter((x) => typeof x === 'string') : [];
}

function matches(a, q) {
  if (!q) return true;
  const hay = [a.site_name, a.site_url, a.username, a.notes, ...tagsOf(a)]
    .filter(Boolean).join(' ').toLowerCase();
  return q.toLowerCase().split(/\s+/).every((w) => hay.includes(w));
}

function render() {
  const box = $('list');
  // A re-render replaces the row buttons: keep the keyboard focus on the
  // same button of the same row (or on Add if the row is gone).
  const act = /** @type {HTMLButtonElement} */ (document.activeElement);
  const row = act && box.contains(act) ? act.closest('tr') : null;
  const focusId = row && row.dataset.id;
  const focusIdx = row ? [...row.querySelectorAll('button')].indexOf(act) : -1;
  box.textContent = '';
  const refocus = () => {
    if (!row) return;
    const tr = [...box.querySelectorAll('tr')].find((r) => r.dataset.id === focusId);
    const b = tr && tr.querySelectorAll('button')[focusIdx];
    (b || $('add')).focus();
  };
  const q = $('search').value.trim();
  const shown = accounts.filter((a) => matches(a, q));
  if (!shown.length) {
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent = accounts.length ? t('noMatches') : t('noAccounts');
    box.append(p);
    refocus();
    return;
  }
  const tbl = document.createElement('table');
  const head = tbl.createTHead().insertRow();
  for (const key of ['siteName', 'accountUser', 'tags', '']) {
    const th = document.createElement('th');
    th.textContent = key ? t(key) : '';
    if (!key) { const s = document.createElement('span'); s.className = 'visually-hidden'; s.textContent = t('actions'); th.append(s); }
    head.append(th);
  }
  const body = tbl.createTBody();
  for (const a of shown) {
    const tr = body.insertRow();
    tr.dataset.id = a.id;
    const name = tr.insertCell();
    const strong = document.createElement('div');
    strong.textContent = a.site_name || t('unnamed');
    name.append(strong);
    if (a.site_url) {
      // Only an http(s) address becomes a link: a synced or imported
      // "javascript:" or "data:" address stays text (Go's backup.WebURL).
      const web = /^https?:\/\//i.test(String(a.site_url).trim());
      const url = /** @type {HTMLAnchorElement} */ (document.createElement(web ? 'a' : 'div'));
      url.className = 'muted';
      url.textContent = a.site_url;
      if (web) {
        url.href = String(a.site_url).trim();
        url.target = '_blank';
        url.rel = 'noopener noreferrer';
        url.style.display = 'block';
      }
      name.append(url);
    }
    tr.insertCell().textContent = a.username || '';
    const tags = tr.insertCell();
    for (const tag of tagsOf(a)) {
      const s = document.createElement('span');
      s.className = 'tag';
      s.textContent = tag;
      tags.append(s);
    }
    const act = tr.insertCell();
    act.className = 'actions';
    const edit = document.createElement('button');
    edit.textContent = t('edit');
    edit.setAttribute('aria-label', t('editNamed', a.site_name || ''));
    edit.addEventListener('click', () => openEditor(a));
    const del = document.createElement('button');
    del.className = 'danger';
    del.textContent = t('delete');
    del.setAttribute('aria-label', t('deleteNamed', a.site_name || ''));
    del.addEventListener('click', () => remove(del, a));
    act.append(edit, del);
  }
  box.append(tbl);
  refocus();
}

async function load() {
  try {
    const r = await send('accounts.list');
    accounts = r.accounts || [];
    accounts.sort((x, y) => String(x.site_name || '').localeCompare(String(y.site_name || '')));
    render();
  } catch (e) {
    toast($('listMsg'), errorText(e), true);
  }
}

function openEditor(a) {
  editing = a || null;
  $('editorTitle').textContent = t(a ? 'editAccount' : 'addAccount');
  $('f_site_name').value = a ? a.site_name || '' : '';
  $('f_site_url').value = a ? a.site_url || '' : '';
  $('f_username').value = a ? a.username || '' : '';
  $('f_tags').value = a ? tagsOf(a).join(', ') : '';
  $('f_notes').value = a ? a.notes || '' : '';
  shownValues = formValues();
  $('editMsg').textContent = '';
  $('editor').showModal();
  $('f_site_name').focus();
}

$('add').addEventListener('click', () => openEditor(null));
$('cancelEdit').addEventListener('click', () => $('editor').close());

function formValues() {
  return {
    site_name: $('f_site_name').value.trim(),
    site_url: $('f_site_url').value.trim(),
    username: $('f_username').value.trim(),
    tags: [...new Set($('f_tags').value.split(',').map((s) => s.trim()).filter(Boolean))],
    notes: $('f_notes').value,
  };
}

$('editForm').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const vals = formValues();
  if (!vals.site_name) { $('editMsg').textContent = t('siteNameRequired'); $('f_site_name').focus(); return; }
  busy($('saveAccount'), async () => {
    try {
      // Only the fields the user changed in the form; the record as the
      // editor showed it goes along as base, so Go applies just those
      // changes to the record as stored now (another page or a sync may
      // have changed other fields meanwhile, and they stay).
      const acc = editing ? JSON.parse(JSON.stringify(editing)) : {};
      delete acc._field_times;
      for (const [k, v] of Object.entries(vals)) {
        if (!editing || JSON.stringify(v) !== JSON.stringify(shownValues[k])) acc[k] = v;
      }
      await send('accounts.put', editing ? { account: acc, base: editing } : { account: acc });
      $('editor').close();
      toast($('listMsg'), t('accountSaved'));
      await load();
    } catch (e) {
      $('editMsg').textContent = errorText(e);
    }
  });
});

async function remove(btn, a) {
  if (!window.confirm(t('confirmDelete', a.site_name || ''))) return;
  await busy(btn, async () => {
    try {
      await send('accounts.delete', { id: a.id });
      toast($('listMsg'), t('accountDeleted'));
      await load();
    } catch (e) { toast($('listMsg'), errorText(e), true); }
  });
}

$('search').addEventListener('input', render);

// ---- preferences -------------------------------------------------------------
// Every shipped language, each in its own name (Go's internal/languages).
for (const l of DAVSYNC_PROTOCOL.languages) {
  const o = document.createElement('option');
  o.value = l.code;
  o.textContent = l.name;
  o.lang = l.bcp47;
  $('language').append(o);
}

let prefs = {};
async function loadPrefs() {
  try {
    const { values } = await send('preferences.get');
    prefs = values || {};
  } catch (e) { prefs = {}; }
  // A value no option offers (synced from elsewhere) shows as the default.
  const pick = (sel, v, dflt) => { sel.value = v; if (sel.value !== v) sel.value = dflt; };
  pick($('theme'), prefs.theme || 'system', 'system');
  pick($('language'), prefs.language || 'auto', 'auto');
}

$('theme').addEventListener('change', () => davsync.applyTheme($('theme').value));
$('savePrefs').addEventListener('click', () => busy($('savePrefs'), async () => {
  const values = Object.assign({}, prefs, { theme: $('theme').value, language: $('language').value });
  try {
    await send('preferences.save', { values });
    prefs = values;
    davsync.applyTheme(values.theme);
    await davsync.applyLanguage(values.language);
    davsync.translate();
    render();
    toast($('prefsMsg'), t('saved'));
  } catch (e) { toast($('prefsMsg'), errorText(e), true); }
}));

// Another page or a sync may change the data: reload after each cycle.
chrome.runtime.onMessage.addListener((msg) => {
  if (msg && msg.type === 'sync.status' && msg.status && msg.status.state !== 'syncing') load();
});

davsync.init().then(() => { load(); loadPrefs(); });
