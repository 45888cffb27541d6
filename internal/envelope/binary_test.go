package envelope

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
)

func mustSealBinary(t testing.TB, k *Key, plain []byte) []byte {
	t.Helper()
	out, err := k.SealBinary(plain)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// headerLine splits a binary-form file at its first newline.
func headerLine(t *testing.T, data []byte) ([]byte, []byte) {
	t.Helper()
	h, body, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		t.Fatalf("no header line in %.80q", data)
	}
	return h, body
}

// rewriteBinary lets the text-form tamper edits apply to a binary file: the
// body is presented to f as base64 "ct", and whatever f leaves there becomes
// the body again, with a matching ct_len.
func rewriteBinary(t *testing.T, data []byte, f func(m map[string]any)) []byte {
	t.Helper()
	h, body := headerLine(t, data)
	dec := json.NewDecoder(bytes.NewReader(h))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	delete(m, "ct_len")
	m["ct"] = base64.StdEncoding.EncodeToString(body)
	f(m)
	body = nil
	if ct, ok := m["ct"]; ok {
		b, err := base64.StdEncoding.DecodeString(ct.(string))
		if err != nil {
			t.Fatal(err)
		}
		body = b
		m["ct_len"] = len(b)
		delete(m, "ct")
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return append(append(out, '\n'), body...)
}

func TestBinaryRoundTrip(t *testing.T) {
	kdf := &fakeKDF{}
	k := mustKey(t, "correct horse", kdf, KeyOptions{})
	for _, plain := range [][]byte{nil, {}, []byte("x"), []byte("\n\n"), bytes.Repeat([]byte("abc"), 100000), Gzip([]byte(`{"a":1}`))} {
		sealed := mustSealBinary(t, k, plain)
		if !IsEncrypted(sealed) || !k.Fits(sealed) {
			t.Fatalf("IsEncrypted/Fits(SealBinary(...)) = false")
		}
		if !bytes.HasPrefix(sealed, []byte(`{"format":"davsync-encrypted","v":1,`)) {
			t.Fatalf("binary form does not start like the text form: %.60q", sealed)
		}
		for name, open := range map[string]func() ([]byte, error){
			"Open":     func() ([]byte, error) { return Open(sealed, "correct horse", kdf) },
			"Key.Open": func() ([]byte, error) { return k.Open(sealed) },
			"OpenCached": func() ([]byte, error) {
				p, _, err := OpenCached(sealed, "", k, kdf)
				return p, err
			},
		} {
			got, err := open()
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("%s: %d bytes in, %d out, %v", name, len(plain), len(got), err)
			}
		}
		p, err := ReadParams(sealed)
		if err != nil || p.Iterations != DefaultIterations || !bytes.Equal(p.Salt, k.Params().Salt) {
			t.Fatalf("ReadParams = %+v, %v", p, err)
		}
	}
}

// One key and nonce give one ciphertext in both forms: the forms differ only
// in how it is written down, and the additional data is the same bytes.
func TestTextAndBinaryAgree(t *testing.T) {
	k := mustKey(t, "p", &fakeKDF{}, KeyOptions{Rand: &seqReader{}})
	plain := []byte(`{"accounts":[1,2,3]}`)
	nonce := bytes.Repeat([]byte{7}, NonceSize)
	text, bin := k.seal(plain, nonce), k.sealBinary(plain, nonce)
	st, err := parse(text)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := parse(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(st.ct, sb.ct) || !bytes.Equal(st.aad, sb.aad) || !bytes.Equal(st.nonce, sb.nonce) || st.iter != sb.iter || !bytes.Equal(st.salt, sb.salt) {
		t.Fatal("text and binary forms of one seal parse differently")
	}
	for _, data := range [][]byte{text, bin} {
		if got, err := k.Open(data); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, %v", got, err)
		}
	}
	h, body := headerLine(t, bin)
	if !bytes.Equal(body, st.ct) || len(body) != len(plain)+tagSize {
		t.Fatal("the binary body is not the raw ciphertext and tag")
	}
	want := append(st.aad[:len(st.aad)-1:len(st.aad)-1], `,"nonce":"BwcHBwcHBwcHBwcH","ct_len":`+strconv.Itoa(len(body))+`}`...)
	if !bytes.Equal(h, want) {
		t.Fatalf("header\n got %s\nwant %s", h, want)
	}
	if got, err := k.Open(rewriteBinary(t, bin, func(map[string]any) {})); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("re-encoded binary header: %q, %v", got, err)
	}
}

func TestBinarySize(t *testing.T) {
	doc := benchDoc()
	if testing.Short() {
		doc = doc[:200_000]
	}
	k := mustKey(t, "p", &fakeKDF{}, KeyOptions{Iterations: MaxIterations})
	gz := Gzip(doc)
	w, err := Wrap(doc, true, k)
	if err != nil {
		t.Fatal(err)
	}
	h, body := headerLine(t, w)
	if len(body) != len(gz)+tagSize || len(w) != len(h)+1+len(gz)+tagSize {
		t.Fatalf("wrapped %d bytes: header %d, body %d, gzip %d", len(w), len(h), len(body), len(gz))
	}
	if len(w) > len(gz)+300 {
		t.Fatalf("upload is %d bytes, gzip %d: more than 300 bytes of overhead", len(w), len(gz))
	}
	t.Logf("doc %d, gzip %d, upload %d (+%d), text form would be %d", len(doc), len(gz), len(w), len(w)-len(gz), len(mustSeal(t, k, gz)))
	u, err := Unwrap(w, "", k, nil, 0)
	if err != nil || !bytes.Equal(u.Plain, doc) || !u.Encrypted || !u.Compressed {
		t.Fatalf("Unwrap: %v", err)
	}
}

// The text form's tamper table, applied to the binary form, plus the
// binary form's own length rules.
func TestBinaryTamper(t *testing.T) {
	kdf := &fakeKDF{ignoreIter: true}
	k := mustKey(t, "p", kdf, KeyOptions{})
	sealed := mustSealBinary(t, k, []byte(`{"accounts":[1,2,3]}`))
	kdfOf := func(m map[string]any) map[string]any { return m["kdf"].(map[string]any) }
	tests := []struct {
		name string
		data []byte
		want errkind.Kind
	}{}
	add := func(name string, data []byte, want errkind.Kind) {
		tests = append(tests, struct {
			name string
			data []byte
			want errkind.Kind
		}{name, data, want})
	}
	edit := func(name string, f func(m map[string]any), want errkind.Kind) {
		add(name, rewriteBinary(t, sealed, f), want)
	}
	edit("iterations raised", func(m map[string]any) { kdfOf(m)["iter"] = 700000 }, errkind.Decrypt)
	edit("iterations lowered", func(m map[string]any) { kdfOf(m)["iter"] = MinIterations }, errkind.Decrypt)
	edit("salt", func(m map[string]any) { kdfOf(m)["salt"] = flipB64(t, kdfOf(m)["salt"], 0) }, errkind.Decrypt)
	edit("nonce", func(m map[string]any) { m["nonce"] = flipB64(t, m["nonce"], 3) }, errkind.Decrypt)
	edit("ciphertext", func(m map[string]any) { m["ct"] = flipB64(t, m["ct"], 0) }, errkind.Decrypt)
	edit("tag", func(m map[string]any) { m["ct"] = flipB64(t, m["ct"], -1) }, errkind.Decrypt)
	edit("ciphertext cut, length matching", func(m map[string]any) {
		b, _ := base64.StdEncoding.DecodeString(m["ct"].(string))
		m["ct"] = base64.StdEncoding.EncodeToString(b[:len(b)-1])
	}, errkind.Decrypt)
	edit("ciphertext shorter than a tag", func(m map[string]any) { m["ct"] = "AAAA" }, errkind.BadDocument)
	edit("format", func(m map[string]any) { m["format"] = "davsync-plain" }, errkind.BadDocument)
	edit("no format", func(m map[string]any) { delete(m, "format") }, errkind.BadDocument)
	edit("newer version", func(m map[string]any) { m["v"] = 2 }, errkind.NewerVersion)
	edit("version zero", func(m map[string]any) { m["v"] = 0 }, errkind.BadDocument)
	edit("version string", func(m map[string]any) { m["v"] = "1" }, errkind.BadDocument)
	edit("no version", func(m map[string]any) { delete(m, "v") }, errkind.BadDocument)
	edit("kdf name", func(m map[string]any) { kdfOf(m)["name"] = "Argon2id" }, errkind.BadDocument)
	edit("kdf extra field", func(m map[string]any) { kdfOf(m)["mem"] = 1 }, errkind.BadDocument)
	edit("kdf missing", func(m map[string]any) { delete(m, "kdf") }, errkind.BadDocument)
	edit("cipher", func(m map[string]any) { m["cipher"] = "AES-128-GCM" }, errkind.BadDocument)
	edit("extra field", func(m map[string]any) { m["comment"] = "hi" }, errkind.BadDocument)
	edit("nonce length", func(m map[string]any) { m["nonce"] = "AAAA" }, errkind.BadDocument)
	edit("nonce not base64", func(m map[string]any) { m["nonce"] = "!!" }, errkind.BadDocument)
	edit("ct missing", func(m map[string]any) { delete(m, "ct") }, errkind.BadDocument)
	edit("iterations too low", func(m map[string]any) { kdfOf(m)["iter"] = MinIterations - 1 }, errkind.BadDocument)
	edit("iterations too high", func(m map[string]any) { kdfOf(m)["iter"] = MaxIterations + 1 }, errkind.BadDocument)
	edit("iterations huge", func(m map[string]any) { kdfOf(m)["iter"] = json.Number("1e12") }, errkind.BadDocument)
	edit("iterations overflow", func(m map[string]any) { kdfOf(m)["iter"] = json.Number("99999999999999999999999") }, errkind.BadDocument)
	edit("iterations negative", func(m map[string]any) { kdfOf(m)["iter"] = -600000 }, errkind.BadDocument)
	edit("salt short", func(m map[string]any) { kdfOf(m)["salt"] = "AAAA" }, errkind.BadDocument)
	edit("salt long", func(m map[string]any) {
		kdfOf(m)["salt"] = base64.StdEncoding.EncodeToString(make([]byte, 65))
	}, errkind.BadDocument)

	h, body := headerLine(t, sealed)
	n := len(body)
	withLen := func(v string) []byte {
		h2 := strings.Replace(string(h), `"ct_len":`+strconv.Itoa(n), `"ct_len":`+v, 1)
		if h2 == string(h) {
			t.Fatal("ct_len not found")
		}
		return append([]byte(h2+"\n"), body...)
	}
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	add("ct_len one more", withLen(strconv.Itoa(n+1)), errkind.BadDocument)
	add("ct_len one less", withLen(strconv.Itoa(n-1)), errkind.BadDocument)
	add("ct_len zero", withLen("0"), errkind.BadDocument)
	add("ct_len negative", withLen("-1"), errkind.BadDocument)
	add("ct_len huge", withLen("99999999999999999999999"), errkind.BadDocument)
	add("ct_len float", withLen(strconv.Itoa(n)+".0"), errkind.BadDocument)
	add("ct_len string", withLen(`"`+strconv.Itoa(n)+`"`), errkind.BadDocument)
	add("ct_len null", withLen("null"), errkind.BadDocument)
	add("trailing byte", join(sealed, []byte{0}), errkind.BadDocument)
	add("trailing newline", join(sealed, []byte("\n")), errkind.BadDocument)
	add("ct and ct_len", join(h[:len(h)-1], []byte(`,"ct":"AAAA"}`+"\n"), body), errkind.BadDocument)
	add("body byte flipped", join(h, []byte("\n"), body[:n-1], []byte{body[n-1] ^ 0x80}), errkind.Decrypt)
	add("no newline", join(h, body), errkind.BadDocument)
	add("second newline", join(h, []byte("\n\n"), body), errkind.BadDocument)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := kdf.calls.Load()
			_, err := Open(tt.data, "p", kdf)
			wantKind(t, err, tt.want)
			if tt.want != errkind.Decrypt && kdf.calls.Load() != before {
				t.Fatal("a refused header still ran the key derivation")
			}
			if tt.want == errkind.Decrypt {
				if _, err := k.Open(tt.data); errkind.Of(err) != errkind.Decrypt && errkind.Of(err) != errkind.PassphraseNeeded {
					t.Fatalf("Key.Open: %v", err)
				}
			}
		})
	}
	// A reordered, re-spaced header on one line still opens: the additional
	// data is rebuilt from values, not raw bytes.
	reordered := rewriteBinary(t, sealed, func(map[string]any) {})
	rh, rbody := headerLine(t, reordered)
	var spaced bytes.Buffer
	if err := json.Indent(&spaced, rh, "", ""); err != nil {
		t.Fatal(err)
	}
	respaced := strings.ReplaceAll(strings.ReplaceAll(spaced.String(), "\n", " "), ":", " : ")
	for _, data := range [][]byte{reordered, join([]byte(respaced+"\n"), rbody), join([]byte("\ufeff"), sealed), join(h, []byte("\r\n"), body)} {
		if _, err := Open(data, "p", kdf); err != nil {
			t.Fatalf("%.60q: %v", data, err)
		}
		if !IsEncrypted(data) {
			t.Fatalf("IsEncrypted(%.60q) = false", data)
		}
	}
}

func TestBinaryTruncated(t *testing.T) {
	kdf := &fakeKDF{}
	k := mustKey(t, "p", kdf, KeyOptions{})
	sealed := mustSealBinary(t, k, bytes.Repeat([]byte("data "), 50))
	for n := range len(sealed) {
		for _, data := range [][]byte{sealed[:n], append(bytes.Clone(sealed[:n]), sealed[n+1:]...)} {
			_, err := Open(data, "p", kdf)
			if err == nil {
				t.Fatalf("a file missing bytes (%d of %d kept) opened", len(data), len(sealed))
			}
			if kind := errkind.Of(err); kind != errkind.BadDocument && kind != errkind.Decrypt {
				t.Fatalf("cut at %d: kind %s", n, kind)
			}
			if k.Fits(data) {
				t.Fatalf("Fits a file missing bytes (%d of %d kept)", len(data), len(sealed))
			}
		}
	}
}

func TestBinaryIsEncrypted(t *testing.T) {
	sealed := mustSealBinary(t, mustKey(t, "p", &fakeKDF{}, KeyOptions{}), []byte("x"))
	h, body := headerLine(t, sealed)
	tests := []struct {
		in   []byte
		want bool
	}{
		{sealed, true},
		{append([]byte("\ufeff"), sealed...), true},
		{append([]byte(`{"v":1,"format":"davsync-encrypted","ct_len":17}`+"\n"), body...), true},
		{append([]byte(`{"v":1,"format":"davsync-plain","ct_len":17}`+"\n"), body...), false},
		{append(append([]byte(`{"v":1,`+strings.Repeat(" ", maxBinaryHeader)), h[1:]...), append([]byte("\n"), body...)...), false},
		{Gzip(sealed), false},
	}
	for _, tt := range tests {
		if got := IsEncrypted(tt.in); got != tt.want {
			t.Errorf("IsEncrypted(%.60q) = %v", tt.in, got)
		}
	}
}

// The sync file's key must still open files the old Wrap wrote (text form),
// and both readers of Unwrap's cached-key path must agree on both forms.
func TestUnwrapBothForms(t *testing.T) {
	kdf := &fakeKDF{}
	k := mustKey(t, "pass", kdf, KeyOptions{})
	doc := []byte(`{"format":"davsync-backup","accounts":[]}`)
	bin, err := Wrap(doc, true, k)
	if err != nil {
		t.Fatal(err)
	}
	text := mustSeal(t, k, Gzip(doc))
	if bytes.Contains(bin, []byte(`"ct":`)) || !bytes.Contains(text, []byte(`"ct":`)) {
		t.Fatal("Wrap must write the binary form, Seal the text form")
	}
	for _, data := range [][]byte{bin, text} {
		before := kdf.calls.Load()
		u, err := Unwrap(data, "", k, kdf, 0)
		if err != nil || !bytes.Equal(u.Plain, doc) || !u.Compressed || !u.Encrypted || u.Key != k || kdf.calls.Load() != before {
			t.Fatalf("Unwrap(cached): %v", err)
		}
		u, err = Unwrap(data, "pass", nil, kdf, 0)
		if err != nil || !bytes.Equal(u.Plain, doc) || !u.Key.Fits(bin) || !u.Key.Fits(text) {
			t.Fatalf("Unwrap(passphrase): %v", err)
		}
		_, err = Unwrap(data, "wrong", nil, kdf, 0)
		wantKind(t, err, errkind.Decrypt)
	}
}
