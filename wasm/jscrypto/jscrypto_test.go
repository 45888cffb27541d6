//go:build js && wasm

package jscrypto

import (
	"bytes"
	"testing"

	"github.com/davsync/davsync/internal/envelope"
)

// WebCrypto must derive exactly what Go's PBKDF2 derives, or files sealed
// natively could not be opened in the browser.
func TestMatchesGo(t *testing.T) {
	for _, tc := range []struct {
		pass, salt string
		iter, n    int
	}{
		{"password", "salt", 1, 32},
		{"pässwörd 🔑", "0123456789abcdef", 1000, 32},
		{"", "x", 10, 16},
	} {
		got, err := New().PBKDF2SHA256([]byte(tc.pass), []byte(tc.salt), tc.iter, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		want, err := envelope.GoKDF.PBKDF2SHA256([]byte(tc.pass), []byte(tc.salt), tc.iter, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%+v: got %x want %x", tc, got, want)
		}
	}
}

func TestSealOpenAcrossKDFs(t *testing.T) {
	sealed, err := envelope.Seal([]byte("secret doc"), "pw", New())
	if err != nil {
		t.Fatal(err)
	}
	plain, err := envelope.Open(sealed, "pw", envelope.GoKDF)
	if err != nil || string(plain) != "secret doc" {
		t.Fatalf("open: %q %v", plain, err)
	}
}
