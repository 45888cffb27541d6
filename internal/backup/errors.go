package backup

import (
	"errors"

	"github.com/davsync/davsync/internal/errkind"
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

// bad builds the error for one validation failure. where names the place in
// the document ("accounts record #3"), msg says what is wrong there.
func bad(sentinel error, where, msg string) error {
	kind, advice := errkind.BadDocument, fix
	switch sentinel {
	case ErrNewerVersion:
		kind, advice = errkind.NewerVersion, " Update davsync on this device to read it; nothing was changed."
	case ErrTooLarge:
		kind = errkind.TooLarge
	}
	if where != "" {
		msg = where + ": " + msg
	}
	return errkind.Wrap(kind, op, msg+"."+advice, sentinel)
}
