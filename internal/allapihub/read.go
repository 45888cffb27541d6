package allapihub

import (
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/jsonlimit"
	"github.com/davsync/davsync/internal/msg"
	"github.com/tidwall/gjson"
)

// Read converts an All API Hub backup, plain or in its encrypted envelope.
// An encrypted file without a passphrase is errkind.PassphraseNeeded, a
// wrong passphrase errkind.Decrypt (both from envelope.OpenAllAPIHub, which
// also refuses an iteration count above its bound before deriving a key).
// kdf nil means envelope.GoKDF.
func Read(data []byte, passphrase string, kdf envelope.KDF, opts ConvertOptions) (*Converted, error) {
	c, err := check(data)
	if err != nil {
		return nil, err
	}
	return ReadChecked(c, passphrase, kdf, opts)
}

// ReadChecked is Read for JSON the caller checked already (transfer, which
// had to look inside to know what the file is): the bytes are not scanned
// again, only what the envelope held, once.
func ReadChecked(c jsonlimit.Checked, passphrase string, kdf envelope.KDF, opts ConvertOptions) (*Converted, error) {
	root := gjson.ParseBytes(c.JSON)
	if Detect(root) != Encrypted {
		return convert(root, opts)
	}
	plain, err := envelope.OpenAllAPIHub(c.JSON, passphrase, kdf)
	if err != nil {
		return nil, err
	}
	inner, err := check(plain)
	if err != nil {
		return nil, err
	}
	if root = gjson.ParseBytes(inner.JSON); Detect(root) != Plain {
		return nil, errkind.Say(errkind.BadDocument, op, msg.New("errAAHInsideNot"))
	}
	res, err := convert(root, opts)
	if err != nil {
		return nil, err
	}
	res.Encrypted = true
	return res, nil
}
