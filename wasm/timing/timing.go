//go:build js && wasm

// Package timing measures where one protocol call spends its time: the
// wrappers in wasm/main.go add each storage call, request and status
// broadcast to the recorder of the call they serve, and sync.now's result
// carries the sums (the browser bench prints them as its breakdown).
package timing

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"
)

// Rec sums durations and counts by name for one call. Safe for concurrent
// use: a cycle's goroutines may report at the same time.
type Rec struct {
	start time.Time
	mu    sync.Mutex
	ms    map[string]float64
	n     map[string]int
	// phase is the phase Mark last started, and since when.
	phase      string
	phaseStart time.Time
}

// New starts a recorder now.
func New() *Rec { return &Rec{start: time.Now(), ms: map[string]float64{}, n: map[string]int{}} }

// Add adds d under name, and one to its count.
func (r *Rec) Add(name string, d time.Duration) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.ms[name] += float64(d) / float64(time.Millisecond)
	r.n[name]++
	r.mu.Unlock()
}

// PhasePrefix prefixes the names Mark adds: a phase spans the storage
// calls and requests made in it, so phases are left out of "other".
const PhasePrefix = "phase."

// Mark ends the phase started by the previous Mark, adding its time under
// PhasePrefix+its name, and starts phase p ("" starts none).
func (r *Rec) Mark(p string) {
	if r == nil {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.endPhase(now)
	r.phase, r.phaseStart = p, now
}

// endPhase adds the running phase's time; r.mu is held.
func (r *Rec) endPhase(now time.Time) {
	if r.phase != "" {
		r.ms[PhasePrefix+r.phase] += float64(now.Sub(r.phaseStart)) / float64(time.Millisecond)
		r.n[PhasePrefix+r.phase]++
		r.phase = ""
	}
}

// Since adds the time since t under name.
func (r *Rec) Since(name string, t time.Time) { r.Add(name, time.Since(t)) }

// Result is what a call reports: milliseconds and counts by name, with
// "total" (since New) and "other", the part of the total no name outside
// the phases accounts for (Go's own work and waiting for its turn). Names
// may overlap in time (a write beside a request), so other is at least 0,
// not exact.
type Result struct {
	MS     map[string]float64 `json:"ms"`
	Counts map[string]int     `json:"counts"`
}

// Done returns the sums so far.
func (r *Rec) Done() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.endPhase(time.Now())
	total := float64(time.Since(r.start)) / float64(time.Millisecond)
	out := Result{MS: map[string]float64{"total": round(total)}, Counts: map[string]int{}}
	other := total
	names := make([]string, 0, len(r.ms))
	for k := range r.ms {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		out.MS[k] = round(r.ms[k])
		out.Counts[k] = r.n[k]
		if !strings.HasPrefix(k, PhasePrefix) {
			other -= r.ms[k]
		}
	}
	out.MS["other"] = round(max(other, 0))
	return out
}

func round(ms float64) float64 { return float64(int64(ms*100+0.5)) / 100 }

type key struct{}

// With returns ctx carrying r.
func With(ctx context.Context, r *Rec) context.Context { return context.WithValue(ctx, key{}, r) }

// From returns the recorder ctx carries, or nil (Add on nil does nothing).
func From(ctx context.Context) *Rec {
	r, _ := ctx.Value(key{}).(*Rec)
	return r
}

// Active is the set of recorders of the calls running now, for what
// reports without a context (the status callback): it is added to each.
type Active struct {
	mu   sync.Mutex
	recs map[*Rec]struct{}
}

// Enter adds r; the returned function removes it.
func (a *Active) Enter(r *Rec) func() {
	a.mu.Lock()
	if a.recs == nil {
		a.recs = map[*Rec]struct{}{}
	}
	a.recs[r] = struct{}{}
	a.mu.Unlock()
	return func() {
		a.mu.Lock()
		delete(a.recs, r)
		a.mu.Unlock()
	}
}

// Add adds d under name to every active recorder.
func (a *Active) Add(name string, d time.Duration) {
	a.mu.Lock()
	recs := make([]*Rec, 0, len(a.recs))
	for r := range a.recs {
		recs = append(recs, r)
	}
	a.mu.Unlock()
	for _, r := range recs {
		r.Add(name, d)
	}
}
