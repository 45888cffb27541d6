package merge

import (
	"errors"
	"fmt"
	"testing"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/errkind"
)

func TestEditNewRecord(t *testing.T) {
	r := edit(t, nil, `{ "zz": 1, "id": "a", "notes": "n", "updated_at": 1, "_field_times": {"x": 99} }`, 500)
	want := `{"zz":1,"id":"a","notes":"n","updated_at":500,"_field_times":{"notes":500,"zz":500}}`
	if string(r.Raw) != want || r.ID != "a" || r.UpdatedAt != 500 {
		t.Fatalf("Edit(nil) = %s", r.Raw)
	}
	if _, err := backup.ParseRecord("accounts", r.Raw); err != nil {
		t.Fatal(err)
	}
	r = edit(t, nil, `{"id":"b"}`, 7)
	if string(r.Raw) != `{"id":"b","updated_at":7,"_field_times":{}}` {
		t.Fatalf("empty record = %s", r.Raw)
	}
}

func TestEditStampsOnlyChanges(t *testing.T) {
	old := edit(t, nil, `{"id":"a","notes":"n","site_name":"s","gone":true}`, 100)
	r := edit(t, &old, `{"id":"a","site_name":"s2","notes":"n","new":[1]}`, 200)
	want := `{"id":"a","site_name":"s2","notes":"n","new":[1],"updated_at":200,"_field_times":{"gone":200,"new":200,"notes":100,"site_name":200}}`
	if string(r.Raw) != want {
		t.Fatalf("Edit\n got %s\nwant %s", r.Raw, want)
	}
	// A field removed earlier keeps its removal time.
	r2 := edit(t, &r, `{"id":"a","site_name":"s2","notes":"n3","new":[1]}`, 300)
	if want := `{"id":"a","site_name":"s2","notes":"n3","new":[1],"updated_at":300,"_field_times":{"gone":200,"new":200,"notes":300,"site_name":200}}`; string(r2.Raw) != want {
		t.Fatalf("Edit\n got %s\nwant %s", r2.Raw, want)
	}
	// Nothing changed: the record is returned as it was, time not bumped.
	same := edit(t, &r2, `{"notes":"n3","id":"a","site_name":"s2","new":[1]}`, 400)
	if string(same.Raw) != string(r2.Raw) || same.UpdatedAt != 300 {
		t.Fatalf("no-op edit changed the record: %s", same.Raw)
	}
}

func TestEditWithBehindClock(t *testing.T) {
	old := edit(t, nil, `{"id":"a","notes":"n"}`, 1000)
	r := edit(t, &old, `{"id":"a","notes":"m"}`, 10) // the clock went back
	if r.UpdatedAt != 1001 {
		t.Fatalf("stamp %d, want 1001: an edit must be newer than what it replaces", r.UpdatedAt)
	}
}

func TestEditWithoutFieldTimes(t *testing.T) {
	old, err := backup.ParseRecord("accounts", []byte(`{"id":"a","notes":"n","site_name":"s","updated_at":50}`))
	if err != nil {
		t.Fatal(err)
	}
	r := edit(t, &old, `{"id":"a","notes":"n","site_name":"t"}`, 60)
	if want := `{"id":"a","notes":"n","site_name":"t","updated_at":60,"_field_times":{"notes":50,"site_name":60}}`; string(r.Raw) != want {
		t.Fatalf("got %s", r.Raw)
	}
}

func TestEditErrors(t *testing.T) {
	old := edit(t, nil, `{"id":"a"}`, 1)
	for _, tc := range []struct {
		name string
		old  *backup.Record
		raw  string
		now  int64
		is   error
	}{
		{"not json", nil, `{"id":`, 1, backup.ErrNotJSON},
		{"not object", nil, `[]`, 1, backup.ErrWrongType},
		{"no id", nil, `{"notes":"x"}`, 1, backup.ErrMissingID},
		{"empty id", nil, `{"id":""}`, 1, backup.ErrMissingID},
		{"numeric id", nil, `{"id":1}`, 1, backup.ErrMissingID},
		{"dup field", nil, `{"id":"a","x":1,"x":2}`, 1, backup.ErrDuplicateKey},
		{"id change", &old, `{"id":"b"}`, 5, nil},
		{"bad clock", nil, `{"id":"a"}`, -1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Edit(tc.old, []byte(tc.raw), tc.now)
			if !errors.Is(err, errkind.Invalid) {
				t.Fatalf("err = %v, want Invalid", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
		})
	}
}

// A second "id" after a non-string one used to be accepted and written
// back twice, giving a record Parse refuses (the whole document with it).
func TestEditRefusesSecondIDOfAnyType(t *testing.T) {
	for _, raw := range []string{`{"id":1,"id":"a"}`, `{"id":null,"id":"a"}`, `{"id":"a","\u0069d":"b"}`} {
		if _, err := Edit(nil, []byte(raw), 5); !errors.Is(err, backup.ErrDuplicateKey) {
			t.Errorf("Edit(%s) err = %v, want ErrDuplicateKey", raw, err)
		}
	}
}

// Edit is linear in the number of fields: an imported record with 200k
// fields used to take minutes (a field-by-field scan per field), which
// hangs the worker. Run without -short only.
func TestEditManyFields(t *testing.T) {
	if testing.Short() {
		t.Skip("large record")
	}
	const n = 200_000
	b := []byte(`{"id":"a"`)
	for i := range n {
		b = fmt.Appendf(b, `,"f%d":%d`, i, i)
	}
	b = append(b, '}')
	old := edit(t, nil, string(b), 10)
	b[len(b)-2] = '7' // change the last field's value
	r := edit(t, &old, string(b), 20)
	if _, err := backup.ParseRecord("accounts", r.Raw); err != nil {
		t.Fatal(err)
	}
	if r.UpdatedAt != 20 {
		t.Fatalf("updated_at %d", r.UpdatedAt)
	}
}

func TestEditDuplicateEmptyKey(t *testing.T) {
	if _, err := Edit(nil, []byte(`{"id":"a","":"","":[0]}`), 5); !errors.Is(err, backup.ErrDuplicateKey) {
		t.Fatalf("err = %v, want ErrDuplicateKey", err)
	}
}
