// Package envelope encrypts and compresses davsync's backup documents: the
// sync file on the WebDAV server and encrypted exports share one envelope,
// and it also opens the encrypted backups of All API Hub for import.
//
// # The davsync envelope, version 1
//
// An encrypted file in the text form is one compact JSON object, written in
// this key order:
//
//	{"format":"davsync-encrypted","v":1,
//	 "kdf":{"name":"PBKDF2-SHA256","iter":600000,"salt":"<base64, 16 bytes>"},
//	 "cipher":"AES-256-GCM","nonce":"<base64, 12 bytes>","ct":"<base64 ciphertext||tag>"}
//
// It is text (so an encrypted export can be pasted), and it says what it is,
// so readers detect it by content ([IsEncrypted]) and never by file name.
//
// # Two forms: text for exports, binary for the sync file
//
// Base64 makes the text form a third larger than the ciphertext, so an
// encrypted upload would be 4/3 of the compressed document; issue 4 wants
// uploads no larger than the compressed document. The sync file is never
// pasted, so [Wrap] (which makes it) writes the binary form with
// (*Key).SealBinary: the same header, then "ct_len" in place of "ct", one
// newline, and the raw ciphertext||tag:
//
//	{"format":"davsync-encrypted","v":1,"kdf":{...},"cipher":"AES-256-GCM",
//	 "nonce":"<base64, 12 bytes>","ct_len":N}\n<N bytes>
//
// (the header is one line in the file). It costs the header and the tag,
// under 300 bytes, over the plain bytes. [Seal] and (*Key).Seal keep writing
// the text form, which exports use. Both forms use the same key, nonce rule
// and additional data, so a ciphertext moves between them unchanged; every
// reader ([Open], [OpenCached], (*Key).Open, [Unwrap], [ReadParams],
// (*Key).Fits, [IsEncrypted]) accepts both. A file is in the binary form
// when its first line (within 1 KiB) is a JSON object that has "ct_len" or
// is followed by more than whitespace, which a text-form file never is. The
// header is validated exactly like the text form's; the body must be
// exactly ct_len bytes (cut short or appended to is errkind.BadDocument);
// changing a header value or a body byte fails the tag (errkind.Decrypt).
// Reading it copies nothing and decodes no base64, so it is also faster.
// The key is PBKDF2-HMAC-SHA256(passphrase as UTF-8, salt, iter) with 32
// bytes of output; the cipher is AES-256-GCM with a 16-byte tag.
//
// The header is authenticated: GCM's additional data is the canonical header
// {"format":"davsync-encrypted","v":1,"kdf":{...},"cipher":"AES-256-GCM"},
// rebuilt from the parsed values (salt re-encoded as standard base64). That
// is exactly the prefix Seal writes, closed with "}". Rebuilding it instead
// of slicing raw bytes means re-indenting the JSON does not break a file,
// while changing any header value (a lower iteration count, another salt,
// another version) makes decryption fail. Keys outside the format are
// refused, so nothing unauthenticated can ride along in a file.
//
// Reading refuses iteration counts outside [MinIterations, MaxIterations]
// before deriving anything, so a hostile file cannot make the worker spin.
// A newer version is errkind.NewerVersion; anything malformed is
// errkind.BadDocument; a failed tag check is errkind.Decrypt ("wrong
// passphrase or damaged file"); an empty passphrase on an encrypted file is
// errkind.PassphraseNeeded.
//
// # Cached keys (decided here; the issue was silent)
//
// Deriving a key costs 600,000 HMAC-SHA256 iterations, so the browser keeps
// the derived key for the session (chrome.storage.session, via Key.Export)
// instead of the passphrase. A [Key] is bound to one salt and iteration count:
//
//   - [Seal] (with a passphrase) derives a new key with a fresh random salt
//     every time, as the issue asks for one-off files such as exports.
//   - (*Key).Seal keeps the key's salt and iteration count and draws a fresh
//     random 96-bit nonce every call. GCM's security rests on never repeating
//     a (key, nonce) pair; random nonces keep that safe far beyond any
//     realistic number of uploads (2^32 per key), and re-salting each upload
//     would cost a full derivation (and the passphrase in memory) per cycle.
//   - [OpenCached] uses the cached key when the file's salt and iteration
//     count match it, and otherwise derives a key for the file's parameters
//     from the passphrase and returns that key for the caller to cache.
//     After a device opens a file written by another device it therefore
//     writes with the same salt, so all devices converge on one key and stay
//     on the cached path. A new salt appears only when a passphrase is set or
//     changed ([NewKey]); other devices then need the passphrase once.
//
// # Compression
//
// [Gzip] and [Gunzip] wrap compress/gzip; [IsGzip] detects the magic bytes.
// Compression happens before encryption (ciphertext does not compress), so a
// reader peels the envelope first and then gunzips by magic bytes:
// [Unwrap] and [Wrap] do both layers in the right order.
//
// # KDF implementations
//
// [KDF] is the one primitive that differs between platforms: [GoKDF] uses
// crypto/pbkdf2; the browser passes an implementation backed by WebCrypto
// (wasm/), which produces identical keys and therefore identical files.
//
// # All API Hub
//
// [OpenAllAPIHub] opens All API Hub's encrypted backup envelope
// ({type,v,kdf,cipher,iter,salt,iv,ct}: PBKDF2-SHA256 with the file's iter,
// AES-GCM with a 256-bit key, no additional data, ct = ciphertext||tag).
// Its writer uses a 16-byte salt and a 12-byte IV; any IV length GCM accepts
// (1 to MaxAllAPIHubIV bytes) is read. [SealAllAPIHub] writes that format and
// exists only to make test fixtures.
package envelope
