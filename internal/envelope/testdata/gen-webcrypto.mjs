// Regenerates the WebCrypto-made fixtures the Go tests read, so Go is checked
// against an independent implementation (the browser's):
//   node internal/envelope/testdata/gen-webcrypto.mjs
// Inputs are fixed (salt = bytes 0..15, nonce/iv = the bytes after), so the
// output is byte-for-byte reproducible.
import { webcrypto as wc } from "node:crypto";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const enc = new TextEncoder();
const b64 = (u8) => Buffer.from(u8).toString("base64");
const seq = (from, n) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

async function aesKey(pass, salt, iterations) {
  const base = await wc.subtle.importKey("raw", enc.encode(pass), "PBKDF2", false, ["deriveKey"]);
  return wc.subtle.deriveKey({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, base,
    { name: "AES-GCM", length: 256 }, false, ["encrypt"]);
}

// All API Hub's envelope: no additional data, ct = ciphertext||tag.
async function allAPIHub(plain, pass, iter, ivLen) {
  const salt = seq(0, 16), iv = seq(16, ivLen);
  const key = await aesKey(pass, salt, iter);
  const ct = new Uint8Array(await wc.subtle.encrypt({ name: "AES-GCM", iv }, key, enc.encode(plain)));
  return JSON.stringify({ type: "all-api-hub-webdav-backup-encrypted", v: 1, kdf: "PBKDF2", cipher: "AES-GCM",
    iter, salt: b64(salt), iv: b64(iv), ct: b64(ct) });
}

// davsync's envelope v1: the canonical header is the GCM additional data.
async function davsync(plain, pass, iter) {
  const salt = seq(0, 16), nonce = seq(16, 12);
  const key = await aesKey(pass, salt, iter);
  const head = `{"format":"davsync-encrypted","v":1,"kdf":{"name":"PBKDF2-SHA256","iter":${iter},"salt":"${b64(salt)}"},"cipher":"AES-256-GCM"`;
  const ct = new Uint8Array(await wc.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: enc.encode(head + "}") },
    key, enc.encode(plain)));
  return `${head},"nonce":"${b64(nonce)}","ct":"${b64(ct)}"}`;
}

const aahPlain = JSON.stringify({ version: "4.0", timestamp: 1760000000000,
  accounts: { accounts: [{ id: "a1", site_name: "Example", site_url: "https://api.example.com" }] } });
writeFileSync(join(here, "allapihub-webcrypto-iv12.json"), await allAPIHub(aahPlain, "correct horse battery staple", 1000, 12));
writeFileSync(join(here, "allapihub-webcrypto-iv16.json"), await allAPIHub(aahPlain, "correct horse battery staple", 1000, 16));
writeFileSync(join(here, "allapihub-plain.json"), aahPlain);
writeFileSync(join(here, "davsync-webcrypto.json"),
  await davsync('{"format":"davsync-backup","version":1,"note":"héllo ✓"}', "pässword 🔑", 100000));
