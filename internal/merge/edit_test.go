package merge

import (
	"errors"
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
