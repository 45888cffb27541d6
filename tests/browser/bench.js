// bench-extension: cold start of the worker (worker start to Go ready,
// median of 12 restarts, the variants taking turns) for davsync, an empty Go
// module (read from the package on every start, and kept in IndexedDB as
// davsync keeps its module) and a worker with no wasm, with where each
// start goes; the module's size raw and gzip; a 10k-account merge in the
// browser next to the same merge native. Prints a table and writes
// test-results/bench-extension.json.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { execFileSync } = require('node:child_process');
const { ROOT, DIST, buildTestExtension, launch, until } = require('./lib');

const RESTARTS = 12;
const BENCH = path.join(ROOT, '.run', 'bench');
const BIN = path.join(ROOT, '.run', 'bin');

const CSP = { extension_pages: "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'" };

/**
 * A minimal extension: a worker loading `wasm` (or none) the way davsync's
 * worker does (extension/wasmcache.js; with `cache` the module is kept in
 * IndexedDB under its hash, without it every start reads the package), plus
 * the merge page.
 */
function miniExtension(dir, wasm, { cache = false } = {}) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(DIST, 'wasm_exec.js'), path.join(dir, 'wasm_exec.js'));
  fs.copyFileSync(path.join(DIST, 'wasmcache.js'), path.join(dir, 'wasmcache.js'));
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({
    manifest_version: 3, name: 'bench', version: '1', background: { service_worker: 'background.js' },
    content_security_policy: CSP,
  }));
  const id = wasm && cache ? crypto.createHash('sha256').update(fs.readFileSync(wasm)).digest('hex').slice(0, 32) : '';
  const worker = wasm ? `importScripts('wasm_exec.js', 'wasmcache.js');
let signal, mainAt = 0, goReadyAt = 0; const ready = new Promise((r) => { signal = r; });
self.davsyncReady = (m) => { goReadyAt = performance.now(); mainAt = Number(m) || 0; signal(); };
(async () => {
  const t0 = performance.now();
  const go = new Go();
  const { module, source, keep } = await compileModule(${JSON.stringify(path.basename(wasm))}, ${JSON.stringify(id || undefined)});
  const t1 = performance.now();
  const instance = await WebAssembly.instantiate(module, go.importObject);
  const t2 = performance.now();
  go.run(instance);
  await ready;
  self.davsyncReadyAt = performance.now();
  keep().catch(() => {});
  self.davsyncBoot = { source, compileMs: t1 - t0, instantiateMs: t2 - t1, goInitMs: mainAt ? mainAt - t2 : 0, goMainMs: mainAt ? goReadyAt - mainAt : 0, afterReadyMs: self.davsyncReadyAt - goReadyAt };
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
 * the worker-start-to-ready times (ms) and each start's breakdown
 * (self.davsyncBoot).
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
    const boots = Object.fromEntries(exts.map(([name]) => [name, []]));
    for (let i = 0; i < RESTARTS; i++) {
      for (const [name, b] of browsers) {
        await b.stopWorkers();
        await b.send('bench.ping'); // wakes the worker; the reply comes once Go is ready
        // Playwright keeps the same Worker handle across the restart.
        times[name].push(await until(() => b.worker().evaluate(() => self.davsyncReadyAt), { what: 'ready' }));
        const boot = await b.worker().evaluate(() => self.davsyncBoot);
        if (boot) boots[name].push(boot);
      }
    }
    return { times, boots };
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
  const emptyGoKept = miniExtension(path.join(BENCH, 'empty-go-kept'), path.join(BIN, 'empty.wasm'), { cache: true });
  const noWasm = miniExtension(path.join(BENCH, 'no-wasm'), null);
  const cold = {};
  const { times, boots } = await coldStarts([['no wasm', noWasm], ['empty Go module', emptyGo],
    ['empty Go, kept', emptyGoKept], ['davsync', davsyncExt]]);
  for (const [name, t] of Object.entries(times)) {
    cold[name] = { median_ms: +median(t).toFixed(1), min_ms: +Math.min(...t).toFixed(1), max_ms: +Math.max(...t).toFixed(1), runs: t.length };
    const b = boots[name];
    if (b.length) {
      cold[name].breakdown_ms = {};
      for (const k of ['compileMs', 'instantiateMs', 'goInitMs', 'goMainMs', 'afterReadyMs']) cold[name].breakdown_ms[k] = +median(b.map((x) => x[k])).toFixed(1);
      cold[name].sources = b.map((x) => x.source).join(',');
    }
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
  console.log(`  davsync = ${x(cold.davsync.median_ms, cold['empty Go module'].median_ms)} the empty Go module read from the package on every start,`
    + ` ${x(cold.davsync.median_ms, cold['empty Go, kept'].median_ms)} the same module kept in IndexedDB as davsync's is; size ${x(size.raw, emptySize)} its raw bytes`);
  console.log('  where a start goes (medians, ms): read+compile, instantiate, Go runtime+init to main, main to davsyncReady,'
    + ' davsyncReady to ready (calls waiting for ready start first); where the bytes came from');
  for (const [k, v] of Object.entries(cold)) {
    if (!v.breakdown_ms) continue;
    const b = v.breakdown_ms;
    const src = [...new Set(v.sources.split(','))].map((s) => s + ' ' + v.sources.split(',').filter((y) => y === s).length).join(', ');
    console.log(`    ${k.padEnd(16)} ${String(b.compileMs).padStart(6)} ${String(b.instantiateMs).padStart(6)} ${String(b.goInitMs).padStart(6)} ${String(b.goMainMs).padStart(6)} ${String(b.afterReadyMs).padStart(6)}   ${src}`);
  }
  console.log(`10k-account merge: browser ${inBrowser.merge_ms} ms (parse ${inBrowser.parse_ms} ms), native ${native.merge_ms} ms (parse ${native.parse_ms} ms): wasm = ${x(inBrowser.merge_ms, native.merge_ms)} native`);
})().catch((e) => { console.error(e); process.exit(1); });
