// Helpers for the browser cycle bench (cyclebench.js): the real servers
// with-server.sh started, the counting relay (scripts/faultproxy without
// rules), a generated export document, timed messages from a page, the
// worker's memory, formatting and a hand-written SVG plot.
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { ROOT, buildTestExtension, stopProcess } = require('./lib');

/** The servers in DAVSYNC_TEST_SERVERS (one JSON object per line), optionally only `names`. */
function readServers(names) {
  const file = process.env.DAVSYNC_TEST_SERVERS;
  if (!file) throw new Error('DAVSYNC_TEST_SERVERS is not set: run under scripts/servers/with-server.sh apache,nginx');
  const all = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  if (!names) return all;
  return names.map((n) => {
    const s = all.find((x) => x.name === n);
    if (!s) throw new Error('server ' + n + ' is not in ' + file + ' (has ' + all.map((x) => x.name).join(', ') + ')');
    return s;
  });
}

/** Races p against a timeout that rejects with a message naming what hung. */
function withTimeout(p, ms, what) {
  let timer;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(what + ': no answer after ' + ms + ' ms')), ms); }),
  ]);
}

let relayBuilt = false;

/**
 * Starts scripts/faultproxy (built to .run/bin/faultproxy, once per
 * process, so it is never stale) in front of origin with no rules: a
 * faithful relay that counts requests and bytes and logs each request.
 * Returns {url, stats(), reset(), stop()}.
 */
async function startRelay(origin) {
  const bin = path.join(ROOT, '.run', 'bin', 'faultproxy');
  if (!relayBuilt) {
    execFileSync('go', ['build', '-o', bin, './scripts/faultproxy/cmd/faultproxy'], { cwd: ROOT, stdio: 'inherit' });
    relayBuilt = true;
  }
  const proc = spawn(bin, ['-target', origin], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; if (stderr.length > 20000) stderr = stderr.slice(-10000); });
  const url = await withTimeout(new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: proc.stdout });
    rl.once('line', (line) => resolve(line.trim()));
    proc.once('exit', (code) => reject(new Error('faultproxy exited with ' + code + ': ' + stderr)));
  }), 30000, 'faultproxy start');
  const control = url + '/_faultproxy/';
  async function req(method, what) {
    if (proc.exitCode !== null) throw new Error('the relay exited (' + proc.exitCode + '): ' + stderr);
    const r = await fetch(control + what, { method });
    if (!r.ok) throw new Error('relay ' + method + ' ' + what + ': ' + r.status + ' ' + await r.text());
    return r.status === 204 ? null : r.json();
  }
  return {
    url, origin,
    stats: () => req('GET', 'stats'),
    reset: () => req('POST', 'reset'),
    stop: () => stopProcess(proc),
  };
}

/** A WebDAV request straight to the server (not through the relay). */
async function dav(server, method, url, { body, headers = {} } = {}) {
  const auth = 'Basic ' + Buffer.from(server.user + ':' + server.pass).toString('base64');
  return fetch(url, { method, body, headers: { Authorization: auth, ...headers } });
}

/** Creates the collection url (ending in /) on the server; it must not exist yet. */
async function mkcol(server, url) {
  const r = await dav(server, 'MKCOL', url);
  if (r.status !== 201) throw new Error('MKCOL ' + url + ': ' + r.status + ' ' + (await r.text()).slice(0, 200));
}

// A small deterministic PRNG (mulberry32), so every run imports the same data.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const TAGS = ['work', 'home', 'openai', 'claude', 'gemini', 'relay', 'backup', 'test'];

/** Account i as the bench generates it (the same i gives the same record). */
function account(i, t0) {
  const r = rng(0x5eed + i);
  let token = 'sk-';
  for (let k = 0; k < 48; k++) token += B62[Math.floor(r() * 62)];
  const n = String(i).padStart(6, '0');
  const tags = [TAGS[i % TAGS.length]];
  if (i % 3 === 0) tags.push(TAGS[(i >> 2) % TAGS.length]);
  const created = t0 - 86400000 * 30 + i;
  return {
    id: 'bench-' + n + '-' + Math.floor(r() * 0xffffffff).toString(16).padStart(8, '0'),
    site_name: 'Site ' + n,
    site_url: 'https://api' + n + '.example.com/v1',
    username: 'user' + n + '@example.com',
    access_token: token,
    notes: i % 4 === 0 ? 'Bench account ' + n + ': quota 500k tokens, renews monthly.' : '',
    tags: [...new Set(tags)],
    disabled: i % 17 === 0,
    created_at: created,
    updated_at: created + 1000,
  };
}

/** A davsync export document (backup format v1) with n accounts, as a JSON string. */
function exportDoc(n, t0 = Date.now()) {
  const records = [];
  for (let i = 0; i < n; i++) records.push(account(i, t0));
  return JSON.stringify({
    format: 'davsync', version: 1, exported_at: t0,
    collections: { accounts: { records, tombstones: [] } },
    preferences: { updated_at: t0 - 86400000, values: {} },
  });
}

/**
 * A copy of the test build (loopback host permission) whose worker entry
 * is a shim: it wraps WebAssembly.instantiate(Streaming) to keep every
 * exported WebAssembly.Memory in self.__cyclebenchMemories, then loads the
 * real background.js with importScripts, unchanged. Returns {dir, shim}:
 * shim is false when the worker is a module (no importScripts), in which
 * case the bench falls back to the JS heap.
 */
function buildBenchExtension(outDir) {
  buildTestExtension(outDir);
  const mfPath = path.join(outDir, 'manifest.json');
  const mf = JSON.parse(fs.readFileSync(mfPath, 'utf8'));
  const bg = mf.background || {};
  if (!bg.service_worker || bg.type === 'module') return { dir: outDir, shim: false };
  fs.writeFileSync(path.join(outDir, 'cyclebench-shim.js'), `// cyclebench: notes the wasm memory, then runs the real worker.
'use strict';
(() => {
  const mems = (self.__cyclebenchMemories = []);
  const note = (res) => {
    const inst = res && res.instance ? res.instance : res;
    try { for (const v of Object.values((inst && inst.exports) || {})) if (v instanceof WebAssembly.Memory) mems.push(v); } catch (e) { /* not an instance */ }
    return res;
  };
  const streaming = WebAssembly.instantiateStreaming;
  const plain = WebAssembly.instantiate;
  WebAssembly.instantiateStreaming = function (...a) { return streaming.apply(this, a).then(note); };
  WebAssembly.instantiate = function (...a) { return plain.apply(this, a).then(note); };
})();
importScripts(${JSON.stringify(bg.service_worker)});
`);
  mf.background = { ...bg, service_worker: 'cyclebench-shim.js' };
  fs.writeFileSync(mfPath, JSON.stringify(mf, null, 2));
  return { dir: outDir, shim: true };
}

/**
 * Sends a message from an extension page like the pages do and times the
 * round trip there (performance.now around chrome.runtime.sendMessage).
 * Returns {ms, reply}.
 */
async function timedSend(page, method, params, timeoutMs = 600000) {
  return withTimeout(page.evaluate(async ([m, p]) => {
    const t0 = performance.now();
    const reply = await chrome.runtime.sendMessage({ method: m, params: p });
    return { ms: performance.now() - t0, reply };
  }, [method, params || {}]), timeoutMs, method);
}

/** timedSend that throws unless the reply is ok; returns {ms, reply}. */
async function call(page, method, params, timeoutMs) {
  const r = await timedSend(page, method, params, timeoutMs);
  if (!r.reply || !r.reply.ok) {
    throw new Error(method + ' failed: ' + JSON.stringify(r.reply).slice(0, 1000));
  }
  return r;
}

/**
 * The worker's memory: the byte size of the wasm linear memory the shim
 * caught (the largest, if several), else the worker's JS heap through CDP
 * (Runtime.getHeapUsage on the worker target, reached from a page session).
 * Returns {kind: "wasm"|"js-heap", bytes, jsHeap?}.
 */
async function workerMemory(b, page) {
  const worker = b.worker();
  if (!worker) throw new Error('no service worker to measure');
  const sizes = await worker.evaluate(() => (self.__cyclebenchMemories || []).map((m) => m.buffer.byteLength));
  const jsHeap = await workerJSHeap(b, page).catch(() => null);
  if (sizes.length) return { kind: 'wasm', bytes: Math.max(...sizes), jsHeap };
  if (!jsHeap) throw new Error('worker memory: no WebAssembly.Memory found and the JS heap could not be read');
  return { kind: 'js-heap', bytes: jsHeap.used, jsHeap };
}

/** Runtime.getHeapUsage of the extension's service worker, through Target.* from a page's CDP session. */
async function workerJSHeap(b, page) {
  const cdp = await b.context.newCDPSession(page);
  try {
    const { targetInfos } = await cdp.send('Target.getTargets');
    const t = targetInfos.find((x) => x.type === 'service_worker' && x.url.startsWith(b.base));
    if (!t) throw new Error('no service worker target');
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: t.targetId, flatten: false });
    let id = 0;
    const pending = new Map();
    cdp.on('Target.receivedMessageFromTarget', (ev) => {
      if (ev.sessionId !== sessionId) return;
      const msg = JSON.parse(ev.message);
      const p = pending.get(msg.id);
      if (p) { pending.delete(msg.id); msg.error ? p.reject(new Error(msg.error.message)) : p.resolve(msg.result); }
    });
    const send = (method, params = {}) => new Promise((resolve, reject) => {
      const mid = ++id;
      pending.set(mid, { resolve, reject });
      cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: mid, method, params }) }).catch(reject);
    });
    const r = await withTimeout(send('Runtime.getHeapUsage'), 10000, 'Runtime.getHeapUsage');
    await cdp.send('Target.detachFromTarget', { sessionId }).catch(() => {});
    return { used: r.usedSize, total: r.totalSize };
  } finally {
    await cdp.detach().catch(() => {});
  }
}

// --- figures and formatting ---

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}
const median = (xs) => quantile(xs, 0.5);

function fmtBytes(n) {
  if (n == null || Number.isNaN(n)) return '-';
  if (n < 1000) return Math.round(n) + ' B';
  if (n < 1e6) return (n / 1e3).toFixed(n < 1e4 ? 2 : n < 1e5 ? 1 : 0) + ' kB';
  if (n < 1e9) return (n / 1e6).toFixed(n < 1e7 ? 2 : 1) + ' MB';
  return (n / 1e9).toFixed(2) + ' GB';
}

function fmtMs(ms) {
  if (ms == null || Number.isNaN(ms)) return '-';
  if (ms < 10) return ms.toFixed(1) + ' ms';
  if (ms < 1000) return Math.round(ms) + ' ms';
  return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
}

function fmtCount(n) {
  if (n >= 1000 && n % 1000 === 0) return n / 1000 + 'k';
  return String(n);
}

/** "PROPFIND 207, PUT 201 ×2, GET 200": method and status of each request, repeats folded. */
function requestList(log) {
  const parts = [];
  for (const e of log) {
    const s = e.method + ' ' + (e.status || 'reset');
    const last = parts[parts.length - 1];
    if (last && last.s === s) last.n++;
    else parts.push({ s, n: 1 });
  }
  return parts.map((p) => (p.n > 1 ? p.s + ' ×' + p.n : p.s)).join(', ') || '(none)';
}

/** Pads the columns of rows (arrays of strings) to a table; numeric columns align right. */
function table(header, rows, right = new Set()) {
  const all = [header, ...rows];
  const w = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (right.has(i) ? String(c).padStart(w[i]) : String(c).padEnd(w[i]))).join('  ').trimEnd();
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

// --- the plot ---

const KIND_COLORS = { first: '#1f77b4', idle: '#2ca02c', edit: '#ff7f0e', remote: '#9467bd', both: '#d62728' };
const SERVER_DASH = ['', '6 4', '2 3', '10 3 2 3'];

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Two log-log panels (median time and bytes up+down per cycle vs accounts),
 * one line per cycle kind (colour) and server (dash). Hand-written SVG on an
 * opaque white background, so it reads the same in light and dark viewers.
 * rows: [{server, size, kind, time_ms: {median}, bytes_up, bytes_down}].
 */
function plotSVG(rows, { sizes, kinds, servers }) {
  const W = 940;
  const H = 400;
  const panelW = 400;
  const panelH = 270;
  const top = 46;
  const lefts = [70, 540];
  const ink = '#222';
  const grid = '#ddd';
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" fill="${ink}">davsync sync cycle in Chromium, through a counting relay (medians)</text>`);
  const lx = (n) => Math.log10(n);
  const xmin = lx(Math.min(...sizes)) - (sizes.length > 1 ? 0.15 : 0.5);
  const xmax = lx(Math.max(...sizes)) + (sizes.length > 1 ? 0.15 : 0.5);
  const panels = [
    { title: 'time per cycle (sync.now round trip)', value: (r) => r.time_ms.median, fmt: fmtMs, unit: 'ms' },
    { title: 'bytes per cycle (up + down)', value: (r) => r.bytes_up + r.bytes_down, fmt: fmtBytes, unit: 'B' },
  ];
  panels.forEach((pn, pi) => {
    const x0 = lefts[pi];
    const vals = rows.map(pn.value).filter((v) => v > 0);
    let ymin = Math.floor(Math.log10(Math.min(...vals)));
    let ymax = Math.ceil(Math.log10(Math.max(...vals)));
    if (ymax <= ymin) ymax = ymin + 1;
    const X = (n) => x0 + ((lx(n) - xmin) / (xmax - xmin)) * panelW;
    const Y = (v) => top + panelH - ((Math.log10(Math.max(v, 10 ** ymin)) - ymin) / (ymax - ymin)) * panelH;
    out.push(`<text x="${x0 + panelW / 2}" y="${top - 10}" text-anchor="middle" fill="${ink}">${esc(pn.title)}</text>`);
    out.push(`<rect x="${x0}" y="${top}" width="${panelW}" height="${panelH}" fill="none" stroke="${ink}"/>`);
    for (let e = ymin; e <= ymax; e++) {
      const y = Y(10 ** e);
      if (e > ymin && e < ymax) out.push(`<line x1="${x0}" x2="${x0 + panelW}" y1="${y}" y2="${y}" stroke="${grid}"/>`);
      out.push(`<text x="${x0 - 6}" y="${y + 4}" text-anchor="end" fill="${ink}">${esc(pn.fmt(10 ** e))}</text>`);
    }
    for (const n of sizes) {
      const x = X(n);
      out.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${top + panelH}" stroke="${grid}"/>`);
      out.push(`<text x="${x}" y="${top + panelH + 16}" text-anchor="middle" fill="${ink}">${fmtCount(n)}</text>`);
    }
    out.push(`<text x="${x0 + panelW / 2}" y="${top + panelH + 34}" text-anchor="middle" fill="${ink}">accounts (log scale)</text>`);
    servers.forEach((srv, si) => {
      for (const k of kinds) {
        const pts = sizes.map((n) => rows.find((r) => r.server === srv && r.kind === k && r.size === n)).filter(Boolean)
          .filter((r) => pn.value(r) > 0).map((r) => [X(r.size), Y(pn.value(r))]);
        if (!pts.length) continue;
        const dash = SERVER_DASH[si % SERVER_DASH.length];
        out.push(`<polyline fill="none" stroke="${KIND_COLORS[k] || ink}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${pts.map((p) => p.map((v) => v.toFixed(1)).join(',')).join(' ')}"/>`);
        for (const [x, y] of pts) out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${KIND_COLORS[k] || ink}"/>`);
      }
    });
  });
  // Legend: kinds by colour, servers by dash.
  let lxp = 70;
  const ly = H - 18;
  for (const k of kinds) {
    out.push(`<line x1="${lxp}" x2="${lxp + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${KIND_COLORS[k] || ink}" stroke-width="3"/>`);
    out.push(`<text x="${lxp + 27}" y="${ly}" fill="${ink}">${esc(k)}</text>`);
    lxp += 40 + k.length * 7;
  }
  lxp += 30;
  servers.forEach((srv, si) => {
    const dash = SERVER_DASH[si % SERVER_DASH.length];
    out.push(`<line x1="${lxp}" x2="${lxp + 30}" y1="${ly - 4}" y2="${ly - 4}" stroke="${ink}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    out.push(`<text x="${lxp + 35}" y="${ly}" fill="${ink}">${esc(srv)}</text>`);
    lxp += 50 + srv.length * 7;
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

module.exports = {
  readServers, withTimeout, startRelay, dav, mkcol, account, exportDoc, buildBenchExtension,
  timedSend, call, workerMemory, quantile, median, fmtBytes, fmtMs, fmtCount, requestList, table, plotSVG,
};
