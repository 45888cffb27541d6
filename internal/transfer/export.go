package transfer

import (
	"strconv"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
)

// Scope is what an export holds.
type Scope string

// The scopes.
const (
	ScopeAll         Scope = "all"
	ScopeAccounts    Scope = "accounts"
	ScopePreferences Scope = "preferences"
)

// ScopeMember is the top-level document member an accounts-only or
// preferences-only export carries, so an import knows which sections the
// file holds (an empty section and a section left out look alike otherwise).
const ScopeMember = "export_scope"

// ExportOptions tune Export.
type ExportOptions struct {
	// Passphrase, when set, encrypts the export with the sync file's
	// envelope (envelope.Seal).
	Passphrase string
	// KDF derives the key; nil means envelope.GoKDF.
	KDF envelope.KDF
	// Now (ms) stamps exported_at and names the file; 0 means the wall clock.
	Now int64
}

// Export serialises doc, or the part scope names, as compact JSON and
// returns it with the file name davsync-<scope>-YYYY-MM-DD.json (UTC date).
//
// It only ever writes a backup.Document: device-local settings (the WebDAV
// URL, user name, password, passphrases) are not part of a Document, so an
// export cannot contain them (a test scans the output for every secret it
// configured). doc is not modified.
func Export(doc *backup.Document, scope Scope, opts ExportOptions) ([]byte, string, error) {
	const op = "export"
	if doc == nil {
		doc = backup.New()
	}
	now := opts.Now
	if now <= 0 {
		now = time.Now().UnixMilli()
	}
	out := doc.Clone()
	out.ExportedAt = now
	delete(out.Extra, ScopeMember)
	switch scope {
	case ScopeAll:
	case ScopeAccounts:
		out.Preferences = backup.Preferences{Values: []byte("{}")}
	case ScopePreferences:
		for name := range out.Collections {
			out.Collections[name] = &backup.Collection{}
		}
	default:
		return nil, "", errkind.Internal(errkind.Invalid, op, "unknown export scope "+strconv.Quote(string(scope))+"; choose all, accounts or preferences", nil)
	}
	if scope != ScopeAll {
		// Unknown top-level members belong to a full export only.
		out.Extra = map[string][]byte{ScopeMember: strconv.AppendQuote(nil, string(scope))}
	}
	data := out.Marshal()
	if opts.Passphrase != "" {
		sealed, err := envelope.Seal(data, opts.Passphrase, opts.KDF)
		if err != nil {
			return nil, "", err
		}
		data = sealed
	}
	name := "davsync-" + string(scope) + "-" + time.UnixMilli(now).UTC().Format("2006-01-02") + ".json"
	return data, name, nil
}
