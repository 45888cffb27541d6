package envelope

import (
	"os"
	"reflect"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
)

// FuzzOpen feeds arbitrary bytes and passphrases to the readers: they must
// never panic, never succeed on garbage, and fail only with the kinds the
// package documents. The fake KDF keeps huge iteration counts cheap, so a
// refused bound shows up as an error, not a slow fuzz run.
func FuzzOpen(f *testing.F) {
	kdf := &fakeKDF{}
	k, err := NewKey("p", kdf, KeyOptions{Rand: &seqReader{}})
	if err != nil {
		f.Fatal(err)
	}
	sealed, _ := k.Seal([]byte(`{"accounts":[]}`))
	f.Add(sealed, "p")
	f.Add(sealed, "")
	binary, _ := k.SealBinary([]byte(`{"accounts":[]}`))
	f.Add(binary, "p")
	for _, name := range []string{"davsync-webcrypto.json", "allapihub-webcrypto-iv12.json"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b, "p")
		}
	}
	f.Add([]byte(`{"format":"davsync-encrypted","v":1,"kdf":{"name":"PBKDF2-SHA256","iter":1e99,"salt":""}}`), "p")
	f.Add(Gzip(sealed), "p")
	allowed := map[errkind.Kind]bool{errkind.BadDocument: true, errkind.NewerVersion: true, errkind.Decrypt: true, errkind.PassphraseNeeded: true}
	f.Fuzz(func(t *testing.T, data []byte, pass string) {
		if fast, ok := parseCanonical(data); ok {
			slow, err := parseJSON(data)
			if err != nil || !reflect.DeepEqual(fast, slow) {
				t.Fatalf("the canonical reader accepted what the JSON reader reads differently: %v", err)
			}
		}
		plain, err := Open(data, pass, kdf)
		if err != nil && !allowed[errkind.Of(err)] {
			t.Fatalf("Open: kind %s: %v", errkind.Of(err), err)
		}
		if err == nil && !IsEncrypted(data) {
			t.Fatalf("Open succeeded on data IsEncrypted rejects: %q", data)
		}
		if err == nil && pass == "p" {
			// Only a file sealed with "p" can open; re-seal must round-trip.
			again, err := Open(mustSeal(t, k, plain), "p", kdf)
			if err != nil || string(again) != string(plain) {
				t.Fatalf("re-seal round trip: %v", err)
			}
			again, err = Open(mustSealBinary(t, k, plain), "p", kdf)
			if err != nil || string(again) != string(plain) {
				t.Fatalf("binary re-seal round trip: %v", err)
			}
		}
		if _, err := OpenAllAPIHub(data, pass, kdf); err != nil && !allowed[errkind.Of(err)] {
			t.Fatalf("OpenAllAPIHub: kind %s: %v", errkind.Of(err), err)
		}
		if u, err := Unwrap(data, pass, k, kdf, 1<<20); err == nil && len(u.Plain) > 1<<20 {
			t.Fatal("Unwrap exceeded its limit")
		} else if err != nil && !allowed[errkind.Of(err)] && errkind.Of(err) != errkind.TooLarge {
			t.Fatalf("Unwrap: kind %s: %v", errkind.Of(err), err)
		}
	})
}
