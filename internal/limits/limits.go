// Package limits is davsync's one table of size and cost limits. Every
// reader of untrusted input (a server's answer, a file a user imports, a
// page's message) takes its bound from here, and the pages read the same
// numbers through the message protocol, so a limit changes in one place.
//
// The limits protect a browser service worker: it holds whole documents in
// memory, and a hostile or broken server must not be able to exhaust it or
// keep it busy.
package limits

const (
	// Document is the largest davsync document, as JSON after
	// decompression and decryption: about 60 times a 10,000-account file.
	Document = 64 << 20
	// Download is the largest sync file or snapshot read from a server, as
	// stored (compressed and encrypted forms are never larger than the
	// document plus their headers).
	Download = Document + 64<<10
	// Import is the largest file a user imports or pastes, before and after
	// decompression.
	Import = 32 << 20
	// Multistatus is the largest PROPFIND answer parsed: tens of thousands
	// of entries.
	Multistatus = 16 << 20
	// Reply bounds every other server answer (PUT, MKCOL, MOVE, error
	// pages): davsync reads them only for their status and headers.
	Reply = 1 << 20
	// Record is the largest account (or preferences object) a page may
	// write.
	Record = 1 << 20
	// Depth is how deeply JSON arrays and objects may nest in any input.
	Depth = 512
	// KDFIterations is the most PBKDF2 iterations an encrypted file may ask
	// for: enough headroom above today's default (600,000), low enough that
	// a forged header cannot make every cycle derive for seconds.
	KDFIterations = 2_000_000
)

// Table is every limit by the name the message protocol gives it.
func Table() map[string]int64 {
	return map[string]int64{
		"document":      Document,
		"download":      Download,
		"import":        Import,
		"multistatus":   Multistatus,
		"reply":         Reply,
		"record":        Record,
		"depth":         Depth,
		"kdfIterations": KDFIterations,
	}
}
