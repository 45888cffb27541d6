package backup

import (
	"errors"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/msg"
)

// The validation failures. Each is a distinct sentinel so tests and callers
// can tell them apart with errors.Is; the error Parse returns also carries
// errkind.BadDocument (errkind.NewerVersion for ErrNewerVersion,
// errkind.TooLarge for ErrTooLarge), so the extension can pick the fix to
// show without knowing this package.
var (
	ErrNotJSON      = errors.New("not JSON")
	ErrTooDeep      = errors.New("nested too deeply")
	ErrNotDavsync   = errors.New("not a davsync backup")
	ErrNewerVersion = errors.New("written by a newer davsync")
	ErrBadVersion   = errors.New("bad version")
	ErrWrongType    = errors.New("wrong JSON type")
	ErrMissingID    = errors.New("record without id")
	ErrDuplicateID  = errors.New("duplicate id")
	ErrDuplicateKey = errors.New("member repeated in one object")
	ErrBadTimestamp = errors.New("bad timestamp")
	ErrTooLarge     = errors.New("document too large")
)

// op names what failed in every error this package returns.
const op = "read backup"

// fix is appended to every validation message: the user's way out.
const fix = " Nothing was changed; fix the file or choose another backup."

// notes are the pages' words for each failure, in the user's language:
// they name what is wrong but not where (the English message does), since a
// place in the document is not a sentence a locale can hold.
var notes = map[error]string{
	ErrNotJSON:      "errDocNotJSON",
	ErrTooDeep:      "errDocTooDeep",
	ErrNotDavsync:   "errDocNotDavsync",
	ErrNewerVersion: "errDocNewer",
	ErrBadVersion:   "errDocBadVersion",
	ErrWrongType:    "errDocWrongType",
	ErrMissingID:    "errDocMissingID",
	ErrDuplicateID:  "errDocDuplicateID",
	ErrDuplicateKey: "errDocDuplicateKey",
	ErrBadTimestamp: "errDocBadTimestamp",
	ErrTooLarge:     "errDocTooLarge",
}

// bad builds the error for one validation failure. where names the place in
// the document ("accounts record #3"), text says what is wrong there.
func bad(sentinel error, where, text string) error {
	kind, advice := errkind.BadDocument, fix
	switch sentinel {
	case ErrNewerVersion:
		kind, advice = errkind.NewerVersion, " Update davsync on this device to read it; nothing was changed."
	case ErrTooLarge:
		kind = errkind.TooLarge
	}
	if where != "" {
		text = where + ": " + text
	}
	return &errkind.Error{Kind: kind, Op: op, Msg: text + "." + advice, Note: msg.New(notes[sentinel]), Err: sentinel}
}
