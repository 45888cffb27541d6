package backup

import (
	"strings"

	"github.com/davsync/davsync/internal/jsonlimit"
	"github.com/tidwall/gjson"
)

// AccountFields are the fields of an account record the engine knows, in the
// order a rebuilt record writes them. "id" and "updated_at" are implied.
var AccountFields = []string{
	"site_name", "site_url", "username", "access_token", "notes",
	"tags", "disabled", "created_at",
}

// ValidateAccount checks the types of an account record's known fields that
// are present: strings for site_name, site_url, username, access_token and
// notes; an array of strings for tags; a boolean for disabled; a timestamp
// for created_at. null is accepted for each (an unset field). Unknown fields
// are not looked at.
func ValidateAccount(raw []byte) error {
	if !jsonlimit.Valid(raw) {
		return badField(ErrNotJSON, "is not valid JSON")
	}
	var err error
	gjson.ParseBytes(raw).ForEach(func(k, v gjson.Result) bool {
		err = validateAccountField(k.Str, v)
		return err == nil
	})
	return err
}

// validateAccountField checks one field of an account record.
func validateAccountField(name string, v gjson.Result) error {
	if v.Type == gjson.Null {
		return nil
	}
	switch name {
	case "site_name", "site_url", "username", "access_token", "notes":
		if v.Type != gjson.String {
			return wrongType(name, "a string", v)
		}
	case "tags":
		if !v.IsArray() {
			return wrongType(name, "an array of strings", v)
		}
		var err error
		v.ForEach(func(_, t gjson.Result) bool {
			if t.Type != gjson.String {
				err = wrongType(name, "an array of strings", t)
			}
			return err == nil
		})
		return err
	case "disabled":
		if !v.IsBool() {
			return wrongType(name, "true or false", v)
		}
	case "created_at":
		if _, e := timestamp(v); e != "" {
			return badField(ErrBadTimestamp, `"created_at" `+e)
		}
	}
	return nil
}

// fieldError is a validation failure inside one record; Parse prefixes the
// record's place when it turns it into the error it returns.
type fieldError struct {
	sentinel error
	id       string // the record's id, when known
	msg      string
}

func (e *fieldError) Error() string { return e.msg }
func (e *fieldError) Unwrap() error { return e.sentinel }

func badField(sentinel error, msg string) error { return &fieldError{sentinel: sentinel, msg: msg} }

func badID(sentinel error, id, msg string) error {
	return &fieldError{sentinel: sentinel, id: id, msg: msg}
}

func wrongType(field, want string, v gjson.Result) error {
	return badField(ErrWrongType, `"`+field+`" must be `+want+", not "+typeName(v))
}

// typeName names a JSON value's type for a message.
func typeName(v gjson.Result) string {
	switch v.Type {
	case gjson.Null:
		return "null"
	case gjson.False, gjson.True:
		return "a boolean"
	case gjson.Number:
		return "a number"
	case gjson.String:
		return "a string"
	}
	if v.IsArray() {
		return "an array"
	}
	if v.IsObject() {
		return "an object"
	}
	return "nothing"
}

// WebURL reports whether s is an http:// or https:// address, the only
// kind of site address the pages render as a link: a synced or imported
// "javascript:" or "data:" address must never become one.
func WebURL(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")
}
