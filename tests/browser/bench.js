// bench-extension: cold start of the worker (worker start to Go ready,
// median of 12 restarts, the variants taking turns) for davsync, an empty Go
// module and a worker with no wasm; the module's size raw and gzip; a
// 10k-account merge in the browser next to the same merge native. Prints a
// table and writes test-results/bench-extension.json.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { execFileSync } = require('node:child_process');
const { ROOT, DIST, buildTestExtension, launch, until } = require('./lib');

const RESTARTS = 12;
const BENCH = path.join(ROOT, '.run', 'bench');
const BIN = path.join(ROOT, '.run', 'bin');

const CSP = { extension_pages: "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'" };

/** A minimal extension: a worker loading `wasm` (or none) plus the merge page. */
function miniExtension(dir, wasm) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(DIST, 'wasm_exec.js'), path.join(dir, 'wasm_exec.js'));
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({
    manifest_version: 3, name: 'bench', version: '1', background: { service_worker: 'background.js' },
    content_security_policy: CSP,
  }));
  const worker = wasm ? `importScripts('wasm_exec.js');
let signal; const ready = new Promise((r) => { signal = r; });
self.davsyncReady = () => signal();
(async () => {
  const go = new Go();
  const { instance } = await WebAssembly.instantiateStreaming(fetch('${path.basename(wasm)}'), go.importObject);
  go.run(instance);
  await ready;
  self.davsyncReadyAt = performance.now();
})();
chrome.runtime.onMessage.addListener((m, s, reply) => { ready.then(() => reply({ ok: true })); return true; });
` : `chrome.runtime.onMessage.addListener((m, s, reply) => { reply({ ok: true }); });
self.davsyncReadyAt = performance.now();
`;
  fs.writeFileSync(path.join(dir, 'background.js'), worker);
  if (wasm) fs.copyFileSync(wasm, path.join(dir, path.basename(wasm)));
  fs.copyFileSync(path.join(BIN, 'mergebench.wasm'), path.join(dir, 'mergebench.wasm'));
  // The page the test helpers send messages from.
  fs.mkdirSync(path.join(dir, 'pages'));
  fs.writeFileSync(path.join(dir, 'pages', 'popup.html'), '<!doctype html><title>bench</title>');
  fs.writeFileSync(path.join(dir, 'bench.html'), '<!doctype html><script src="wasm_exec.js"></script><script src="bench.js"></script>');
  fs.writeFileSync(path.join(dir, 'bench.js'), `
window.benchOut = null;
const log = console.log;
console.log = (...a) => { const s = a.join(' '); if (s.startsWith('{')) window.benchOut = s; log(...a); };
(async () => {
  const go = new Go();
  const { instance } = await WebAssembly.instantiateStreaming(fetch('mergebench.wasm'), go.importObject);
  await go.run(instance);
})();
`);
  return dir;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Restarts each extension's worker RESTARTS times, taking turns so that a
 * burst of load on the machine hits every variant alike; returns, per name,
 * the worker-start-to-ready times (ms).
 */
async function coldStarts(exts) {
  const browsers = [];
  try {
    for (const [name, extDir] of exts) {
      const b = await launch({ extDir });
      browsers.push([name, b]);
      await until(() => b.worker().evaluate(() => self.davsyncReadyAt), { what: 'first ready' });
    }
    const times = Object.fromEntries(exts.map(([name]) => [name, []]));
    for (let i = 0; i < RESTARTS; i++) {
      for (const [name, b] of browsers) {
        await b.stopWorkers();
        await b.send('bench.ping'); // wakes the worker; the reply comes once Go is ready
        // Playwright keeps the same Worker handle across the restart.
        times[name].push(await until(() => b.worker().evaluate(() => self.davsyncReadyAt), { what: 'ready' }));
      }
    }
    return times;
  } finally {
    for (const [, b] of browsers) await b.close();
  }
}

async function browserMerge(extDir) {
  const b = await launch({ extDir });
  try {
    const p = await b.context.newPage();
    await p.goto(b.base + 'bench.html');
    await p.waitForFunction(() => window.benchOut, null, { timeout: 120000 });
    return JSON.parse(await p.evaluate(() => window.benchOut));
  } finally {
    await b.close();
  }
}

(async () => {
  execFileSync('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', path.join(BIN, 'mergebench.wasm'), './tests/browser/mergebench'],
    { cwd: ROOT, env: { ...process.env, GOOS: 'js', GOARCH: 'wasm' }, stdio: 'inherit' });
  const wasm = fs.readFileSync(path.join(DIST, 'davsync.wasm'));
  const size = { raw: wasm.length, gzip: zlib.gzipSync(wasm, { level: 9 }).length };
  const emptySize = fs.statSync(path.join(BIN, 'empty.wasm')).size;

  const davsyncExt = buildTestExtension(path.join(BENCH, 'davsync'));
  const emptyGo = miniExtension(path.join(BENCH, 'empty-go'), path.join(BIN, 'empty.wasm'));
  const noWasm = miniExtension(path.join(BENCH, 'no-wasm'), null);
  const cold = {};
  const times = await coldStarts([['no wasm', noWasm], ['empty Go module', emptyGo], ['davsync', davsyncExt]]);
  for (const [name, t] of Object.entries(times)) {
    cold[name] = { median_ms: +median(t).toFixed(1), min_ms: +Math.min(...t).toFixed(1), max_ms: +Math.max(...t).toFixed(1), runs: t.length };
  }
  const inBrowser = await browserMerge(noWasm);
  const native = JSON.parse(execFileSync('go', ['run', './tests/browser/mergebench'], { cwd: ROOT }).toString());
  const out = { wasm_size: { ...size, empty_go_raw: emptySize }, cold_start: cold, merge_10k: { browser: inBrowser, native } };
  fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'test-results', 'bench-extension.json'), JSON.stringify(out, null, 2));
  console.log(`davsync.wasm: ${size.raw} bytes raw, ${size.gzip} gzip -9 (empty Go module: ${emptySize} raw)`);
  console.log('cold start, worker start to ready, ' + RESTARTS + ' restarts each:');
  for (const [k, v] of Object.entries(cold)) console.log(`  ${k.padEnd(16)} median ${v.median_ms} ms (min ${v.min_ms}, max ${v.max_ms})`);
  const x = (a, b) => (a / b).toFixed(2) + 'x';
  console.log(`  davsync = ${x(cold.davsync.median_ms, cold['empty Go module'].median_ms)} the empty Go module; size ${x(size.raw, emptySize)} its raw bytes`);
  console.log(`10k-account merge: browser ${inBrowser.merge_ms} ms (parse ${inBrowser.parse_ms} ms), native ${native.merge_ms} ms (parse ${native.parse_ms} ms): wasm = ${x(inBrowser.merge_ms, native.merge_ms)} native`);
})().catch((e) => { console.error(e); process.exit(1); });
