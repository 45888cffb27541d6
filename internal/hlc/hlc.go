// Package hlc is a hybrid logical clock: timestamps in ms since the epoch
// that follow the wall clock but never go backwards and are always later
// than any timestamp this device has seen. An edit made after seeing a
// record from a device whose clock runs ahead therefore still wins over it.
//
// A timestamp far ahead of the wall clock (more than Skew) is accepted,
// because refusing it would make the record unmergeable, but callers report
// it (Ahead) so a bad clock cannot win forever unnoticed.
package hlc

import (
	"sync"
	"time"
)

// Skew is how far ahead of the wall clock a timestamp may be before it is
// reported as coming from a wrong clock.
const Skew = 24 * time.Hour

// Clock issues timestamps. It is safe for concurrent use.
type Clock struct {
	wall func() int64
	mu   sync.Mutex
	last int64
}

// New returns a clock reading wall (ms since the epoch). nil means the
// system clock.
func New(wall func() int64) *Clock {
	if wall == nil {
		wall = func() int64 { return time.Now().UnixMilli() }
	}
	return &Clock{wall: wall}
}

// Now returns a timestamp for a local write: max(wall, last+1). Each call
// returns a larger value than every earlier call and every observed one.
func (c *Clock) Now() int64 {
	w := c.wall()
	c.mu.Lock()
	defer c.mu.Unlock()
	if w <= c.last {
		w = c.last + 1
	}
	c.last = w
	return w
}

// Observe remembers a timestamp seen from elsewhere (a merged record, a
// remote file), so the next Now is later than it.
func (c *Clock) Observe(ts int64) {
	c.mu.Lock()
	if ts > c.last {
		c.last = ts
	}
	c.mu.Unlock()
}

// Last returns the highest timestamp issued or observed, for persisting.
func (c *Clock) Last() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Restore sets the clock's memory from a persisted Last after the worker
// restarted. It never moves the clock back.
func (c *Clock) Restore(last int64) { c.Observe(last) }

// Ahead reports whether ts is more than Skew ahead of the wall clock.
func (c *Clock) Ahead(ts int64) bool { return Ahead(ts, c.wall()) }

// Ahead reports whether ts is more than Skew ahead of wall (both ms).
func Ahead(ts, wall int64) bool { return ts > wall+Skew.Milliseconds() }
