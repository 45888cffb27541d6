package merge

import (
	"encoding/json"
	"fmt"
)

// conflictJSON is a Conflict as pages see it: snake_case names like the rest
// of the protocol, and each version of the record inline as the JSON object
// it is (null for a side that had deleted it). A []byte field would be
// base64 text, which a page cannot show or compare.
type conflictJSON struct {
	Collection string          `json:"collection"`
	ID         string          `json:"id"`
	Fields     []fieldJSON     `json:"fields"`
	Deleted    bool            `json:"deleted"`
	DeletedBy  *Side           `json:"deleted_by,omitempty"`
	Local      json.RawMessage `json:"local"`
	Remote     json.RawMessage `json:"remote"`
	Merged     json.RawMessage `json:"merged"`
	At         int64           `json:"at"`
}

type fieldJSON struct {
	Field  string `json:"field"`
	Winner Side   `json:"winner"`
}

// MarshalJSON writes the conflict with its record versions inline as JSON
// ("local", "remote", "merged"; null where a side had deleted the record)
// rather than as base64 strings.
func (c Conflict) MarshalJSON() ([]byte, error) {
	j := conflictJSON{
		Collection: c.Collection, ID: c.ID, Fields: make([]fieldJSON, len(c.Fields)),
		Deleted: c.Deleted, Local: rawOrNull(c.Local), Remote: rawOrNull(c.Remote), Merged: rawOrNull(c.Merged), At: c.At,
	}
	for i, f := range c.Fields {
		j.Fields[i] = fieldJSON(f)
	}
	if c.Deleted {
		s := c.DeletedBy
		j.DeletedBy = &s
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes, so a logged conflict can be
// stored and read back with its versions intact.
func (c *Conflict) UnmarshalJSON(data []byte) error {
	var j conflictJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*c = Conflict{Collection: j.Collection, ID: j.ID, Deleted: j.Deleted,
		Local: rawOrNil(j.Local), Remote: rawOrNil(j.Remote), Merged: rawOrNil(j.Merged), At: j.At}
	if j.DeletedBy != nil {
		c.DeletedBy = *j.DeletedBy
	}
	for _, f := range j.Fields {
		c.Fields = append(c.Fields, FieldConflict(f))
	}
	return nil
}

// UnmarshalText reads "local" or "remote", the inverse of MarshalText.
func (s *Side) UnmarshalText(b []byte) error {
	switch string(b) {
	case "local":
		*s = Local
	case "remote":
		*s = Remote
	default:
		return fmt.Errorf("side %q is neither local nor remote", b)
	}
	return nil
}

// rawOrNull turns a missing version into JSON null: nil means that side
// had deleted the record.
func rawOrNull(b []byte) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	return b
}

func rawOrNil(m json.RawMessage) []byte {
	if len(m) == 0 || string(m) == "null" {
		return nil
	}
	return []byte(m)
}
