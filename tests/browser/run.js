// The browser half of `make run` (scripts/run.sh). Starts the local WebDAV
// server, launches Chromium with davsync pointed at it, and either hands the
// window to the user or shows a headless round trip. The server and the
// browser are stopped by their handles on every exit path.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const crypto = require('node:crypto');
const { ROOT, buildTestExtension, startDav, launch, until } = require('./lib');

async function main() {
  const headless = !(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  const runDir = path.join(ROOT, '.run');
  const pass = crypto.randomBytes(9).toString('base64url');
  const dav = await startDav({ root: path.join(runDir, 'davdata'), user: 'davsync', pass });
  let b;
  let profile;
  const stop = async () => {
    if (b) await b.close();
    await dav.stop();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  };
  process.on('SIGINT', () => stop().then(() => process.exit(130)));
  process.on('SIGTERM', () => stop().then(() => process.exit(143)));
  try {
    // The run build grants loopback access up front, like the test build,
    // so the preconfigured server works without a permission prompt.
    const ext = buildTestExtension(path.join(runDir, 'ext-run'));
    profile = fs.mkdtempSync(path.join(runDir, 'profile-'));
    b = await launch({ extDir: ext, profileDir: profile, headless });
    await b.ok('settings.save', { settings: { url: dav.url, username: dav.user, password: pass, autoSync: true, intervalMinutes: 5 } });
    console.log(`davsync: WebDAV server ${dav.url} (user ${dav.user}), data in ${path.relative(ROOT, dav.root)}`);
    if (!headless) {
      const page = await b.open('options.html');
      await page.bringToFront();
      // The browser starts with a blank tab and the helper page that sent
      // the settings: the user should find the Import/Export page alone.
      for (const p of b.context.pages()) if (p !== page) await p.close().catch(() => {});
      console.log('davsync: Chromium is open on the Import/Export page; close the browser to stop.');
      await new Promise((resolve) => b.context.once('close', resolve));
      return;
    }
    // Fixed ids: a second `make run` against the same server data edits
    // these three instead of adding three more.
    const samples = [
      { id: 'sample-example-api', site_name: 'Example API', site_url: 'https://api.example.com', username: 'ada', tags: ['work'] },
      { id: 'sample-home-lab', site_name: 'Home Lab', site_url: 'https://lab.home.arpa', username: 'root', tags: ['home'] },
      { id: 'sample-test-relay', site_name: 'Test Relay', site_url: 'https://relay.example.org', username: 'tester', notes: 'added by make run' },
    ];
    for (const account of samples) await b.ok('accounts.put', { account });
    const r = await b.ok('sync.now');
    console.log('davsync: synced:', JSON.stringify({ local: r.result.local, remote: r.result.remote, requests: r.result.requests }));
    const dir = path.join(dav.root, 'davsync');
    const file = await until(() => ['davsync.json', 'davsync.json.gz'].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f)), { what: 'the file on the server' });
    let body = fs.readFileSync(file);
    if (body[0] === 0x1f && body[1] === 0x8b) body = zlib.gunzipSync(body);
    const doc = JSON.parse(body);
    console.log(`davsync: the server now holds ${path.relative(ROOT, file)}:`);
    console.log(JSON.stringify(doc, null, 2));
  } finally {
    await stop();
  }
}

main().catch((e) => { console.error('davsync run:', e.message || e); process.exit(1); });
