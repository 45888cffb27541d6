// bench-cycle: the real extension in headless Chromium syncing through a
// counting relay (scripts/faultproxy, no rules) to real WebDAV servers
// (scripts/servers, run under scripts/servers/with-server.sh apache,nginx),
// at several account counts, for five cycle kinds:
//   first   a fresh profile (accounts imported) syncs to an empty server folder
//   idle    nothing changed anywhere
//   edit    one account edited in this profile
//   remote  one account edited and synced by a second profile (browser)
//   both    both of the above
// Per server × size × kind: requests, body bytes up and down (counted by the
// relay), the wall time of the sync.now round trip from an extension page
// (median and min–max over the runs), the request list of one run and the
// extension's own timings when its result carries them. Also the worker's
// memory. Prints tables, writes dist/bench/cycle.json and dist/bench/cycle.svg.
//
// Environment: CYCLEBENCH_SIZES=100,10000,50000  CYCLEBENCH_RUNS=100:5,10000:5,50000:3
// (or one number for every size)  CYCLEBENCH_SERVERS=apache,nginx (default:
// every server in DAVSYNC_TEST_SERVERS)  CYCLEBENCH_OUT=dist/bench.
// CYCLEBENCH_SETTLE_MS=1500 waits that long before each measured cycle
// (default 0): back to back, a cycle that writes right after another one
// wrote meets Apache's weak ETag (about a second after a write), a 412 and
// the client's 1.1 s pause before it writes again (webdav.Put), which a
// person's edit, synced 3 s after it, does not.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { ROOT, CHROMIUM, launch } = require('./lib');
const bl = require('./benchlib');

const KINDS = ['first', 'idle', 'edit', 'remote', 'both'];
const WORK = path.join(ROOT, '.run', 'cyclebench');
const OUT = path.resolve(ROOT, process.env.CYCLEBENCH_OUT || path.join('dist', 'bench'));
const SYNC_TIMEOUT_MS = Number(process.env.CYCLEBENCH_TIMEOUT_MS) || 10 * 60 * 1000;
const SETTLE_MS = Number(process.env.CYCLEBENCH_SETTLE_MS) || 0;

// The peer, All API Hub, measured side by side earlier on Apache (medians of 3).
const ANCHOR = [
  { size: 100, kind: 'first', requests: 8, up: '131 kB', down: '135 kB', time: '965 ms' },
  { size: 100, kind: 'idle', requests: 8, up: '131 kB', down: '266 kB', time: '277 ms' },
  { size: 100, kind: 'edit', requests: 8, up: '131 kB', down: '266 kB', time: '179 ms' },
  { size: 10000, kind: 'first', requests: 8, up: '12.6 MB', down: '12.6 MB', time: '4.9 s' },
  { size: 10000, kind: 'idle', requests: 8, up: '12.6 MB', down: '25.2 MB', time: '6.8 s' },
  { size: 10000, kind: 'edit', requests: 8, up: '12.6 MB', down: '25.2 MB', time: '8.4 s' },
];

function config() {
  const sizes = (process.env.CYCLEBENCH_SIZES || '100,10000,50000').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  for (const n of sizes) if (!Number.isInteger(n) || n < 20) throw new Error('CYCLEBENCH_SIZES: ' + n + ' is not a whole number of at least 20');
  const runsSpec = process.env.CYCLEBENCH_RUNS || '100:5,10000:5,50000:3';
  const runs = {};
  if (/^\d+$/.test(runsSpec.trim())) {
    for (const n of sizes) runs[n] = Number(runsSpec);
  } else {
    for (const part of runsSpec.split(',')) {
      const [n, r] = part.split(':').map(Number);
      if (!Number.isInteger(n) || !Number.isInteger(r)) throw new Error('CYCLEBENCH_RUNS: bad part ' + part);
      runs[n] = r;
    }
    for (const n of sizes) if (!runs[n]) runs[n] = n > 10000 ? 3 : 5;
  }
  for (const n of sizes) if (runs[n] < 1 || 2 * runs[n] + 2 > n) throw new Error('CYCLEBENCH_RUNS: ' + runs[n] + ' runs do not fit ' + n + ' accounts');
  const servers = process.env.CYCLEBENCH_SERVERS ? process.env.CYCLEBENCH_SERVERS.split(',').map((s) => s.trim()) : null;
  return { sizes, runs, servers, settle_ms: SETTLE_MS };
}

const log = (...a) => console.error('[cyclebench]', ...a);

const profiles = [];
async function browser(extDir) {
  const profileDir = fs.mkdtempSync(path.join(WORK, 'profile-'));
  const b = await launch({ extDir, profileDir });
  const page = await b.open('popup.html');
  const h = {
    b, page, profileDir,
    call: (m, p) => bl.call(page, m, p, SYNC_TIMEOUT_MS),
    readyAt: () => b.worker().evaluate(() => self.davsyncReadyAt),
    async close() {
      await b.close();
      fs.rmSync(profileDir, { recursive: true, force: true });
      profiles.splice(profiles.indexOf(h), 1);
    },
  };
  profiles.push(h);
  return h;
}

async function configure(h, server, url) {
  await h.call('settings.save', {
    settings: {
      url, username: server.user, password: server.pass,
      compress: true, encryption: { enabled: false }, autoSync: false, syncOnStartup: false,
    },
  });
  // Test connection, as the server editor has a user do before saving: the
  // server's traits (its login, which preconditions it honours, the If
  // header for Apache's weak ETags) are known from the first sync on.
  const { reply } = await h.call('webdav.test', {});
  if (!reply || !reply.check || !reply.check.ok) throw new Error('webdav.test: ' + JSON.stringify(reply).slice(0, 500));
}

/** A sync.now that must succeed and not be skipped (an untimed one, for the second profile). */
async function syncOK(h, what) {
  const { reply } = await h.call('sync.now', {});
  const r = reply.result;
  if (!r || r.skipped) throw new Error(what + ': sync.now did not run a cycle: ' + JSON.stringify(reply).slice(0, 1000));
  return r;
}

/** One account's edit as a page sends it: the new notes over the record as the page showed it. */
async function edit(h, base, note) {
  const { reply } = await h.call('accounts.put', { account: { ...base, notes: note }, base });
  if (!reply.account || reply.account.id !== base.id) throw new Error('accounts.put: ' + JSON.stringify(reply).slice(0, 500));
}

const EXPECT = {
  first: (r) => r.uploaded,
  edit: (r) => r.uploaded,
  remote: (r) => r.applied,
  both: (r) => r.uploaded && r.applied,
};

/**
 * The measured cycle: wake the worker (untimed), reset the relay, time
 * sync.now from the page, read the relay's counters and log.
 */
async function measure(h, relay, ctx, kind, i) {
  if (SETTLE_MS) await new Promise((r) => setTimeout(r, SETTLE_MS));
  await h.call('sync.status'); // the worker is up and Go ready before the clock starts
  const readyBefore = await h.readyAt();
  await relay.reset();
  const { ms, reply } = await bl.timedSend(h.page, 'sync.now', {}, SYNC_TIMEOUT_MS);
  const st = await relay.stats();
  const where = `${ctx.server} ${ctx.size} ${kind} run ${i + 1}`;
  if (!reply || !reply.ok) throw new Error(where + ': sync.now failed: ' + JSON.stringify(reply).slice(0, 1000));
  const r = reply.result;
  if (!r || r.skipped) throw new Error(where + ': sync.now did not run a cycle: ' + JSON.stringify(reply).slice(0, 1000));
  if (EXPECT[kind] && !EXPECT[kind](r)) throw new Error(where + ': the cycle did not do what a "' + kind + '" cycle does: ' + JSON.stringify(r).slice(0, 1000));
  if (r.conflicts) throw new Error(where + ': ' + r.conflicts + ' conflicts (the bench edits distinct accounts)');
  const entries = st.log || [];
  if (st.log_dropped || entries.length !== st.requests) throw new Error(where + ': the relay log is incomplete (' + entries.length + ' of ' + st.requests + ')');
  if (!entries.length) throw new Error(where + ': no request reached the relay');
  // Status 0: the relay saw no answer (reset, client gone); 502: the relay could
  // not reach the server. A server's own 4xx/5xx passes through as it is: the
  // cycle succeeded, so the extension handled it (it shows in the list).
  const bad = entries.filter((e) => !e.status || e.status === 502);
  if (bad.length) throw new Error(where + ': requests failed on the way: ' + JSON.stringify(bad));
  const warnings = [];
  if (kind === 'idle' && (r.uploaded || r.applied)) warnings.push(`${where}: an idle cycle ${r.uploaded ? 'uploaded' : ''}${r.applied ? ' applied' : ''}`);
  const readyAfter = await h.readyAt();
  const run = {
    ms, requests: st.requests,
    bytes_up: entries.reduce((s, e) => s + e.bytes_up, 0),
    bytes_down: entries.reduce((s, e) => s + e.bytes_down, 0),
    log: entries.map((e) => ({ ...e, path: e.path.startsWith(ctx.folder) ? e.path.slice(ctx.folder.length) || './' : e.path })),
    // The protocol spells them bytesUp/bytesDown (bytes_up/bytes_down before it was typed).
    ext: { requests: r.requests, bytes_up: r.bytesUp ?? r.bytes_up, bytes_down: r.bytesDown ?? r.bytes_down },
    uploaded: !!r.uploaded, applied: !!r.applied, rounds: r.rounds,
    timings: r.timings && typeof r.timings === 'object' ? r.timings : null,
    timing_counts: r.timingCounts && typeof r.timingCounts === 'object' ? r.timingCounts : null,
    worker_restarted: readyBefore !== readyAfter,
    warnings,
  };
  log(`${where}: ${bl.fmtMs(ms)}, ${run.requests} req, ${bl.fmtBytes(run.bytes_up)} up, ${bl.fmtBytes(run.bytes_down)} down: ${bl.requestList(entries)}`);
  return run;
}

function summarize(ctx, kind, runs) {
  const times = runs.map((r) => r.ms);
  const lists = runs.map((r) => bl.requestList(r.log));
  const shown = runs[runs.length - 1];
  let timings = null;
  const phases = [...new Set(runs.flatMap((r) => (r.timings ? Object.keys(r.timings) : [])))];
  if (phases.length) timings = Object.fromEntries(phases.map((p) => [p, bl.median(runs.map((r) => Number(r.timings && r.timings[p])).filter((v) => !Number.isNaN(v)))]));
  // How many storage calls, requests, broadcasts ... each phase's time is made of.
  const counted = [...new Set(runs.flatMap((r) => (r.timing_counts ? Object.keys(r.timing_counts) : [])))];
  const timingCounts = counted.length ? Object.fromEntries(counted.map((p) => [p, bl.median(runs.map((r) => Number((r.timing_counts && r.timing_counts[p]) || 0)))])) : null;
  return {
    server: ctx.server, size: ctx.size, kind, runs: runs.length,
    requests: bl.median(runs.map((r) => r.requests)),
    bytes_up: bl.median(runs.map((r) => r.bytes_up)),
    bytes_down: bl.median(runs.map((r) => r.bytes_down)),
    time_ms: {
      median: bl.median(times), min: Math.min(...times), max: Math.max(...times),
      p10: bl.quantile(times, 0.1), p90: bl.quantile(times, 0.9),
    },
    request_list: lists[lists.length - 1],
    request_lists: [...new Set(lists)],
    request_log: shown.log,
    ext: Object.fromEntries(['requests', 'bytes_up', 'bytes_down'].map((k) => {
      const v = runs.map((r) => r.ext[k]).filter((x) => typeof x === 'number');
      return [k, v.length ? bl.median(v) : null]; // null: the result does not say
    })),
    timings,
    timing_counts: timingCounts,
    worker_restarts: runs.filter((r) => r.worker_restarted).length,
    warnings: runs.flatMap((r) => r.warnings),
    all_runs: runs,
  };
}

async function memory(h) {
  return bl.workerMemory(h.b, h.page);
}

/** Every kind at one size against one server; returns {rows, memory}. */
async function benchSize(ext, server, relay, size, N, runId) {
  const davPath = new URL(server.url).pathname.replace(/\/?$/, '/');
  const origin = new URL(server.url).origin;
  const t0 = Date.now();
  const doc = bl.exportDoc(size, t0);
  const acct = (i) => bl.account(i, t0);
  log(`${server.name} ${size}: export document ${bl.fmtBytes(doc.length)}, ${N} runs per kind`);
  const runs = Object.fromEntries(KINDS.map((k) => [k, []]));
  const mem = { server: server.name, size };
  let A;
  let B;
  let ctx;
  let floor = null;
  try {
    // first: a fresh profile per run, each against its own empty folder; the last one stays as A.
    for (let i = 0; i < N; i++) {
      const folder = `${davPath}cyclebench-${runId}-${size}-${i}/`;
      ctx = { server: server.name, size, folder };
      await bl.mkcol(server, origin + folder);
      const h = await browser(ext.dir);
      await configure(h, server, relay.url + folder);
      const { reply } = await h.call('data.import', { json: doc, mode: 'replace', dryRun: false });
      if (!reply.result) throw new Error('data.import: ' + JSON.stringify(reply).slice(0, 500));
      if (i === N - 1) mem.after_import = await memory(h);
      runs.first.push(await measure(h, relay, ctx, 'first', i));
      if (i < N - 1) await h.close();
      else A = h;
    }
    mem.after_first = await memory(A);

    // The second profile: the same folder straight on the server (not through the relay).
    B = await browser(ext.dir);
    await configure(B, server, origin + ctx.folder);
    const got = await syncOK(B, 'second profile, first sync');
    if (!got.applied) throw new Error('the second profile did not take the accounts: ' + JSON.stringify(got).slice(0, 500));

    for (let i = 0; i < N; i++) runs.idle.push(await measure(A, relay, ctx, 'idle', i));
    floor = await measureFloor(A, relay, server, ctx, runs.idle[runs.idle.length - 1], N);
    for (let i = 0; i < N; i++) {
      await edit(A, acct(1 + i), `edited here, run ${i + 1}`);
      runs.edit.push(await measure(A, relay, ctx, 'edit', i));
    }
    for (let i = 0; i < N; i++) {
      await edit(B, acct(size - 1 - i), `edited on the other device, run ${i + 1}`);
      if (!(await syncOK(B, 'second profile, remote edit')).uploaded) throw new Error('the second profile did not upload its edit');
      runs.remote.push(await measure(A, relay, ctx, 'remote', i));
    }
    for (let i = 0; i < N; i++) {
      await edit(B, acct(size - 1 - N - i), `both: edited on the other device, run ${i + 1}`);
      if (!(await syncOK(B, 'second profile, both')).uploaded) throw new Error('the second profile did not upload its edit');
      await edit(A, acct(1 + N + i), `both: edited here, run ${i + 1}`);
      runs.both.push(await measure(A, relay, ctx, 'both', i));
    }
    mem.after_all = await memory(A);
  } finally {
    if (A) await A.close();
    if (B) await B.close();
  }
  const rows = KINDS.map((k) => summarize(ctx, k, runs[k]));
  rows.find((r) => r.kind === 'idle').floor = floor;
  return { rows, memory: mem, doc_bytes: doc.length };
}

/**
 * The floor under an idle cycle, measured in the same browser right after
 * the idle runs and under the same conditions (the same pause before
 * each): a message from the page that Go answers from memory
 * (sync.status) and, timed inside the worker, the browser's own fetch of
 * the idle cycle's request (the same URL and ETag through the relay, with
 * the options davsync sends: no cache, no cookies, no redirects). An idle
 * cycle cannot be faster than their sum; what it takes beyond it is
 * davsync's (Go's work, the one storage write of the outcome).
 */
async function measureFloor(h, relay, server, ctx, idleRun, N) {
  const get = idleRun.log.find((e) => e.method === 'GET');
  if (!get) return null;
  const url = relay.url + ctx.folder + get.path;
  const direct = new URL(server.url).origin + ctx.folder + get.path;
  const head = await bl.dav(server, 'HEAD', direct);
  const etag = head.headers.get('etag');
  if (!etag) return null;
  const message = [];
  const fetchMs = [];
  for (let i = 0; i < N; i++) {
    if (SETTLE_MS) await new Promise((r) => setTimeout(r, SETTLE_MS));
    message.push((await bl.timedSend(h.page, 'sync.status', {})).ms);
    if (SETTLE_MS) await new Promise((r) => setTimeout(r, SETTLE_MS));
    const r = await h.b.worker().evaluate(async ([u, auth, tag]) => {
      const t0 = performance.now();
      const res = await fetch(u, { headers: { Authorization: auth, 'If-None-Match': tag }, cache: 'no-store', credentials: 'omit', redirect: 'manual' });
      await res.arrayBuffer();
      return { ms: performance.now() - t0, status: res.status };
    }, [url, 'Basic ' + Buffer.from(server.user + ':' + server.pass).toString('base64'), etag]);
    if (r.status !== 304) throw new Error(`floor: the bare fetch of ${get.path} answered ${r.status}, not 304`);
    fetchMs.push(r.ms);
  }
  const out = { message_ms: bl.median(message), fetch_ms: bl.median(fetchMs) };
  out.sum_ms = out.message_ms + out.fetch_ms;
  log(`${ctx.server} ${ctx.size} floor: message ${bl.fmtMs(out.message_ms)}, bare GET 304 ${bl.fmtMs(out.fetch_ms)}`);
  return out;
}

// "kvGet 3.1 ms ×4": a phase's median time and, when the extension counts
// them, how many calls it took.
function fmtTimings(t, counts) {
  if (!t) return '-';
  return Object.entries(t).map(([k, v]) => `${k} ${bl.fmtMs(v)}` + (counts && counts[k] ? ` ×${counts[k]}` : '')).join(', ');
}

/**
 * The goals for the cycle, each with what this run measured and
 * whether it is met (the worker's cold start is bench-extension's). A
 * goal on a size or server this run did not measure is left out.
 */
function goals(rows) {
  const row = (server, size, kind) => rows.find((r) => r.server === server && r.size === size && r.kind === kind);
  const out = ['', 'Goals (issue 16), from this run:'];
  const say = (ok, text) => out.push(`  ${ok ? 'met    ' : 'NOT MET'}  ${text}`);
  const servers = [...new Set(rows.map((r) => r.server))];
  for (const srv of servers) {
    const idle = row(srv, 10000, 'idle');
    if (idle) {
      const ms = idle.time_ms.median;
      let text = `${srv}: idle cycle at 10k <= 15 ms: ${bl.fmtMs(ms)}`;
      if (idle.floor) {
        text += ` (floor ${bl.fmtMs(idle.floor.sum_ms)}: message ${bl.fmtMs(idle.floor.message_ms)} + the browser's bare GET 304 ${bl.fmtMs(idle.floor.fetch_ms)}; davsync adds ${bl.fmtMs(ms - idle.floor.sum_ms)})`;
        if (ms > 15 && idle.floor.sum_ms > 15) text += '; below 15 ms is not possible on this machine: the floor alone is over it';
      }
      say(ms <= 15, text);
    }
    const e100 = row(srv, 100, 'edit');
    if (e100) say(e100.time_ms.median <= 100, `${srv}: edit cycle at 100 accounts <= 100 ms (the peer: 179 ms): ${bl.fmtMs(e100.time_ms.median)}`);
    const e10k = row(srv, 10000, 'edit');
    if (e10k) {
      // A server that ignores If-Match (nginx) leaves no proof of a write
      // but reading it back: the goal's 2 kB down is for the others.
      const readBack = e10k.request_log.some((e, i) => e.method === 'GET' && e.status === 200 && e10k.request_log.slice(0, i).some((p) => p.method === 'PUT'));
      say(e10k.time_ms.median < 300, `${srv}: edit cycle at 10k < 300 ms: ${bl.fmtMs(e10k.time_ms.median)}` +
        (readBack ? ` (the server ignores If-Match, so the write is read back: ${bl.fmtBytes(e10k.bytes_down)} down)` : ''));
    }
    for (const first of rows.filter((r) => r.server === srv && r.kind === 'first')) {
      const bodies = first.request_log.filter((e) => e.method === 'PUT' && /davsync\.json(\.gz)?$/.test(e.path)).length;
      say(first.requests <= 5 && bodies === 1, `${srv}: first sync at ${bl.fmtCount(first.size)}: at most 5 requests, the body sent once: ${first.requests} requests, ${bodies} PUT of the sync file`);
    }
    // Under 2 kB down where the write is proven without reading it back.
    if (e10k && !e10k.request_log.some((e) => e.method === 'GET' && e.status === 200)) say(e10k.bytes_down < 2000, `${srv}: edit at 10k under 2 kB down (the write proven by one PROPFIND): ${bl.fmtBytes(e10k.bytes_down)}`);
  }
  return out;
}

function report(cfg, rows, mems, docBytes) {
  const servers = [...new Set(rows.map((r) => r.server))];
  const lines = [];
  lines.push('Browser sync cycle: davsync in headless Chromium -> counting relay (scripts/faultproxy) -> real server.');
  lines.push('req/up/down: counted by the relay (bodies). time: sync.now round trip from the popup page, median (min–max) of the runs.');
  lines.push('Accounts imported with data.import; compression on, encryption off. Runs per size: ' + cfg.sizes.map((n) => `${bl.fmtCount(n)}×${cfg.runs[n]}`).join(', ') + '.' +
    (SETTLE_MS ? ` ${SETTLE_MS} ms pause before each measured cycle.` : ''));
  lines.push('Export document: ' + cfg.sizes.map((n) => `${bl.fmtCount(n)} accounts ${bl.fmtBytes(docBytes[n])}`).join(', ') + '.');
  for (const srv of servers) {
    lines.push('');
    lines.push(`== ${srv} ==`);
    const body = rows.filter((r) => r.server === srv).map((r) => [
      bl.fmtCount(r.size), r.kind, String(r.requests), bl.fmtBytes(r.bytes_up), bl.fmtBytes(r.bytes_down),
      `${bl.fmtMs(r.time_ms.median)} (${bl.fmtMs(r.time_ms.min)}–${bl.fmtMs(r.time_ms.max)})`,
      r.request_list + (r.request_lists.length > 1 ? ' *' : ''),
      fmtTimings(r.timings, r.timing_counts),
    ]);
    lines.push(bl.table(['accounts', 'kind', 'req', 'up', 'down', 'time median (min–max)', 'requests (last run)', 'breakdown'], body, new Set([0, 2, 3, 4])));
  }
  const floors = rows.filter((r) => r.floor);
  if (floors.length) {
    lines.push('');
    lines.push('The floor under an idle cycle, measured in the same run (medians): a page message Go answers from memory');
    lines.push('(sync.status) plus the browser\'s own fetch of the same conditional GET, timed in the worker; an idle');
    lines.push('cycle cannot be faster than their sum, and what it takes beyond it is davsync\'s own work.');
    lines.push(bl.table(['server', 'accounts', 'idle cycle', 'message', 'bare GET 304', 'floor', 'davsync beyond the floor'],
      floors.map((r) => [r.server, bl.fmtCount(r.size), bl.fmtMs(r.time_ms.median), bl.fmtMs(r.floor.message_ms), bl.fmtMs(r.floor.fetch_ms),
        bl.fmtMs(r.floor.sum_ms), bl.fmtMs(r.time_ms.median - r.floor.sum_ms)]), new Set([1, 2, 3, 4, 5, 6])));
  }
  lines.push(...goals(rows));
  const varied = rows.filter((r) => r.request_lists.length > 1);
  if (varied.length) {
    lines.push('');
    lines.push('* the runs did not all make the same requests:');
    for (const r of varied) lines.push(`  ${r.server} ${bl.fmtCount(r.size)} ${r.kind}: ${r.request_lists.join('  |  ')}`);
  }
  const differs = (a, b) => a !== null && a !== b;
  const mismatch = rows.filter((r) => differs(r.ext.requests, r.requests) || differs(r.ext.bytes_up, r.bytes_up) || differs(r.ext.bytes_down, r.bytes_down));
  if (mismatch.length) {
    lines.push('');
    lines.push('The extension\'s own counters (sync.now result) differ from the relay\'s (req / up / down, extension vs relay):');
    for (const r of mismatch) {
      lines.push(`  ${r.server} ${bl.fmtCount(r.size)} ${r.kind}: ${r.ext.requests} vs ${r.requests} / ${r.ext.bytes_up} vs ${r.bytes_up} / ${r.ext.bytes_down} vs ${r.bytes_down}`);
    }
  } else {
    const said = ['requests', 'bytes_up', 'bytes_down'].filter((k) => rows.every((r) => r.ext[k] !== null));
    lines.push('');
    lines.push('The extension\'s own counters (sync.now result: ' + (said.join(', ') || 'none') + ') agree with the relay\'s in every row.');
  }
  // The request log of one run per kind, at the largest size, first server.
  const big = Math.max(...cfg.sizes);
  lines.push('');
  lines.push(`Requests of one run (${servers[0]}, ${bl.fmtCount(big)} accounts; at = arrival at the relay after the cycle's start,`);
  lines.push('paths relative to the sync folder, the time the server took):');
  for (const r of rows.filter((x) => x.server === servers[0] && x.size === big)) {
    lines.push(`  ${r.kind} (cycle ${bl.fmtMs(r.all_runs[r.all_runs.length - 1].ms)}):`);
    for (const e of r.request_log) {
      lines.push(`    at ${bl.fmtMs(e.at_ms).padStart(8)}  ${e.method.padEnd(8)} ${String(e.status).padEnd(4)} ${e.path.padEnd(26)} up ${bl.fmtBytes(e.bytes_up).padStart(8)}  down ${bl.fmtBytes(e.bytes_down).padStart(8)}  ${bl.fmtMs(e.duration_ms).padStart(8)}`);
    }
  }
  const restarts = rows.filter((r) => r.worker_restarts);
  if (restarts.length) {
    lines.push('');
    lines.push('The worker restarted during: ' + restarts.map((r) => `${r.server} ${bl.fmtCount(r.size)} ${r.kind} (${r.worker_restarts}×)`).join(', '));
  }
  const warnings = rows.flatMap((r) => r.warnings);
  if (warnings.length) {
    lines.push('');
    for (const w of warnings) lines.push('WARNING: ' + w);
  }
  lines.push('');
  const kinds = new Set(mems.flatMap((m) => [m.after_import, m.after_first, m.after_all]).map((x) => x.kind));
  lines.push('Worker memory, profile A: ' + (kinds.has('wasm')
    ? 'Go wasm linear memory (WebAssembly.Memory buffer size, read in the worker; it only grows, so it is the high-water mark)'
    : 'JS heap used (CDP Runtime.getHeapUsage on the worker target): the wasm memory was not found') + '; JS heap used in brackets.');
  const jh = (m) => (m.jsHeap ? ` [${bl.fmtBytes(m.jsHeap.used)}]` : '');
  lines.push(bl.table(['server', 'accounts', 'after import', 'after first sync', 'after all cycles'],
    mems.map((m) => [m.server, bl.fmtCount(m.size), ...[m.after_import, m.after_first, m.after_all].map((x) => bl.fmtBytes(x.bytes) + (x.kind === 'wasm' ? '' : ' (JS heap)') + jh(x))]),
    new Set([1])));
  lines.push('');
  lines.push('Anchor: All API Hub (the peer), measured side by side earlier on Apache, medians of 3:');
  lines.push(bl.table(['accounts', 'kind', 'req', 'up', 'down', 'time'], ANCHOR.map((a) => [bl.fmtCount(a.size), a.kind, String(a.requests), a.up, a.down, a.time]), new Set([0, 2, 3, 4, 5])));
  return lines.join('\n');
}

(async () => {
  const cfg = config();
  fs.mkdirSync(WORK, { recursive: true });
  fs.mkdirSync(OUT, { recursive: true });
  const servers = bl.readServers(cfg.servers);
  const ext = bl.buildBenchExtension(path.join(WORK, 'ext'));
  if (!ext.shim) log('the worker is a module: memory falls back to the JS heap');
  const runId = Date.now().toString(36);
  const rows = [];
  const mems = [];
  const docBytes = {};
  const relays = [];
  try {
    for (const server of servers) {
      const relay = await bl.startRelay(new URL(server.url).origin);
      relays.push(relay);
      log(`${server.name}: ${server.url} through the relay ${relay.url}`);
      for (const size of cfg.sizes) {
        const r = await benchSize(ext, server, relay, size, cfg.runs[size], runId);
        rows.push(...r.rows);
        mems.push(r.memory);
        docBytes[size] = r.doc_bytes;
      }
      await relay.stop();
    }
  } finally {
    for (const h of [...profiles]) await h.close().catch(() => {});
    for (const r of relays) await r.stop().catch(() => {});
  }
  const text = report(cfg, rows, mems, docBytes);
  let chromium = '';
  try { chromium = execFileSync(CHROMIUM, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim(); } catch (e) { chromium = 'unknown'; }
  const out = {
    generated_at: new Date().toISOString(), chromium, node: process.version,
    config: cfg, servers: servers.map((s) => s.name), export_bytes: docBytes,
    memory_measured: mems.length && mems[0].after_all.kind === 'wasm' ? 'wasm linear memory (WebAssembly.Memory buffer)' : 'JS heap (Runtime.getHeapUsage)',
    results: rows, memory: mems, anchor_all_api_hub_apache: ANCHOR,
  };
  fs.writeFileSync(path.join(OUT, 'cycle.json'), JSON.stringify(out, null, 1));
  fs.writeFileSync(path.join(OUT, 'cycle.svg'), bl.plotSVG(rows, { sizes: cfg.sizes, kinds: KINDS, servers: out.servers }));
  console.log(text);
  console.log('\nwrote ' + path.relative(ROOT, path.join(OUT, 'cycle.json')) + ' and ' + path.relative(ROOT, path.join(OUT, 'cycle.svg')));
})().catch((e) => {
  console.error('cyclebench FAILED:', e && e.stack || e);
  process.exit(1);
});
