package backup

import (
	"errors"
	"testing"
)

// Marshal promises never to fail: a caller that set a collection to nil
// (instead of through Collection) used to make Marshal and Clone panic.
func TestNilCollection(t *testing.T) {
	d := New()
	d.Collections["accounts"] = nil
	c := d.Clone()
	if got, want := string(c.Marshal()), string(New().Marshal()); got != want {
		t.Fatalf("Marshal = %s, want %s", got, want)
	}
	if _, err := Parse(d.Marshal()); err != nil {
		t.Fatal(err)
	}
}

// "" is a valid member name, and a repeated one is a repeated member like
// any other; it used to pass because "" also meant "no duplicate found".
func TestDuplicateEmptyKey(t *testing.T) {
	for _, in := range []string{
		`{"format":"davsync","version":1,"collections":{"accounts":{"records":[{"id":"a","updated_at":1,"":1,"":2}]}}}`,
		`{"format":"davsync","version":1,"":1,"":2}`,
		`{"format":"davsync","version":1,"preferences":{"values":{"":1,"":2}}}`,
	} {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrDuplicateKey) {
			t.Errorf("Parse(%s) err = %v, want ErrDuplicateKey", in, err)
		}
	}
}
