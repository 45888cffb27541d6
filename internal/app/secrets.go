package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"

	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/limits"
	"github.com/davsync/davsync/internal/msg"
)

// The session secrets: a remote's passphrase lives in the session store
// (gone when the browser closes), and the key derived from it is cached,
// for the session and, when the user asked to remember encryption on this
// device, in the persistent store. A cached key is bound by itself to one
// file's salt and iteration count, and labelled with a keyed hash of its
// passphrase (never the passphrase): a file re-keyed on another device
// (a new passphrase, a new salt) cannot be opened with it, and without the
// passphrase at hand davsync asks for it.

// keyEntry is a derived key in memory and the label of its passphrase.
type keyEntry struct {
	key   *envelope.Key
	label string
}

// cachedBlob is what the key caches keep.
type cachedBlob struct {
	Label string `json:"label"`
	Key   []byte `json:"key"`
}

// passLabel names a passphrase without revealing it: an HMAC keyed with
// the device's random salt, so a stolen cache label cannot be checked
// against guesses made on another machine, nor matched across devices.
func (a *App) passLabel(ctx context.Context, p string) string {
	if p == "" {
		return ""
	}
	salt, _ := a.salt(ctx)
	h := hmac.New(sha256.New, salt)
	h.Write([]byte("davsync-passphrase\x00" + p))
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// cachedKey returns remote r's derived key for its passphrase, from memory
// or the caches. With no passphrase at hand (a remembered key after the
// browser restarted) the cached key is used as it is; with one, only a key
// labelled for that passphrase.
func (a *App) cachedKey(ctx context.Context, r Remote) *envelope.Key {
	label := a.passLabel(ctx, r.Encryption.Passphrase)
	a.mu.Lock()
	ke, ok := a.keys[r.ID]
	a.mu.Unlock()
	if !ok {
		if blob := a.loadKey(ctx, r); blob != nil {
			var c cachedBlob
			if json.Unmarshal(blob, &c) == nil {
				if k, err := envelope.ImportKey(c.Key); err == nil {
					ke, ok = keyEntry{key: k, label: c.Label}, true
					a.mu.Lock()
					a.keys[r.ID] = ke
					a.mu.Unlock()
				}
			}
		}
	}
	if ok && (ke.label == label || r.Encryption.Passphrase == "") {
		return ke.key
	}
	return nil
}

func (a *App) loadKey(ctx context.Context, r Remote) []byte {
	if m, err := a.cfg.SessionKV.Get(ctx, sessionKey+r.ID); err == nil && m[sessionKey+r.ID] != nil {
		return m[sessionKey+r.ID]
	}
	if !r.Encryption.Remember {
		return nil
	}
	m, err := a.cfg.KV.Get(ctx, rememberedKey+r.ID)
	if err != nil {
		return nil
	}
	return m[rememberedKey+r.ID]
}

// setKey caches k for remote r's passphrase: in memory, for the session,
// and on the device when encryption is remembered there.
func (a *App) setKey(ctx context.Context, r Remote, k *envelope.Key) {
	label := a.passLabel(ctx, r.Encryption.Passphrase)
	a.mu.Lock()
	old := a.keys[r.ID]
	a.keys[r.ID] = keyEntry{key: k, label: label}
	a.mu.Unlock()
	if (old.key == k && old.label == label) || r.Encryption.Passphrase == "" {
		return
	}
	blob := mustJSON(cachedBlob{Label: label, Key: k.Export()})
	_ = a.cfg.SessionKV.Set(ctx, map[string][]byte{sessionKey + r.ID: blob})
	if r.Encryption.Remember {
		_ = a.cfg.KV.Set(ctx, map[string][]byte{rememberedKey + r.ID: blob})
	}
}

// forgetKey drops remote id's key from memory (the passphrase changed);
// the caches are the caller's to clear.
func (a *App) forgetKey(id string) {
	a.mu.Lock()
	delete(a.keys, id)
	a.mu.Unlock()
}

// failedKDF remembers the key-derivation header that the passphrase did not
// open, so automatic cycles do not derive again for the same file and
// passphrase: a forged header asking for the most iterations davsync
// accepts costs one derivation, not one per cycle.
type failedKDF struct {
	Header string `json:"header"` // hash of the salt and iteration count
	Label  string `json:"label"`  // passLabel of the passphrase that failed
}

func kdfHeader(p envelope.Params) string {
	h := sha256.Sum256(append(append([]byte(nil), p.Salt...), []byte(strconv.Itoa(p.Iterations))...))
	return hex.EncodeToString(h[:12])
}

// remoteKeys opens and seals remote r's files (cycle.Keys).
type remoteKeys struct {
	a *App
	r Remote
}

// Unwrap opens a sync file or snapshot with the remote's passphrase or its
// cached key. An automatic cycle (auto) does not derive a key for a header
// the same passphrase already failed to open.
func (k *remoteKeys) Unwrap(ctx context.Context, data []byte, auto bool) (*envelope.Unwrapped, error) {
	a, r := k.a, k.r
	cached := a.cachedKey(ctx, r)
	pass := r.Encryption.Passphrase
	var header string
	if envelope.IsEncrypted(data) && (cached == nil || !cached.Fits(data)) && pass != "" {
		if p, err := envelope.ReadParams(data); err == nil {
			header = kdfHeader(p)
			var f failedKDF
			if ok, _ := a.readState(ctx, stateKey(r.ID, itemKDF), &f); auto && ok && f.Header == header && f.Label == a.passLabel(ctx, pass) {
				return nil, errkind.Say(errkind.Decrypt, "decrypt", msg.New("errPassphraseFailedBefore"))
			}
		}
	}
	u, err := envelope.Unwrap(data, pass, cached, a.cfg.KDF, limits.Document)
	if err != nil {
		if errkind.Of(err) == errkind.Decrypt && header != "" {
			_ = a.writeState(ctx, stateKey(r.ID, itemKDF), failedKDF{Header: header, Label: a.passLabel(ctx, pass)})
		}
		return nil, err
	}
	if u.Key != nil {
		a.setKey(ctx, r, u.Key)
	}
	return u, nil
}

// SealKey returns the key to encrypt an upload with: the one that opened
// the remote (same salt, so every device stays on one cached key), or a new
// one when the passphrase is new.
func (k *remoteKeys) SealKey(ctx context.Context) (*envelope.Key, error) {
	if key := k.a.cachedKey(ctx, k.r); key != nil {
		return key, nil
	}
	if k.r.Encryption.Passphrase == "" {
		return nil, errkind.Say(errkind.PassphraseNeeded, "encrypt", msg.New("errNoPassphraseAvailable"))
	}
	key, err := envelope.NewKey(k.r.Encryption.Passphrase, k.a.cfg.KDF, k.a.cfg.KeyOptions)
	if err != nil {
		return nil, err
	}
	k.a.setKey(ctx, k.r, key)
	return key, nil
}

// migratePassphrase removes a passphrase an older version stored on disk
// once a key derived from it is remembered in its place (removing it sooner
// would lose it at the next browser restart). It runs after each sync
// operation.
func (a *App) migratePassphrase(ctx context.Context) {
	m, err := a.cfg.KV.Get(ctx, keySettings)
	if err != nil {
		return
	}
	var stored Settings
	if json.Unmarshal(m[keySettings], &stored) != nil || stored.Version < SettingsVersion {
		return
	}
	changed := false
	for i, r := range stored.Remotes {
		p := r.Encryption.Passphrase
		if p == "" || !r.Encryption.Remember {
			continue
		}
		rm, err := a.cfg.KV.Get(ctx, rememberedKey+r.ID)
		if err != nil || rm[rememberedKey+r.ID] == nil {
			continue
		}
		var c cachedBlob
		if json.Unmarshal(rm[rememberedKey+r.ID], &c) != nil || c.Label != a.passLabel(ctx, p) {
			continue
		}
		_ = a.cfg.SessionKV.Set(ctx, map[string][]byte{sessionPassphrase + r.ID: []byte(p)})
		stored.Remotes[i].Encryption.Passphrase = ""
		changed = true
	}
	if changed {
		if b, err := json.Marshal(stored); err == nil {
			_ = a.cfg.KV.Set(ctx, map[string][]byte{keySettings: b})
		}
	}
}
