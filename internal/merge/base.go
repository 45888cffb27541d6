package merge

import (
	"time"

	"github.com/davsync/davsync/internal/backup"
)

// NewBase records, for every record of doc, the updated_at it has: what the
// sync cycle stores after writing doc, so the next merge can tell a field
// changed on both sides since (a conflict) from one changed on one side.
func NewBase(doc *backup.Document) Base {
	b := make(Base, len(doc.Collections))
	for name, c := range doc.Collections {
		m := make(map[string]int64, len(c.Records))
		for _, r := range c.Records {
			m[r.ID] = r.UpdatedAt
		}
		b[name] = m
	}
	return b
}

// Stale reports whether a device that last synced at lastSync (ms; 0 =
// never) is too old to merge at now: tombstones it has not seen may already
// have been dropped, so merging would bring deleted records back. The sync
// cycle tells the user instead (and offers to replace local with the
// remote). horizon 0 means DefaultHorizon.
func Stale(lastSync, now int64, horizon time.Duration) bool {
	if horizon == 0 {
		horizon = DefaultHorizon
	}
	return lastSync > 0 && now-lastSync > horizon.Milliseconds()
}
