package app

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/webdav"
)

// TestRandomizedServerSubsets: devices that each sync with a random subset
// of four servers (of different kinds), so that some devices share no
// server and edits reach them only through a device that uses both; random
// adds, renames and deletions, then every device syncs until no round
// changes anything. Every device must hold the same data, and it must be
// what the last operation on each record said (a rename after a deletion
// brings the record back, a deletion after the last rename removes it).
func TestRandomizedServerSubsets(t *testing.T) {
	n := 40
	if testing.Short() {
		n = 8
	}
	for seed := uint64(1); seed <= uint64(n); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runServerSubsets(t, seed) })
	}
}

func runServerSubsets(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed*104729+3))
	w := newWorld()
	kinds := []webdav.Traits{serverTraits["strict"], serverTraits["apache"], serverTraits["nginx"], serverTraits["npm"]}
	tr := hosts{}
	var urls []string
	for i, q := range kinds {
		s := newServer(w, q)
		host := fmt.Sprintf("s%d.test", i)
		tr[host] = s
		urls = append(urls, "https://"+host+"/dav/")
	}
	// Random non-empty subsets, redrawn until the devices are connected
	// through shared servers (otherwise no edit could ever cross over).
	ndev := 3 + rng.IntN(2)
	var subsets [][]int
	for {
		subsets = subsets[:0]
		for i := 0; i < ndev; i++ {
			var sub []int
			for s := range urls {
				if rng.IntN(2) == 0 {
					sub = append(sub, s)
				}
			}
			if len(sub) == 0 {
				sub = []int{rng.IntN(len(urls))}
			}
			subsets = append(subsets, sub)
		}
		if connected(subsets) {
			break
		}
	}
	var devs []*multiDevice
	var log []string
	for i, sub := range subsets {
		var us []string
		for _, s := range sub {
			us = append(us, urls[s])
		}
		devs = append(devs, newMultiDevice(t, w, tr, us...))
		log = append(log, fmt.Sprintf("device %d uses servers %v", i, sub))
	}
	// want is what the last operation on each id said ("" = deleted).
	want := map[string]string{}
	for step := 0; step < 30+rng.IntN(30); step++ {
		w.advance(time.Duration(1+rng.IntN(600)) * time.Second)
		i := rng.IntN(len(devs))
		d := devs[i]
		id := fmt.Sprintf("r%d", rng.IntN(8)) // few records: the mass-change guard stays quiet
		switch r := rng.IntN(10); {
		case r < 5:
			name := fmt.Sprintf("n%d", step)
			d.put(id, name)
			want[id] = name
			log = append(log, fmt.Sprintf("%d put %s=%s", i, id, name))
		case r < 7:
			if _, ok := d.names()[id]; ok {
				d.del(id)
				want[id] = ""
				log = append(log, fmt.Sprintf("%d del %s", i, id))
			}
		default:
			d.syncAll()
			log = append(log, fmt.Sprintf("%d sync", i))
		}
	}
	// Quiet: sync in rounds until nothing changes (bounded by the number of
	// hops between devices).
	for round := 0; round < 2*len(devs)+2; round++ {
		w.advance(time.Minute)
		for _, d := range devs {
			d.syncAll()
		}
	}
	exp := map[string]string{}
	for id, name := range want {
		if name != "" {
			exp[id] = name
		}
	}
	for i, d := range devs {
		if got := d.names(); fmt.Sprint(got) != fmt.Sprint(exp) {
			t.Fatalf("seed %d: device %d holds %v, want %v\n%s", seed, i, sorted(got), sorted(exp), strings.Join(log, "\n"))
		}
	}
}

// connected reports whether devices (each a set of servers) form one
// group through shared servers.
func connected(subsets [][]int) bool {
	reached := map[int]bool{0: true}
	for changed := true; changed; {
		changed = false
		for i := range subsets {
			if reached[i] {
				continue
			}
			for j := range subsets {
				if reached[j] && shares(subsets[i], subsets[j]) {
					reached[i], changed = true, true
					break
				}
			}
		}
	}
	return len(reached) == len(subsets)
}

func shares(a, b []int) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

func sorted(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
