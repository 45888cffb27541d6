package app

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/msg"
)

// Where settings and secrets live. Persisted format: never rename one.
const (
	// keySettings holds Settings (chrome.storage.local).
	keySettings = "davsync.settings"
	// sessionPassphrase + id: a remote's passphrase, for the browser
	// session only (chrome.storage.session).
	sessionPassphrase = "davsync.session.passphrase."
	// sessionKey + id: the key derived from it, for the session.
	sessionKey = "davsync.session.key."
	// rememberedKey + id: the derived key kept on the device when the user
	// asked to remember encryption there (never the passphrase).
	rememberedKey = "davsync.key."
)

// Settings returns the stored settings, each remote's passphrase filled in
// from the session store and marked set when a derived key is cached.
func (a *App) Settings(ctx context.Context) (Settings, error) {
	if _, err := a.Store(ctx); err != nil { // migrates an older profile first
		return Settings{}, err
	}
	m, err := a.cfg.KV.Get(ctx, keySettings)
	if err != nil {
		return Settings{}, errkind.SayWrap(errkind.Storage, "read settings", msg.New("errReadSettings"), err)
	}
	s, _, err := migrateSettings(m[keySettings])
	if err != nil {
		return Settings{Version: SettingsVersion, Notify: true, NextID: 1}, errkind.SayWrap(errkind.Storage, "read settings", msg.New("errSettingsDamaged"), err)
	}
	keys := make([]string, 0, 2*len(s.Remotes))
	for _, r := range s.Remotes {
		keys = append(keys, sessionPassphrase+r.ID, sessionKey+r.ID)
	}
	sm, serr := a.cfg.SessionKV.Get(ctx, keys...)
	var remembered map[string][]byte
	for _, r := range s.Remotes {
		if r.Encryption.Remember {
			if remembered, err = a.cfg.KV.Get(ctx, rememberedKeys(s)...); err != nil {
				return s, errkind.SayWrap(errkind.Storage, "read settings", msg.New("errReadSettings"), err)
			}
			break
		}
	}
	for i := range s.Remotes {
		r := &s.Remotes[i]
		if a.cfg.Secrets != nil {
			r.Password, r.Encryption.Passphrase = a.cfg.Secrets(r.ID)
		}
		// A passphrase on disk was written by davsync 0.1 (remembered); it
		// is used until migratePassphrase has a derived key in its place.
		if serr == nil {
			if p := string(sm[sessionPassphrase+r.ID]); p != "" {
				r.Encryption.Passphrase = p
			}
		}
		r.Encryption.PassphraseSet = (serr == nil && sm[sessionKey+r.ID] != nil) ||
			(r.Encryption.Remember && remembered[rememberedKey+r.ID] != nil)
		r.PasswordSet, r.Insecure, r.AllowInsecure = false, false, false
	}
	return s, nil
}

func rememberedKeys(s Settings) []string {
	out := make([]string, 0, len(s.Remotes))
	for _, r := range s.Remotes {
		out = append(out, rememberedKey+r.ID)
	}
	return out
}

// saveSettings stores s over old. Passphrases go to the session store
// only; the persistent copy never holds one. A remote whose passphrase
// changed (or whose encryption went off) drops its cached keys: a key from
// the old passphrase must not seal the next upload after a restart.
// Forgetting on this device (Remember off) drops the remembered key. It
// cannot lose an edit: callers merge the page's members over the settings
// read just before, and the result is one KV.Set of one key, so a worker
// stopped mid-save leaves the old or the new settings, never a mix; account
// data lives under other keys that this write never touches.
func (a *App) saveSettings(ctx context.Context, s, old Settings) error {
	const op = "settings.save"
	persist := s
	persist.Version = SettingsVersion
	persist.Remotes = make([]Remote, len(s.Remotes))
	session := map[string][]byte{}
	var dropSession, dropRemembered []string
	for i, r := range s.Remotes {
		prev, _ := old.Remote(r.ID)
		if r.Encryption.Passphrase != "" {
			session[sessionPassphrase+r.ID] = []byte(r.Encryption.Passphrase)
		}
		newKey := !r.Encryption.Enabled || (r.Encryption.Passphrase != "" && r.Encryption.Passphrase != prev.Encryption.Passphrase)
		if newKey {
			dropSession = append(dropSession, sessionKey+r.ID)
			a.forgetKey(r.ID)
		}
		if newKey || !r.Encryption.Remember {
			dropRemembered = append(dropRemembered, rememberedKey+r.ID)
		}
		r.Encryption.Passphrase, r.Encryption.PassphraseSet = "", false
		r.PasswordSet, r.Insecure, r.AllowInsecure = false, false, false
		if a.cfg.Secrets != nil {
			r.Password = ""
		}
		persist.Remotes[i] = r
	}
	if len(dropSession) > 0 {
		if err := a.cfg.SessionKV.Delete(ctx, dropSession...); err != nil {
			return errkind.SayWrap(errkind.Storage, op, msg.New("errSessionStorage"), err)
		}
	}
	if len(session) > 0 {
		if err := a.cfg.SessionKV.Set(ctx, session); err != nil {
			return errkind.SayWrap(errkind.Storage, op, msg.New("errKeepPassphrase"), err)
		}
	}
	if len(dropRemembered) > 0 {
		if err := a.cfg.KV.Delete(ctx, dropRemembered...); err != nil {
			return errkind.SayWrap(errkind.Storage, op, msg.New("errUpdateStorage"), err)
		}
	}
	b, err := json.Marshal(persist)
	if err != nil {
		return errkind.Internal(errkind.Unknown, op, "could not encode the settings", err)
	}
	if err := a.cfg.KV.Set(ctx, map[string][]byte{keySettings: b}); err != nil {
		return errkind.SayWrap(errkind.Storage, op, msg.New("errSaveSettings"), err)
	}
	return nil
}

// SaveRemote adds a remote (id "") or edits remote id with the members of
// raw (JSON; absent members keep their value). It validates the result as
// every operation does, and reschedules automatic syncs when the schedule
// changed. cleared says the stored password was dropped because the
// address moved to another server.
func (a *App) SaveRemote(ctx context.Context, id string, raw []byte) (saved Remote, cleared bool, err error) {
	s, err := a.Settings(ctx)
	if err != nil {
		return Remote{}, false, err
	}
	old := s
	old.Remotes = append([]Remote(nil), s.Remotes...)
	var cur Remote
	idx := -1
	if id == "" {
		if len(s.Remotes) >= maxRemotes {
			return Remote{}, false, errkind.Say(errkind.Invalid, "remotes.save", msg.New("errTooManyServers"))
		}
		cur = NewRemote()
		cur.ID = strconv.Itoa(s.NextID)
	} else {
		for i, r := range s.Remotes {
			if r.ID == id {
				cur, idx = r, i
			}
		}
		if idx < 0 {
			return Remote{}, false, errkind.Say(errkind.NotFound, "remotes.save", msg.New("errNoServer", strconv.Quote(id)))
		}
	}
	next, cleared, err := cur.Edit(raw)
	if err != nil {
		return Remote{}, false, err
	}
	if err := next.Validate(); err != nil {
		return Remote{}, false, err
	}
	if idx < 0 {
		s.Remotes = append(s.Remotes, next)
		s.NextID++
	} else {
		s.Remotes[idx] = next
	}
	if err := a.saveSettings(ctx, s, old); err != nil {
		return Remote{}, false, err
	}
	if idx < 0 || next.AutoSync != cur.AutoSync || next.IntervalMinutes != cur.IntervalMinutes || next.Enabled != cur.Enabled {
		_ = a.Reschedule(ctx, next.ID)
	}
	a.emitStatus(ctx)
	s, err = a.Settings(ctx)
	if err != nil {
		return Remote{}, false, err
	}
	saved, _ = s.Remote(next.ID)
	return saved.Public(), cleared, nil
}

// DeleteRemote removes remote id with its status, markers and secrets.
// The device's data and the server's file are left as they are.
func (a *App) DeleteRemote(ctx context.Context, id string) error {
	return a.locked(ctx, true, func() error {
		s, err := a.Settings(ctx)
		if err != nil {
			return err
		}
		old := s
		old.Remotes = append([]Remote(nil), s.Remotes...)
		kept := s.Remotes[:0]
		found := false
		for _, r := range s.Remotes {
			if r.ID == id {
				found = true
				continue
			}
			kept = append(kept, r)
		}
		if !found {
			return errkind.Say(errkind.NotFound, "remotes.delete", msg.New("errNoServer", strconv.Quote(id)))
		}
		s.Remotes = kept
		if err := a.saveSettings(ctx, s, old); err != nil {
			return err
		}
		_ = a.cfg.SessionKV.Delete(ctx, sessionPassphrase+id, sessionKey+id)
		_ = a.cfg.KV.Delete(ctx, rememberedKey+id)
		st, err := a.Store(ctx)
		if err != nil {
			return err
		}
		var drop []string
		for _, item := range []string{"marker", "base", itemStatus, itemTraits, itemKDF} {
			drop = append(drop, stateKey(id, item))
		}
		_ = st.DeleteState(ctx, drop...)
		a.mu.Lock()
		delete(a.clients, id)
		delete(a.keys, id)
		a.mu.Unlock()
		a.emitStatus(ctx)
		return nil
	})
}

// SetNotify switches notifications on or off for every remote.
func (a *App) SetNotify(ctx context.Context, on bool) error {
	s, err := a.Settings(ctx)
	if err != nil {
		return err
	}
	old := s
	s.Notify = on
	if err := a.saveSettings(ctx, s, old); err != nil {
		return err
	}
	a.emitStatus(ctx)
	return nil
}
