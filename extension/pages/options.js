// The Import/Export page: the servers (list, editor, folder picker), sync,
// backup, snapshots, conflicts, export, import with preview, undo. Every
// action is one protocol message to the worker (see ../PROTOCOL.md).
'use strict';

const { t, send, errorText, errorParts, toast, busy, serverName } = davsync;
/** The element with id, as any: form fields are read by name, not typed. @type {(id: string) => any} */
const $ = (id) => document.getElementById(id);

/** A new element with a class and text. @returns {any} */
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---- confirmation dialog -------------------------------------------------
/** Asks text; resolves true for yes (labelled yesLabel, else "Continue"). */
function confirmDialog(text, yesLabel) {
  const dlg = $('confirm');
  $('confirmText').textContent = text;
  $('confirmYes').textContent = yesLabel || t('continue');
  const opener = /** @type {HTMLElement} */ (document.activeElement);
  return new Promise((resolve) => {
    const done = (v) => { $('confirmYes').onclick = $('confirmNo').onclick = dlg.oncancel = null; dlg.close(); resolve(v); };
    $('confirmYes').onclick = () => done(true);
    $('confirmNo').onclick = () => done(false);
    dlg.oncancel = () => done(false);
    davsync.openModal(dlg, opener, $('confirmNo'));
  });
}

// ---- servers ---------------------------------------------------------------
/** Every server, as remotes.list gives them (no secrets). @type {AppRemote[]} */
let remotes = [];
/** The last status seen, to repaint the rows after the list changes. @type {AppStatus | null} */
let lastStatus = null;
let seenKey = ''; // the servers' ids and names of the last status that reloaded the list

const STRATEGY = { merge: 'strategyMerge', upload_only: 'strategyUpload', download_only: 'strategyDownload' };

function byId(id) {
  return remotes.find((r) => r.id === id) || null;
}

/** The name of the server with id, also for one removed since (an undo point's source). */
function nameOf(id) {
  const r = byId(id);
  return r ? serverName(r) : t('removedServer');
}

/** Reloads the servers and repaints the list; focus: {id, act} of the button to focus after. */
async function loadRemotes(focus) {
  remotes = (await send('remotes.list')).remotes || [];
  renderServers(focus);
  fillServerSelects();
  if (lastStatus) onStatus(lastStatus);
}

/** A row's button (data-act: sync, confirm, edit, toggle, remove). */
function rowButton(id, act) {
  const li = [...$('servers').children].find((x) => x.dataset.id === id);
  return li ? li.querySelector('button[data-act="' + act + '"]') : null;
}

function rowMsg(id) {
  const li = [...$('servers').children].find((x) => x.dataset.id === id);
  return li ? li.querySelector('.msg') : $('serversMsg');
}

function renderServers(focus) {
  const box = $('servers');
  // A re-render replaces the row buttons: keep the keyboard focus on the
  // same button of the same server.
  const act = /** @type {HTMLElement} */ (document.activeElement);
  const li = act && box.contains(act) ? act.closest('li') : null;
  focus = focus || (li ? { id: li.dataset.id, act: act.dataset.act } : null);
  box.textContent = '';
  for (const r of remotes) box.append(serverRow(r));
  box.hidden = !remotes.length;
  $('notifyRow').hidden = !remotes.length;
  // A new profile has one thing to do first: add a server.
  $('addServer').classList.toggle('primary', !remotes.length);
  $('syncNow').classList.toggle('primary', remotes.length > 0);
  if (focus) (rowButton(focus.id, focus.act) || $('addServer')).focus();
}

/** A row's button; its accessible name says which server ("Edit: Home NAS"). */
function rowBtn(act, label, of, onClick, cls) {
  const b = el('button', cls || '', label);
  b.type = 'button';
  b.dataset.act = act;
  b.setAttribute('aria-label', label + ': ' + of);
  b.addEventListener('click', () => onClick(b));
  return b;
}

/** One server: name and state, where it syncs and how, its status, its buttons. */
function serverRow(r) {
  const name = serverName(r);
  const li = el('li', 'server' + (r.enabled ? '' : ' off'));
  li.dataset.id = r.id;
  const head = el('div', 'server-head');
  head.append(el('h3', 'server-name', name), el('span', 'server-state'));
  const where = el('div', 'server-where muted', r.url + ' · ' + t('srvFolder', r.folder || '/'));
  const tags = el('div', 'tags');
  const tag = (text) => tags.append(el('span', 'tag', text));
  tag(t(STRATEGY[r.strategy] || 'strategyMerge'));
  tag(r.autoSync ? t('srvEvery', String(r.intervalMinutes)) : t('srvManual'));
  if (r.encryption && r.encryption.enabled) tag(t('srvEncrypted'));
  const buttons = el('div', 'row');
  const confirm = rowBtn('confirm', t('confirmSync'), name, (b) => syncAction(b, 'sync.confirm', { remote: r.id }, rowMsg(r.id)));
  confirm.hidden = true;
  buttons.append(
    rowBtn('sync', t('syncNow'), name, (b) => syncAction(b, 'sync.now', { remote: r.id }, rowMsg(r.id))),
    confirm,
    rowBtn('edit', t('edit'), name, (b) => openEditor(r, b)),
    rowBtn('toggle', t(r.enabled ? 'disable' : 'enable'), name, (b) => toggleServer(r, b)),
    rowBtn('remove', t('remove'), name, (b) => removeServer(r, b), 'danger'));
  const msg = el('div', 'msg');
  msg.setAttribute('role', 'status');
  msg.setAttribute('aria-live', 'polite');
  li.append(head, where, tags, el('div', 'server-status'), buttons, msg);
  return li;
}

/** Repaints one row's state and status from the status broadcast. */
function updateRow(rs) {
  const li = [...$('servers').children].find((x) => x.dataset.id === rs.id);
  if (!li) return;
  const r = byId(rs.id);
  const enabled = !r || r.enabled;
  const s = davsync.serverState(rs.status, enabled);
  const state = li.querySelector('.server-state');
  state.className = 'server-state ' + s.cls;
  state.textContent = '';
  if (s.spin) {
    const sp = el('span', 'spinner');
    sp.setAttribute('aria-hidden', 'true');
    state.append(sp);
  }
  state.append(s.text);
  davsync.renderServerStatus(li.querySelector('.server-status'), rs.status, enabled);
  // Confirm and sync: in the row of each server that asks; with one
  // server the button under the summary is that server's.
  const confirm = li.querySelector('button[data-act="confirm"]');
  const held = rs.status.state === 'needs_confirmation' && remotes.length > 1;
  if (!held && document.activeElement === confirm) li.querySelector('button[data-act="sync"]').focus();
  confirm.hidden = !held;
}

async function toggleServer(r, btn) {
  let ok = false;
  await busy(btn, async () => {
    try {
      await send('remotes.save', { remote: { id: r.id, enabled: !r.enabled } });
      ok = true;
    } catch (e) { toast(rowMsg(r.id), errorText(e), true); }
  });
  if (!ok) return;
  await loadRemotes({ id: r.id, act: 'toggle' });
  toast(rowMsg(r.id), t(r.enabled ? 'serverDisabledMsg' : 'serverEnabledMsg'));
}

async function removeServer(r, btn) {
  if (!await confirmDialog(t('confirmRemoveServer', serverName(r)), t('remove'))) return;
  let ok = false;
  await busy(btn, async () => {
    try {
      await send('remotes.delete', { id: r.id });
      ok = true;
    } catch (e) { toast(rowMsg(r.id), errorText(e), true); }
  });
  if (!ok) return;
  await loadRemotes();
  toast($('serversMsg'), t('serverRemoved', serverName(r)));
  $('addServer').focus(); // its row is gone
}

/** The server selects of the backup and snapshot cards; shown when there is a choice. */
function fillServerSelects() {
  for (const sel of /** @type {NodeListOf<HTMLSelectElement>} */ (document.querySelectorAll('select.server-select'))) {
    const keep = sel.value;
    sel.textContent = '';
    for (const r of remotes) sel.append(new Option(serverName(r), r.id));
    if (byId(keep)) sel.value = keep;
    if (sel.id === 'snapRemote' && keep && sel.value !== keep) loadSnapshots(); // its server was removed
  }
  for (const e of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.pick-server'))) e.hidden = remotes.length < 2;
}

/** The server a card acts on: its select's, or absent (Go takes the first). */
function target(selectId) {
  return $(selectId).value || undefined;
}

/** A confirmation that names the server when there are several. */
function onServer(selectId, text) {
  return remotes.length > 1 ? t('onServer', nameOf($(selectId).value)) + '\n\n' + text : text;
}

$('addServer').addEventListener('click', () => openEditor(null, $('addServer')));

$('notify').addEventListener('change', async () => {
  try {
    await send('settings.save', { settings: { notify: $('notify').checked } });
    toast($('serversMsg'), t('saved'));
  } catch (e) { toast($('serversMsg'), errorText(e), true); }
});

// ---- the server editor -----------------------------------------------------
/** The presets (providers.list). @type {ProviderInfo[]} */
let providers = [];
/** The server the editor edits; null while adding one. @type {AppRemote | null} */
let editing = null;
let foundURL = ''; // the folder Test connection discovered

// What a new server starts with; Go fills in anything absent.
const NEW_SERVER = {
  provider: 'other', folder: 'davsync', strategy: 'merge', autoSync: true, intervalMinutes: 60,
  syncOnStartup: true, compress: true, snapshotsKeep: 5, encryption: { enabled: false, remember: true },
};

async function loadProviders() {
  ({ providers } = await send('providers.list'));
  const sel = $('provider');
  sel.textContent = '';
  // Product names stay as the provider spells them; only "other" is ours.
  for (const p of providers) sel.append(new Option(p.id === 'other' ? t('providerOther') : p.name, p.id));
}

function currentProvider() {
  return providers.find((p) => p.id === $('provider').value) || null;
}

/** What the user typed as the host, without a scheme or path pasted along. */
function hostInput() {
  const v = $('host').value.trim();
  try { if (/^https?:\/\//i.test(v)) return new URL(v).host; } catch (e) { /* typed, not a URL */ }
  return v.split('/')[0];
}

function openEditor(r, opener) {
  editing = r;
  const f = r || NEW_SERVER;
  $('editorTitle').textContent = r ? t('editServerTitle', serverName(r)) : t('addServerTitle');
  $('editorIntro').hidden = !!r;
  $('provider').value = providers.some((p) => p.id === f.provider) ? f.provider : 'other';
  $('name').value = r ? r.name : '';
  $('url').value = r ? r.url : '';
  let host = '';
  try { host = r && r.url ? new URL(r.url).host : ''; } catch (e) { /* not a URL */ }
  $('host').value = host;
  $('username').value = r ? r.username : '';
  $('password').value = '';
  $('password').placeholder = r && r.passwordSet ? t('passwordKept') : '';
  $('folder').value = f.folder;
  $('strategy').value = f.strategy || 'merge';
  $('autoSync').checked = !!f.autoSync;
  $('intervalMinutes').value = f.intervalMinutes || 60;
  $('syncOnStartup').checked = !!f.syncOnStartup;
  $('compress').checked = !!f.compress;
  $('snapshotsKeep').value = f.snapshotsKeep ?? 5;
  $('encEnabled').checked = !!f.encryption.enabled;
  $('encRemember').checked = f.encryption.remember !== false;
  $('passphrase').value = '';
  $('passphrase').placeholder = r && r.encryption.passphraseSet ? t('passphraseKept') : '';
  $('allowInsecure').checked = !!(r && r.allowInsecure);
  for (const input of [$('password'), $('passphrase')]) input.type = 'password';
  for (const btn of document.querySelectorAll('#editor button.reveal')) { btn.textContent = t('show'); revealLabel(btn); }
  editorMsg('');
  $('checkResult').textContent = '';
  $('discovered').hidden = true;
  $('fillMsg').hidden = true;
  providerChanged(false);
  showInsecure();
  showDependent();
  // After a save the Edit button may have been re-rendered: find it again.
  davsync.openModal($('editor'), () => (opener.isConnected ? opener : r && rowButton(r.id, 'edit')) || $('addServer'), $('provider'));
}

$('cancelServer').addEventListener('click', () => $('editor').close());

/** The editor's message line: good (green) only for a test that passed. */
function editorMsg(text, kind) {
  toast($('settingsMsg'), text, kind === 'error');
  $('settingsMsg').classList.toggle('okc', kind === 'good');
  // It sits above the buttons: bring it into view when it says something.
  if (text && $('editor').open) $('settingsMsg').scrollIntoView({ block: 'nearest' });
}

/** Shows the fields of the chosen preset, its help and limits; refill: fill the URL from them. */
function providerChanged(refill) {
  const p = currentProvider();
  const inputs = p ? p.inputs || [] : ['url'];
  for (const e of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.for-host'))) e.hidden = !inputs.includes('host');
  for (const e of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.for-region'))) e.hidden = !inputs.includes('region');
  const floor = p ? p.intervalFloor : 0;
  $('intervalMinutes').min = String(floor || 1);
  if (floor && Number($('intervalMinutes').value) < floor) $('intervalMinutes').value = floor;
  renderProviderHelp();
  if (refill) fillURL();
}

/** The preset's app-password page, with the host the user typed where it needs one. */
function appPasswordURL(p) {
  let u = p.appPasswordUrl || '';
  if (u.includes('{host}')) {
    const host = hostInput();
    u = /^[A-Za-z0-9.-]+(:\d+)?$/.test(host) ? u.replace('{host}', host) : '';
  }
  return /^https:\/\//.test(u) ? u : '';
}

/** Where to get the password and what the provider limits, in the user's language. */
function renderProviderHelp() {
  const p = currentProvider();
  $('providerHint').textContent = p && p.appPasswordHint ? t(p.appPasswordHint) : '';
  const link = p ? appPasswordURL(p) : '';
  $('appPasswordRow').hidden = !link;
  if (link) $('appPasswordLink').href = link;
  const ul = $('providerLimits');
  ul.textContent = '';
  const lim = (p && p.limits) || {};
  const note = (text) => ul.append(el('li', '', text));
  if (lim.requestsPerWindow) note(t('limitRequests', lim.requestsPerWindow, lim.windowMinutes));
  if (p && p.intervalFloor) note(t('limitInterval', p.intervalFloor));
  // Providers state file sizes in decimal megabytes ("500M", "50 MB").
  if (lim.maxFileBytes) note(t('limitFileSize', Math.round(lim.maxFileBytes / 1e6)));
  if (lim.rootNotWritable) note(t('limitRootNotWritable'));
  $('providerHelp').hidden = !p || (!p.appPasswordHint && !link && !ul.children.length);
}

let fillSeq = 0;
let fillTimer = null;
let fillError = false; // the message shown is a fill error, cleared by the next good fill
/** The folder URL of the preset for what the user typed, from Go (providers.fill). */
async function fillURL() {
  const p = currentProvider();
  const names = (p && p.inputs) || []; // a preset without inputs has a fixed URL
  if (!p || names.includes('url')) return;
  /** @type {Record<string, string>} */
  const inputs = {};
  for (const name of names) inputs[name] = name === 'host' ? hostInput() : name === 'user' ? $('username').value.trim() : $('region').value;
  if (Object.values(inputs).some((v) => !v)) return; // wait until each part is typed
  const seq = ++fillSeq;
  try {
    const { url } = await send('providers.fill', { id: p.id, inputs });
    if (seq !== fillSeq) return;
    $('url').value = url;
    $('fillMsg').hidden = false;
    $('discovered').hidden = true;
    if (fillError) editorMsg('');
    fillError = false;
    showInsecure();
  } catch (e) {
    if (seq !== fillSeq) return;
    editorMsg(errorText(e), 'error');
    fillError = true;
  }
}
function fillSoon() {
  clearTimeout(fillTimer);
  fillTimer = setTimeout(fillURL, 250);
}
// A test result speaks of the values it tested: it goes when they change.
$('serverForm').addEventListener('input', (ev) => {
  if (['url', 'host', 'username', 'password', 'folder'].includes(/** @type {HTMLElement} */ (ev.target).id)) $('checkResult').textContent = '';
});
$('provider').addEventListener('change', () => providerChanged(true));
$('host').addEventListener('input', () => { renderProviderHelp(); fillSoon(); });
$('username').addEventListener('input', fillSoon);
$('region').addEventListener('change', fillURL);
$('url').addEventListener('input', () => { $('fillMsg').hidden = true; $('discovered').hidden = true; showInsecure(); });

/** Interval only with automatic sync; passphrase only with encryption. */
function showDependent() {
  $('intervalMinutes').disabled = !$('autoSync').checked;
  $('encFields').hidden = !$('encEnabled').checked;
}
$('autoSync').addEventListener('change', showDependent);
$('encEnabled').addEventListener('change', showDependent);

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

/** The form as remotes.save, webdav.test and webdav.folders take it. */
function formRemote() {
  const s = {
    name: $('name').value.trim(),
    provider: $('provider').value,
    url: $('url').value.trim(),
    username: $('username').value.trim(),
    folder: $('folder').value.trim(),
    strategy: $('strategy').value,
    autoSync: $('autoSync').checked,
    intervalMinutes: Number($('intervalMinutes').value) || 60,
    syncOnStartup: $('syncOnStartup').checked,
    compress: $('compress').checked,
    snapshotsKeep: Number($('snapshotsKeep').value),
    encryption: { enabled: $('encEnabled').checked, remember: $('encRemember').checked },
  };
  if (editing) s.id = editing.id;
  // Test and Browse lay the form over a saved server's values (the first
  // one's while adding): a new server says every choice and secret itself,
  // so nothing of another server's carries over.
  if (insecureOrigin(s.url) || !editing) s.allowInsecure = !!insecureOrigin(s.url) && $('allowInsecure').checked;
  // An empty field keeps the stored secret; the page never sees it.
  if ($('password').value || !editing) s.password = $('password').value;
  if ($('passphrase').value) s.encryption.passphrase = $('passphrase').value;
  return s;
}

/** The form's values for the methods that try them before they are saved. */
function formParams() {
  return { remote: editing ? editing.id : undefined, settings: formRemote() };
}

/** The match pattern for the server's origin (ports are not part of patterns). */
function originPattern(url) {
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return null;
    return u.protocol + '//' + u.hostname + '/*';
  } catch (e) { return null; }
}

/**
 * Asks for the host permission for url; call it inside the click: a prompt
 * may only open from a user gesture. It resolves at once if already granted.
 * @returns {Promise<boolean>}
 */
function requestAccess(url) {
  const pattern = originPattern(url);
  return pattern ? chrome.permissions.request({ origins: [pattern] }).catch(() => false) : Promise.resolve(true);
}

$('serverForm').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const s = formRemote();
  const perm = requestAccess(s.url);
  busy($('save'), async () => {
    let r;
    try {
      r = await send('remotes.save', { remote: s });
    } catch (e) {
      editorMsg(errorText(e), 'error');
      return;
    }
    const before = editing && editing.encryption;
    const encChanged = before && s.url && (before.enabled !== s.encryption.enabled || !!s.encryption.passphrase);
    const text = t('saved') + (encChanged ? ' ' + t('encryptionNextWrite') : '') + (r.passwordCleared ? ' ' + t('passwordCleared') : '');
    $('editor').close();
    await loadRemotes().catch(() => {});
    toast($('serversMsg'), text);
    perm.then((granted) => {
      if (!granted) toast($('serversMsg'), text + '\n' + t('permissionDenied'), true);
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
  const list = el('ul', 'checks');
  const add = (text, cls) => list.append(el('li', cls || '', text));
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
  // Go's notes: plain text, or a message whose English is in text.
  for (const w of check.warnings || []) add(davsync.say(w), 'warn');
  if (check.error) add(check.error, 'bad');
  box.append(list);
  if (check.server) box.append(el('p', 'muted', t('chkServer', check.server)));
}

$('test').addEventListener('click', () => busy($('test'), async () => {
  const granted = requestAccess($('url').value.trim());
  editorMsg(t('testing'));
  $('checkResult').textContent = '';
  $('discovered').hidden = true;
  if (!await granted) { editorMsg(t('permissionDenied'), 'error'); return; }
  try {
    // Test what is in the form, saved or not, so a typo can be fixed first.
    const { check, discovered } = await send('webdav.test', formParams());
    const good = check && check.ok;
    editorMsg(good ? t('testOk') : t('testProblems'), good ? 'good' : 'error');
    // A bare host: Go looked for the WebDAV folder and tested that one.
    if (discovered && discovered.url && discovered.url !== $('url').value.trim()) {
      foundURL = discovered.url;
      $('discoveredText').textContent = t('discoveredAt', discovered.url, davsync.say(discovered.reason) + (discovered.product ? ', ' + t('discProduct', discovered.product) : ''));
      $('discovered').hidden = false;
    }
    renderCheck(check || {});
    $('checkResult').scrollIntoView({ block: 'nearest' });
  } catch (e) {
    editorMsg(t('testFailed') + ' ' + errorText(e), 'error');
  }
}));

$('useDiscovered').addEventListener('click', () => {
  $('url').value = foundURL;
  $('discovered').hidden = true;
  $('fillMsg').hidden = true;
  showInsecure();
  editorMsg(t('discoveredUsed'));
  $('url').focus();
});

// ---- folder picker -----------------------------------------------------------
let pickerPath = ''; // the folder shown, relative to the server address
let pickSeq = 0;

$('browse').addEventListener('click', async () => {
  const url = $('url').value.trim();
  if (!url) {
    editorMsg(t('browseNeedsURL'), 'error');
    $('url').focus();
    return;
  }
  if (!await requestAccess(url)) { editorMsg(t('permissionDenied'), 'error'); return; }
  $('pickerWhere').textContent = t('pickerOn', url);
  $('pickerList').textContent = '';
  $('newFolder').value = '';
  davsync.openModal($('picker'), $('browse'), $('pickerChoose'));
  // Start in the folder the field names; if it does not exist yet, at the top.
  const start = $('folder').value.trim().replace(/^\/+|\/+$/g, '');
  const err = await listFolders(start);
  if (err && start && (err.kind === 'not_found' || err.kind === 'folder_missing')) await listFolders('');
});

/** Shows the folders inside path; returns the error, if any. */
async function listFolders(path) {
  const seq = ++pickSeq;
  toast($('pickerMsg'), t('loading'));
  try {
    const r = await send('webdav.folders', { ...formParams(), path });
    if (seq !== pickSeq) return null;
    pickerPath = r.path;
    renderCrumbs();
    const box = $('pickerList');
    box.textContent = '';
    for (const f of r.folders) {
      const li = el('li');
      const b = el('button', 'folder', f.name);
      b.type = 'button';
      b.addEventListener('click', () => listFolders(f.path));
      li.append(b);
      box.append(li);
    }
    if (!r.folders.length) box.append(el('li', 'empty', t('noFolders')));
    $('pickerUp').disabled = !pickerPath;
    toast($('pickerMsg'), t('pickerShowing', '/' + pickerPath, r.folders.length));
    // The button pressed may be gone: start on the new list.
    const first = box.querySelector('button');
    if ($('picker').open) (first || $('pickerChoose')).focus();
    return null;
  } catch (e) {
    if (seq === pickSeq) toast($('pickerMsg'), errorText(e), true);
    return e;
  }
}

/** The path as buttons: Top › a › b (the last is where the picker is). */
function renderCrumbs() {
  const nav = $('pickerCrumbs');
  nav.textContent = '';
  const parts = pickerPath ? pickerPath.split('/') : [];
  const crumb = (label, path, current) => {
    if (current) {
      const s = el('span', 'crumb current', label);
      s.setAttribute('aria-current', 'location');
      nav.append(s);
      return;
    }
    const b = el('button', 'crumb link', label);
    b.type = 'button';
    b.addEventListener('click', () => listFolders(path));
    nav.append(b, el('span', 'sep', '›'));
  };
  crumb(t('folderTop'), '', !parts.length);
  parts.forEach((p, i) => crumb(p, parts.slice(0, i + 1).join('/'), i === parts.length - 1));
}

$('pickerUp').addEventListener('click', () => listFolders(pickerPath.split('/').slice(0, -1).join('/')));
$('pickerCancel').addEventListener('click', () => $('picker').close());
$('pickerChoose').addEventListener('click', () => {
  $('folder').value = pickerPath;
  $('checkResult').textContent = '';
  $('picker').close();
  editorMsg(t('folderChosen', '/' + pickerPath));
});
$('mkdir').addEventListener('click', () => busy($('mkdir'), async () => {
  const name = $('newFolder').value.trim();
  if (!name) { toast($('pickerMsg'), t('newFolderEmpty'), true); $('newFolder').focus(); return; }
  try {
    const r = await send('webdav.mkdir', { ...formParams(), path: (pickerPath ? pickerPath + '/' : '') + name });
    $('newFolder').value = '';
    if (!await listFolders(r.path)) toast($('pickerMsg'), t('folderCreated', '/' + r.path));
  } catch (e) { toast($('pickerMsg'), errorText(e), true); }
}));
$('newFolder').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter') { ev.preventDefault(); $('mkdir').click(); }
});

// ---- status and sync -------------------------------------------------------
function onStatus(status) {
  lastStatus = status;
  if (!status) return;
  // Only a change is written into the live region: progress broadcasts
  // must not make a screen reader repeat "Syncing" every second.
  const next = el('div');
  davsync.renderSummary(next, status, remotes);
  if (next.innerHTML !== $('status').innerHTML) $('status').replaceChildren(...next.childNodes);
  $('confirmRow').hidden = status.state !== 'needs_confirmation';
  $('notify').checked = status.notify !== false;
  for (const rs of status.remotes || []) updateRow(rs);
  // A server added, removed or renamed on another page: list them again
  // (once per change: the names Go and the page give may differ).
  const key = (status.remotes || []).map((r) => r.id + ':' + r.name).join('\n');
  if (key !== seenKey && key !== remotes.map((r) => r.id + ':' + serverName(r)).join('\n')) {
    seenKey = key;
    loadRemotes().catch(() => {});
  }
  if (status.state !== 'syncing') { loadConflicts(); loadUndo(); }
}

/** What a cycle changed, after "Done.". */
function changesText(res) {
  return res && res.local ? ' ' + t('lastChangesLocal') + ': ' + davsync.fmtChanges(res.local) + '; ' +
    t('lastChangesRemote') + ': ' + davsync.fmtChanges(res.remote) : '';
}

async function syncAction(btn, method, params, msgEl) {
  await busy(btn, async () => {
    toast(msgEl, t('working'));
    try {
      const r = method === 'backup.download' ? await withEncryptionQuestion(method, params) : await send(method, params);
      toast(msgEl, t('done') + changesText(r.result));
    } catch (e) {
      toast(msgEl, errorText(e), true);
    }
  });
}

// Sync now at the top: every enabled server, in order. Each server's
// outcome is in its row; this says which ones failed.
$('syncNow').addEventListener('click', () => busy($('syncNow'), async () => {
  const msg = $('syncMsg');
  if (remotes.length && !remotes.some((r) => r.enabled)) { toast(msg, t('allDisabled'), true); return; }
  toast(msg, t('working'));
  try {
    const r = await send('sync.now');
    const results = r.results || [];
    const failed = results.filter((x) => !x.ok);
    if (failed.length) toast(msg, failed.map((x) => nameOf(x.remote) + ': ' + errorParts(x.error).title).join('\n'), true);
    else toast(msg, results.length > 1 ? t('syncedAll', results.length) : t('done') + changesText(r.result));
  } catch (e) {
    toast(msg, errorText(e), true);
  }
}));
$('confirmSync').addEventListener('click', () =>
  syncAction($('confirmSync'), 'sync.confirm', { remote: lastStatus && lastStatus.worst || undefined }, $('syncMsg')));
$('upload').addEventListener('click', async () => {
  if (!await confirmDialog(onServer('backupRemote', t('confirmUpload')))) return;
  await syncAction($('upload'), 'backup.upload', { remote: target('backupRemote') }, $('backupMsg'));
  loadSnapshots();
});
$('download').addEventListener('click', async () => {
  const mode = $('downloadMode').value;
  if (!await confirmDialog(onServer('backupRemote', t(mode === 'replace' ? 'confirmDownloadReplace' : 'confirmDownloadMerge')))) return;
  await syncAction($('download'), 'backup.download', { remote: target('backupRemote'), mode }, $('backupMsg'));
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
    if (!await confirmDialog(t('confirmEncryptionChange') + '\n\n' + (d.note ? davsync.say(d.note) : d.message))) throw e;
    return send(method, Object.assign({}, params, { acceptEncryption: d.subject }));
  }
}

// ---- keyboard focus across redraws ---------------------------------------
/**
 * The snapshot, conflict and undo lists are redrawn after each action and
 * each status broadcast, which replaces their buttons: a keyboard user's
 * focus would fall to the top of the page. Each list remembers the button
 * focused in it and, after a redraw, gives the focus back to the same
 * button (by its name), else to the one now in its place, else (the list
 * is empty) to the card's heading. Returns the function to call after a redraw.
 * @param {HTMLElement} box
 */
function focusKeeper(box) {
  /** @type {{label: string, idx: number} | null} */
  let last = null;
  const label = (b) => b.getAttribute('aria-label') || b.textContent;
  box.addEventListener('focusin', (ev) => {
    const b = /** @type {any} */ (ev.target);
    last = { label: label(b), idx: [...box.querySelectorAll('button')].indexOf(b) };
  });
  // Gone elsewhere on purpose (Tab, a click): nothing to give back.
  box.addEventListener('focusout', (ev) => { if (ev.relatedTarget && !box.contains(/** @type {Node} */ (ev.relatedTarget))) last = null; });
  document.addEventListener('pointerdown', (ev) => { if (!box.contains(/** @type {Node} */ (ev.target))) last = null; });
  return () => {
    const now = document.activeElement;
    if (!last || (now && now !== document.body && !box.contains(now))) return;
    const all = /** @type {HTMLButtonElement[]} */ ([...box.querySelectorAll('button')]).filter((b) => !b.disabled);
    const b = all.find((x) => label(x) === last.label) || all[Math.min(Math.max(last.idx, 0), all.length - 1)];
    if (b) { b.focus(); return; }
    last = null;
    const h = /** @type {HTMLElement} */ (box.closest('section').querySelector('h2'));
    h.tabIndex = -1;
    h.focus();
  };
}
const refocus = { snapshots: focusKeeper($('snapshots')), conflicts: focusKeeper($('conflicts')), undo: focusKeeper($('undo')) };

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

/** Redraws the list, the keyboard focus kept (focusKeeper). */
async function loadSnapshots() {
  try { await drawSnapshots(); } finally { refocus.snapshots(); }
}

async function drawSnapshots() {
  const box = $('snapshots');
  toast($('snapMsg'), '');
  try {
    const { snapshots } = await send('snapshots.list', { remote: target('snapRemote') });
    box.textContent = '';
    if (!snapshots || !snapshots.length) {
      const p = document.createElement('p');
      p.className = 'empty';
      p.textContent = t('noSnapshots');
      box.append(p);
      return;
    }
    box.append(table([t('snapshotTime'), t('snapshotSize'), ''], snapshots.map((s) => [
      davsync.fmtTime(s.time), davsync.fmtBytes(s.size),
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
  if (!await confirmDialog(onServer('snapRemote', t(mode === 'replace' ? 'confirmRestoreReplace' : 'confirmRestoreMerge')))) return;
  await busy(btn, async () => {
    try {
      await withEncryptionQuestion('snapshots.restore', { remote: target('snapRemote'), name, mode });
      toast($('snapMsg'), t('restored'));
    } catch (e) { toast($('snapMsg'), errorText(e), true); }
  });
}
$('loadSnapshots').addEventListener('click', () => busy($('loadSnapshots'), loadSnapshots));
$('snapRemote').addEventListener('change', loadSnapshots);

// ---- conflicts ---------------------------------------------------------------
/** The values a conflict is about, from one side's version of the record. */
function sideText(rec, fields) {
  if (rec === null || rec === undefined) return t('deletedVersion');
  if (!fields.length) return rec.site_name || rec.id || '';
  return fields.map((f) => f + ': ' + (rec[f] === undefined ? '—' : typeof rec[f] === 'string' ? rec[f] : JSON.stringify(rec[f]))).join('\n');
}

/** Redraws the list, the keyboard focus kept (focusKeeper). */
async function loadConflicts() {
  try { await drawConflicts(); } finally { refocus.conflicts(); }
}

async function drawConflicts() {
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

/** The import preview (transfer.ImportPreview) in plain words: nothing is applied yet. */
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
  const notes = [...(pv.warnings || []).map((w) => [davsync.say(w), 'warn']), ...(pv.notes || []).map((n) => [davsync.say(n), ''])];
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
// The file is chosen through a button of ours, so that it speaks the
// language chosen in the preferences (the browser's own is labelled in the
// browser's language).
function showFileName() {
  const f = $('importFile').files[0];
  $('fileName').textContent = f ? f.name : t('noFileChosen');
}
$('chooseFile').addEventListener('click', () => $('importFile').click());
$('importFile').addEventListener('change', showFileName);

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

$('applyImport').addEventListener('click', async () => {
  await applyImport();
  // Nothing is previewed after an import (or an edit meanwhile): the button
  // waits for the next preview, and the keyboard focus goes to Preview
  // instead of falling to the page with the disabled button.
  if (previewed === null) {
    const had = document.activeElement === $('applyImport');
    $('applyImport').disabled = true;
    if (had) $('preview').focus();
  }
});

const applyImport = () => busy($('applyImport'), async () => {
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
});

// ---- undo --------------------------------------------------------------------
/** Redraws the list, the keyboard focus kept (focusKeeper). */
async function loadUndo() {
  try { await drawUndo(); } finally { refocus.undo(); }
}

async function drawUndo() {
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
      (t('undoLabel_' + u.label) !== 'undoLabel_' + u.label ? t('undoLabel_' + u.label) : u.label) +
        (u.source ? '\n' + t('undoFrom', nameOf(u.source)) : ''),
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
  for (const btn of document.querySelectorAll('button.reveal')) revealLabel(btn);
  showFileName();
  try {
    await Promise.all([loadProviders(), loadRemotes()]);
  } catch (e) { toast($('serversMsg'), errorText(e), true); }
  davsync.watchStatus(onStatus); // after init: the status speaks the chosen language
  document.body.dataset.ready = '1';
  loadSnapshots();
  loadConflicts();
  loadUndo();
  // The popup's "Add a server" on a new profile opens the editor at once.
  if (location.hash === '#add' && !remotes.length) openEditor(null, $('addServer'));
});
