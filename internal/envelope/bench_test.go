package envelope

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"
)

// BenchmarkGoKDF600k is the cost of one key derivation at the default
// iteration count with Go's PBKDF2: the number that decides whether the
// browser must use WebCrypto (the budget is 1 s).
func BenchmarkGoKDF600k(b *testing.B) {
	salt := make([]byte, SaltSize)
	for b.Loop() {
		if _, err := GoKDF.PBKDF2SHA256([]byte("correct horse battery staple"), salt, DefaultIterations, keySize); err != nil {
			b.Fatal(err)
		}
	}
}

// A document of about 10,000 accounts with distinct ids and tokens (so it
// compresses like real data), compressed and sealed with a cached key, as
// every encrypted upload is.
func benchDoc() []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"format":"davsync-backup","accounts":[`)
	for i := range 10000 {
		if i > 0 {
			buf.WriteByte(',')
		}
		h := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		fmt.Fprintf(&buf, `{"id":"%x","site_name":"Example API %d","site_url":"https://api%d.example.com","username":"user%d","access_token":"sk-%x","updated_at":%d}`,
			h[:16], i, i%500, i, h[16:], 1760000000000+int64(i)*7919)
	}
	buf.WriteString(`]}`)
	return buf.Bytes()
}

func BenchmarkWrap10k(b *testing.B) {
	doc := benchDoc()
	k := mustKey(b, "p", &fakeKDF{}, KeyOptions{})
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := Wrap(doc, true, k); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnwrap10k(b *testing.B) {
	doc := benchDoc()
	kdf := &fakeKDF{}
	k := mustKey(b, "p", kdf, KeyOptions{})
	data, _ := Wrap(doc, true, k)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := Unwrap(data, "", k, kdf, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(doc)), "doc-bytes")
	b.ReportMetric(float64(len(data)), "file-bytes")
}
