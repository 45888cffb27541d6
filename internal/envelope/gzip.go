package envelope

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/limits"
	"github.com/davsync/davsync/internal/msg"
)

// IsGzip reports whether b starts with the gzip magic bytes and the deflate
// method byte (RFC 1952).
func IsGzip(b []byte) bool { return len(b) >= 3 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8 }

// Gzip compresses b. The output carries no name or time, so equal input
// gives equal output (content hashes of uploads stay comparable).
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/4 + 64)
	w := gzip.NewWriter(&buf)
	// Writes to a bytes.Buffer cannot fail.
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

// Gunzip decompresses b, refusing output larger than limit bytes with
// errkind.TooLarge (a gzip bomb stops there instead of filling memory).
// limit <= 0 means limits.Document. Damaged input is errkind.BadDocument.
func Gunzip(b []byte, limit int64) ([]byte, error) {
	const op = "decompress"
	if limit <= 0 {
		limit = limits.Document
	}
	if !IsGzip(b) {
		return nil, errkind.Say(errkind.BadDocument, op, msg.New("errNotGzip"))
	}
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, errkind.SayWrap(errkind.BadDocument, op, msg.New("errGzipDamaged"), err)
	}
	var out bytes.Buffer
	out.Grow(int(min(limit, int64(len(b))*4+512)))
	n, err := io.Copy(&out, io.LimitReader(r, limit+1))
	if err != nil {
		return nil, errkind.SayWrap(errkind.BadDocument, op, msg.New("errGzipCutShort"), err)
	}
	if n > limit {
		return nil, errkind.Say(errkind.TooLarge, op, msg.New("errExpandsTooLarge", mib(limit)))
	}
	return out.Bytes(), nil
}

func mib(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
