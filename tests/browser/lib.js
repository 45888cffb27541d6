// Shared helpers for the browser tests, the benchmark and `make run`:
// a test build of the extension, a local WebDAV server, Chromium with the
// extension loaded, and a handle to talk to the worker like a page does.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const readline = require('node:readline');
const { chromium } = require('playwright-core');

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist', 'extension');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/**
 * Copies the built extension to outDir with a manifest that grants loopback
 * host permissions: in headless Chromium nothing can accept the optional
 * permission prompt, so the test build grants it up front.
 */
function buildTestExtension(outDir, { src = DIST } = {}) {
  if (!fs.existsSync(path.join(src, 'davsync.wasm'))) throw new Error('run `make build` first: ' + src + ' has no davsync.wasm');
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.cpSync(src, outDir, { recursive: true });
  const mf = JSON.parse(fs.readFileSync(path.join(outDir, 'manifest.json'), 'utf8'));
  mf.host_permissions = ['http://127.0.0.1/*'];
  fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(mf, null, 2));
  return outDir;
}

/** Starts scripts/servers/xnetdav (built to .run/bin/xnetdav) on a free port. */
async function startDav({ root, user = 'alice', pass = 'correct horse', preconditions = true } = {}) {
  const bin = path.join(ROOT, '.run', 'bin', 'xnetdav');
  if (!fs.existsSync(bin)) throw new Error('build the server first: go build -o .run/bin/xnetdav ./scripts/servers/xnetdav');
  root = root || fs.mkdtempSync(path.join(os.tmpdir(), 'davsync-dav-'));
  const args = ['-addr', '127.0.0.1:0', '-root', root, '-user', user];
  if (preconditions) args.push('-preconditions');
  const proc = spawn(bin, args, { env: { ...process.env, XNETDAV_PASS: pass }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; if (stderr.length > 20000) stderr = stderr.slice(-10000); });
  const url = await new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: proc.stdout });
    rl.once('line', (line) => resolve(line.trim()));
    proc.once('exit', (code) => reject(new Error('xnetdav exited with ' + code + ': ' + stderr)));
  });
  return {
    url, root, user, pass, proc,
    log: () => stderr,
    stop: () => stopProcess(proc),
  };
}

/** Reads a file the server holds, straight from its folder. */
function serverFile(dav, rel) {
  const p = path.join(dav.root, rel);
  return fs.existsSync(p) ? fs.readFileSync(p) : null;
}

/** The sync file on the server, parsed (gzip detected by magic bytes), or null. */
function serverDoc(dav) {
  for (const name of ['davsync.json', 'davsync.json.gz']) {
    let b = serverFile(dav, path.join('davsync', name));
    if (!b) continue;
    if (b[0] === 0x1f && b[1] === 0x8b) b = zlib.gunzipSync(b);
    return JSON.parse(b.toString('utf8'));
  }
  return null;
}

/** The site names of the accounts in the server's sync file, sorted. */
function serverNames(dav) {
  const doc = serverDoc(dav);
  const recs = doc && doc.collections && doc.collections.accounts ? doc.collections.accounts.records || [] : [];
  return recs.map((r) => r.site_name).sort();
}

const FLAGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-default-apps',
  '--disable-sync',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-features=Translate,MediaRouter,OptimizationHints',
  '--metrics-recording-only',
  '--password-store=basic',
];

/**
 * Launches Chromium with the extension in a fresh profile. Returns
 * {context, id, worker, open(page), send(method, params), close()}.
 */
async function launch({ extDir, profileDir, headless = true, colorScheme = 'light', downloadsPath } = {}) {
  profileDir = profileDir || fs.mkdtempSync(path.join(os.tmpdir(), 'davsync-profile-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless,
    colorScheme,
    acceptDownloads: true,
    downloadsPath,
    viewport: { width: 1000, height: 900 },
    args: ['--disable-extensions-except=' + extDir, '--load-extension=' + extDir, ...FLAGS],
  });
  let worker = context.serviceWorkers()[0];
  if (!worker) worker = await context.waitForEvent('serviceworker', { timeout: 30000 });
  const id = new URL(worker.url()).host;
  const base = 'chrome-extension://' + id + '/';
  let bridge = null; // a page used to send messages like the real pages do

  async function open(page, { wait = true } = {}) {
    const p = await context.newPage();
    await p.goto(base + 'pages/' + page);
    if (wait) await p.waitForLoadState('domcontentloaded');
    // Pages that load stored state mark themselves ready when it is shown.
    if (wait && page === 'options.html') await p.waitForSelector('body[data-ready]', { timeout: 30000 });
    return p;
  }

  async function send(method, params) {
    if (!bridge || bridge.isClosed()) bridge = await open('popup.html');
    return bridge.evaluate(([m, p]) => chrome.runtime.sendMessage({ method: m, params: p }), [method, params || {}]);
  }

  /** Sends and throws unless the reply is ok. */
  async function ok(method, params) {
    const r = await send(method, params);
    if (!r || !r.ok) throw new Error(method + ' failed: ' + JSON.stringify(r));
    return r;
  }

  /** Stops every service worker through CDP, as Chrome does when idle, and
   *  waits until Chrome reports it stopped. */
  async function stopWorkers() {
    const p = bridge && !bridge.isClosed() ? bridge : await open('popup.html');
    bridge = p;
    const cdp = await context.newCDPSession(p);
    let running = new Map();
    let stoppedOnce = false;
    cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
      for (const v of versions) {
        running.set(v.versionId, v.runningStatus);
        if (v.runningStatus === 'stopped') stoppedOnce = true;
      }
    });
    await cdp.send('ServiceWorker.enable');
    await cdp.send('ServiceWorker.stopAllWorkers');
    // Something (an alarm, a page) may start it again at once: seeing it stop is enough.
    await until(() => stoppedOnce, { timeout: 10000, interval: 20, what: 'worker stopped' });
    await cdp.detach();
  }

  return {
    context, id, base, profileDir, open, send, ok, stopWorkers,
    worker: () => context.serviceWorkers()[0],
    async close() { await context.close().catch(() => {}); },
  };
}

/** Polls fn until it returns a truthy value (no fixed sleeps in assertions). */
async function until(fn, { timeout = 30000, interval = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try { last = await fn(); } catch (e) { last = e; }
    if (last && !(last instanceof Error)) return last;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what + (last instanceof Error ? ': ' + last.message : ''));
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Stops a child process: SIGTERM, then SIGKILL if it is still there after 3 s. */
async function stopProcess(proc) {
  if (proc.exitCode !== null) return;
  const done = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
  if (proc.exitCode === null) proc.kill('SIGKILL');
}

module.exports = { ROOT, stopProcess, DIST, CHROMIUM, buildTestExtension, startDav, serverFile, serverDoc, serverNames, launch, until, FLAGS };
