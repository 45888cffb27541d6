package backup

import (
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// Version is the newest document version this build reads and the one it
// writes.
const Version = 1

// Format is the value of the document's "format" member.
const Format = "davsync"

// MaxTimestamp is the largest timestamp a document may hold: the start of
// the year 3000 in ms since the epoch. Anything later is a broken clock or a
// timestamp in the wrong unit, not a real edit.
const MaxTimestamp int64 = 32503680000000

// Reserved member names inside a record.
const (
	FieldID         = "id"
	FieldUpdatedAt  = "updated_at"
	FieldFieldTimes = "_field_times" // {field: ms}: when each field was last changed
)

// Document is one davsync backup: what gets exported, imported, uploaded and
// downloaded. Device-local settings are never part of it.
type Document struct {
	// ExportedAt is when the document was written, ms since the epoch.
	// Informational only: merge never decides anything by it.
	ExportedAt int64
	// Collections holds every declared collection (always present after New
	// or Parse) and any undeclared one found in a file written by a newer
	// build of the same version; those are validated and merged by the same
	// generic rules, so they survive a round trip through this build.
	Collections map[string]*Collection
	// Preferences are the user's synced preferences, merged as one object.
	Preferences Preferences
	// Extra holds top-level members this build does not know, name -> raw
	// compact JSON, written back unchanged.
	Extra map[string][]byte
}

// Collection is one kind of record with its deletions.
type Collection struct {
	Records    []Record    // sorted by ID, IDs unique
	Tombstones []Tombstone // sorted by ID, IDs unique
}

// Record is one record, kept as raw JSON so fields this build does not know
// survive unchanged.
type Record struct {
	ID        string
	UpdatedAt int64  // ms; not older than any time in _field_times
	Raw       []byte // the whole record object, compact JSON, incl. "_field_times"
}

// Tombstone says a record was deleted, so a replica that still has it does
// not bring it back.
type Tombstone struct {
	ID        string
	DeletedAt int64 // ms
}

// Preferences is the synced preferences object.
type Preferences struct {
	UpdatedAt int64  // ms
	Values    []byte // raw compact JSON object, "{}" when empty
}

// CollectionSpec declares a collection.
type CollectionSpec struct {
	// Name is the member name under "collections".
	Name string
	// Fields lists the record fields the engine knows, in the order a
	// rebuilt record writes them (after "id", before unknown fields).
	Fields []string
	// ValidateField checks one field of a record (nil: nothing beyond id
	// and updated_at are checked). It is called for every member except
	// id, updated_at and _field_times, and returns an error wrapping a
	// sentinel of this package whose message does not name the record
	// (Parse adds that). One field at a time keeps Parse a single pass.
	ValidateField func(name string, v gjson.Result) error
}

// Collections declares every collection. Adding a collection is one line
// here; merge, parse and marshal handle it without further code.
var Collections = []CollectionSpec{
	{Name: "accounts", Fields: AccountFields, ValidateField: validateAccountField},
}

// Spec returns the declaration of the named collection.
func Spec(name string) (CollectionSpec, bool) {
	for _, s := range Collections {
		if s.Name == name {
			return s, true
		}
	}
	return CollectionSpec{}, false
}

// New returns an empty document with every declared collection.
func New() *Document {
	d := &Document{
		Collections: make(map[string]*Collection, len(Collections)),
		Preferences: Preferences{Values: []byte("{}")},
	}
	for _, s := range Collections {
		d.Collections[s.Name] = &Collection{}
	}
	return d
}

// Collection returns the named collection, creating it if missing, so
// callers never meet a nil collection.
func (d *Document) Collection(name string) *Collection {
	if d.Collections == nil {
		d.Collections = map[string]*Collection{}
	}
	c := d.Collections[name]
	if c == nil {
		c = &Collection{}
		d.Collections[name] = c
	}
	return c
}

// Names returns the document's collection names, sorted.
func (d *Document) Names() []string {
	names := make([]string, 0, len(d.Collections))
	for n := range d.Collections {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Newest is the newest time d holds (records' updated_at, tombstones'
// deleted_at, the preferences' updated_at): a clock that has observed it
// stamps an edit that beats everything in d.
func (d *Document) Newest() int64 {
	t := d.Preferences.UpdatedAt
	for _, c := range d.Collections {
		if c == nil {
			continue
		}
		for _, r := range c.Records {
			t = max(t, r.UpdatedAt)
		}
		for _, x := range c.Tombstones {
			t = max(t, x.DeletedAt)
		}
	}
	return t
}

// Clone returns a deep copy, so a caller can change it without touching d.
func (d *Document) Clone() *Document {
	n := &Document{
		ExportedAt:  d.ExportedAt,
		Collections: make(map[string]*Collection, len(d.Collections)),
		Preferences: Preferences{UpdatedAt: d.Preferences.UpdatedAt, Values: slices.Clone(d.Preferences.Values)},
	}
	for name, c := range d.Collections {
		if c == nil {
			c = &Collection{} // as Collection(name) would make it
		}
		nc := &Collection{Records: make([]Record, len(c.Records)), Tombstones: slices.Clone(c.Tombstones)}
		for i, r := range c.Records {
			nc.Records[i] = Record{ID: r.ID, UpdatedAt: r.UpdatedAt, Raw: slices.Clone(r.Raw)}
		}
		n.Collections[name] = nc
	}
	if d.Extra != nil {
		n.Extra = make(map[string][]byte, len(d.Extra))
		for k, v := range d.Extra {
			n.Extra[k] = slices.Clone(v)
		}
	}
	return n
}

func cmpRecord(a, b Record) int       { return strings.Compare(a.ID, b.ID) }
func cmpTombstone(a, b Tombstone) int { return strings.Compare(a.ID, b.ID) }

// Get returns the record with the given id.
func (c *Collection) Get(id string) (Record, bool) {
	i, ok := slices.BinarySearchFunc(c.Records, id, func(r Record, id string) int { return strings.Compare(r.ID, id) })
	if !ok {
		return Record{}, false
	}
	return c.Records[i], true
}

// Tombstone returns the tombstone of the given id.
func (c *Collection) Tombstone(id string) (Tombstone, bool) {
	i, ok := slices.BinarySearchFunc(c.Tombstones, id, func(t Tombstone, id string) int { return strings.Compare(t.ID, id) })
	if !ok {
		return Tombstone{}, false
	}
	return c.Tombstones[i], true
}

// Put inserts or replaces a record, keeping Records sorted. A tombstone of
// the same id stays: merge uses it to drop fields written before the
// deletion, so write records through merge.Edit (which stamps every change
// later than anything the record held) rather than reusing old timestamps.
func (c *Collection) Put(r Record) {
	i, ok := slices.BinarySearchFunc(c.Records, r.ID, func(x Record, id string) int { return strings.Compare(x.ID, id) })
	if ok {
		c.Records[i] = r
	} else {
		c.Records = slices.Insert(c.Records, i, r)
	}
}

// Delete removes the record with the given id and leaves a tombstone at
// deletedAt (keeping a newer tombstone if there is one), so other replicas
// learn of the deletion instead of bringing the record back. Deleting an id
// that has no record still records the tombstone.
func (c *Collection) Delete(id string, deletedAt int64) {
	if i, ok := slices.BinarySearchFunc(c.Records, id, func(x Record, id string) int { return strings.Compare(x.ID, id) }); ok {
		c.Records = slices.Delete(c.Records, i, i+1)
	}
	j, ok := slices.BinarySearchFunc(c.Tombstones, id, func(t Tombstone, id string) int { return strings.Compare(t.ID, id) })
	switch {
	case !ok:
		c.Tombstones = slices.Insert(c.Tombstones, j, Tombstone{ID: id, DeletedAt: deletedAt})
	case c.Tombstones[j].DeletedAt < deletedAt:
		c.Tombstones[j].DeletedAt = deletedAt
	}
}
