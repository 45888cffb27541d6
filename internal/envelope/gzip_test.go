package envelope

import (
	"bytes"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
)

func TestGzip(t *testing.T) {
	doc := bytes.Repeat([]byte(`{"id":"a","site_url":"https://x.example"},`), 1000)
	z := Gzip(doc)
	if !IsGzip(z) || IsGzip(doc) || IsGzip(z[:2]) {
		t.Fatal("IsGzip is wrong")
	}
	if !bytes.Equal(z, Gzip(doc)) {
		t.Fatal("Gzip is not deterministic")
	}
	if len(z) >= len(doc)/10 {
		t.Fatalf("compressed %d to %d", len(doc), len(z))
	}
	got, err := Gunzip(z, int64(len(doc)))
	if err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("round trip at the exact limit: %v", err)
	}
	_, err = Gunzip(z, int64(len(doc)-1))
	wantKind(t, err, errkind.TooLarge)
	if got, err := Gunzip(Gzip(nil), 0); err != nil || len(got) != 0 {
		t.Fatalf("empty: %q, %v", got, err)
	}
}

func TestGunzipBomb(t *testing.T) {
	bomb := Gzip(make([]byte, 32<<20)) // 32 MiB of zeros in ~32 KiB
	_, err := Gunzip(bomb, 1<<20)
	wantKind(t, err, errkind.TooLarge)
	if msg := errkind.Message(err); msg == "" || !bytes.Contains([]byte(msg), []byte("1 MiB")) {
		t.Fatalf("message %q", msg)
	}
}

func TestGunzipDamaged(t *testing.T) {
	z := Gzip(bytes.Repeat([]byte("hello world "), 500))
	for _, n := range []int{3, 10, len(z) / 2, len(z) - 4, len(z) - 1} {
		_, err := Gunzip(z[:n], 0)
		wantKind(t, err, errkind.BadDocument)
	}
	flipped := bytes.Clone(z)
	flipped[len(flipped)-6] ^= 0xff // inside the CRC-32 trailer
	_, err := Gunzip(flipped, 0)
	wantKind(t, err, errkind.BadDocument)
	_, err = Gunzip([]byte(`{"plain":true}`), 0)
	wantKind(t, err, errkind.BadDocument)
	_, err = Gunzip(append(bytes.Clone(z), "trailing junk"...), 0)
	wantKind(t, err, errkind.BadDocument)
}

func TestWrapUnwrap(t *testing.T) {
	kdf := &fakeKDF{}
	doc := []byte(`{"format":"davsync-backup","accounts":[]}`)
	key := mustKey(t, "pass", kdf, KeyOptions{})
	for _, tt := range []struct {
		compress bool
		key      *Key
	}{{false, nil}, {true, nil}, {false, key}, {true, key}} {
		data, err := Wrap(doc, tt.compress, tt.key)
		if err != nil {
			t.Fatal(err)
		}
		u, err := Unwrap(data, "pass", nil, kdf, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(u.Plain, doc) || u.Compressed != tt.compress || u.Encrypted != (tt.key != nil) || (u.Key != nil) != (tt.key != nil) {
			t.Fatalf("compress=%v encrypt=%v: got %+v", tt.compress, tt.key != nil, u)
		}
		if tt.key != nil {
			before := kdf.calls.Load()
			if _, err := Unwrap(data, "", u.Key, kdf, 0); err != nil || kdf.calls.Load() != before {
				t.Fatalf("cached key: %v", err)
			}
			_, err := Unwrap(data, "", nil, kdf, 0)
			wantKind(t, err, errkind.PassphraseNeeded)
		}
		_, err = Unwrap(data, "pass", nil, kdf, int64(len(doc)-1))
		wantKind(t, err, errkind.TooLarge)
	}
}
