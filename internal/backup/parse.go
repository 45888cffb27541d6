package backup

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/davsync/davsync/internal/jsonlimit"
	"github.com/davsync/davsync/internal/limits"
	"github.com/tidwall/gjson"
)

// migrations[v-1] turns a version v document into a version v+1 document.
// Parse applies them in order, so a file of any older version is read as the
// current one. len(migrations) == Version-1 (a test checks it): adding a
// version means adding its migration here and a row to the table in doc.go.
var migrations = []func(data []byte) ([]byte, error){}

// Parse reads a document's JSON (the envelope and gzip are peeled by the
// caller: envelope.Unwrap for the sync file, transfer for an import). It
// validates everything before it returns: on error nothing of
// the document is returned, so nothing can be applied from a file that is
// wrong anywhere. Older versions are migrated to Version. Errors wrap one of
// the Err* sentinels and carry errkind.BadDocument, errkind.NewerVersion or
// errkind.TooLarge; messages name the collection and record (counting from 1).
func Parse(data []byte) (*Document, error) {
	// A byte order mark, as some Windows editors write, is not an error.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(data) > limits.Document {
		return nil, tooLarge()
	}
	c, p := jsonlimit.Check(data)
	switch p {
	case jsonlimit.OK:
	case jsonlimit.TooDeep:
		return nil, bad(ErrTooDeep, "", "the file nests arrays or objects more than "+strconv.Itoa(jsonlimit.MaxDepth)+" levels deep; it is not a davsync backup")
	case jsonlimit.NotUTF8:
		// An id with a bad byte could never be named again to edit or
		// delete its record: the pages would see U+FFFD.
		return nil, bad(ErrNotJSON, "", notUTF8)
	default:
		return nil, bad(ErrNotJSON, "", "the file is not valid JSON (it may be damaged, or not a backup at all)")
	}
	return ParseChecked(c)
}

// ParseChecked is Parse for JSON the caller has checked already (an import
// that had to look inside the file to know what it is), so that the same
// bytes are not scanned twice.
func ParseChecked(c jsonlimit.Checked) (*Document, error) {
	if len(c.JSON) > limits.Document {
		return nil, tooLarge()
	}
	data, spaced := c.JSON, c.Spaced
	for {
		root := gjson.ParseBytes(data)
		if !root.IsObject() {
			return nil, bad(ErrNotDavsync, "", "the file is JSON but not a davsync backup (expected an object with \"format\": \"davsync\")")
		}
		top, err := members(root, "the top level")
		if err != nil {
			return nil, err
		}
		format := top.get("format")
		if format.Type != gjson.String || format.Str != Format {
			msg := "the file is JSON but not a davsync backup (no \"format\": \"davsync\")"
			if top.get("accounts").Exists() && top.get("format").Type == gjson.Null {
				msg = "this looks like an All API Hub backup; use Import from All API Hub instead"
			}
			return nil, bad(ErrNotDavsync, "", msg)
		}
		ver := top.get("version")
		v, ok := positiveInt(ver)
		if !ok {
			return nil, bad(ErrBadVersion, "", `"version" must be a whole number from 1, not `+short(ver.Raw))
		}
		if v > Version {
			return nil, bad(ErrNewerVersion, "", "the file is version "+strconv.FormatInt(v, 10)+
				" of the davsync format; this davsync reads versions up to "+strconv.Itoa(Version)+": update davsync on this device to read it")
		}
		if v == Version {
			return parseCurrent(data, top, spaced)
		}
		if data, err = migrations[v-1](data); err != nil {
			return nil, bad(ErrBadVersion, "", "the version "+strconv.FormatInt(v, 10)+" file could not be upgraded: "+err.Error())
		}
		spaced = true // whatever the migration wrote: compact every record
	}
}

const notUTF8 = "the file is not valid UTF-8 text (it may be damaged, or saved in another encoding)"

func tooLarge() error {
	return bad(ErrTooLarge, "", "the document is larger than "+strconv.Itoa(limits.Document>>20)+" MiB")
}

// parseCurrent reads a version-Version document whose top level is top.
// spaced false means the input has no whitespace between tokens, so record
// bytes are copied without compacting.
func parseCurrent(data []byte, top memberList, spaced bool) (*Document, error) {
	d := New()
	// One arena for all record bytes: one allocation instead of one per
	// record, and the document does not alias the caller's buffer.
	arena := make([]byte, 0, len(data))
	for _, m := range top {
		switch m.key {
		case "format", "version":
		case "exported_at":
			ts, e := timestamp(m.val)
			if e != "" {
				return nil, bad(ErrBadTimestamp, "", `"exported_at" `+e)
			}
			d.ExportedAt = ts
		case "collections":
			if !m.val.IsObject() {
				return nil, bad(ErrWrongType, "", `"collections" must be an object, not `+typeName(m.val))
			}
			cols, err := members(m.val, `"collections"`)
			if err != nil {
				return nil, err
			}
			for _, c := range cols {
				col, err := parseCollection(c.key, c.val, &arena, spaced)
				if err != nil {
					return nil, err
				}
				d.Collections[c.key] = col
			}
		case "preferences":
			if err := parsePreferences(m.val, &d.Preferences); err != nil {
				return nil, err
			}
		default:
			if d.Extra == nil {
				d.Extra = map[string][]byte{}
			}
			d.Extra[m.key] = Compact(nil, []byte(m.val.Raw))
		}
	}
	return d, nil
}

func parsePreferences(v gjson.Result, p *Preferences) error {
	const where = "preferences"
	if !v.IsObject() {
		return bad(ErrWrongType, where, "must be an object, not "+typeName(v))
	}
	ms, err := members(v, where)
	if err != nil {
		return err
	}
	if ua := ms.get(FieldUpdatedAt); ua.Exists() {
		ts, e := timestamp(ua)
		if e != "" {
			return bad(ErrBadTimestamp, where, `"updated_at" `+e)
		}
		p.UpdatedAt = ts
	}
	if vals := ms.get("values"); vals.Exists() {
		if !vals.IsObject() {
			return bad(ErrWrongType, where, `"values" must be an object, not `+typeName(vals))
		}
		if _, err := members(vals, `preferences "values"`); err != nil {
			return err
		}
		p.Values = Compact(nil, []byte(vals.Raw))
	}
	return nil
}

// parseCollection validates one collection and returns it sorted by id.
func parseCollection(name string, v gjson.Result, arena *[]byte, spaced bool) (*Collection, error) {
	label := name
	if !plainName(name) {
		label = strconv.Quote(name)
	}
	if !v.IsObject() {
		return nil, bad(ErrWrongType, "collection "+label, "must be an object, not "+typeName(v))
	}
	ms, err := members(v, "collection "+label)
	if err != nil {
		return nil, err
	}
	spec, _ := Spec(name)
	col := &Collection{}

	recs := ms.get("records")
	if recs.Exists() && !recs.IsArray() {
		return nil, bad(ErrWrongType, "collection "+label, `"records" must be an array, not `+typeName(recs))
	}
	i := 0
	var sc scratch
	recs.ForEach(func(_, r gjson.Result) bool {
		var rec Record
		rec, err = parseRecord(r, spec, arena, &sc, spaced)
		if err != nil {
			err = placed(err, label+" record #"+strconv.Itoa(i+1))
			return false
		}
		col.Records = append(col.Records, rec)
		i++
		return true
	})
	if err != nil {
		return nil, err
	}

	tombs := ms.get("tombstones")
	if tombs.Exists() && !tombs.IsArray() {
		return nil, bad(ErrWrongType, "collection "+label, `"tombstones" must be an array, not `+typeName(tombs))
	}
	i = 0
	tombs.ForEach(func(_, t gjson.Result) bool {
		var ts Tombstone
		ts, err = parseTombstone(t)
		if err != nil {
			err = placed(err, label+" tombstone #"+strconv.Itoa(i+1))
			return false
		}
		col.Tombstones = append(col.Tombstones, ts)
		i++
		return true
	})
	if err != nil {
		return nil, err
	}

	if dup, a, b := sortUnique(col.Records, func(r Record) string { return r.ID }); dup != "" {
		return nil, bad(ErrDuplicateID, label+" records #"+strconv.Itoa(a+1)+" and #"+strconv.Itoa(b+1),
			"both have the id "+strconv.Quote(dup)+"; ids must be unique")
	}
	if dup, a, b := sortUnique(col.Tombstones, func(t Tombstone) string { return t.ID }); dup != "" {
		return nil, bad(ErrDuplicateID, label+" tombstones #"+strconv.Itoa(a+1)+" and #"+strconv.Itoa(b+1),
			"both have the id "+strconv.Quote(dup)+"; ids must be unique")
	}
	return col, nil
}

// sortUnique sorts s by id (stably, so the original order decides nothing
// later) and reports the first duplicate id with the 0-based positions its
// two holders had in the file.
func sortUnique[T any](s []T, id func(T) string) (dup string, a, b int) {
	if slices.IsSortedFunc(s, func(x, y T) int { return strings.Compare(id(x), id(y)) }) {
		for i := 1; i < len(s); i++ {
			if id(s[i]) == id(s[i-1]) {
				return id(s[i]), i - 1, i
			}
		}
		return "", 0, 0
	}
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(x, y int) int { return strings.Compare(id(s[x]), id(s[y])) })
	for i := 1; i < len(idx); i++ {
		if id(s[idx[i]]) == id(s[idx[i-1]]) {
			return id(s[idx[i]]), min(idx[i-1], idx[i]), max(idx[i-1], idx[i])
		}
	}
	sorted := make([]T, len(s))
	for i, j := range idx {
		sorted[i] = s[j]
	}
	copy(s, sorted)
	return "", 0, 0
}

// ParseRecord validates one record object (as Parse does for a record of the
// named collection) and returns it compacted. Callers that build records
// outside a document, like the import and the pages' edits, use it.
func ParseRecord(collection string, raw []byte) (Record, error) {
	if jsonlimit.Scan(raw, jsonlimit.MaxDepth).Problem == jsonlimit.TooDeep {
		return Record{}, bad(ErrTooDeep, collection+" record", "nests more than "+strconv.Itoa(jsonlimit.MaxDepth)+" levels deep")
	}
	if !gjson.ValidBytes(raw) {
		return Record{}, bad(ErrNotJSON, collection+" record", "is not valid JSON")
	}
	if !utf8.Valid(raw) {
		return Record{}, bad(ErrNotJSON, collection+" record", "is not valid UTF-8 text")
	}
	spec, _ := Spec(collection)
	var arena []byte
	var sc scratch
	r, err := parseRecord(gjson.ParseBytes(raw), spec, &arena, &sc, true)
	if err != nil {
		return Record{}, placed(err, collection+" record")
	}
	return r, nil
}

// scratch is reused across the records of one Parse so that checking a
// record for repeated members allocates nothing.
type scratch struct {
	keys []string
	set  map[string]struct{}
}

func (s *scratch) reset() {
	s.keys = s.keys[:0]
	clear(s.set)
}

// add records key and reports whether it was seen before in this object.
func (s *scratch) add(key string) bool {
	if len(s.keys) < 16 {
		for _, k := range s.keys {
			if k == key {
				return true
			}
		}
		s.keys = append(s.keys, key)
		return false
	}
	if s.set == nil {
		s.set = make(map[string]struct{}, 64)
	}
	if len(s.set) == 0 {
		for _, k := range s.keys {
			s.set[k] = struct{}{}
		}
	}
	if _, ok := s.set[key]; ok {
		return true
	}
	s.set[key] = struct{}{}
	return false
}

// parseRecord validates one record in a single pass over its members and
// appends its compact bytes to the arena.
func parseRecord(v gjson.Result, spec CollectionSpec, arena *[]byte, sc *scratch, spaced bool) (Record, error) {
	if !v.IsObject() {
		return Record{}, badField(ErrWrongType, "must be an object, not "+typeName(v))
	}
	sc.reset()
	var id, ua, ft gjson.Result
	// dup is only meaningful with hasDup: "" is a valid member name.
	var dup string
	var hasDup bool
	var fieldErr error
	v.ForEach(func(k, val gjson.Result) bool {
		if sc.add(k.Str) {
			dup, hasDup = k.Str, true
			return false
		}
		switch k.Str {
		case FieldID:
			id = val
		case FieldUpdatedAt:
			ua = val
		case FieldFieldTimes:
			ft = val
		default:
			if fieldErr == nil && spec.ValidateField != nil {
				fieldErr = spec.ValidateField(k.Str, val)
			}
		}
		return true
	})
	switch {
	case hasDup:
		return Record{}, badID(ErrDuplicateKey, id.Str, "the member "+strconv.Quote(dup)+" appears twice")
	case !id.Exists() || id.Type == gjson.Null:
		return Record{}, badField(ErrMissingID, `has no "id"`)
	case id.Type != gjson.String:
		return Record{}, badField(ErrWrongType, `"id" must be a string, not `+typeName(id))
	case id.Str == "":
		return Record{}, badField(ErrMissingID, `has an empty "id"`)
	}
	rec := Record{ID: id.Str}
	if !ua.Exists() {
		return Record{}, badID(ErrBadTimestamp, rec.ID, `has no "updated_at"`)
	}
	var e string
	if rec.UpdatedAt, e = timestamp(ua); e != "" {
		return Record{}, badID(ErrBadTimestamp, rec.ID, `"updated_at" `+e)
	}
	if ft.Exists() {
		if !ft.IsObject() {
			return Record{}, badID(ErrWrongType, rec.ID, `"_field_times" must be an object, not `+typeName(ft))
		}
		sc.reset()
		var err error
		ft.ForEach(func(k, t gjson.Result) bool {
			if sc.add(k.Str) {
				err = badID(ErrDuplicateKey, rec.ID, `"_field_times" has `+strconv.Quote(k.Str)+" twice")
				return false
			}
			ts, e := timestamp(t)
			if e != "" {
				err = badID(ErrBadTimestamp, rec.ID, `"_field_times" of `+strconv.Quote(k.Str)+" "+e)
				return false
			}
			if ts > rec.UpdatedAt {
				err = badID(ErrBadTimestamp, rec.ID, `"_field_times" of `+strconv.Quote(k.Str)+
					` is newer than "updated_at", which must be the newest change`)
				return false
			}
			return true
		})
		if err != nil {
			return Record{}, err
		}
	}
	if fieldErr != nil {
		if fe, ok := fieldErr.(*fieldError); ok && fe.id == "" {
			fe.id = rec.ID
		}
		return Record{}, fieldErr
	}
	start := len(*arena)
	if spaced {
		*arena = compactString(*arena, v.Raw)
	} else {
		*arena = append(*arena, v.Raw...)
	}
	rec.Raw = (*arena)[start:len(*arena):len(*arena)]
	return rec, nil
}

func parseTombstone(v gjson.Result) (Tombstone, error) {
	if !v.IsObject() {
		return Tombstone{}, badField(ErrWrongType, "must be an object, not "+typeName(v))
	}
	ms, err := members(v, "")
	if err != nil {
		return Tombstone{}, err
	}
	id := ms.get(FieldID)
	switch {
	case !id.Exists() || id.Type == gjson.Null:
		return Tombstone{}, badField(ErrMissingID, `has no "id"`)
	case id.Type != gjson.String:
		return Tombstone{}, badField(ErrWrongType, `"id" must be a string, not `+typeName(id))
	case id.Str == "":
		return Tombstone{}, badField(ErrMissingID, `has an empty "id"`)
	}
	at, e := timestamp(ms.get("deleted_at"))
	if e != "" {
		return Tombstone{}, badID(ErrBadTimestamp, id.Str, `"deleted_at" `+e)
	}
	return Tombstone{ID: id.Str, DeletedAt: at}, nil
}

// placed turns a fieldError into the document error, naming where it is.
func placed(err error, where string) error {
	if fe, ok := err.(*fieldError); ok {
		if fe.id != "" {
			where += " (id " + strconv.Quote(fe.id) + ")"
		}
		return bad(fe.sentinel, where, fe.msg)
	}
	return err
}

type member struct {
	key string
	val gjson.Result
}

type memberList []member

func (ms memberList) get(key string) gjson.Result {
	for _, m := range ms {
		if m.key == key {
			return m.val
		}
	}
	return gjson.Result{}
}

// members lists an object's members, refusing a name that appears twice:
// JSON readers disagree on which copy wins (gjson the first, JavaScript the
// last), so such a file could mean different things on different devices.
// where == "" returns a fieldError for parseRecord to place.
func members(obj gjson.Result, where string) (memberList, error) {
	var ms memberList
	var seen map[string]struct{}
	var dup string // only meaningful with hasDup: "" is a valid member name
	var hasDup bool
	obj.ForEach(func(k, v gjson.Result) bool {
		if len(ms) < 16 {
			for _, m := range ms {
				if m.key == k.Str {
					dup, hasDup = k.Str, true
					return false
				}
			}
		} else {
			if seen == nil {
				seen = make(map[string]struct{}, 32)
				for _, m := range ms {
					seen[m.key] = struct{}{}
				}
			}
			if _, ok := seen[k.Str]; ok {
				dup, hasDup = k.Str, true
				return false
			}
			seen[k.Str] = struct{}{}
		}
		ms = append(ms, member{k.Str, v})
		return true
	})
	if hasDup {
		msg := "the member " + strconv.Quote(dup) + " appears twice"
		if where == "" {
			return nil, badField(ErrDuplicateKey, msg)
		}
		return nil, bad(ErrDuplicateKey, where, msg)
	}
	return ms, nil
}

// timestamp reads a timestamp: a whole, non-negative number of ms no later
// than MaxTimestamp. The second result is empty or says what is wrong.
func timestamp(v gjson.Result) (int64, string) {
	if !v.Exists() {
		return 0, "is missing"
	}
	if v.Type != gjson.Number {
		return 0, "must be a number of milliseconds, not " + typeName(v)
	}
	raw := v.Raw
	if strings.HasPrefix(raw, "-") {
		return 0, "is negative (" + short(raw) + ")"
	}
	n, ok := positiveIntRaw(raw)
	if !ok {
		if strings.ContainsAny(raw, ".eE") {
			return 0, "must be a whole number of milliseconds, not " + short(raw)
		}
		return 0, "is after the year 3000 (" + short(raw) + "); the clock that wrote it is wrong or the unit is not milliseconds"
	}
	if n > MaxTimestamp {
		return 0, "is after the year 3000 (" + short(raw) + "); the clock that wrote it is wrong or the unit is not milliseconds"
	}
	return n, ""
}

// positiveIntRaw parses a JSON number made only of digits that fits 15 digits.
func positiveIntRaw(raw string) (int64, bool) {
	if raw == "" || len(raw) > 15 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func positiveInt(v gjson.Result) (int64, bool) {
	if v.Type != gjson.Number {
		return 0, false
	}
	n, ok := positiveIntRaw(v.Raw)
	return n, ok && n >= 1
}

// short quotes at most 40 bytes of a raw value for a message.
func short(raw string) string {
	if raw == "" {
		return "nothing"
	}
	if len(raw) > 40 {
		return raw[:40] + "..."
	}
	return raw
}

func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return s != ""
}
