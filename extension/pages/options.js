// The Import/Export page: settings, test, sync, backup, snapshots,
// conflicts, export, import with preview, undo. Every action is one protocol
// message to the worker (see ../PROTOCOL.md).
'use strict';

const { t, send, errorText, toast, busy } = davsync;
/** The element with id, as any: form fields are read by name, not typed. @type {(id: string) => any} */
const $ = (id) => document.getElementById(id);

// ---- confirmation dialog -------------------------------------------------
function confirmDialog(text) {
  const dlg = $('confirm');
  $('confirmText').textContent = text;
  return new Promise((resolve) => {
    const done = (v) => { dlg.close(); $('confirmYes').onclick = $('confirmNo').onclick = null; resolve(v); };
    $('confirmYes').onclick = () => done(true);
    $('confirmNo').onclick = () => done(false);
    dlg.oncancel = () => done(false);
    dlg.showModal();
    $('confirmNo').focus();
  });
}

// ---- settings --------------------------------------------------------------
let loaded = null;

// Fields the user typed into before the stored settings arrived: the first
// load must not overwrite them.
const touched = new Set();
document.getElementById('settingsForm').addEventListener('input', (ev) => touched.add(/** @type {HTMLElement} */ (ev.target).id));

async function loadSettings() {
  const { settings } = await send('settings.get');
  loaded = settings;
  const set = (id, prop, v) => { if (!touched.has(id)) $(id)[prop] = v; };
  set('url', 'value', settings.url || '');
  set('username', 'value', settings.username || '');
  set('password', 'value', '');
  $('password').placeholder = settings.passwordSet ? t('passwordKept') : '';
  set('strategy', 'value', settings.strategy || 'merge');
  set('intervalMinutes', 'value', settings.intervalMinutes || 60);
  set('snapshotsKeep', 'value', settings.snapshotsKeep ?? 5);
  set('autoSync', 'checked', !!settings.autoSync);
  set('syncOnStartup', 'checked', !!settings.syncOnStartup);
  set('compress', 'checked', !!settings.compress);
  set('notify', 'checked', settings.notify !== false);
  const enc = settings.encryption;
  set('encEnabled', 'checked', !!enc.enabled);
  set('encRemember', 'checked', enc.remember !== false);
  set('passphrase', 'value', '');
  $('passphrase').placeholder = enc.passphraseSet ? t('passphraseKept') : t('passphrase');
  set('allowInsecure', 'checked', !!settings.allowInsecure);
  showInsecure();
}

/** The origin of an http:// URL to another machine (Go's webdav.Insecure), or ''. */
function insecureOrigin(url) {
  try {
    const u = new URL(url);
    const h = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const loop = h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
    return u.protocol === 'http:' && !loop ? u.origin : '';
  } catch (e) { return ''; }
}

/** Shows the explicit choice an unencrypted connection needs, naming the server. */
function showInsecure() {
  const origin = insecureOrigin($('url').value.trim());
  $('insecureBox').hidden = !origin;
  $('allowInsecureLabel').textContent = t('allowInsecure', origin);
}
$('url').addEventListener('input', showInsecure);

function formSettings() {
  const s = {
    url: $('url').value.trim(),
    username: $('username').value.trim(),
    strategy: $('strategy').value,
    intervalMinutes: Number($('intervalMinutes').value) || 60,
    snapshotsKeep: Number($('snapshotsKeep').value),
    autoSync: $('autoSync').checked,
    syncOnStartup: $('syncOnStartup').checked,
    compress: $('compress').checked,
    notify: $('notify').checked,
    encryption: { enabled: $('encEnabled').checked, remember: $('encRemember').checked },
  };
  if (insecureOrigin(s.url)) s.allowInsecure = $('allowInsecure').checked;
  // An empty field keeps the stored secret; the page never sees it.
  if ($('password').value) s.password = $('password').value;
  if ($('passphrase').value) s.encryption.passphrase = $('passphrase').value;
  return s;
}

/** The match pattern for the server's origin (ports are not part of patterns). */
function originPattern(url) {
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return null;
    return u.protocol + '//' + u.hostname + '/*';
  } catch (e) { return null; }
}

$('settingsForm').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const s = formSettings();
  // Ask for the host permission first, inside the click: a prompt may only
  // open from a user gesture. It resolves at once if already granted.
  const pattern = originPattern(s.url);
  const perm = pattern ? chrome.permissions.request({ origins: [pattern] }).catch(() => false) : Promise.resolve(true);
  busy($('save'), async () => {
    try {
      const before = loaded && loaded.encryption;
      const r = await send('settings.save', { settings: s });
      touched.clear();
      const encChanged = !before || before.enabled !== s.encryption.enabled || !!s.encryption.passphrase;
      toast($('settingsMsg'), t('saved') + (encChanged && s.url ? ' ' + t('encryptionNextWrite') : '') +
        (r.passwordCleared ? ' ' + t('passwordCleared') : ''));
      await loadSettings();
    } catch (e) {
      toast($('settingsMsg'), errorText(e), true);
      return;
    }
    perm.then((granted) => {
      if (!granted) toast($('settingsMsg'), t('permissionDenied'), true);
    });
  });
});

// The button says what it will do ("Show"/"Hide") and, for screen readers,
// which field: there are two of them. The label changes, so no aria-pressed.
function revealLabel(btn) {
  const field = document.querySelector('label[for="' + btn.dataset.target + '"]');
  btn.setAttribute('aria-label', btn.textContent + (field ? ': ' + field.textContent : ''));
}
for (const btn of /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll('button.reveal'))) {
  btn.addEventListener('click', () => {
    const input = $(btn.dataset.target);
    const show = input.type === 'password';
    input.type = show ? 'text' : 'password';
    btn.textContent = t(show ? 'hide' : 'show');
    revealLabel(btn);
  });
}

// ---- test connection -------------------------------------------------------
/** The server check (webdav.CheckResult) in plain words, one line per finding. */
function renderCheck(check) {
  const box = $('checkResult');
  box.textContent = '';
  const list = document.createElement('ul');
  list.className = 'checks';
  const add = (text, cls) => {
    const li = document.createElement('li');
    if (cls) li.className = cls;
    li.textContent = text;
    list.append(li);
  };
  add(t(check.credentialsOk ? 'chkLoginOk' : 'chkLoginBad'), check.credentialsOk ? '' : 'bad');
  if (check.credentialsOk) {
    const folder = { exists: ['chkFolderExists', ''], created: ['chkFolderCreated', ''], missing: ['chkFolderMissing', 'bad'], not_a_folder: ['chkFolderIsFile', 'bad'] }[check.folder];
    if (folder) add(t(folder[0]), folder[1]);
    add(t(check.canWrite ? 'chkWriteOk' : 'chkWriteBad'), check.canWrite ? '' : 'bad');
    if (check.canWrite) add(t(check.canDelete ? 'chkDeleteOk' : 'chkDeleteBad'), check.canDelete ? '' : 'warn');
    // Conditional writes alone keep devices apart where the server honours
    // If-Match and If-None-Match (Go's webdav.Traits.Conditional).
    const tr = check.traits || {};
    const conditional = tr.ifMatch === 'yes' && tr.ifNoneMatch === 'yes';
    if (check.canWrite) add(t(conditional ? 'chkConditional' : 'chkVerify'), conditional ? '' : 'warn');
    if (check.clockKnown && Math.abs(check.clockOffsetMs) > 60000) add(t('chkClock', Math.round(check.clockOffsetMs / 1000)), 'warn');
  }
  for (const w of check.warnings || []) add(w, 'warn');
  if (check.error) add(check.error, 'bad');
  if (check.server) {
    const p = document.createElement('p');
    p.className = 'muted';
    p.textContent = t('chkServer', check.server);
    box.append(list, p);
  } else box.append(list);
}

$('test').addEventListener('click', () => busy($('test'), async () => {
  toast($('settingsMsg'), t('testing'));
  $('checkResult').textContent = '';
  try {
    // Test what is in the form, saved or not, so a typo can be fixed first.
    const { check } = await send('webdav.test', { settings: formSettings() });
    const good = check && check.ok;
    toast($('settingsMsg'), good ? t('testOk') : t('testProblems'), !good);
    $('settingsMsg').classList.toggle('okc', !!good);
    renderCheck(check || {});
  } catch (e) {
    $('settingsMsg').classList.remove('okc');
    toast($('settingsMsg'), t('testFailed') + ' ' + errorText(e), true);
  }
}));

// ---- status and sync -------------------------------------------------------
function onStatus(status) {
  davsync.renderStatus($('status'), status);
  $('confirmSync').hidden = !(status && status.error && status.error.kind === 'needs_confirmation');
  if (status && status.state !== 'syncing') { loadConflicts(); loadUndo(); }
}

async function syncAction(btn, method, params, msgEl) {
  await busy(btn, async () => {
    toast(msgEl, t('working'));
    try {
      const r = method === 'backup.download' ? await withEncryptionQuestion(method, params) : await send(method, params);
      const res = r.result || {};
      toast(msgEl, t('done') + (res.local ? ' ' + t('lastChangesLocal') + ': ' + davsync.fmtChanges(res.local) + '; ' + t('lastChangesRemote') + ': ' + davsync.fmtChanges(res.remote) : ''));
    } catch (e) {
      toast(msgEl, errorText(e), true);
    }
  });
}

$('syncNow').addEventListener('click', () => syncAction($('syncNow'), 'sync.now', {}, $('syncMsg')));
$('confirmSync').addEventListener('click', () => syncAction($('confirmSync'), 'sync.confirm', {}, $('syncMsg')));
$('upload').addEventListener('click', async () => {
  if (!await confirmDialog(t('confirmUpload'))) return;
  await syncAction($('upload'), 'backup.upload', {}, $('backupMsg'));
  loadSnapshots();
});
$('download').addEventListener('click', async () => {
  const mode = $('downloadMode').value;
  if (!await confirmDialog(t(mode === 'replace' ? 'confirmDownloadReplace' : 'confirmDownloadMerge'))) return;
  await syncAction($('download'), 'backup.download', { mode }, $('backupMsg'));
});

/**
 * Runs method; when the server's file is in the other encryption form the
 * engine asks first (naming what would arrive), and only a "yes" to that
 * very question, bound to that file, repeats the call.
 */
async function withEncryptionQuestion(method, params) {
  try {
    return await send(method, params);
  } catch (e) {
    const d = e && e.detail;
    if (!(e && e.kind === 'needs_confirmation' && d && d.reason === 'encryption_change' && d.subject)) throw e;
    if (!await confirmDialog(t('confirmEncryptionChange') + '\n\n' + d.message)) throw e;
    return send(method, Object.assign({}, params, { acceptEncryption: d.subject }));
  }
}

// ---- snapshots ---------------------------------------------------------------
function table(headers, rows) {
  const tbl = document.createElement('table');
  const head = tbl.createTHead().insertRow();
  for (const h of headers) {
    const th = document.createElement('th');
    th.textContent = h;
    if (!h) { // the buttons' column: named for screen readers only
      const s = document.createElement('span');
      s.className = 'visually-hidden';
      s.textContent = t('actions');
      th.append(s);
    }
    head.append(th);
  }
  const body = tbl.createTBody();
  for (const cells of rows) {
    const tr = body.insertRow();
    for (const c of cells) {
      const td = tr.insertCell();
      if (c instanceof Node) { td.className = 'actions'; td.append(c); } else td.textContent = c;
    }
  }
  return tbl;
}

/** A row's button; `of` names the row so "Restore" is not ten identical buttons to a screen reader. */
function button(label, onClick, cls, of) {
  const b = document.createElement('button');
  b.textContent = label;
  if (cls) b.className = cls;
  if (of) b.setAttribute('aria-label', label + ': ' + of);
  b.addEventListener('click', () => onClick(b));
  return b;
}

function fragment(...nodes) {
  const f = document.createElement('span');
  f.append(...nodes);
  return f;
}

function fmtSize(n) {
  if (!(n >= 0)) return '';
  if (n < 1024) return n + ' B';
  return (n / 1024).toFixed(1) + ' KB';
}

async function loadSnapshots() {
  const box = $('snapshots');
  toast($('snapMsg'), '');
  try {
    const { snapshots } = await send('snapshots.list');
    box.textContent = '';
    if (!snapshots || !snapshots.length) {
      const p = document.createElement('p');
      p.className = 'empty';
      p.textContent = t('noSnapshots');
      box.append(p);
      return;
    }
    box.append(table([t('snapshotTime'), t('snapshotSize'), ''], snapshots.map((s) => [
      davsync.fmtTime(s.time), fmtSize(s.size),
      fragment(
        button(t('restoreMerge'), (b) => restoreSnapshot(b, s.name, 'merge'), '', davsync.fmtTime(s.time)),
        button(t('restoreReplace'), (b) => restoreSnapshot(b, s.name, 'replace'), 'danger', davsync.fmtTime(s.time))),
    ])));
  } catch (e) {
    box.textContent = '';
    // No server yet is not a failure here: the status card already says so.
    if (e && e.kind === 'not_configured') {
      const p = document.createElement('p');
      p.className = 'empty';
      p.textContent = t('noSnapshots');
      box.append(p);
      return;
    }
    toast($('snapMsg'), errorText(e), true);
  }
}

async function restoreSnapshot(btn, name, mode) {
  if (!await confirmDialog(t(mode === 'replace' ? 'confirmRestoreReplace' : 'confirmRestoreMerge'))) return;
  await busy(btn, async () => {
    try {
      await withEncryptionQuestion('snapshots.restore', { name, mode });
      toast($('snapMsg'), t('restored'));
    } catch (e) { toast($('snapMsg'), errorText(e), true); }
  });
}
$('loadSnapshots').addEventListener('click', () => busy($('loadSnapshots'), loadSnapshots));

// ---- conflicts ---------------------------------------------------------------
/** The values a conflict is about, from one side's version of the record. */
function sideText(rec, fields) {
  if (rec === null || rec === undefined) return t('deletedVersion');
  if (!fields.length) return rec.site_name || rec.id || '';
  return fields.map((f) => f + ': ' + (rec[f] === undefined ? '—' : typeof rec[f] === 'string' ? rec[f] : JSON.stringify(rec[f]))).join('\n');
}

async function loadConflicts() {
  const box = $('conflicts');
  try {
    const { conflicts } = await send('conflicts.list');
    box.textContent = '';
    if (!conflicts || !conflicts.length) {
      const p = document.createElement('p');
      p.className = 'empty';
      p.textContent = t('noConflicts');
      box.append(p);
      return;
    }
    box.append(table([t('conflictRecord'), t('conflictLocal'), t('conflictRemote'), ''], conflicts.map((c) => {
      const fields = (c.fields || []).map((f) => f.field);
      const name = c.name || (c.merged && c.merged.site_name) || (c.local && c.local.site_name) || (c.remote && c.remote.site_name) || c.recordId;
      const kept = (c.fields || []).map((f) => f.field + ' → ' + t(f.winner === 'local' ? 'wonLocal' : 'wonRemote')).join(', ');
      return [
        name + (kept ? '\n' + kept : c.deleted ? '\n' + t(c.deletedBy === 'local' ? 'deletedHere' : 'deletedThere') : ''),
        sideText(c.local, fields), sideText(c.remote, fields),
        fragment(
          button(t('keepLocal'), (b) => resolve(b, c.id, 'local'), '', name),
          button(t('keepRemote'), (b) => resolve(b, c.id, 'remote'), '', name),
          button(t('keepBoth'), (b) => resolve(b, c.id, 'both'), '', name)),
      ];
    })));
  } catch (e) {
    box.textContent = '';
  }
}

async function resolve(btn, id, choice) {
  await busy(btn, async () => {
    try {
      await send('conflicts.resolve', { id, choice });
      toast($('confMsg'), t('resolved'));
    } catch (e) { toast($('confMsg'), errorText(e), true); }
  });
  loadConflicts();
}

// ---- export ------------------------------------------------------------------
$('export').addEventListener('click', () => busy($('export'), async () => {
  try {
    const params = { scope: $('exportScope').value };
    if ($('exportPass').value) params.passphrase = $('exportPass').value;
    const { json, filename } = await send('data.export', params);
    const url = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = filename || 'davsync-export.json';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    toast($('exportMsg'), t('exported', a.download));
  } catch (e) { toast($('exportMsg'), errorText(e), true); }
}));

// ---- import with preview ---------------------------------------------------
let previewed = null; // the exact input the preview was made for
let previewGen = 0; // bumped whenever the input changes: a late preview reply is dropped

async function importInput() {
  const f = $('importFile').files[0];
  if (!f) return $('importText').value;
  // Chrome refuses a message over 64 MiB with its own error before Go
  // could say what is wrong: refuse here, with Go's limit (limits.get).
  const { limits } = await send('limits.get');
  if (f.size > limits.import) {
    throw { kind: 'too_large', message: t('importTooLarge', (f.size / 1048576).toFixed(1), Math.round(limits.import / 1048576)) };
  }
  // f.text() would turn every byte that is not UTF-8 into U+FFFD, breaking
  // gzip files and the binary encrypted envelope (the sync file as it lies
  // on the server); those go as a base64 data URL, which Go decodes.
  const bytes = new Uint8Array(await f.arrayBuffer());
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) { /* binary */ }
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return 'data:application/octet-stream;base64,' + btoa(bin);
}

function importParams(json, dryRun, mode) {
  const p = { json, mode: mode || $('importMode').value, dryRun };
  if ($('importPass').value) p.passphrase = $('importPass').value;
  return p;
}

/** The import preview (transfer.Preview) in plain words: nothing is applied yet. */
function renderPreview(pv) {
  const box = $('importPreview');
  box.textContent = '';
  const p = document.createElement('p');
  const src = pv.source === 'all-api-hub' ? t('srcAllApiHub', pv.source_version || '') : t('srcDavsync');
  p.textContent = t('previewSummary') + ' ' + src + (pv.encrypted ? ' · ' + t('srcEncrypted') : '') +
    (pv.exported_at ? ' · ' + t('srcExportedAt', davsync.fmtTime(pv.exported_at)) : '');
  box.append(p);
  const rows = (pv.sections || []).map((s) => [
    t(s.name === 'preferences' ? 'scopePreferences' : 'scopeAccounts'),
    s.in_file ? String(s.records) : t('notInFile'),
    String(s.added || 0), String(s.updated || 0), String(s.deleted || 0), String(s.unchanged || 0),
    String(s.skipped || 0), // duplicates are listed in a note; in add mode the skipped ones are already in skipped
  ]);
  box.append(table([t('pvSection'), t('pvInFile'), t('pvAdded'), t('pvUpdated'), t('pvDeleted'), t('pvUnchanged'), t('pvSkipped')], rows));
  const notes = [...(pv.warnings || []).map((w) => [w, 'warn']), ...(pv.notes || []).map((n) => [n, ''])];
  if ((pv.duplicates || []).length) notes.push([t('pvDuplicates', pv.duplicates.length), 'warn']);
  if ((pv.not_imported || []).length) notes.push([t('pvNotImported', pv.not_imported.length), 'warn']);
  if (!pv.changed) notes.push([t('pvNoChange'), '']);
  if (notes.length) {
    const ul = document.createElement('ul');
    ul.className = 'checks';
    for (const [text, cls] of notes) {
      const li = document.createElement('li');
      li.textContent = text;
      if (cls) li.className = cls;
      ul.append(li);
    }
    box.append(ul);
  }
}

function invalidatePreview() {
  previewGen++;
  previewed = null;
  $('applyImport').disabled = true;
  $('importPreview').textContent = '';
}
for (const id of ['importFile', 'importText', 'importPass', 'importMode']) {
  $(id).addEventListener('input', invalidatePreview);
  $(id).addEventListener('change', invalidatePreview);
}

$('preview').addEventListener('click', () => busy($('preview'), async () => {
  invalidatePreview();
  const gen = previewGen;
  const mode = $('importMode').value;
  toast($('importMsg'), t('working'));
  try {
    const json = await importInput();
    if (gen !== previewGen) return;
    if (!json.trim()) { toast($('importMsg'), t('importEmpty'), true); return; }
    const { preview } = await send('data.import', importParams(json, true, mode));
    if (gen !== previewGen) return; // the file, text, passphrase or mode changed meanwhile
    renderPreview(preview || {});
    previewed = { json, mode };
    $('applyImport').disabled = false;
    toast($('importMsg'), t('previewReady'));
  } catch (e) { if (gen === previewGen) toast($('importMsg'), errorText(e), true); }
}));

$('applyImport').addEventListener('click', () => busy($('applyImport'), async () => {
  if (previewed === null) return;
  const { json, mode } = previewed;
  if (mode === 'replace' && !await confirmDialog(t('confirmImportReplace'))) return;
  toast($('importMsg'), t('working'));
  try {
    await send('data.import', importParams(json, false, mode));
    toast($('importMsg'), t('imported'));
    invalidatePreview();
    loadUndo();
  } catch (e) { toast($('importMsg'), errorText(e), true); }
}));

// ---- undo --------------------------------------------------------------------
async function loadUndo() {
  const box = $('undo');
  try {
    const { points } = await send('undo.list');
    box.textContent = '';
    if (!points || !points.length) {
      const p = document.createElement('p');
      p.className = 'empty';
      p.textContent = t('noUndo');
      box.append(p);
      return;
    }
    box.append(table([t('undoWhat'), t('undoWhen'), ''], points.map((u) => [
      t('undoLabel_' + u.label) !== 'undoLabel_' + u.label ? t('undoLabel_' + u.label) : u.label,
      davsync.fmtTime(u.at),
      fragment(button(t('undoRestore'), (b) => restoreUndo(b, u.id), '', davsync.fmtTime(u.at))),
    ])));
  } catch (e) { box.textContent = ''; }
}

async function restoreUndo(btn, id) {
  if (!await confirmDialog(t('confirmUndo'))) return;
  await busy(btn, async () => {
    try {
      await send('undo.restore', { id });
      toast($('undoMsg'), t('restored'));
    } catch (e) { toast($('undoMsg'), errorText(e), true); }
  });
  loadUndo();
}

// ---- start -------------------------------------------------------------------
davsync.init().then(async () => {
  davsync.watchStatus(onStatus); // after init: the status card speaks the chosen language
  for (const btn of document.querySelectorAll('button.reveal')) revealLabel(btn);
  try { await loadSettings(); } catch (e) { toast($('settingsMsg'), errorText(e), true); }
  document.body.dataset.ready = '1';
  loadSnapshots();
  loadConflicts();
  loadUndo();
});
