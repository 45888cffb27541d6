package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/cycle"
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/transfer"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
	"github.com/tidwall/gjson"
)

// Invariants of TestRandomizedWithUserOps.
//
// The model is a set of writes W: every field write (a value or a removal)
// and every deletion any device's store ever held, each with the time its
// record carries. The expected document is the field-level last-writer-wins
// join of W (per field the newest write, equal times the larger bytes; a
// record alive iff some present field is newer than its newest deletion;
// preferences: the newest whole object).
//
//  1. Operations that create edits (typing, undo restore, snapshot restore
//     merge/replace, import merge/add/replace, resolve local/remote/both)
//     add the device's new writes to W; each is also checked against what
//     the user asked for (the device now holds the undo point / snapshot /
//     file / chosen side, and nothing else of it changed).
//  2. After every step, the join J of every device's store and the remote
//     file must equal join(W): no write that no user replaced may vanish
//     from the system (a write held only by a remote that gets overwritten
//     by a merge would show here at the step that lost it).
//  3. Only two operations legitimately discard writes: Download(replace)
//     (this device's unsynced writes, by the user's choice; the device must
//     then hold exactly the remote's content) and Upload (the remote's
//     content, kept as a snapshot; the remote must then hold exactly the
//     device's content). After them W is reset to J.
//  4. A cycle (or Upload/Download) reporting success leaves the server
//     holding exactly what the markers say (as TestRandomizedMultiDevice).
//  5. At the end (faults off, common settings, two rounds of cycles) every
//     device and the remote hold the same document, equal to join(W), and
//     the remote is encrypted iff the final settings say so.

type fw struct {
	t       int64
	val     string // raw JSON; "" = removed
	present bool
}

func (a fw) newer(b fw) bool {
	if a.t != b.t {
		return a.t > b.t
	}
	return a.val > b.val
}

type model struct {
	fields map[string]map[string]fw
	dels   map[string]int64
	prefs  fw
}

func newModel() *model {
	return &model{fields: map[string]map[string]fw{}, dels: map[string]int64{}}
}

func (m *model) put(id, f string, w fw) {
	fs := m.fields[id]
	if fs == nil {
		fs = map[string]fw{}
		m.fields[id] = fs
	}
	if cur, ok := fs[f]; !ok || w.newer(cur) {
		fs[f] = w
	}
}

// addDoc joins every write doc holds into m.
func (m *model) addDoc(doc *backup.Document) {
	if doc == nil {
		return
	}
	c := doc.Collection("accounts")
	for _, r := range c.Records {
		root := gjson.ParseBytes(r.Raw)
		times := root.Get("_field_times")
		// A record with no fields at all (merge keeps one alive whose only
		// writes after a deletion were removals, and "keep both" copies
		// it) exists by its updated_at alone.
		m.put(r.ID, "\x00", fw{t: r.UpdatedAt})
		seen := map[string]bool{}
		times.ForEach(func(k, v gjson.Result) bool {
			seen[k.Str] = true
			val := root.Get(gjson.Escape(k.Str))
			if val.Exists() {
				m.put(r.ID, k.Str, fw{t: v.Int(), val: val.Raw, present: true})
			} else {
				m.put(r.ID, k.Str, fw{t: v.Int()})
			}
			return true
		})
		root.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "id", "updated_at", "_field_times":
			default:
				if !seen[k.Str] {
					m.put(r.ID, k.Str, fw{t: r.UpdatedAt, val: v.Raw, present: true})
				}
			}
			return true
		})
	}
	for _, t := range c.Tombstones {
		if t.DeletedAt > m.dels[t.ID] {
			m.dels[t.ID] = t.DeletedAt
		}
	}
	p := fw{t: doc.Preferences.UpdatedAt, val: string(prefBytesOf(doc.Preferences)), present: true}
	if p.newer(m.prefs) {
		m.prefs = p
	}
}

func prefBytesOf(p backup.Preferences) []byte {
	if len(p.Values) == 0 {
		return []byte("{}")
	}
	return p.Values
}

// content is the user-visible part of a document: id -> field -> raw value,
// and the preferences.
type content struct {
	recs  map[string]map[string]string
	prefs string
}

func (m *model) expected() content {
	out := content{recs: map[string]map[string]string{}, prefs: m.prefs.val}
	if m.prefs.t == 0 && m.prefs.val == "" {
		out.prefs = "{}"
	}
	for id, fs := range m.fields {
		d := m.dels[id]
		alive := false
		for _, w := range fs {
			// As merge does (state.filter): a record is alive iff any
			// field, removals included, was written after its deletion.
			if w.t > d {
				alive = true
			}
		}
		if !alive {
			continue
		}
		rec := map[string]string{}
		for f, w := range fs {
			if w.present && w.t > d {
				rec[f] = w.val
			}
		}
		out.recs[id] = rec
	}
	return out
}

func contentOf(doc *backup.Document) content {
	out := content{recs: map[string]map[string]string{}, prefs: string(prefBytesOf(doc.Preferences))}
	for _, r := range doc.Collection("accounts").Records {
		out.recs[r.ID] = recordFields(r.Raw)
	}
	return out
}

func (c content) String() string {
	ids := make([]string, 0, len(c.recs))
	for id := range c.recs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b strings.Builder
	for _, id := range ids {
		fs := c.recs[id]
		keys := make([]string, 0, len(fs))
		for k := range fs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, "%s{", id)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%s ", k, fs[k])
		}
		b.WriteString("} ")
	}
	fmt.Fprintf(&b, "prefs=%s", c.prefs)
	return b.String()
}

// diff describes how got differs from want ("" = equal).
func diffContent(got, want content, withPrefs bool) string {
	var out []string
	for id, w := range want.recs {
		g, ok := got.recs[id]
		if !ok {
			out = append(out, fmt.Sprintf("record %s missing (want %v)", id, w))
			continue
		}
		for f, v := range w {
			if g[f] != v {
				out = append(out, fmt.Sprintf("record %s field %s = %q, want %q", id, f, g[f], v))
			}
		}
		for f := range g {
			if _, ok := w[f]; !ok {
				out = append(out, fmt.Sprintf("record %s has extra field %s=%s", id, f, g[f]))
			}
		}
	}
	for id, g := range got.recs {
		if _, ok := want.recs[id]; !ok {
			out = append(out, fmt.Sprintf("record %s present but should not be (%v)", id, g))
		}
	}
	if withPrefs && got.prefs != want.prefs {
		out = append(out, fmt.Sprintf("preferences %s, want %s", got.prefs, want.prefs))
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

const uoPass = "schedule passphrase"

var (
	uoStatsMu gosync.Mutex
	uoStats   = map[string]int{}
)

func uoCount(k string) {
	uoStatsMu.Lock()
	uoStats[k]++
	uoStatsMu.Unlock()
}

type uoSchedule struct {
	*schedule
	m       *model
	encrypt bool // the last encryption setting any device chose
}

func (s *uoSchedule) fail(format string, a ...any) {
	s.t.Helper()
	s.t.Fatalf("seed %d: %s\n%s", s.seed, fmt.Sprintf(format, a...), strings.Join(s.log, "\n"))
}

func (s *uoSchedule) load(d *device) *backup.Document {
	doc, _, err := d.store.Load(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return doc
}

// remoteNow parses the remote sync file as it is (nil if none or unreadable).
func (s *uoSchedule) remoteNow() *backup.Document {
	for _, p := range []string{"davsync/davsync.json", "davsync/davsync.json.gz"} {
		raw, ok := s.srv.File(p)
		if !ok || len(raw) == 0 {
			continue
		}
		u, err := envelope.Unwrap(raw, uoPass, nil, envelope.GoKDF, 0)
		if err != nil {
			continue
		}
		doc, err := backup.Parse(u.Plain)
		if err != nil {
			continue
		}
		return doc
	}
	return nil
}

// system is J: the join of every device's store and the remote.
func (s *uoSchedule) system() *model {
	j := newModel()
	for _, d := range s.devs {
		j.addDoc(s.load(d))
	}
	j.addDoc(s.remoteNow())
	return j
}

func (s *uoSchedule) absorb(d *device) { s.m.addDoc(s.load(d)) }

// check is invariant 2.
func (s *uoSchedule) check(after string) {
	s.t.Helper()
	if df := diffContent(s.system().expected(), s.m.expected(), true); df != "" {
		s.fail("after %s: a write vanished from every device and the remote: %s", after, df)
	}
}

// opCycle is s.cycle with a marker check (invariant 4) for any operation
// that goes through operate.
func (s *uoSchedule) opCycle(d *device, name string, run func() (*cycle.Result, error)) error {
	res, err := run()
	if err != nil {
		s.logf("%s %s: %v (%s)", d.name, name, errkind.Of(err), errkind.Message(err))
		return err
	}
	var mk marker
	if _, err := d.eng.readJSON(context.Background(), keyMarker, &mk); err != nil {
		s.t.Fatal(err)
	}
	body, ok := s.srv.File(mk.File)
	if !ok || sha(body) != mk.Hash {
		s.fail("%s: %s reported success (uploaded=%v) but the server does not hold what its markers say", d.name, name, res.Uploaded)
	}
	s.logf("%s %s ok up=%v applied=%v", d.name, name, res.Uploaded, res.Applied)
	return nil
}

func (s *uoSchedule) edit(d *device) {
	s.schedule.edit(d)
	s.absorb(d)
}

func (s *uoSchedule) cycleOpts() CycleOptions {
	return CycleOptions{AllowEncryptionChange: s.rng.IntN(2) == 0}
}

// userOp runs one random user operation on d.
func (s *uoSchedule) userOp(d *device, op int) {
	ctx := context.Background()
	rng := s.rng
	switch op {
	case 0, 1: // resolve a random open conflict
		cs, err := d.eng.Conflicts(ctx)
		if err != nil {
			s.t.Fatal(err)
		}
		if len(cs) == 0 {
			return
		}
		ci := cs[rng.IntN(len(cs))]
		choice := []string{"local", "remote", "both"}[rng.IntN(3)]
		before := s.load(d)
		err = d.eng.ResolveConflict(ctx, ci.ID, choice)
		s.logf("%s resolve %s %s (rec %s deleted=%v by=%s fields=%v loser=%s): %v", d.name, ci.ID[:6], choice, ci.RecordID, ci.Deleted, ci.DeletedBy, ci.Fields, ci.Loser, err)
		if err != nil {
			if choice == "both" && errors.Is(err, errkind.Invalid) {
				return
			}
			s.fail("%s: resolve %s: %v", d.name, choice, err)
		}
		uoCount("resolve-" + choice)
		after := s.load(d)
		s.checkResolve(d, ci, choice, before, after)
		s.absorb(d)
	case 2: // undo restore
		pts, err := d.store.UndoList(ctx)
		if err != nil {
			s.t.Fatal(err)
		}
		if len(pts) == 0 {
			return
		}
		p := pts[rng.IntN(len(pts))]
		target, err := d.store.UndoDoc(ctx, p.ID)
		if err != nil {
			s.fail("%s: undo doc %d: %v", d.name, p.ID, err)
		}
		if _, err := d.eng.Undo(ctx, p.ID); err != nil {
			s.fail("%s: undo %d: %v", d.name, p.ID, err)
		}
		s.logf("%s undo to %d (%s)", d.name, p.ID, p.Label)
		uoCount("undo")
		if df := diffContent(contentOf(s.load(d)), contentOf(target), true); df != "" {
			s.fail("%s: after undo to %d the store differs from the undo point: %s", d.name, p.ID, df)
		}
		s.absorb(d)
	case 3: // snapshot restore
		list, err := d.eng.Snapshots(ctx)
		if err != nil || len(list) == 0 {
			s.logf("%s snapshots: %d %v", d.name, len(list), err)
			return
		}
		sn := list[rng.IntN(len(list))]
		raw, ok := s.srv.File("davsync/snapshots/" + sn.Name)
		if !ok {
			return
		}
		u, err := envelope.Unwrap(raw, uoPass, nil, envelope.GoKDF, 0)
		if err != nil {
			return
		}
		snap, err := backup.Parse(u.Plain)
		if err != nil {
			return // a snapshot of a damaged file
		}
		mode := []string{"merge", "replace"}[rng.IntN(2)]
		before := s.load(d)
		if err := d.eng.begin(); err != nil {
			s.t.Fatal(err)
		}
		err = d.eng.restoreLocally(ctx, sn.Name, mode, CycleOptions{})
		d.eng.end()
		s.logf("%s restore snapshot %s %s: %v", d.name, sn.Name, mode, err)
		if err != nil {
			return // a fault: nothing changed
		}
		uoCount("snapshot-" + mode)
		after := s.load(d)
		if mode == "replace" {
			if df := diffContent(contentOf(after), contentOf(snap), true); df != "" {
				s.fail("%s: after snapshot replace the store differs from the snapshot: %s", d.name, df)
			}
		} else {
			want := contentOf(before)
			for id, fs := range contentOf(snap).recs {
				if _, ok := want.recs[id]; !ok {
					want.recs[id] = fs
				}
			}
			if df := diffContent(contentOf(after), want, true); df != "" {
				s.fail("%s: after snapshot merge: %s", d.name, df)
			}
		}
		s.absorb(d)
		s.check("snapshot restore (local part)")
		_ = s.opCycle(d, "restore-cycle", func() (*cycle.Result, error) {
			o := s.cycleOpts()
			o.Confirm = true
			return d.cycle(o)
		})
	case 4: // download merge
		_ = s.opCycle(d, "download merge", func() (*cycle.Result, error) {
			o := CycleOptions{Confirm: rng.IntN(2) == 0}
			return d.eng.Download(ctx, "merge", o)
		})
	case 5: // download replace
		// As the engine's backup.download: never AllowEncryptionChange.
		o := CycleOptions{Confirm: rng.IntN(2) == 0}
		if err := s.opCycle(d, "download replace", func() (*cycle.Result, error) { return d.eng.Download(ctx, "replace", o) }); err != nil {
			return
		}
		uoCount("download-replace")
		rd := s.remoteNow()
		if rd == nil {
			s.fail("%s: download replace succeeded but the remote is unreadable", d.name)
		}
		if df := diffContent(contentOf(s.load(d)), contentOf(rd), true); df != "" {
			s.fail("%s: after download replace the store differs from the remote: %s", d.name, df)
		}
		s.m = s.system()
	case 6: // upload
		o := s.cycleOpts()
		o.Confirm = rng.IntN(2) == 0
		if err := s.opCycle(d, "upload", func() (*cycle.Result, error) { return d.eng.Upload(ctx, o) }); err != nil {
			return
		}
		uoCount("upload")
		rd := s.remoteNow()
		if rd == nil {
			s.fail("%s: upload succeeded but the remote is unreadable", d.name)
		}
		if df := diffContent(contentOf(rd), contentOf(s.load(d)), true); df != "" {
			s.fail("%s: after upload the remote differs from the device: %s", d.name, df)
		}
		s.m = s.system()
	case 7: // import another device's export
		src := s.devs[rng.IntN(len(s.devs))]
		pass := ""
		if rng.IntN(6) == 0 {
			pass = "export pass"
		}
		data, _, err := transfer.Export(s.load(src), transfer.ScopeAll, transfer.ExportOptions{Passphrase: pass, Now: src.wall().UnixMilli()})
		if err != nil {
			s.t.Fatal(err)
		}
		mode := []transfer.Mode{transfer.ModeMerge, transfer.ModeAdd, transfer.ModeReplace}[rng.IntN(3)]
		file, err := backup.Parse(mustUnwrap(s.t, data, pass))
		if err != nil {
			s.t.Fatal(err)
		}
		before := s.load(d)
		plan, err := s.importInto(d, data, pass, mode)
		s.logf("%s import from %s %s: %v", d.name, src.name, mode, err)
		if err != nil {
			s.fail("%s: import: %v", d.name, err)
		}
		uoCount("import-" + string(mode))
		after := s.load(d)
		s.checkImport(d, mode, before, file, after, plan)
		s.absorb(d)
	case 8: // toggle compression
		d.settings(func(st *syncSettings) { st.Compress = !st.Compress })
		s.logf("%s compress toggled", d.name)
	case 9: // toggle encryption
		d.settings(func(st *syncSettings) { st.Encrypt = !st.Encrypt; s.encrypt = st.Encrypt })
		s.logf("%s encrypt=%v", d.name, s.encrypt)
	case 10: // worker restart
		d.open(s.srv)
		s.logf("%s restart", d.name)
	}
}

func mustUnwrap(t testing.TB, data []byte, pass string) []byte {
	u, err := envelope.Unwrap(data, pass, nil, envelope.GoKDF, 0)
	if err != nil {
		t.Fatal(err)
	}
	return u.Plain
}

// importInto applies an import the way the engine's data.import does.
func (s *uoSchedule) importInto(d *device, data []byte, pass string, mode transfer.Mode) (*transfer.ImportPlan, error) {
	ctx := context.Background()
	st := d.store
	for round := 0; round < 4; round++ {
		doc, rev, err := st.Load(ctx)
		if err != nil {
			return nil, err
		}
		plan, err := transfer.Plan(doc, data, transfer.ImportOptions{
			Passphrase: pass, Accounts: mode, Preferences: mode, SkipDuplicates: true,
			Now: st.Clock().Now(), Wall: d.wall().UnixMilli(),
		})
		if err != nil {
			return nil, err
		}
		st.Clock().Observe(max(plan.Stamp, plan.Doc.Newest()))
		c := local.Commit{Doc: plan.Doc, UndoLabel: "import"}
		if len(plan.Conflicts) > 0 {
			if c.State, err = d.eng.ConflictState(ctx, plan.Conflicts); err != nil {
				return nil, err
			}
		}
		ok, _, err := st.CommitIf(ctx, rev, c)
		if err != nil {
			return nil, err
		}
		if ok {
			return plan, nil
		}
	}
	return nil, errors.New("import kept losing the race")
}

func (s *uoSchedule) checkImport(d *device, mode transfer.Mode, before, file, after *backup.Document, plan *transfer.ImportPlan) {
	got := contentOf(after)
	switch mode {
	case transfer.ModeReplace:
		want := contentOf(file)
		withPrefs := true
		if string(prefBytesOf(file.Preferences)) == "{}" {
			withPrefs = false
		}
		if df := diffContent(got, want, withPrefs); df != "" {
			s.fail("%s: after import replace the store differs from the file: %s", d.name, df)
		}
	case transfer.ModeMerge:
		j := newModel()
		j.addDoc(before)
		j.addDoc(file)
		if df := diffContent(got, j.expected(), true); df != "" {
			for _, dd := range []*backup.Document{before, file, after} {
				for _, r := range dd.Collection("accounts").Records {
					if strings.Contains(df, r.ID+" ") {
						s.t.Logf("record %s", r.Raw)
					}
				}
				for _, tb := range dd.Collection("accounts").Tombstones {
					if strings.Contains(df, tb.ID+" ") {
						s.t.Logf("tombstone %s %d", tb.ID, tb.DeletedAt)
					}
				}
			}
			s.fail("%s: after import merge the store is not the join of it and the file: %s", d.name, df)
		}
	case transfer.ModeAdd:
		want := contentOf(before)
		bc := before.Collection("accounts")
		for _, r := range file.Collection("accounts").Records {
			if _, ok := bc.Get(r.ID); ok {
				continue
			}
			if _, ok := bc.Tombstone(r.ID); ok {
				continue
			}
			want.recs[r.ID] = recordFields(r.Raw)
		}
		// Duplicates (same site_url+username) may be skipped: none here
		// carry a site_url.
		if df := diffContent(got, want, false); df != "" {
			s.fail("%s: after import add: %s", d.name, df)
		}
	}
}

func (s *uoSchedule) checkResolve(d *device, ci ConflictInfo, choice string, before, after *backup.Document) {
	bc, ac := contentOf(before), contentOf(after)
	side := []byte(ci.Local)
	if choice == "remote" {
		side = ci.Remote
	}
	switch choice {
	case "local", "remote":
		if string(side) == "null" {
			if _, ok := ac.recs[ci.RecordID]; ok {
				s.fail("%s: resolve %s chose a deletion but record %s is alive", d.name, choice, ci.RecordID)
			}
			break
		}
		sf := recordFields(side)
		g, ok := ac.recs[ci.RecordID]
		if !ok {
			s.fail("%s: resolve %s: record %s is gone", d.name, choice, ci.RecordID)
		}
		if ci.Deleted || len(ci.Fields) == 0 {
			var times gjson.Result
			if r, ok := before.Collection("accounts").Get(ci.RecordID); ok {
				times = gjson.GetBytes(r.Raw, "_field_times")
			}
			for f, v := range sf {
				// A field written after the conflict was logged keeps its
				// newer value (TestResolveDeletionConflictKeepsLaterEdits).
				if ci.Deleted && times.Get(gjson.Escape(f)).Int() > ci.At {
					continue
				}
				if g[f] != v {
					s.fail("%s: resolve %s: field %s = %s, want %s", d.name, choice, f, g[f], v)
				}
			}
		} else {
			for _, f := range ci.Fields {
				if g[f.Field] != sf[f.Field] {
					s.fail("%s: resolve %s: conflicting field %s = %s, want %s", d.name, choice, f.Field, g[f.Field], sf[f.Field])
				}
			}
		}
		// Every other record is untouched.
		delete(bc.recs, ci.RecordID)
		delete(ac.recs, ci.RecordID)
		if df := diffContent(ac, bc, true); df != "" {
			s.fail("%s: resolve changed other records: %s", d.name, df)
		}
	case "both":
		loser := ci.Local
		if ci.Loser == "remote" {
			loser = ci.Remote
		}
		want := recordFields(loser)
		var added []string
		for id, fs := range ac.recs {
			if _, ok := bc.recs[id]; !ok {
				added = append(added, id)
				if df := diffContent(content{recs: map[string]map[string]string{"x": fs}}, content{recs: map[string]map[string]string{"x": want}}, false); df != "" {
					s.fail("%s: resolve both: the copy differs from the kept version: %s", d.name, df)
				}
			}
		}
		if len(added) != 1 {
			s.fail("%s: resolve both added %d records", d.name, len(added))
		}
		delete(ac.recs, added[0])
		if df := diffContent(ac, bc, true); df != "" {
			s.fail("%s: resolve both changed existing records: %s", d.name, df)
		}
	}
}

func runUserOpsSchedule(t testing.TB, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed*104729+3))
	w := newWorld()
	srv := newServer(w, serverKinds[rng.IntN(len(serverKinds))])
	base := &schedule{t: t, rng: rng, w: w, srv: srv, or: newOracle(), seed: seed}
	s := &uoSchedule{schedule: base, m: newModel()}
	faultRate := []float64{0, 0.05, 0.15}[rng.IntN(3)]
	srv.Faults = func(req *webdav.Request) davtest.Fault {
		f := davtest.Fault{}
		if s.faultOn && rng.Float64() < faultRate {
			f = faultMenu[rng.IntN(len(faultMenu))]
		}
		return f
	}
	// Encryption costs a key derivation per worker start: only some seeds
	// may toggle it.
	cryptoOK := !testing.Short() && seed%5 == 0
	ndev := 3 + rng.IntN(2)
	for i := 0; i < ndev; i++ {
		skew := time.Duration(rng.IntN(4*3600)-2*3600) * time.Second
		d := newDevice(t, string(rune('A'+i)), w, srv, srv.URL(), skew)
		d.settings(func(st *syncSettings) {
			st.Compress = rng.IntN(2) == 0 && i == 0
			st.Passphrase = uoPass
			st.SnapshotIntervalSeconds = 600
		})
		s.devs = append(s.devs, d)
	}
	s.faultOn = true
	steps := 25 + rng.IntN(35)
	for step := 0; step < steps; step++ {
		w.advance(time.Duration(rng.IntN(20*60)) * time.Second)
		d := s.devs[rng.IntN(len(s.devs))]
		what := ""
		switch r := rng.IntN(10); {
		case r < 3:
			for k := 1 + rng.IntN(3); k > 0; k-- {
				s.edit(d)
			}
			what = "edit"
		case r < 6:
			op := rng.IntN(11)
			if op == 9 && !cryptoOK {
				op = 8
			}
			if cs, _ := d.eng.Conflicts(context.Background()); len(cs) > 0 && rng.IntN(2) == 0 {
				op = 0
			}
			s.userOp(d, op)
			what = "user op"
		default:
			if rng.IntN(3) == 0 {
				other := s.devs[rng.IntN(len(s.devs))]
				d.hook = func(ctx context.Context) {
					s.edit(d)
					if other != d && rng.IntN(2) == 0 {
						_ = s.schedule.cycle(other, s.cycleOpts())
					}
				}
			}
			err := s.schedule.cycle(d, s.cycleOpts())
			d.hook = nil
			if errors.Is(err, errkind.NeedsConfirmation) && rng.IntN(2) == 0 {
				o := s.cycleOpts()
				o.Confirm = true
				_ = s.schedule.cycle(d, o)
			}
			what = "cycle"
		}
		s.check(what)
	}
	s.faultOn = false
	for _, d := range s.devs {
		d.settings(func(st *syncSettings) { st.Encrypt = s.encrypt })
	}
	for round := 0; round < 2; round++ {
		for _, d := range s.devs {
			if err := s.schedule.cycle(d, CycleOptions{Confirm: true, AllowEncryptionChange: true}); err != nil {
				s.fail("%s: final cycle failed: %v", d.name, err)
			}
		}
	}
	s.check("final cycles")
	var mk marker
	_, _ = s.devs[0].eng.readJSON(context.Background(), keyMarker, &mk)
	raw, _ := srv.File(mk.File)
	if u, err := envelope.Unwrap(raw, uoPass, nil, envelope.GoKDF, 0); err == nil && u.Encrypted != s.encrypt {
		// By design a changed encryption setting applies from the next
		// upload ("encryptionNextWrite"); the user presses Upload.
		if _, err := s.devs[0].eng.Upload(context.Background(), CycleOptions{Confirm: true, AllowEncryptionChange: true}); err != nil {
			s.fail("final upload: %v", err)
		}
		_, _ = s.devs[0].eng.readJSON(context.Background(), keyMarker, &mk)
		raw, _ = srv.File(mk.File)
	}
	u, err := envelope.Unwrap(raw, uoPass, nil, envelope.GoKDF, 0)
	if err != nil {
		s.fail("remote file: %v", err)
	}
	if u.Encrypted != s.encrypt {
		s.fail("remote encrypted=%v, want %v", u.Encrypted, s.encrypt)
	}
	rd, err := backup.Parse(u.Plain)
	if err != nil {
		s.fail("remote file: %v", err)
	}
	want := s.m.expected()
	if df := diffContent(contentOf(rd), want, true); df != "" {
		for _, r := range rd.Collection("accounts").Records {
			if strings.Contains(df, r.ID+" ") {
				t.Logf("remote %s", r.Raw)
			}
		}
		for _, tb := range rd.Collection("accounts").Tombstones {
			if strings.Contains(df, tb.ID+" ") {
				t.Logf("remote tombstone %s %d", tb.ID, tb.DeletedAt)
			}
		}
		s.fail("remote differs from the expected document: %s", df)
	}
	for _, d := range s.devs {
		if df := diffContent(contentOf(s.load(d)), want, true); df != "" {
			s.fail("device %s differs from the expected document: %s", d.name, df)
		}
		if !bytes.Equal([]byte(d.docHash()), []byte(docHash(rd))) {
			s.fail("device %s differs from the remote byte-wise", d.name)
		}
	}
}

// flagUserOps is how many schedules TestRandomizedWithUserOps runs: fewer
// than the plain randomized test by default (each is longer); make soak
// raises it with -userops.
var flagUserOps = flag.Int("userops", 300, "randomized schedules with user operations to run")

// TestRandomizedWithUserOps runs seeded multi-device schedules that mix the
// user's operations (resolve, undo, snapshot restore, Download, Upload,
// import, settings toggles, worker restarts) into edits, cycles and faults,
// and checks the invariants above after every step.
func TestRandomizedWithUserOps(t *testing.T) {
	t.Cleanup(func() { t.Logf("operations that ran: %v", uoStats) })
	// -short is the wasm run: the same logic, much slower.
	runSeeds(t, *flagUserOps, 3, runUserOpsSchedule)
}
