package envelope

import (
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/limits"
	"github.com/davsync/davsync/internal/msg"
)

// Unwrapped is a document with its envelope and compression peeled off.
type Unwrapped struct {
	Plain      []byte // the document bytes (JSON)
	Encrypted  bool   // the input was a davsync envelope
	Compressed bool   // the document inside was gzip-compressed
	Key        *Key   // the key that opened it (cache it); nil when not encrypted
}

// Unwrap accepts the three forms a davsync file takes (plain, gzip,
// encrypted with gzip or plain inside; either envelope form), detected by
// content. cached and
// passphrase are used as in OpenCached. limit bounds the returned document
// (errkind.TooLarge); limit <= 0 means limits.Document.
func Unwrap(data []byte, passphrase string, cached *Key, kdf KDF, limit int64) (*Unwrapped, error) {
	if limit <= 0 {
		limit = limits.Document
	}
	u := &Unwrapped{Plain: data}
	if IsEncrypted(data) {
		plain, key, err := OpenCached(data, passphrase, cached, kdf)
		if err != nil {
			return nil, err
		}
		u.Plain, u.Encrypted, u.Key = plain, true, key
	}
	if IsGzip(u.Plain) {
		plain, err := Gunzip(u.Plain, limit)
		if err != nil {
			return nil, err
		}
		u.Plain, u.Compressed = plain, true
	}
	if int64(len(u.Plain)) > limit {
		return nil, errkind.Say(errkind.TooLarge, "read", msg.New("errLargerThan", mib(limit)))
	}
	return u, nil
}

// Wrap is Unwrap's inverse: it compresses plain when compress is set, then
// seals it with key when key is not nil. It writes the binary form
// ((*Key).SealBinary), because Wrap makes the sync file, which nobody pastes
// and which should cost no more to upload than the compressed document.
func Wrap(plain []byte, compress bool, key *Key) ([]byte, error) {
	if compress {
		plain = Gzip(plain)
	}
	if key == nil {
		return plain, nil
	}
	return key.SealBinary(plain)
}
