package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
	"github.com/tidwall/gjson"
)

var (
	flagSchedules = flag.Int("schedules", 1000, "randomized multi-device schedules to run (make soak raises it)")
	flagSeed      = flag.Uint64("seed", 0, "run only this schedule seed (0 = all)")
	flagSeedBase  = flag.Uint64("seedbase", 0, "first seed minus one (make soak varies it)")
)

// oracle remembers every write any device made, with the timestamp the
// device's clock gave it, and predicts what a correct merge must converge
// to: per field the newest write (equal times: the larger value bytes), a
// record alive iff some field was written after its newest deletion, and
// the preferences with the newest updated_at.
type oracle struct {
	fields map[string]map[string]fieldWrite // id -> field -> newest write
	dels   map[string]int64                 // id -> newest deleted_at
	prefs  fieldWrite
}

type fieldWrite struct {
	t   int64
	val string // raw JSON
}

func newOracle() *oracle {
	return &oracle{fields: map[string]map[string]fieldWrite{}, dels: map[string]int64{}}
}

func (o *oracle) write(id, field string, t int64, val string) {
	m := o.fields[id]
	if m == nil {
		m = map[string]fieldWrite{}
		o.fields[id] = m
	}
	cur, ok := m[field]
	if !ok || t > cur.t || (t == cur.t && val > cur.val) {
		m[field] = fieldWrite{t, val}
	}
}

func (o *oracle) del(id string, t int64) {
	if t > o.dels[id] {
		o.dels[id] = t
	}
}

// expected returns id -> field -> value of the records that must be alive.
func (o *oracle) expected() map[string]map[string]string {
	out := map[string]map[string]string{}
	for id, fs := range o.fields {
		d := o.dels[id]
		for f, w := range fs {
			if w.t > d {
				if out[id] == nil {
					out[id] = map[string]string{}
				}
				out[id][f] = w.val
			}
		}
	}
	return out
}

var editFields = []string{"site_name", "notes", "username"}

// recordFields returns the record's fields (without id and the times).
func recordFields(raw []byte) map[string]string {
	out := map[string]string{}
	gjson.ParseBytes(raw).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id", "updated_at", "_field_times":
		default:
			out[k.Str] = v.Raw
		}
		return true
	})
	return out
}

type schedule struct {
	t       testing.TB
	rng     *rand.Rand
	w       *world
	srv     *davtest.Server
	devs    []*device
	or      *oracle
	n       int
	faultOn bool
	log     []string
	seed    uint64
}

func (s *schedule) logf(format string, a ...any) {
	if dbgTrace != nil {
		fmt.Printf(format+"\n", a...)
	}
	s.log = append(s.log, fmt.Sprintf(format, a...))
}

// edit makes one random local change on d and records it in the oracle.
func (s *schedule) edit(d *device) {
	ctx := context.Background()
	s.n++
	val := strconv.Quote(fmt.Sprintf("%s-%d", d.name, s.n))
	doc, _, err := d.store.Load(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	live := doc.Collection("accounts").Records
	switch op := s.rng.IntN(10); {
	case op < 3 || len(live) == 0: // create
		id := fmt.Sprintf("%s-r%d", d.name, s.n)
		raw := `{"id":"` + id + `","site_name":` + val + `}`
		s.apply(d, func(doc *backup.Document) error {
			r, err := local.PutRecord(doc, "accounts", []byte(raw), d.store.Clock().Now())
			if err == nil {
				s.or.write(id, "site_name", gjson.GetBytes(r.Raw, "_field_times.site_name").Int(), val)
			}
			return err
		})
		s.logf("%s create %s", d.name, id)
	case op < 8: // edit one field
		id := live[s.rng.IntN(len(live))].ID
		field := editFields[s.rng.IntN(len(editFields))]
		s.apply(d, func(doc *backup.Document) error {
			r, ok := doc.Collection("accounts").Get(id)
			if !ok {
				return nil
			}
			fs := recordFields(r.Raw)
			fs[field] = val
			raw := []byte(`{"id":` + strconv.Quote(id))
			keys := make([]string, 0, len(fs))
			for k := range fs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				raw = append(raw, `,"`+k+`":`+fs[k]...)
			}
			raw = append(raw, '}')
			n, err := local.PutRecord(doc, "accounts", raw, d.store.Clock().Now())
			if err == nil {
				s.or.write(id, field, gjson.GetBytes(n.Raw, "_field_times."+field).Int(), val)
			}
			return err
		})
		s.logf("%s edit %s", d.name, id)
	case op < 9: // delete
		id := live[s.rng.IntN(len(live))].ID
		s.apply(d, func(doc *backup.Document) error {
			t := d.store.Clock().Now()
			s.or.del(id, t)
			return local.DeleteRecord(doc, "accounts", id, t)
		})
		s.logf("%s delete %s", d.name, id)
	default: // preferences
		s.apply(d, func(doc *backup.Document) error {
			t := d.store.Clock().Now()
			v := `{"theme":` + val + `}`
			doc.Preferences = backup.Preferences{UpdatedAt: t, Values: []byte(v)}
			if t > s.or.prefs.t || (t == s.or.prefs.t && v > s.or.prefs.val) {
				s.or.prefs = fieldWrite{t, v}
			}
			return nil
		})
		s.logf("%s prefs", d.name)
	}
}

func (s *schedule) apply(d *device, fn func(*backup.Document) error) {
	if _, err := d.store.Update(context.Background(), fn); err != nil {
		s.t.Fatalf("%s: local edit: %v", d.name, err)
	}
}

// cycle runs one cycle on d and checks that a reported success matches the
// server: the markers name exactly the bytes the server holds.
func (s *schedule) cycle(d *device, opts CycleOptions) error {
	res, err := d.cycle(opts)
	if err != nil {
		s.logf("%s cycle: %v", d.name, errkind.Of(err))
		return err
	}
	var m marker
	if _, err := d.eng.readJSON(context.Background(), keyMarker, &m); err != nil {
		s.t.Fatal(err)
	}
	body, ok := s.srv.File(m.File)
	if !ok || sha(body) != m.Hash {
		s.t.Fatalf("seed %d: %s: cycle reported success (uploaded=%v) but the server does not hold what its markers say (exists=%v)\n%s", s.seed,
			d.name, res.Uploaded, ok, strings.Join(s.log, "\n"))
	}
	s.logf("%s cycle ok up=%v applied=%v rounds=%d req=%d", d.name, res.Uploaded, res.Applied, res.Rounds, res.Requests)
	if dbgTrace != nil {
		l, _, _ := d.store.Load(context.Background())
		r, _ := backup.Parse(body)
		fmt.Printf("   local %d/%d remote %d/%d\n", len(l.Collection("accounts").Records), len(l.Collection("accounts").Tombstones), len(r.Collection("accounts").Records), len(r.Collection("accounts").Tombstones))
	}
	return nil
}

var faultMenu = []davtest.Fault{
	{ResetBefore: true}, {ResetAfter: true}, {Status: 500}, {Status: 502}, {Status: 503, RetryAfter: 1},
	{Status: 504}, {Status: 429, RetryAfter: 2}, {Status: 507}, {Status: 423}, {Status: 307},
	{DropWrite: true}, {Truncate: true}, {StripETag: true}, {FakeETag: true}, {StoreEmpty: true},
}

func runSchedule(t testing.TB, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed*7919+1))
	w := newWorld()
	srv := newServer(w, serverKinds[rng.IntN(len(serverKinds))])
	s := &schedule{t: t, rng: rng, w: w, srv: srv, or: newOracle(), seed: seed}
	faultRate := []float64{0, 0.05, 0.15, 0.3}[rng.IntN(4)]
	srv.Faults = func(req *webdav.Request) davtest.Fault {
		f := davtest.Fault{}
		if s.faultOn && rng.Float64() < faultRate {
			f = faultMenu[rng.IntN(len(faultMenu))]
		}
		if dbgTrace != nil {
			dbgTrace(req, fmt.Sprintf("%+v", f))
		}
		return f
	}
	ndev := 3 + rng.IntN(2)
	// Some schedules encrypt (the key derivation is the slow part, so not
	// under -short, i.e. not in the wasm run).
	encrypt := !testing.Short() && seed%25 == 0
	for i := 0; i < ndev; i++ {
		skew := time.Duration(rng.IntN(4*3600)-2*3600) * time.Second // ±2 h
		d := newDevice(t, string(rune('A'+i)), w, srv, srv.URL(), skew)
		d.settings(func(st *syncSettings) {
			st.Compress = rng.IntN(2) == 0 && i == 0
			if encrypt {
				st.Encrypt, st.Passphrase = true, "schedule passphrase"
			}
		})
		s.devs = append(s.devs, d)
	}
	s.faultOn = true
	steps := 20 + rng.IntN(30)
	for step := 0; step < steps; step++ {
		w.advance(time.Duration(rng.IntN(20*60)) * time.Second)
		d := s.devs[rng.IntN(len(s.devs))]
		switch r := rng.IntN(10); {
		case r < 4:
			for k := 1 + rng.IntN(3); k > 0; k-- {
				s.edit(d)
			}
		case r < 5 && len(s.devs) > 1:
			// A worker restart: the engine and store are rebuilt over the KV.
			d.open(srv)
		default:
			// A cycle; sometimes the user edits (or another device syncs)
			// while it is between its network read and its local apply.
			if rng.IntN(3) == 0 {
				other := s.devs[rng.IntN(len(s.devs))]
				d.hook = func(ctx context.Context) {
					s.edit(d)
					if other != d && rng.IntN(2) == 0 {
						_ = s.cycle(other, CycleOptions{})
					}
				}
			}
			err := s.cycle(d, CycleOptions{})
			d.hook = nil
			if errors.Is(err, errkind.NeedsConfirmation) && rng.IntN(2) == 0 {
				_ = s.cycle(d, CycleOptions{Confirm: true})
			}
		}
	}
	// Faults stop; every device syncs twice.
	s.faultOn = false
	for round := 0; round < 2; round++ {
		for _, d := range s.devs {
			if err := s.cycle(d, CycleOptions{Confirm: true}); err != nil {
				t.Fatalf("seed %d: %s: final cycle failed: %v\n%s", seed, d.name, err, strings.Join(s.log, "\n"))
			}
		}
	}
	// Invariants.
	want := s.devs[0].docHash()
	var m marker
	_, _ = s.devs[0].eng.readJSON(context.Background(), keyMarker, &m)
	raw, _ := srv.File(m.File)
	u, err := envelope.Unwrap(raw, "schedule passphrase", nil, envelope.GoKDF, 0)
	if err != nil {
		t.Fatalf("seed %d: remote file: %v", seed, err)
	}
	if u.Encrypted != encrypt {
		t.Fatalf("seed %d: remote encrypted=%v, want %v", seed, u.Encrypted, encrypt)
	}
	rd, err := backup.Parse(u.Plain)
	if err != nil {
		t.Fatalf("seed %d: remote file: %v", seed, err)
	}
	if docHash(rd) != want {
		if dbgTrace != nil {
			a, _, _ := s.devs[0].store.Load(context.Background())
			x, y := *a, *rd
			x.ExportedAt, y.ExportedAt = 0, 0
			fmt.Printf("A:      %s\nremote: %s\n", x.Marshal(), y.Marshal())
		}
		t.Fatalf("seed %d: remote differs from device A\n%s", seed, strings.Join(s.log, "\n"))
	}
	for _, d := range s.devs[1:] {
		if d.docHash() != want {
			if dbgTrace != nil {
				a, _, _ := d.store.Load(context.Background())
				x, y := *a, *rd
				x.ExportedAt, y.ExportedAt = 0, 0
				fmt.Printf("%s:      %s\nremote: %s\n", d.name, x.Marshal(), y.Marshal())
			}
			t.Fatalf("seed %d: device %s differs from device A\n%s", seed, d.name, strings.Join(s.log, "\n"))
		}
	}
	got := map[string]map[string]string{}
	for _, r := range rd.Collection("accounts").Records {
		got[r.ID] = recordFields(r.Raw)
	}
	exp := s.or.expected()
	for id, fs := range exp {
		g, ok := got[id]
		if !ok {
			t.Fatalf("seed %d: record %s lost (want %v)\n%s", seed, id, fs, strings.Join(s.log, "\n"))
		}
		for f, v := range fs {
			if g[f] != v {
				t.Fatalf("seed %d: record %s field %s = %s, want newest write %s\n%s", seed, id, f, g[f], v, strings.Join(s.log, "\n"))
			}
		}
	}
	for id, g := range got {
		if _, ok := exp[id]; !ok {
			t.Fatalf("seed %d: record %s came back after its deletion (%v)\n%s", seed, id, g, strings.Join(s.log, "\n"))
		}
		for f := range g {
			if _, ok := exp[id][f]; !ok {
				t.Fatalf("seed %d: record %s has field %s that a deletion removed\n%s", seed, id, f, strings.Join(s.log, "\n"))
			}
		}
	}
	if s.or.prefs.t != 0 && string(rd.Preferences.Values) != s.or.prefs.val {
		t.Fatalf("seed %d: preferences %s, want %s", seed, rd.Preferences.Values, s.or.prefs.val)
	}
}

// TestRandomizedMultiDevice runs seeded schedules of 3-4 devices with skewed
// clocks, random edits (some during a cycle), worker restarts, cycles and
// faults, then checks convergence and that no edit was lost.
func TestRandomizedMultiDevice(t *testing.T) {
	runSeeds(t, *flagSchedules, 60, runSchedule)
}

// runSeeds runs n seeded schedules (at most short under -short, the wasm
// run), or only -seed when it is set, on parallel workers; each worker
// stops at its first failing seed, whose log says how to replay it.
func runSeeds(t *testing.T, n, short int, run func(testing.TB, uint64)) {
	if *flagSeed != 0 {
		run(t, *flagSeed)
		return
	}
	if testing.Short() {
		n = min(n, short)
	}
	const workers = 4
	for wkr := 0; wkr < workers; wkr++ {
		t.Run(fmt.Sprint("w", wkr), func(t *testing.T) {
			t.Parallel()
			for seed := *flagSeedBase + uint64(1+wkr); seed <= *flagSeedBase+uint64(n); seed += workers {
				run(t, seed)
				if t.Failed() {
					return
				}
			}
		})
	}
}
