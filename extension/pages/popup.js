// The toolbar popup: status, last sync, Sync now, links.
'use strict';

davsync.init().then(() => {
  davsync.watchStatus((s) => davsync.renderStatus(document.getElementById('status'), s));
  const btn = document.getElementById('syncNow');
  const msg = document.getElementById('msg');
  btn.addEventListener('click', () => davsync.busy(btn, async () => {
    davsync.toast(msg, davsync.t('working'));
    try {
      await davsync.send('sync.now');
      davsync.toast(msg, davsync.t('done'));
    } catch (e) {
      davsync.toast(msg, davsync.errorText(e), true);
    }
  }));
});
