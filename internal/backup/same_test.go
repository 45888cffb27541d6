package backup

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// SameContent answers what comparing the two Marshals (exported_at aside)
// answers, for documents that differ in one place of every kind, and for
// untidy ones Marshal would repair.
func TestSameContentAgreesWithMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	base := func() *Document {
		d := New()
		for i := 0; i < 30; i++ {
			d.Collection("accounts").Put(Record{ID: fmt.Sprintf("a%02d", i), UpdatedAt: int64(i), Raw: []byte(fmt.Sprintf(`{"id":"a%02d","n":%d}`, i, i))})
		}
		d.Collection("accounts").Delete("gone", 7)
		d.Preferences = Preferences{UpdatedAt: 5, Values: []byte(`{"theme":"dark"}`)}
		d.Extra = map[string][]byte{"future": []byte(`[1]`)}
		return d
	}
	changes := []func(d *Document){
		func(d *Document) {},
		func(d *Document) { d.ExportedAt = 99 },
		func(d *Document) { d.Collections["accounts"].Records[r.IntN(30)].Raw = []byte(`{"id":"x"}`) },
		func(d *Document) { c := d.Collections["accounts"]; c.Records = c.Records[:29] },
		func(d *Document) { d.Collections["accounts"].Tombstones[0].DeletedAt++ },
		func(d *Document) { d.Collections["accounts"].Tombstones = nil },
		func(d *Document) { d.Preferences.UpdatedAt++ },
		func(d *Document) { d.Preferences.Values = nil },
		func(d *Document) { d.Preferences.Values = []byte(`{}`) },
		func(d *Document) { d.Extra = nil },
		func(d *Document) { d.Extra["format"] = []byte(`"x"`) }, // Marshal never writes it
		func(d *Document) { d.Extra["future"] = []byte(`[2]`) },
		func(d *Document) { d.Collections["more"] = nil },
		func(d *Document) { d.Collections["more"] = &Collection{} },
		func(d *Document) { // untidy: out of order
			c := d.Collections["accounts"]
			c.Records[0], c.Records[1] = c.Records[1], c.Records[0]
		},
		func(d *Document) { // untidy: a duplicate
			c := d.Collections["accounts"]
			c.Records = append(c.Records, c.Records[29])
		},
		func(d *Document) { d.Collections["accounts"].Records[3].Raw = nil }, // untidy: no bytes
	}
	for i, ci := range changes {
		for j, cj := range changes {
			a, b := base(), base()
			ci(a)
			cj(b)
			ma, mb := *a, *b
			ma.ExportedAt, mb.ExportedAt = 0, 0
			want := bytes.Equal(ma.Marshal(), mb.Marshal())
			if got := a.SameContent(b); got != want {
				t.Errorf("changes %d and %d: SameContent = %v, the Marshals say %v", i, j, got, want)
			}
		}
	}
}
