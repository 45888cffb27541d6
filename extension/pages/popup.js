// The toolbar popup: the worst state and its fix, one line per server,
// Sync now (every enabled server), links.
'use strict';

const { t, send } = davsync;
/** @type {(id: string) => any} */
const $ = (id) => document.getElementById(id);

/** Every server, for their names and whether they are on. @type {AppRemote[]} */
let remotes = [];

/** One line per server: name, state (or the error's title), last sync. */
function renderLines(status) {
  const ul = $('servers');
  ul.textContent = '';
  for (const rs of status.remotes || []) {
    const r = remotes.find((x) => x.id === rs.id);
    const s = davsync.serverState(rs.status, r ? r.enabled : true);
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = rs.name;
    const state = document.createElement('span');
    state.className = 'state ' + s.cls;
    state.textContent = s.text;
    const when = document.createElement('div');
    when.className = 'muted';
    when.textContent = t('lastSync') + ': ' + davsync.fmtTime(rs.status.lastSync);
    li.append(name, state, when);
    ul.append(li);
  }
  ul.hidden = !ul.children.length;
}

async function onStatus(status) {
  if (!status) return;
  // The servers' settings (enabled) may have changed with any status; not
  // while a sync reports its progress, which only the status carries.
  if (status.state !== 'syncing' || !remotes.length) {
    try { remotes = (await send('remotes.list')).remotes || []; } catch (e) { remotes = []; }
  }
  const next = document.createElement('div');
  davsync.renderSummary(next, status, remotes, true);
  // Only a change is written into the live region (progress comes often).
  if (next.innerHTML !== $('status').innerHTML) $('status').replaceChildren(...next.childNodes);
  renderLines(status);
  const none = !(status.remotes || []).length;
  $('addLink').hidden = !none;
  $('syncNow').hidden = none;
}

davsync.init().then(() => {
  davsync.watchStatus(onStatus);
  const btn = $('syncNow');
  const msg = $('msg');
  btn.addEventListener('click', () => davsync.busy(btn, async () => {
    davsync.toast(msg, t('working'));
    try {
      const r = await send('sync.now');
      const failed = (r.results || []).filter((x) => !x.ok);
      const name = (id) => { const x = remotes.find((s) => s.id === id); return x ? davsync.serverName(x) : id; };
      if (failed.length) davsync.toast(msg, failed.map((x) => name(x.remote) + ': ' + davsync.errorParts(x.error).title).join('\n'), true);
      else davsync.toast(msg, t('done'));
    } catch (e) {
      davsync.toast(msg, davsync.errorText(e), true);
    }
  }));
});
