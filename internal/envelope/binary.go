package envelope

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/msg"
)

// maxBinaryHeader bounds the search for the binary form's header line. The
// header Seal writes is under 300 bytes even with the longest salt; the
// bound keeps detection cheap on large text files, which have no newline.
const maxBinaryHeader = 1024

// SealBinary is (*Key).Seal in the binary form (see the package doc): the
// same header, key, nonce rule and additional data, with the ciphertext as
// raw bytes after a header line instead of base64 inside the JSON, so the
// file is only the header and the 16-byte tag larger than plain. Every
// reader in this package accepts both forms.
func (k *Key) SealBinary(plain []byte) ([]byte, error) {
	nonce := make([]byte, NonceSize)
	if err := readRand(k.rand, nonce); err != nil {
		return nil, errkind.SayWrap(errkind.Unknown, "encrypt", msg.New("errRandom"), err)
	}
	return k.sealBinary(plain, nonce), nil
}

func (k *Key) sealBinary(plain, nonce []byte) []byte {
	aad := append(appendHeader(nil, k.iter, k.salt), '}')
	ctLen := len(plain) + k.aead.Overhead()
	out := make([]byte, 0, len(aad)+64+ctLen)
	out = append(out, aad[:len(aad)-1]...)
	out = append(out, `,"nonce":"`...)
	out = base64.StdEncoding.AppendEncode(out, nonce)
	out = append(out, `","ct_len":`...)
	out = strconv.AppendInt(out, int64(ctLen), 10)
	out = append(out, "}\n"...)
	// The ciphertext is appended in place after the header: no second copy
	// of a multi-megabyte document.
	return k.aead.Seal(out, nonce, plain, aad)
}

// splitBinary reports whether data is in the binary form: a JSON object on
// its first line (within maxBinaryHeader bytes) that announces "ct_len", or
// is followed by more than whitespace. Neither can be true of a text-form
// file: its first line is either the whole object (with "ct", and at most
// whitespace after it) or not a complete object (re-indented JSON).
func splitBinary(data []byte) (map[string]json.RawMessage, []byte, bool) {
	b := trimBOM(data)
	n := bytes.IndexByte(b[:min(len(b), maxBinaryHeader)], '\n')
	if n < 0 {
		return nil, nil, false
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b[:n], &top); err != nil || top == nil {
		return nil, nil, false
	}
	body := b[n+1:]
	if _, ok := top["ct_len"]; !ok && len(bytes.TrimLeft(body, " \t\r\n")) == 0 {
		return nil, nil, false
	}
	return top, body, true
}

// parseBinary validates a binary-form header and its body. The body must be
// exactly ct_len bytes: a cut-short upload or anything appended is refused
// before decryption, and ct_len itself needs no authentication because any
// other length fails either this check or the GCM tag.
func parseBinary(top map[string]json.RawMessage, body []byte) (*sealed, error) {
	s, err := parseHeader(top, "ct_len")
	if err != nil {
		return nil, err
	}
	var n int64
	if err := json.Unmarshal(top["ct_len"], &n); err != nil || n < tagSize {
		return nil, errkind.Say(errkind.BadDocument, "decrypt", msg.New("errEncLength"))
	}
	if int64(len(body)) != n {
		return nil, errkind.Say(errkind.BadDocument, "decrypt", msg.New("errEncLengthMismatch", strconv.Itoa(len(body)), strconv.FormatUint(uint64(n), 10)))
	}
	s.ct = body
	return s, nil
}
