package engine

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
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/merge"
)

const accounts = "accounts"

// maxRecordBytes bounds one record a page may write.
const maxRecordBytes = 1 << 20

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

func (e *Engine) accountsList(ctx context.Context, _ []byte) (any, error) {
	doc, err := e.loadDoc(ctx)
	if err != nil {
		return nil, err
	}
	// Built by appending raw records: no per-record re-encoding.
	out := append(make([]byte, 0, 4096), `{"accounts":[`...)
	if c := doc.Collections[accounts]; c != nil {
		for i, r := range c.Records {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, publicRecord(r.Raw)...)
		}
	}
	out = append(out, "]}"...)
	return json.RawMessage(out), nil
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

// accountsPut creates or edits one account. It cannot lose an edit: the
// change is applied inside Store.Update, which runs on the newest stored
// document under the store's lock and writes it in one KV call, and
// merge.Edit stamps only the fields that changed. With base (the account as
// the page showed it), only the fields the page changed relative to base
// are applied to the record as stored now: a field another page or a sync
// changed while the editor was open keeps that newer value instead of being
// reverted to what the page still showed.
func (e *Engine) accountsPut(ctx context.Context, params []byte) (any, error) {
	const op = "accounts.put"
	acc := gjson.GetBytes(params, "account")
	if !acc.IsObject() {
		return nil, errkind.New(errkind.Invalid, op, "account must be a JSON object")
	}
	base := gjson.GetBytes(params, "base")
	if base.Exists() && !base.IsObject() {
		return nil, errkind.New(errkind.Invalid, op, "base must be the account as the page showed it (a JSON object)")
	}
	raw := []byte(acc.Raw)
	if len(raw) > maxRecordBytes {
		return nil, errkind.New(errkind.TooLarge, op, "the account is larger than 1 MB; shorten its notes")
	}
	var err error
	if raw, err = sjson.DeleteBytes(raw, backup.FieldFieldTimes); err != nil {
		return nil, errkind.Wrap(errkind.Invalid, op, "bad account", err)
	}
	st, err := e.Store(ctx)
	if err != nil {
		return nil, err
	}
	now := st.Clock().Now()
	id := gjson.GetBytes(raw, backup.FieldID)
	if !id.Exists() || id.String() == "" {
		if raw, err = sjson.SetBytes(raw, backup.FieldID, newID()); err != nil {
			return nil, errkind.Wrap(errkind.Invalid, op, "bad account", err)
		}
	} else if id.Type != gjson.String {
		return nil, errkind.New(errkind.Invalid, op, "the account id must be a string")
	}
	if !gjson.GetBytes(raw, "created_at").Exists() {
		if raw, err = sjson.SetBytes(raw, "created_at", now); err != nil {
			return nil, errkind.Wrap(errkind.Invalid, op, "bad account", err)
		}
	}
	if err := backup.ValidateAccount(raw); err != nil {
		return nil, errkind.Wrap(errkind.Invalid, op, "the account is not valid: "+err.Error(), err)
	}
	var saved backup.Record
	_, err = st.Update(ctx, func(doc *backup.Document) error {
		if c := doc.Collections[accounts]; c != nil {
			if old, ok := c.Get(gjson.GetBytes(raw, backup.FieldID).String()); ok {
				if base.IsObject() {
					raw = merge.Overlay(old.Raw, raw, merge.Changed([]byte(base.Raw), raw))
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
	out := append([]byte(`{"account":`), publicRecord(saved.Raw)...)
	return json.RawMessage(append(out, '}')), nil
}

// accountsDelete removes one account, leaving a tombstone so the deletion
// reaches the other devices (Store.Update: one atomic write on the newest
// state, so no concurrent edit is lost).
func (e *Engine) accountsDelete(ctx context.Context, params []byte) (any, error) {
	const op = "accounts.delete"
	var p struct {
		ID string `json:"id"`
	}
	if err := decode(op, params, &p); err != nil {
		return nil, err
	}
	if p.ID == "" {
		return nil, errkind.New(errkind.Invalid, op, "which account? id is missing")
	}
	st, err := e.Store(ctx)
	if err != nil {
		return nil, err
	}
	_, err = st.Update(ctx, func(doc *backup.Document) error {
		return local.DeleteRecord(doc, accounts, p.ID, st.Clock().Now())
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": p.ID}, nil
}

func (e *Engine) preferencesGet(ctx context.Context, _ []byte) (any, error) {
	doc, err := e.loadDoc(ctx)
	if err != nil {
		return nil, err
	}
	vals := doc.Preferences.Values
	if len(vals) == 0 {
		vals = []byte("{}")
	}
	out := append([]byte(`{"values":`), vals...)
	out = append(out, `,"updatedAt":`...)
	out = backup.AppendInt(out, doc.Preferences.UpdatedAt)
	return json.RawMessage(append(out, '}')), nil
}

// preferencesSave replaces the preferences object. Preferences merge as one
// object by their timestamp, so the whole object is the unit of an edit; it
// is written through Store.Update (atomic, on the newest state).
func (e *Engine) preferencesSave(ctx context.Context, params []byte) (any, error) {
	const op = "preferences.save"
	v := gjson.GetBytes(params, "values")
	if !v.IsObject() {
		return nil, errkind.New(errkind.Invalid, op, "values must be a JSON object")
	}
	if len(v.Raw) > maxRecordBytes {
		return nil, errkind.New(errkind.TooLarge, op, "the preferences are larger than 1 MB")
	}
	vals := backup.Compact(nil, []byte(v.Raw))
	if err := storable(op, "preferences", nil, vals); err != nil {
		return nil, err
	}
	st, err := e.Store(ctx)
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
	return map[string]any{"values": json.RawMessage(vals)}, nil
}

// undoPoint is one entry of undo.list.
type undoPoint struct {
	ID      int64  `json:"id"`
	Label   string `json:"label"`
	Time    int64  `json:"time"`
	Records int    `json:"records"`
	Size    int    `json:"size"`
}

func (e *Engine) undoList(ctx context.Context, _ []byte) (any, error) {
	st, err := e.Store(ctx)
	if err != nil {
		return nil, err
	}
	pts, err := st.UndoList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]undoPoint, 0, len(pts))
	for _, p := range pts {
		out = append(out, undoPoint{ID: p.ID, Label: p.Label, Time: p.At, Records: p.Records, Size: p.Size})
	}
	return map[string]any{"points": out}, nil
}

// undoRestore goes back to an undo point. The store restores it as a
// labelled write, so the state it replaces becomes an undo point itself.
func (e *Engine) undoRestore(ctx context.Context, params []byte) (any, error) {
	const op = "undo.restore"
	var p struct {
		ID *int64 `json:"id"`
	}
	if err := decode(op, params, &p); err != nil {
		return nil, err
	}
	if p.ID == nil {
		return nil, errkind.New(errkind.Invalid, op, "which undo point? id is missing")
	}
	st, err := e.Store(ctx)
	if err != nil {
		return nil, err
	}
	rev, err := st.UndoRestore(ctx, *p.ID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"rev": rev}, nil
}

// loadDoc returns the device's current document, for the read-only calls.
func (e *Engine) loadDoc(ctx context.Context) (*backup.Document, error) {
	st, err := e.Store(ctx)
	if err != nil {
		return nil, err
	}
	doc, _, err := st.Load(ctx)
	return doc, err
}

// storable checks that a record of the accounts collection (rec) or
// preference values (vals), placed where the document keeps them, can be
// read back: the document nests them a few levels down (MaxDepth counts from
// the document's top) and refuses repeated members in the preferences. A
// record that passes on its own but not in place would make the stored
// document unreadable, and every later call would fail.
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
		return errkind.Wrap(errkind.Invalid, op, msg, err)
	}
	return nil
}
