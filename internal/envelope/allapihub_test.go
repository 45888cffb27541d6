package envelope

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
)

const aahPass = "correct horse battery staple"

// Files written by WebCrypto exactly as All API Hub writes them
// (testdata/gen-webcrypto.mjs), including a non-standard 16-byte IV.
func TestOpenAllAPIHubWebCryptoFixtures(t *testing.T) {
	want, err := os.ReadFile("testdata/allapihub-plain.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"allapihub-webcrypto-iv12.json", "allapihub-webcrypto-iv16.json"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if !IsAllAPIHubEncrypted(data) || IsEncrypted(data) {
			t.Fatalf("%s: detection is wrong", name)
		}
		got, err := OpenAllAPIHub(data, aahPass, GoKDF)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %q, %v", name, got, err)
		}
		_, err = OpenAllAPIHub(data, "wrong", GoKDF)
		wantKind(t, err, errkind.Decrypt)
		_, err = OpenAllAPIHub(data, "", GoKDF)
		wantKind(t, err, errkind.PassphraseNeeded)
	}
	// Go's writer with the same salt and IV produces WebCrypto's bytes.
	fixture, _ := os.ReadFile("testdata/allapihub-webcrypto-iv12.json")
	salt, iv := seq(0, 16), seq(16, 12)
	got, err := sealAllAPIHub(want, aahPass, 1000, salt, iv, GoKDF)
	if err != nil || !bytes.Equal(got, fixture) {
		t.Fatalf("sealAllAPIHub differs from WebCrypto:\n got %s\nwant %s", got, fixture)
	}
}

func seq(from byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = from + byte(i)
	}
	return b
}

func TestSealAllAPIHubRoundTrip(t *testing.T) {
	kdf := &fakeKDF{}
	plain := []byte(`{"version":"2.0","accounts":[]}`)
	data, err := SealAllAPIHub(plain, "pw", 250000, kdf)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenAllAPIHub(data, "pw", kdf)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("%q, %v", got, err)
	}
}

func TestOpenAllAPIHubRejects(t *testing.T) {
	kdf := &fakeKDF{}
	good, err := sealAllAPIHub([]byte(`{"version":"4.0"}`), "pw", 250000, seq(0, 16), seq(16, 12), kdf)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name string
		data []byte
		want errkind.Kind // "" means it must open
	}{
		{"unpadded base64 and whitespace", edit(func(m map[string]any) {
			m["salt"] = strings.TrimRight(m["salt"].(string), "=")
			ct := m["ct"].(string)
			m["ct"] = ct[:8] + "\n" + ct[8:]
		}), ""},
		{"iter above bound", edit(func(m map[string]any) { m["iter"] = AllAPIHubMaxIterations + 1 }), errkind.BadDocument},
		{"iter 1e15", edit(func(m map[string]any) { m["iter"] = 1e15 }), errkind.BadDocument},
		{"iter zero", edit(func(m map[string]any) { m["iter"] = 0 }), errkind.BadDocument},
		{"iter missing", edit(func(m map[string]any) { delete(m, "iter") }), errkind.BadDocument},
		{"iter string", edit(func(m map[string]any) { m["iter"] = "250000" }), errkind.BadDocument},
		{"newer v", edit(func(m map[string]any) { m["v"] = 2 }), errkind.NewerVersion},
		{"no v", edit(func(m map[string]any) { delete(m, "v") }), errkind.BadDocument},
		{"type", edit(func(m map[string]any) { m["type"] = "plain-backup" }), errkind.BadDocument},
		{"kdf", edit(func(m map[string]any) { m["kdf"] = "scrypt" }), errkind.BadDocument},
		{"cipher", edit(func(m map[string]any) { m["cipher"] = "AES-CBC" }), errkind.BadDocument},
		{"empty iv", edit(func(m map[string]any) { m["iv"] = "" }), errkind.BadDocument},
		{"huge iv", edit(func(m map[string]any) { m["iv"] = b64(make([]byte, MaxAllAPIHubIV+1)) }), errkind.BadDocument},
		{"other iv", edit(func(m map[string]any) { m["iv"] = b64(seq(1, 12)) }), errkind.Decrypt},
		{"bad base64", edit(func(m map[string]any) { m["salt"] = "%%%" }), errkind.BadDocument},
		{"ct short", edit(func(m map[string]any) { m["ct"] = b64(make([]byte, 15)) }), errkind.BadDocument},
		{"ct flipped", edit(func(m map[string]any) { m["ct"] = flipB64(t, m["ct"], 0) }), errkind.Decrypt},
		{"not json", []byte("{"), errkind.BadDocument},
		{"array", []byte("[]"), errkind.BadDocument},
		{"plain backup", []byte(`{"version":"4.0","accounts":{}}`), errkind.BadDocument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := kdf.calls.Load()
			got, err := OpenAllAPIHub(tt.data, "pw", kdf)
			if tt.want == "" {
				if err != nil || string(got) != `{"version":"4.0"}` {
					t.Fatalf("%q, %v", got, err)
				}
				return
			}
			wantKind(t, err, tt.want)
			if tt.want != errkind.Decrypt && kdf.calls.Load() != before {
				t.Fatal("a refused envelope still ran the key derivation")
			}
		})
	}
}
