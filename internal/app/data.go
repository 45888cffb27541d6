package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/limits"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/msg"
)

const accounts = "accounts"

// publicRecord strips the merge bookkeeping from a record for the pages:
// _field_times is the engine's business, and a page that echoed a stale copy
// back must not be able to change it.
func publicRecord(raw []byte) []byte {
	if !gjson.GetBytes(raw, backup.FieldFieldTimes).Exists() {
		return raw
	}
	out, err := sjson.DeleteBytes(raw, backup.FieldFieldTimes)
	if err != nil {
		return raw
	}
	return out
}

// Accounts returns every account as a JSON array of raw records (unknown
// fields kept), built by appending: no per-record re-encoding.
func (a *App) Accounts(ctx context.Context) (json.RawMessage, error) {
	doc, err := a.Doc(ctx)
	if err != nil {
		return nil, err
	}
	out := append(make([]byte, 0, 4096), '[')
	if c := doc.Collections[accounts]; c != nil {
		for i, r := range c.Records {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, publicRecord(r.Raw)...)
		}
	}
	return append(out, ']'), nil
}

// newID returns a random UUID (version 4).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// PutAccount creates (no id) or edits one account and returns it as stored.
// It cannot lose an edit: the change is applied inside Store.Update, which
// runs on the newest stored document under the store's lock and writes it
// in one KV call, and merge.Edit stamps only the fields that changed. With
// base (the account as the page showed it), only the fields the page
// changed relative to base are applied to the record as stored now: a
// field another page or a sync changed while the editor was open keeps
// that newer value instead of being reverted to what the page still showed.
func (a *App) PutAccount(ctx context.Context, account, base []byte) (json.RawMessage, error) {
	const op = "accounts.put"
	acc := gjson.ParseBytes(account)
	if !gjson.ValidBytes(account) || !acc.IsObject() {
		return nil, errkind.Internal(errkind.Invalid, op, "account must be a JSON object", nil)
	}
	var b gjson.Result
	if len(base) > 0 && string(base) != "null" {
		if b = gjson.ParseBytes(base); !gjson.ValidBytes(base) || !b.IsObject() {
			return nil, errkind.Internal(errkind.Invalid, op, "base must be the account as the page showed it (a JSON object)", nil)
		}
	}
	raw := []byte(acc.Raw)
	if len(raw) > limits.Record {
		return nil, errkind.Say(errkind.TooLarge, op, msg.New("errAccountTooLarge"))
	}
	var err error
	if raw, err = sjson.DeleteBytes(raw, backup.FieldFieldTimes); err != nil {
		return nil, errkind.Internal(errkind.Invalid, op, "bad account", err)
	}
	st, err := a.Store(ctx)
	if err != nil {
		return nil, err
	}
	now := st.Clock().Now()
	id := gjson.GetBytes(raw, backup.FieldID)
	if !id.Exists() || id.String() == "" {
		if raw, err = sjson.SetBytes(raw, backup.FieldID, newID()); err != nil {
			return nil, errkind.Internal(errkind.Invalid, op, "bad account", err)
		}
	} else if id.Type != gjson.String {
		return nil, errkind.Internal(errkind.Invalid, op, "the account id must be a string", nil)
	}
	if !gjson.GetBytes(raw, "created_at").Exists() {
		if raw, err = sjson.SetBytes(raw, "created_at", now); err != nil {
			return nil, errkind.Internal(errkind.Invalid, op, "bad account", err)
		}
	}
	if err := backup.ValidateAccount(raw); err != nil {
		return nil, errkind.Internal(errkind.Invalid, op, "the account is not valid: "+err.Error(), err)
	}
	var saved backup.Record
	_, err = st.Update(ctx, func(doc *backup.Document) error {
		if c := doc.Collections[accounts]; c != nil {
			if old, ok := c.Get(gjson.GetBytes(raw, backup.FieldID).String()); ok {
				if b.IsObject() {
					raw = merge.Overlay(old.Raw, raw, merge.Changed([]byte(b.Raw), raw))
				}
				// The stored record keeps its created_at: a page cannot
				// rewrite history.
				if ca := gjson.GetBytes(old.Raw, "created_at"); ca.Exists() {
					raw, _ = sjson.SetRawBytes(raw, "created_at", []byte(ca.Raw))
				}
			}
		}
		r, err := local.PutRecord(doc, accounts, raw, st.Clock().Now())
		if err != nil {
			return err
		}
		if err := storable(op, "account", r.Raw, nil); err != nil {
			return err
		}
		saved = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return publicRecord(saved.Raw), nil
}

// DeleteAccount removes one account, leaving a tombstone so the deletion
// reaches the other devices (Store.Update: one atomic write on the newest
// state, so no concurrent edit is lost).
func (a *App) DeleteAccount(ctx context.Context, id string) error {
	if id == "" {
		return errkind.Internal(errkind.Invalid, "accounts.delete", "which account? id is missing", nil)
	}
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	_, err = st.Update(ctx, func(doc *backup.Document) error {
		return local.DeleteRecord(doc, accounts, id, st.Clock().Now())
	})
	return err
}

// Preferences returns the synced preferences and when they last changed.
func (a *App) Preferences(ctx context.Context) (values json.RawMessage, updatedAt int64, err error) {
	doc, err := a.Doc(ctx)
	if err != nil {
		return nil, 0, err
	}
	vals := doc.Preferences.Values
	if len(vals) == 0 {
		vals = []byte("{}")
	}
	return vals, doc.Preferences.UpdatedAt, nil
}

// SavePreferences replaces the preferences object. Preferences merge as one
// object by their timestamp, so the whole object is the unit of an edit; it
// is written through Store.Update (atomic, on the newest state).
func (a *App) SavePreferences(ctx context.Context, values []byte) (json.RawMessage, error) {
	const op = "preferences.save"
	v := gjson.ParseBytes(values)
	if !gjson.ValidBytes(values) || !v.IsObject() {
		return nil, errkind.Internal(errkind.Invalid, op, "values must be a JSON object", nil)
	}
	if len(v.Raw) > limits.Record {
		return nil, errkind.Say(errkind.TooLarge, op, msg.New("errPrefsTooLarge"))
	}
	vals := backup.Compact(nil, []byte(v.Raw))
	if err := storable(op, "preferences", nil, vals); err != nil {
		return nil, err
	}
	st, err := a.Store(ctx)
	if err != nil {
		return nil, err
	}
	_, err = st.Update(ctx, func(doc *backup.Document) error {
		if string(doc.Preferences.Values) == string(vals) {
			return nil // unchanged: no new timestamp, so no needless upload
		}
		doc.Preferences = backup.Preferences{UpdatedAt: st.Clock().Now(), Values: vals}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return vals, nil
}

// storable checks that a record of the accounts collection (rec) or
// preference values (vals), placed where the document keeps them, can be
// read back: the document nests them a few levels down (the depth limit
// counts from the document's top) and refuses repeated members in the
// preferences. A record that passes on its own but not in place would make
// the stored document unreadable, and every later call would fail.
func storable(op, what string, rec, vals []byte) error {
	b := make([]byte, 0, len(rec)+len(vals)+128)
	b = append(b, `{"format":"davsync","version":1,"collections":{"accounts":{"records":[`...)
	b = append(b, rec...)
	b = append(b, `]}},"preferences":{"updated_at":0,"values":`...)
	if vals == nil {
		vals = []byte("{}")
	}
	b = append(b, vals...)
	b = append(b, `}}`...)
	if _, err := backup.Parse(b); err != nil {
		msg := "the " + what + " cannot be stored: " + errkind.Message(err)
		switch {
		case errors.Is(err, backup.ErrTooDeep):
			msg = "the " + what + " nests its values too deeply to be stored; flatten it"
		case errors.Is(err, backup.ErrDuplicateKey):
			msg = "the " + what + " has a member twice; send each member once"
		}
		return errkind.Internal(errkind.Invalid, op, msg, err)
	}
	return nil
}
