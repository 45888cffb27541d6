package hlc

import (
	"sync"
	"testing"
)

func TestNowMonotonic(t *testing.T) {
	wall := int64(1000)
	c := New(func() int64 { return wall })
	if got := c.Now(); got != 1000 {
		t.Fatalf("Now = %d, want the wall clock 1000", got)
	}
	if got := c.Now(); got != 1001 {
		t.Fatalf("Now with a stuck wall clock = %d, want 1001", got)
	}
	wall = 500 // the wall clock jumped back
	if got := c.Now(); got != 1002 {
		t.Fatalf("Now after the wall clock went back = %d, want 1002", got)
	}
	wall = 5000
	if got := c.Now(); got != 5000 {
		t.Fatalf("Now = %d, want to follow the wall clock to 5000", got)
	}
}

func TestObserveAheadWins(t *testing.T) {
	c := New(func() int64 { return 1000 })
	c.Observe(9000) // a record from a device whose clock runs ahead
	if got := c.Now(); got <= 9000 {
		t.Fatalf("Now after observing 9000 = %d, want > 9000 so the later edit wins", got)
	}
	c.Observe(10) // older timestamps change nothing
	if got := c.Last(); got != 9001 {
		t.Fatalf("Last = %d, want 9001", got)
	}
}

func TestRestore(t *testing.T) {
	c := New(func() int64 { return 1000 })
	c.Restore(7000)
	if got := c.Now(); got != 7001 {
		t.Fatalf("Now after Restore(7000) = %d, want 7001", got)
	}
	c.Restore(10)
	if got := c.Last(); got != 7001 {
		t.Fatalf("Restore moved the clock back to %d", got)
	}
}

func TestAhead(t *testing.T) {
	day := Skew.Milliseconds()
	for _, tc := range []struct {
		ts, wall int64
		want     bool
	}{
		{0, 0, false},
		{day, 0, false},
		{day + 1, 0, true},
		{5, 10, false},
	} {
		if got := Ahead(tc.ts, tc.wall); got != tc.want {
			t.Errorf("Ahead(%d, %d) = %v, want %v", tc.ts, tc.wall, got, tc.want)
		}
	}
	c := New(func() int64 { return 0 })
	if !c.Ahead(day + 1) {
		t.Error("Clock.Ahead(day+1) = false at wall 0")
	}
}

func TestConcurrentUnique(t *testing.T) {
	c := New(func() int64 { return 42 })
	const n, per = 8, 200
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				ts := c.Now()
				mu.Lock()
				if seen[ts] {
					t.Errorf("timestamp %d issued twice", ts)
				}
				seen[ts] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n*per {
		t.Fatalf("%d distinct timestamps, want %d", len(seen), n*per)
	}
}

func TestSystemClock(t *testing.T) {
	c := New(nil)
	if a, b := c.Now(), c.Now(); b <= a || a < 1_600_000_000_000 {
		t.Fatalf("system clock timestamps %d, %d", a, b)
	}
}
