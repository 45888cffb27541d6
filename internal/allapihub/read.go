package allapihub

import (
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
)

// Read converts an All API Hub backup, plain or in its encrypted envelope.
// An encrypted file without a passphrase is errkind.PassphraseNeeded, a
// wrong passphrase errkind.Decrypt (both from envelope.OpenAllAPIHub, which
// also refuses an iteration count above its bound before deriving a key).
// kdf nil means envelope.GoKDF.
func Read(data []byte, passphrase string, kdf envelope.KDF, opts ConvertOptions) (*Converted, error) {
	encrypted := IsEncrypted(data)
	if encrypted {
		plain, err := envelope.OpenAllAPIHub(data, passphrase, kdf)
		if err != nil {
			return nil, err
		}
		if !IsBackup(plain) {
			return nil, errkind.New(errkind.BadDocument, op, "The encrypted All API Hub file opened, but what is inside is not an All API Hub backup. Nothing was imported.")
		}
		data = plain
	}
	res, err := Convert(data, opts)
	if err != nil {
		return nil, err
	}
	res.Encrypted = encrypted
	return res, nil
}
