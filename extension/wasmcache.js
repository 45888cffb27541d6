// The Go module's bytes, kept in IndexedDB between starts of the worker.
//
// Chrome stops an idle worker after 30 s, and every start compiles the
// module again. Reading its ~7 MB from the extension package is most of
// that start: the extension URL loader delivers them in ~170 ms on the
// 2-core bench machine, where the same bytes kept as a Blob in IndexedDB
// read in ~30 ms (make bench-extension prints where the start goes). The
// first start after an install or update reads the package and keeps a
// copy under the module's hash (wasm-id.js, written by the build), so a new
// build never runs an old module; when IndexedDB fails, is slow to answer or
// holds bytes that do not compile, the package is read as before.
'use strict';

const MODULE_DB = 'davsync-module';
const MODULE_STORE = 'bytes';
// Longest wait for the copy before reading the package instead.
const MODULE_CACHE_WAIT_MS = 2000;

/**
 * @template T
 * @param {IDBRequest<T>} req
 * @returns {Promise<T>}
 */
function idbResult(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** @returns {Promise<IDBDatabase>} */
function openModuleDB() {
  const req = indexedDB.open(MODULE_DB, 1);
  req.onupgradeneeded = () => { req.result.createObjectStore(MODULE_STORE); };
  return idbResult(req);
}

/**
 * The copy kept under id, as bytes, or null.
 * @param {IDBDatabase} db
 * @param {string} id
 * @returns {Promise<ArrayBuffer | null>}
 */
async function readModuleCopy(db, id) {
  const blob = await idbResult(db.transaction(MODULE_STORE).objectStore(MODULE_STORE).get(id));
  return blob instanceof Blob ? blob.arrayBuffer() : null;
}

/**
 * Replaces whatever the store holds (an older build's bytes) with resp's
 * body under id.
 * @param {IDBDatabase} db
 * @param {string} id
 * @param {Response} resp
 */
async function keepModuleCopy(db, id, resp) {
  const blob = await resp.blob();
  const tx = db.transaction(MODULE_STORE, 'readwrite');
  const store = tx.objectStore(MODULE_STORE);
  store.clear();
  store.put(blob, id);
  await new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

/**
 * Compiles the module at url (an extension resource) whose build id is id:
 * from the IndexedDB copy when there is one, else from the package. After a
 * read of the package, keep() stores the copy for the next start (call it
 * once the module runs: storing 7 MB need not delay this start); it does
 * nothing after a read of the copy. Without an id the package is always read.
 * @param {string} url
 * @param {string | undefined} id
 * @returns {Promise<{module: WebAssembly.Module, source: 'cache' | 'package', keep: () => Promise<void>}>}
 */
async function compileModule(url, id) {
  /** @type {IDBDatabase | null} */
  let db = null;
  if (id) {
    try {
      const copy = await Promise.race([
        openModuleDB().then((d) => { db = d; return readModuleCopy(d, id); }),
        new Promise((resolve, reject) => setTimeout(() => reject(new Error('IndexedDB is slow')), MODULE_CACHE_WAIT_MS)),
      ]);
      if (copy) {
        const module = await WebAssembly.compile(copy);
        /** @type {IDBDatabase} */ (db).close();
        return { module, source: 'cache', keep: async () => {} };
      }
    } catch (e) {
      // No usable copy: the package's bytes replace it (keep).
    }
  }
  const d = db;
  const keep = async () => {
    if (!d) return;
    // Read again rather than tee the first read: a tee slows the start.
    try { await keepModuleCopy(d, /** @type {string} */ (id), await fetch(url)); } finally { d.close(); }
  };
  return { module: await WebAssembly.compileStreaming(fetch(url)), source: 'package', keep };
}
