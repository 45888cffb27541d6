package merge

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/hlc"
	"github.com/tidwall/gjson"
)

// A simulated set of devices editing, deleting and syncing one document,
// used to generate realistic inputs for the property tests: every document
// is one a real device could hold.

type replica struct {
	doc   *backup.Document
	clock *hlc.Clock
}

type world struct {
	t    testing.TB
	rng  *rand.Rand
	wall int64
	reps []*replica
	ids  int // size of the id pool: small, so devices create the same id too
}

func newWorld(t testing.TB, seed uint64, n int) *world {
	w := &world{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), wall: 1_700_000_000_000, ids: 8}
	for range n {
		skew := w.rng.Int64N(7) - 3 // clocks a few ms apart: ties happen
		w.reps = append(w.reps, &replica{doc: backup.New(), clock: hlc.New(func() int64 { return w.wall + skew })})
	}
	return w
}

var (
	fieldNames  = []string{"site_name", "notes", "tags", "disabled", "x_unknown", "zz_more"}
	fieldValues = []string{`"a"`, `"b"`, `"é\n"`, `["t","u"]`, `[]`, `true`, `false`, `1.50e1`, `{"n":[1,{"m":null}]}`, `null`}
)

func (w *world) value() string { return fieldValues[w.rng.IntN(len(fieldValues))] }

// typed returns a value of the type an account field must have.
func (w *world) typed(name string) string {
	pick := func(vs ...string) string { return vs[w.rng.IntN(len(vs))] }
	switch name {
	case "site_name", "notes":
		return pick(`"a"`, `"b"`, `"é\n"`, `"\u00e9"`, `null`)
	case "tags":
		return pick(`["t","u"]`, `[]`, `["t"]`)
	case "disabled":
		return pick(`true`, `false`)
	}
	return w.value()
}

// randomFields returns a record body (after "id") as "k":v pairs in random order.
func (w *world) randomFields(old []byte) []byte {
	type kv struct{ k, v string }
	var fs []kv
	gjson.ParseBytes(old).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id", "updated_at", "_field_times":
		default:
			fs = append(fs, kv{k.Str, v.Raw})
		}
		return true
	})
	for range 1 + w.rng.IntN(3) {
		name := fieldNames[w.rng.IntN(len(fieldNames))]
		i := slices.IndexFunc(fs, func(x kv) bool { return x.k == name })
		switch {
		case i >= 0 && w.rng.IntN(4) == 0:
			fs = slices.Delete(fs, i, i+1)
		case i >= 0:
			fs[i].v = w.typed(name)
		default:
			fs = append(fs, kv{name, w.typed(name)})
		}
	}
	if w.rng.IntN(5) == 0 {
		w.rng.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
	}
	var b []byte
	for _, f := range fs {
		b = append(b, ',')
		b = backup.AppendString(b, f.k)
		b = append(b, ':')
		b = append(b, f.v...)
	}
	return b
}

func (w *world) tick() { w.wall += w.rng.Int64N(3) }

// step performs one random operation.
func (w *world) step() {
	w.tick()
	rep := w.reps[w.rng.IntN(len(w.reps))]
	acc := rep.doc.Collection("accounts")
	id := "r" + strconv.Itoa(w.rng.IntN(w.ids))
	switch op := w.rng.IntN(100); {
	case op < 35: // edit or create through Edit
		old, ok := acc.Get(id)
		var oldp *backup.Record
		raw := []byte(nil)
		if ok {
			oldp, raw = &old, old.Raw
		}
		nr := append([]byte(`{"id":"`+id+`"`), w.randomFields(raw)...)
		nr = append(nr, '}')
		r, err := Edit(oldp, nr, rep.clock.Now())
		if err != nil {
			w.t.Fatalf("Edit: %v", err)
		}
		acc.Put(r)
	case op < 42: // an import: a record without _field_times
		if _, ok := acc.Get(id); ok {
			return
		}
		now := rep.clock.Now()
		raw := append([]byte(`{"id":"`+id+`","updated_at":`+strconv.FormatInt(now, 10)), w.randomFields(nil)...)
		raw = append(raw, '}')
		acc.Put(backup.Record{ID: id, UpdatedAt: now, Raw: raw})
	case op < 55:
		if _, ok := acc.Get(id); ok {
			acc.Delete(id, rep.clock.Now())
		}
	case op < 60:
		rep.doc.Preferences = backup.Preferences{UpdatedAt: rep.clock.Now(), Values: []byte(`{"theme":` + w.value() + `}`)}
	case op < 62: // a record in a collection this build does not declare
		raw := []byte(`{"id":"` + id + `","updated_at":` + strconv.FormatInt(rep.clock.Now(), 10) + `,"u":` + w.value() + `}`)
		rep.doc.Collection("zz_other").Put(backup.Record{ID: id, UpdatedAt: gjson.GetBytes(raw, "updated_at").Int(), Raw: raw})
	default:
		other := w.reps[w.rng.IntN(len(w.reps))]
		w.sync(rep, other)
	}
}

// sync merges two replicas; both then hold the result.
func (w *world) sync(a, b *replica) {
	res, err := Merge(a.doc, b.doc, Terms{})
	if err != nil {
		w.t.Fatal(err)
	}
	a.doc, b.doc = res.Doc.Clone(), res.Doc.Clone()
	for _, r := range []*replica{a, b} {
		for _, c := range res.Doc.Collections {
			for _, rec := range c.Records {
				r.clock.Observe(rec.UpdatedAt)
			}
			for _, t := range c.Tombstones {
				r.clock.Observe(t.DeletedAt)
			}
		}
		r.clock.Observe(res.Doc.Preferences.UpdatedAt)
	}
}

func (w *world) run(steps int) {
	for range steps {
		w.step()
	}
}

// cases is how many generated cases a property test runs.
func cases(t *testing.T) int {
	if testing.Short() {
		return 150
	}
	return 2000
}

func mustMerge(t testing.TB, a, b *backup.Document) *backup.Document {
	t.Helper()
	res, err := Merge(a, b, Terms{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Doc
}
