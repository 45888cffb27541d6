package local

import (
	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/merge"
	"github.com/tidwall/gjson"
)

// PutRecord creates or edits the record of collection name in doc with the
// fields in raw (a JSON object with an "id"), stamping the changed fields with
// now. A record edited after its deletion is alive again.
func PutRecord(doc *backup.Document, name string, raw []byte, now int64) (backup.Record, error) {
	if _, ok := doc.Collections[name]; !ok {
		return backup.Record{}, errkind.Internal(errkind.Invalid, "edit", "unknown collection "+name, nil)
	}
	c := doc.Collection(name)
	id := gjson.GetBytes(raw, "id").String()
	var old *backup.Record
	if r, ok := c.Get(id); ok {
		old = &r
	}
	r, err := merge.Edit(old, raw, now)
	if err != nil {
		return backup.Record{}, err
	}
	c.Put(r)
	return r, nil
}

// DeleteRecord removes record id from collection name and records a
// tombstone stamped now, so the deletion reaches the other devices. Deleting
// a missing record is not an error.
func DeleteRecord(doc *backup.Document, name, id string, now int64) error {
	if _, ok := doc.Collections[name]; !ok {
		return errkind.Internal(errkind.Invalid, "delete", "unknown collection "+name, nil)
	}
	doc.Collection(name).Delete(id, now)
	return nil
}
