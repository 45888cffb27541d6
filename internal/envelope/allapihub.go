package envelope

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/limits"
	"github.com/davsync/davsync/internal/msg"
)

// All API Hub's encrypted backup envelope, as its extension writes it
// (src/services/webdav/webdavBackupEncryption.ts upstream).
const (
	AllAPIHubType   = "all-api-hub-webdav-backup-encrypted"
	allAPIHubV      = 1
	allAPIHubKDF    = "PBKDF2"  // with SHA-256
	allAPIHubCipher = "AES-GCM" // with a 256-bit key

	// AllAPIHubMaxIterations bounds the file's "iter": their writer uses
	// 250,000, and the file is untrusted (upstream reads it unbounded).
	AllAPIHubMaxIterations = limits.KDFIterations
	// MaxAllAPIHubIV bounds the IV length. Their writer uses 12 bytes;
	// WebCrypto's AES-GCM accepts other lengths, so any length GCM can take
	// up to this bound is read.
	MaxAllAPIHubIV = 256
)

type allAPIHubEnvelope struct {
	Type   string `json:"type"`
	V      int    `json:"v"`
	KDF    string `json:"kdf"`
	Cipher string `json:"cipher"`
	Iter   int    `json:"iter"`
	Salt   string `json:"salt"`
	IV     string `json:"iv"`
	CT     string `json:"ct"`
}

// IsAllAPIHubEncrypted reports whether data is All API Hub's encrypted backup
// envelope (of any version), judged by content.
func IsAllAPIHubEncrypted(data []byte) bool {
	if !bytes.Contains(data, []byte(`"`+AllAPIHubType+`"`)) {
		return false
	}
	var e struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(trimBOM(data), &e) == nil && e.Type == AllAPIHubType
}

// OpenAllAPIHub decrypts an All API Hub encrypted backup and returns the
// plain backup JSON. Errors: errkind.BadDocument for a malformed envelope or
// an iteration count above AllAPIHubMaxIterations (refused before deriving),
// errkind.NewerVersion for an envelope version above 1,
// errkind.PassphraseNeeded for an empty passphrase, errkind.Decrypt for a
// wrong passphrase or damaged ciphertext.
func OpenAllAPIHub(data []byte, passphrase string, kdf KDF) ([]byte, error) {
	const op = "decrypt All API Hub backup"
	bad := func(key string, args ...string) error {
		return errkind.Say(errkind.BadDocument, op, msg.New(key, args...))
	}
	var e allAPIHubEnvelope
	if err := json.Unmarshal(trimBOM(data), &e); err != nil {
		return nil, bad("errAAHDamaged")
	}
	if e.Type != AllAPIHubType {
		return nil, bad("errAAHNotEncrypted")
	}
	if e.V > allAPIHubV {
		return nil, errkind.Say(errkind.NewerVersion, op, msg.New("errAAHNewer", strconv.Itoa(e.V), strconv.Itoa(allAPIHubV)))
	}
	if e.V != allAPIHubV {
		return nil, bad("errAAHNoVersion")
	}
	if e.KDF != allAPIHubKDF || e.Cipher != allAPIHubCipher {
		return nil, bad("errAAHCipher", quote(e.KDF), quote(e.Cipher))
	}
	if e.Iter < 1 || e.Iter > AllAPIHubMaxIterations {
		return nil, bad("errAAHIterations", strconv.Itoa(e.Iter), strconv.Itoa(AllAPIHubMaxIterations))
	}
	salt, err1 := decodeBase64(e.Salt)
	iv, err2 := decodeBase64(e.IV)
	ct, err3 := decodeBase64(e.CT)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, bad("errAAHBase64")
	}
	if len(iv) < 1 || len(iv) > MaxAllAPIHubIV {
		return nil, bad("errAAHIV", strconv.Itoa(len(iv)), strconv.Itoa(MaxAllAPIHubIV))
	}
	if len(ct) < tagSize {
		return nil, bad("errAAHCutShort")
	}
	if passphrase == "" {
		return nil, errkind.Say(errkind.PassphraseNeeded, op, msg.New("errAAHPassphrase"))
	}
	aead, err := allAPIHubAEAD(op, passphrase, salt, e.Iter, len(iv), kdf)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, iv, ct, nil)
	if err != nil {
		return nil, errkind.SayWrap(errkind.Decrypt, op, msg.New("errAAHWrongPassword"), err)
	}
	return plain, nil
}

// SealAllAPIHub writes All API Hub's encrypted envelope, with a random
// 16-byte salt and 12-byte IV like its writer. It exists to make test
// fixtures; davsync never writes this format for users.
func SealAllAPIHub(plain []byte, passphrase string, iter int, kdf KDF) ([]byte, error) {
	salt, iv := make([]byte, 16), make([]byte, 12)
	if err := readRand(nil, salt); err != nil {
		return nil, err
	}
	if err := readRand(nil, iv); err != nil {
		return nil, err
	}
	return sealAllAPIHub(plain, passphrase, iter, salt, iv, kdf)
}

func sealAllAPIHub(plain []byte, passphrase string, iter int, salt, iv []byte, kdf KDF) ([]byte, error) {
	aead, err := allAPIHubAEAD("encrypt All API Hub backup", passphrase, salt, iter, len(iv), kdf)
	if err != nil {
		return nil, err
	}
	ct := aead.Seal(nil, iv, plain, nil)
	enc := base64.StdEncoding
	// Key order as JSON.stringify writes their object.
	b := []byte(`{"type":"` + AllAPIHubType + `","v":1,"kdf":"` + allAPIHubKDF + `","cipher":"` + allAPIHubCipher + `","iter":`)
	b = strconv.AppendInt(b, int64(iter), 10)
	b = append(b, `,"salt":"`...)
	b = enc.AppendEncode(b, salt)
	b = append(b, `","iv":"`...)
	b = enc.AppendEncode(b, iv)
	b = append(b, `","ct":"`...)
	b = enc.AppendEncode(b, ct)
	return append(b, `"}`...), nil
}

func allAPIHubAEAD(op, passphrase string, salt []byte, iter, ivLen int, kdf KDF) (cipher.AEAD, error) {
	if kdf == nil {
		kdf = GoKDF
	}
	raw, err := kdf.PBKDF2SHA256([]byte(passphrase), salt, iter, keySize)
	if err != nil {
		return nil, errkind.SayWrap(errkind.Unknown, op, msg.New("errDeriveFailed"), err)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, errkind.Internal(errkind.Unknown, op, "could not set up AES", err)
	}
	aead, err := cipher.NewGCMWithNonceSize(block, ivLen)
	if err != nil {
		return nil, errkind.SayWrap(errkind.BadDocument, op, msg.New("errAAHIVUnusable"), err)
	}
	return aead, nil
}

// decodeBase64 decodes like the browser's atob: padding optional, ASCII
// whitespace ignored.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '\f':
			return -1
		}
		return r
	}, s)
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}
