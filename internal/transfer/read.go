package transfer

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/davsync/davsync/internal/allapihub"
	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/jsonlimit"
	"github.com/davsync/davsync/internal/limits"
	"github.com/davsync/davsync/internal/msg"
	"github.com/tidwall/gjson"
)

// Sources of an import.
const (
	SourceDavsync   = "davsync"
	SourceAllAPIHub = "all-api-hub"
)

const op = "import"

// incoming is a file read and validated, ready to plan with.
type incoming struct {
	doc           *backup.Document
	source        string
	version       string
	encrypted     bool
	compressed    bool
	hasRecords    bool // the file holds the record collections
	hasPrefs      bool // the file holds preferences
	partialPrefs  bool // preferences are a few keys to lay over local ones
	report        *allapihub.Report
	scopeFromFile Scope
}

func mib(n int) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// Read is the one way in for a file a user hands davsync (an import, a
// paste, the command line's import): it detects the form once and peels
// each layer once (size, base64, gzip, the envelope, gzip inside it, one
// JSON scan), and returns the document, validated. An encrypted file
// without passphrase is errkind.PassphraseNeeded. Plan reads the same way,
// then plans.
func Read(data []byte, passphrase string, kdf envelope.KDF, now int64) (*backup.Document, error) {
	in, err := read(data, passphrase, kdf, now)
	if err != nil {
		return nil, err
	}
	return in.doc, nil
}

// read detects what data is and validates all of it. Every error is one the
// user can act on, and comes before anything could be applied.
func read(data []byte, passphrase string, kdf envelope.KDF, now int64) (*incoming, error) {
	// A binary file reaches us as base64 (a data URL from the page), a third
	// larger than the file: the limit is on the file, so measure it decoded.
	if len(data) > limits.Import/3*4+256 {
		n := len(data)
		if bytes.HasPrefix(data, []byte("data:")) || bytes.HasPrefix(data, []byte("H4sI")) {
			n = n / 4 * 3 // base64: the file is a quarter smaller
		}
		return nil, tooLarge(n)
	}
	data = trim(data)
	if len(data) == 0 {
		return nil, errkind.Say(errkind.BadDocument, op, msg.New("errImportEmpty"))
	}
	data, err := unBase64(data)
	if err != nil {
		return nil, err
	}
	if len(data) > limits.Import {
		return nil, tooLarge(len(data))
	}
	in := &incoming{source: SourceDavsync}
	// At most: gzip, then the envelope, then gzip inside it (the sync file's
	// layering); anything deeper is not something davsync writes.
layers:
	for layer := 0; layer < 3; layer++ {
		switch {
		case envelope.IsGzip(data):
			if in.compressed && !in.encrypted {
				return nil, notBackup()
			}
			plain, err := envelope.Gunzip(data, limits.Import)
			if err != nil {
				if errkind.Of(err) == errkind.TooLarge {
					return nil, errkind.SayWrap(errkind.TooLarge, op, msg.New("errImportExpands"), err)
				}
				return nil, err
			}
			data, in.compressed = trim(plain), true
			continue
		case envelope.IsEncrypted(data):
			if in.encrypted {
				return nil, notBackup()
			}
			plain, err := envelope.Open(data, passphrase, kdf)
			if err != nil {
				return nil, err
			}
			data, in.encrypted = trim(plain), true
			continue
		}
		break layers
	}
	// The one scan and validation of these bytes: the readers below are
	// handed the checked JSON and do not scan it again.
	c, err := checkJSON(data)
	if err != nil {
		return nil, err
	}
	root := gjson.ParseBytes(c.JSON)
	if !root.IsObject() {
		return nil, notBackup()
	}
	switch {
	case root.Get("format").String() == backup.Format:
		doc, err := backup.ParseChecked(c)
		if err != nil {
			return nil, err
		}
		in.doc, in.version = doc, root.Get("version").Raw // the file's, before migration
		// Preferences never set on the exporting device (time 0, nothing
		// in them) are no preferences at all: replacing this device's with
		// them would wipe them, and the wipe would spread on the next sync.
		neverSet := doc.Preferences.UpdatedAt == 0 && string(doc.Preferences.Values) == "{}"
		in.hasRecords, in.hasPrefs = true, !neverSet
		if raw, ok := doc.Extra[ScopeMember]; ok {
			delete(doc.Extra, ScopeMember) // a marker of the file, not data to merge
			switch s := Scope(gjson.ParseBytes(raw).String()); s {
			case ScopeAccounts:
				in.hasPrefs, in.scopeFromFile = false, s
			case ScopePreferences:
				in.hasRecords, in.scopeFromFile = false, s
			}
		}
		return in, nil
	case allapihub.Detect(root) != allapihub.NotAllAPIHub:
		if in.encrypted {
			return nil, notBackup() // davsync never wraps their files
		}
		res, err := allapihub.ReadChecked(c, passphrase, kdf, allapihub.ConvertOptions{Now: now})
		if err != nil {
			return nil, err
		}
		in.doc, in.source, in.version = res.Doc, SourceAllAPIHub, res.Report.Version
		in.encrypted = in.encrypted || res.Encrypted
		in.hasRecords, in.hasPrefs, in.partialPrefs = res.HasAccounts, res.HasPreferences, true
		in.report = &res.Report
		return in, nil
	}
	return nil, notBackup()
}

// unBase64 accepts a file that reached us as base64 text: a data URL
// ("data:...;base64,", how the page sends a file that is not UTF-8 text:
// gzip, the binary encrypted envelope) is decoded whatever it holds, and
// bare text starting with "H4sI" (the base64 of gzip's magic bytes, a user
// pasting a compressed file) too. Anything else is returned as is.
func unBase64(data []byte) ([]byte, error) {
	dataURL := false
	if bytes.HasPrefix(data, []byte("data:")) {
		if i := bytes.Index(data, []byte(";base64,")); i >= 0 && i < 200 {
			data, dataURL = data[i+len(";base64,"):], true
		}
	}
	// A data URL carries the file's bytes whatever they are (the page sends
	// binary files, gzip or the binary envelope, this way); bare text is
	// decoded only when it is recognisably gzip.
	if !dataURL && !bytes.HasPrefix(data, []byte("H4sI")) {
		return data, nil
	}
	clean := bytes.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, data)
	out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(out, clean)
	if err != nil {
		return nil, errkind.SayWrap(errkind.BadDocument, op, msg.New("errImportBase64"), err)
	}
	return out[:n], nil
}

// trim drops what editors and pasting add around a file, a BOM and
// whitespace, but leaves the end of binary data alone (gzip, the binary
// encrypted envelope): its last bytes are ciphertext or a checksum and may
// be anything, whitespace included.
func trim(b []byte) []byte {
	const space = " \t\r\n\v\f"
	b = bytes.TrimLeft(bytes.TrimPrefix(bytes.TrimLeft(b, space), []byte("\xef\xbb\xbf")), space)
	if envelope.IsGzip(b) || !utf8.Valid(b) {
		return b
	}
	return bytes.TrimRight(b, space)
}

func tooLarge(n int) error {
	return errkind.Say(errkind.TooLarge, op, msg.New("errImportTooLarge", mib(n)))
}

func notBackup() error {
	return errkind.Say(errkind.BadDocument, op, msg.New("errImportUnknown"))
}

// checkJSON bounds nesting with a linear scan, then validates the grammar
// and the text (jsonlimit.Check), in the user's terms.
func checkJSON(data []byte) (jsonlimit.Checked, error) {
	c, p := jsonlimit.Check(data)
	switch p {
	case jsonlimit.OK:
		return c, nil
	case jsonlimit.TooDeep:
		return c, errkind.Say(errkind.BadDocument, op, msg.New("errImportTooDeep", strconv.Itoa(jsonlimit.MaxDepth)))
	case jsonlimit.Truncated:
		if data[0] == '{' || data[0] == '[' {
			return c, errkind.Say(errkind.BadDocument, op, msg.New("errImportCutShort"))
		}
	case jsonlimit.NotUTF8:
		return c, errkind.Say(errkind.BadDocument, op, msg.New("errImportNotUTF8"))
	}
	return c, errkind.Say(errkind.BadDocument, op, msg.New("errImportNotJSON"))
}
