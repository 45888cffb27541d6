package envelope

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/limits"
	"github.com/davsync/davsync/internal/msg"
)

// The envelope's fixed vocabulary and limits.
const (
	Format     = "davsync-encrypted" // the "format" value that marks an encrypted davsync file
	Version    = 1                   // the envelope version this package writes and reads
	KDFName    = "PBKDF2-SHA256"     // the only key derivation version 1 knows
	CipherName = "AES-256-GCM"       // the only cipher version 1 knows

	// DefaultIterations is the PBKDF2 iteration count for new keys
	// (OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256).
	DefaultIterations = 600_000
	// MinIterations is the fewest iterations a file may ask for; fewer would
	// make a stolen file cheap to brute-force, and davsync never writes it.
	MinIterations = 100_000
	// MaxIterations is the most iterations a file may ask for
	// (limits.KDFIterations): a forged header is refused before any key is
	// derived for it.
	MaxIterations = limits.KDFIterations

	SaltSize  = 16 // bytes of random salt per new key
	NonceSize = 12 // bytes of random GCM nonce per Seal

	keySize    = 32 // AES-256
	tagSize    = 16
	maxSaltLen = 64
)

// Params are the key-derivation parameters stored in a file's header.
type Params struct {
	Iterations int
	Salt       []byte
}

// KeyOptions tune NewKey. The zero value is what production code uses.
type KeyOptions struct {
	// Iterations is the PBKDF2 iteration count; 0 means DefaultIterations.
	Iterations int
	// Rand supplies the salt and every nonce; nil means crypto/rand. Only
	// tests set it, to get byte-identical output.
	Rand io.Reader
}

// Key is a derived AES-256-GCM key bound to the salt and iteration count it
// was derived with. It is safe for concurrent use. It is as secret as the
// data it protects: it prints as "envelope.Key(redacted)".
type Key struct {
	iter int
	salt []byte
	raw  []byte
	aead cipher.AEAD
	rand io.Reader
}

// NewKey derives a key with a fresh random salt, for a passphrase that is set
// for the first time or changed.
func NewKey(passphrase string, kdf KDF, opt KeyOptions) (*Key, error) {
	const op = "encrypt"
	if passphrase == "" {
		return nil, errkind.Say(errkind.Invalid, op, msg.New("errNeedPassphrase"))
	}
	iter := opt.Iterations
	if iter == 0 {
		iter = DefaultIterations
	}
	if iter < MinIterations || iter > MaxIterations {
		return nil, errkind.Internal(errkind.Invalid, op, fmt.Sprintf(
			"key derivation iterations must be between %d and %d, not %d", MinIterations, MaxIterations, iter), nil)
	}
	salt := make([]byte, SaltSize)
	if err := readRand(opt.Rand, salt); err != nil {
		return nil, errkind.SayWrap(errkind.Unknown, op, msg.New("errRandom"), err)
	}
	k, err := derive(op, passphrase, iter, salt, kdf)
	if err != nil {
		return nil, err
	}
	k.rand = opt.Rand
	return k, nil
}

// DeriveKey derives the key for existing parameters (usually ReadParams of
// a file), so that the caller can cache it.
func DeriveKey(passphrase string, p Params, kdf KDF) (*Key, error) {
	const op = "derive key"
	if passphrase == "" {
		return nil, errkind.Say(errkind.PassphraseNeeded, op, msg.New("errEncrypted"))
	}
	if problem := checkParams(p.Iterations, p.Salt); problem != "" {
		return nil, errkind.Internal(errkind.Invalid, op, problem, nil)
	}
	return derive(op, passphrase, p.Iterations, bytes.Clone(p.Salt), kdf)
}

func derive(op, passphrase string, iter int, salt []byte, kdf KDF) (*Key, error) {
	if kdf == nil {
		kdf = GoKDF
	}
	raw, err := kdf.PBKDF2SHA256([]byte(passphrase), salt, iter, keySize)
	if err != nil {
		if errkind.Of(err) != errkind.Unknown {
			return nil, err
		}
		return nil, errkind.SayWrap(errkind.Unknown, op, msg.New("errDeriveFailed"), err)
	}
	if len(raw) != keySize {
		return nil, errkind.Internal(errkind.Unknown, op, fmt.Sprintf("the key derivation returned %d bytes instead of %d", len(raw), keySize), nil)
	}
	return newKey(iter, salt, raw)
}

func newKey(iter int, salt, raw []byte) (*Key, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, errkind.Internal(errkind.Unknown, "encrypt", "could not set up AES", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, errkind.Internal(errkind.Unknown, "encrypt", "could not set up AES-GCM", err)
	}
	return &Key{iter: iter, salt: salt, raw: raw, aead: aead}, nil
}

// Params returns the salt and iteration count the key was derived with.
func (k *Key) Params() Params { return Params{Iterations: k.iter, Salt: bytes.Clone(k.salt)} }

// String keeps the key out of logs and error messages.
func (k *Key) String() string { return "envelope.Key(redacted)" }

// GoString keeps the key out of %#v output.
func (k *Key) GoString() string { return k.String() }

// Seal encrypts plain with a fresh random nonce, keeping the key's salt and
// iteration count (see the package doc for why that is safe). It writes the
// text form; SealBinary writes the smaller binary form.
func (k *Key) Seal(plain []byte) ([]byte, error) {
	nonce := make([]byte, NonceSize)
	if err := readRand(k.rand, nonce); err != nil {
		return nil, errkind.SayWrap(errkind.Unknown, "encrypt", msg.New("errRandom"), err)
	}
	return k.seal(plain, nonce), nil
}

func (k *Key) seal(plain, nonce []byte) []byte {
	aad := append(appendHeader(nil, k.iter, k.salt), '}')
	ct := k.aead.Seal(nil, nonce, plain, aad)
	enc := base64.StdEncoding
	out := make([]byte, 0, len(aad)+enc.EncodedLen(len(ct))+enc.EncodedLen(NonceSize)+32)
	out = appendHeader(out, k.iter, k.salt)
	out = append(out, `,"nonce":"`...)
	out = enc.AppendEncode(out, nonce)
	out = append(out, `","ct":"`...)
	out = enc.AppendEncode(out, ct)
	return append(out, `"}`...)
}

// appendHeader appends the canonical header without its closing brace; with
// the brace it is the GCM additional data.
func appendHeader(b []byte, iter int, salt []byte) []byte {
	b = append(b, `{"format":"`+Format+`","v":`+strconv.Itoa(Version)+`,"kdf":{"name":"`+KDFName+`","iter":`...)
	b = strconv.AppendInt(b, int64(iter), 10)
	b = append(b, `,"salt":"`...)
	b = base64.StdEncoding.AppendEncode(b, salt)
	return append(b, `"},"cipher":"`+CipherName+`"`...)
}

// Open decrypts a file sealed with this key. A file sealed under other
// parameters (another device set a new passphrase) is errkind.PassphraseNeeded:
// ask for the passphrase and use OpenCached.
func (k *Key) Open(data []byte) ([]byte, error) {
	s, err := parse(data)
	if err != nil {
		return nil, err
	}
	if !k.fits(s) {
		return nil, otherKey()
	}
	return k.open(s)
}

// Fits reports whether data is an envelope sealed under this key's salt and
// iteration count, i.e. whether Open can try it without the passphrase.
func (k *Key) Fits(data []byte) bool {
	s, err := parse(data)
	return err == nil && k.fits(s)
}

func (k *Key) fits(s *sealed) bool { return s.iter == k.iter && bytes.Equal(s.salt, k.salt) }

func (k *Key) open(s *sealed) ([]byte, error) {
	plain, err := k.aead.Open(nil, s.nonce, s.ct, s.aad)
	if err != nil {
		return nil, errkind.SayWrap(errkind.Decrypt, "decrypt", msg.New("errWrongPassphrase"), err)
	}
	return plain, nil
}

func otherKey() error {
	return errkind.Say(errkind.PassphraseNeeded, "decrypt", msg.New("errOtherKey"))
}

// Seal encrypts plain under a key derived from passphrase with a fresh random
// salt and nonce. It costs one full key derivation; repeated writes should
// use NewKey once and (*Key).Seal.
func Seal(plain []byte, passphrase string, kdf KDF) ([]byte, error) {
	k, err := NewKey(passphrase, kdf, KeyOptions{})
	if err != nil {
		return nil, err
	}
	return k.Seal(plain)
}

// Open decrypts an envelope with a passphrase. The header is checked before
// any key is derived, so a malformed or hostile file fails fast.
func Open(data []byte, passphrase string, kdf KDF) ([]byte, error) {
	plain, _, err := OpenCached(data, passphrase, nil, kdf)
	return plain, err
}

// OpenCached decrypts data with cached when the file was sealed under its
// salt and iteration count; otherwise it derives the file's key from
// passphrase. It returns the key that opened the file, for the caller to
// cache and to Seal the next upload with. passphrase may be empty when a
// cached key is expected to fit; if it does not, the error is
// errkind.PassphraseNeeded.
func OpenCached(data []byte, passphrase string, cached *Key, kdf KDF) ([]byte, *Key, error) {
	s, err := parse(data)
	if err != nil {
		return nil, nil, err
	}
	if cached != nil && cached.fits(s) {
		plain, err := cached.open(s)
		if err == nil {
			return plain, cached, nil
		}
		if passphrase == "" {
			return nil, nil, err
		}
		// The cached key may be stale (a passphrase changed without a new
		// salt, which Seal never does but another writer might): the
		// passphrase gets its own try below.
	}
	if passphrase == "" {
		if cached != nil {
			return nil, nil, otherKey()
		}
		return nil, nil, errkind.Say(errkind.PassphraseNeeded, "decrypt", msg.New("errEncrypted"))
	}
	k, err := derive("decrypt", passphrase, s.iter, s.salt, kdf)
	if err != nil {
		return nil, nil, err
	}
	plain, err := k.open(s)
	if err != nil {
		return nil, nil, err
	}
	return plain, k, nil
}

// ReadParams returns the key-derivation parameters of an encrypted file
// without decrypting it.
func ReadParams(data []byte) (Params, error) {
	s, err := parse(data)
	if err != nil {
		return Params{}, err
	}
	return Params{Iterations: s.iter, Salt: s.salt}, nil
}

// sealed is a parsed, validated envelope.
type sealed struct {
	iter            int
	salt, nonce, ct []byte
	aad             []byte
}

// parse validates everything that can be checked without the key, for both
// forms. Every failure is BadDocument or NewerVersion, with a message naming
// the problem.
func parse(data []byte) (*sealed, error) {
	if s, ok := parseCanonical(data); ok {
		return s, nil
	}
	if top, body, ok := splitBinary(data); ok {
		return parseBinary(top, body)
	}
	return parseJSON(data)
}

// parseCanonical reads exactly the bytes Seal writes, without a JSON parser:
// in wasm, encoding/json spends more time on a 10,000-account file than
// decryption does. Anything else (re-indented, reordered, damaged) goes to
// parseJSON, which accepts the same files and explains what is wrong.
func parseCanonical(data []byte) (*sealed, bool) {
	const head = `{"format":"` + Format + `","v":1,"kdf":{"name":"` + KDFName + `","iter":`
	rest, ok := bytes.CutPrefix(data, []byte(head))
	if !ok {
		return nil, false
	}
	i := 0
	for i < len(rest) && i < 9 && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || rest[0] == '0' {
		return nil, false
	}
	iter, err := strconv.Atoi(string(rest[:i]))
	if err != nil {
		return nil, false
	}
	rest = rest[i:]
	salt, rest, ok := cutBase64(rest, `,"salt":"`, `"},"cipher":"`+CipherName+`","nonce":"`)
	if !ok {
		return nil, false
	}
	nonce, rest, ok := cutBase64(rest, "", `","ct":"`)
	if !ok {
		return nil, false
	}
	ct, rest, ok := cutBase64(rest, "", `"}`)
	if !ok || len(bytes.TrimRight(rest, " \t\r\n")) != 0 {
		return nil, false
	}
	if checkParams(iter, salt) != "" || len(nonce) != NonceSize || len(ct) < tagSize {
		return nil, false
	}
	return &sealed{iter: iter, salt: salt, nonce: nonce, ct: ct, aad: append(appendHeader(nil, iter, salt), '}')}, true
}

// cutBase64 expects prefix, then standard base64 up to end, and returns the
// decoded bytes and what follows end.
func cutBase64(b []byte, prefix, end string) ([]byte, []byte, bool) {
	b, ok := bytes.CutPrefix(b, []byte(prefix))
	if !ok {
		return nil, nil, false
	}
	j := bytes.IndexByte(b, '"')
	// Decode skips CR and LF, which a JSON string cannot hold raw.
	if j < 0 || !bytes.HasPrefix(b[j:], []byte(end)) || bytes.ContainsAny(b[:j], "\r\n") {
		return nil, nil, false
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(j))
	n, err := base64.StdEncoding.Decode(out, b[:j])
	if err != nil {
		return nil, nil, false
	}
	return out[:n], b[j+len(end):], true
}

// parseJSON is the general reader for any well-formed rendering of the
// envelope.
func parseJSON(data []byte) (*sealed, error) {
	const op = "decrypt"
	bad := func(key string, args ...string) error {
		return errkind.Say(errkind.BadDocument, op, msg.New(key, args...))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(trimBOM(data), &top); err != nil || top == nil {
		return nil, bad("errEncDamaged")
	}
	s, err := parseHeader(top, "ct")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(top["ct"], &s.ct); err != nil || len(s.ct) < tagSize {
		return nil, bad("errEncContentDamaged")
	}
	return s, nil
}

// parseHeader checks the fields both forms share; body names the field that
// carries (text form) or announces (binary form) the ciphertext, the only
// other field allowed. The returned envelope has no ciphertext yet.
func parseHeader(top map[string]json.RawMessage, body string) (*sealed, error) {
	const op = "decrypt"
	bad := func(key string, args ...string) error {
		return errkind.Say(errkind.BadDocument, op, msg.New(key, args...))
	}
	var format string
	if err := json.Unmarshal(top["format"], &format); err != nil || format != Format {
		return nil, bad("errEncNotDavsync")
	}
	var v int
	if err := json.Unmarshal(top["v"], &v); err != nil || v < 1 {
		return nil, bad("errEncNoVersion")
	}
	if v > Version {
		return nil, errkind.Say(errkind.NewerVersion, op, msg.New("errEncNewer", strconv.Itoa(v), strconv.Itoa(Version)))
	}
	for key := range top {
		switch key {
		case "format", "v", "kdf", "cipher", "nonce", body:
		default:
			return nil, bad("errEncField", quote(key))
		}
	}
	var kdf struct {
		Name string `json:"name"`
		Iter int    `json:"iter"`
		Salt []byte `json:"salt"`
	}
	if err := strictUnmarshal(top["kdf"], &kdf); err != nil {
		return nil, bad("errEncKDFDamaged")
	}
	if kdf.Name != KDFName {
		return nil, bad("errEncUnknownKDF", quote(kdf.Name))
	}
	if checkParams(kdf.Iter, kdf.Salt) != "" {
		return nil, bad("errEncParams", strconv.Itoa(kdf.Iter), strconv.Itoa(len(kdf.Salt)))
	}
	var cipherName string
	if err := json.Unmarshal(top["cipher"], &cipherName); err != nil || cipherName != CipherName {
		return nil, bad("errEncUnknownCipher", quote(cipherName))
	}
	s := &sealed{iter: kdf.Iter, salt: kdf.Salt}
	if err := json.Unmarshal(top["nonce"], &s.nonce); err != nil || len(s.nonce) != NonceSize {
		return nil, bad("errEncNonce")
	}
	s.aad = append(appendHeader(nil, s.iter, s.salt), '}')
	return s, nil
}

// checkParams returns why parameters are unacceptable, or "".
func checkParams(iter int, salt []byte) string {
	if iter < MinIterations || iter > MaxIterations {
		return fmt.Sprintf("it asks for %d key derivation iterations; davsync accepts %d to %d", iter, MinIterations, MaxIterations)
	}
	if len(salt) < SaltSize || len(salt) > maxSaltLen {
		return fmt.Sprintf("its salt is %d bytes; davsync accepts %d to %d", len(salt), SaltSize, maxSaltLen)
	}
	return ""
}

func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// quote quotes a string from a file for a message, cut short so a hostile
// file cannot flood the status page.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strconv.Quote(s)
}

func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }

func readRand(r io.Reader, b []byte) error {
	if r == nil {
		_, err := rand.Read(b)
		return err
	}
	_, err := io.ReadFull(r, b)
	return err
}

// IsEncrypted reports whether data is a davsync envelope (of any version,
// text or binary form), judged by content. It is cheap on plain documents: Seal writes "format"
// first, and any other key order is recognised only when the exact JSON
// string "davsync-encrypted" occurs somewhere in data.
func IsEncrypted(data []byte) bool {
	b := bytes.TrimLeft(trimBOM(data), " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	rest := bytes.TrimLeft(b[1:], " \t\r\n")
	if r, ok := bytes.CutPrefix(rest, []byte(`"format"`)); ok {
		r = bytes.TrimLeft(r, " \t\r\n")
		if r, ok = bytes.CutPrefix(r, []byte(":")); ok {
			return bytes.HasPrefix(bytes.TrimLeft(r, " \t\r\n"), []byte(`"`+Format+`"`))
		}
		return false
	}
	// A JSON string equal to Format can only appear whole (a quote inside a
	// string is escaped), so plain documents almost never reach the parse.
	if !bytes.Contains(b, []byte(`"`+Format+`"`)) {
		return false
	}
	var top struct {
		Format string `json:"format"`
	}
	if json.Unmarshal(b, &top) == nil {
		return top.Format == Format
	}
	// The binary form: a JSON header line, then raw bytes.
	if n := bytes.IndexByte(b[:min(len(b), maxBinaryHeader)], '\n'); n >= 0 {
		return json.Unmarshal(b[:n], &top) == nil && top.Format == Format
	}
	return false
}

// Export serialises the key for a session cache (chrome.storage.session in
// the browser). The bytes are as secret as the data the key protects: never
// persist them beyond the session or put them in a message or log.
func (k *Key) Export() []byte {
	b := append([]byte("dsk1"), byte(len(k.salt)))
	b = append(b, k.salt...)
	b = binary.BigEndian.AppendUint32(b, uint32(k.iter))
	return append(b, k.raw...)
}

// ImportKey restores a key from Export's bytes.
func ImportKey(b []byte) (*Key, error) {
	bad := errkind.Say(errkind.Invalid, "import key", msg.New("errCachedKeyDamaged"))
	r, ok := bytes.CutPrefix(b, []byte("dsk1"))
	if !ok || len(r) < 1 {
		return nil, bad
	}
	n := int(r[0])
	r = r[1:]
	if len(r) != n+4+keySize {
		return nil, bad
	}
	salt := bytes.Clone(r[:n])
	iter := int(binary.BigEndian.Uint32(r[n:]))
	if checkParams(iter, salt) != "" {
		return nil, bad
	}
	return newKey(iter, salt, bytes.Clone(r[n+4:]))
}
