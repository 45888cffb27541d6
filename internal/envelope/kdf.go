package envelope

import (
	"crypto/pbkdf2"
	"crypto/sha256"
)

// KDF derives key bytes from a passphrase with PBKDF2-HMAC-SHA256. It is an
// interface because the browser derives faster through WebCrypto than Go's
// code compiled to wasm; every implementation must return exactly the bytes
// RFC 8018 defines, so files written on one platform open on the other.
type KDF interface {
	PBKDF2SHA256(passphrase, salt []byte, iterations, keyLen int) ([]byte, error)
}

// GoKDF is the KDF implemented with the standard library's crypto/pbkdf2.
var GoKDF KDF = goKDF{}

type goKDF struct{}

func (goKDF) PBKDF2SHA256(passphrase, salt []byte, iterations, keyLen int) ([]byte, error) {
	return pbkdf2.Key(sha256.New, string(passphrase), salt, iterations, keyLen)
}
