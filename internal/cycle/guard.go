package cycle

import (
	"sort"
	"strconv"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/msg"
	"github.com/tidwall/gjson"
)

// maxExamples is how many records a preview names per side.
const maxExamples = 5

// trips reports whether affected of total records exceed the guard.
func trips(opts Options, affected, total int) bool {
	return opts.GuardPercent >= 0 && total >= opts.GuardMinRecords && affected*100 > opts.GuardPercent*total
}

// guardFromMerge is the mass-change guard for a computed merge: deletions
// on either side (and replacements when a whole side is replaced) above
// the threshold hold the cycle before anything is written.
func guardFromMerge(opts Options, localDoc, remoteDoc *backup.Document, remoteExists bool, r *merge.Outcome) *Preview {
	p := &Preview{Reason: "mass_change", Local: r.Local, Remote: r.Remote}
	hit := false
	check := func(side string, ch merge.Changes, before *backup.Document) {
		for _, name := range sortedNames(ch) {
			if _, ok := backup.Spec(name); !ok {
				continue // "preferences" and unknown pseudo-collections
			}
			c := ch[name]
			total := c.Updated + c.Deleted + c.Unchanged
			affected := c.Deleted
			if opts.ReplaceSide {
				affected += c.Updated
			}
			if trips(opts, affected, total) {
				hit = true
				p.Examples = append(p.Examples, examples(side, name, before, r.Doc, opts.ReplaceSide)...)
			}
		}
	}
	check("local", r.Local, localDoc)
	if remoteExists {
		check("remote", r.Remote, remoteDoc)
	}
	if !hit {
		return nil
	}
	p.ask(guardMessage(p))
	return p
}

// guardFromBase is the guard for the local-only path: the remote still
// holds the last synced state, whose records and times are the base.
func guardFromBase(opts Options, base merge.Base, doc *backup.Document) *Preview {
	p := &Preview{Reason: "mass_change", Local: merge.Changes{}, Remote: merge.Changes{}}
	hit := false
	names := make([]string, 0, len(base))
	for n := range base {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		ids := base[name]
		col := doc.Collection(name)
		var c merge.Counts
		for id, at := range ids {
			r, ok := col.Get(id)
			switch {
			case !ok:
				c.Deleted++
			case r.UpdatedAt != at:
				c.Updated++
			default:
				c.Unchanged++
			}
		}
		c.Added = len(col.Records) - c.Updated - c.Unchanged
		p.Remote[name] = c
		affected := c.Deleted
		if opts.ReplaceSide {
			affected += c.Updated
		}
		if trips(opts, affected, len(ids)) {
			hit = true
			var ex []Example
			for id := range ids {
				if _, ok := col.Get(id); !ok {
					ex = append(ex, Example{Side: "remote", Collection: name, ID: id, Change: "deleted"})
				}
			}
			sort.Slice(ex, func(i, j int) bool { return ex[i].ID < ex[j].ID })
			if len(ex) > maxExamples {
				ex = ex[:maxExamples]
			}
			p.Examples = append(p.Examples, ex...)
		}
	}
	if !hit {
		return nil
	}
	p.ask(guardMessage(p))
	return p
}

func guardMessage(p *Preview) msg.Msg {
	del, rdel := 0, 0
	for _, c := range p.Local {
		del += c.Deleted
	}
	for _, c := range p.Remote {
		rdel += c.Deleted
	}
	// Name only the sides that lose records: "0 on this device" reads as noise.
	switch {
	case del > 0 && rdel > 0:
		return msg.New("askMassDeleteBoth", strconv.Itoa(del), strconv.Itoa(rdel))
	case del > 0:
		return msg.Count("askMassDeleteLocal", del)
	case rdel > 0:
		return msg.Count("askMassDeleteRemote", rdel)
	}
	return msg.New("askMassReplace")
}

// examples names up to maxExamples records of collection name that exist in
// before and are gone (or, with replaced, changed) in after.
func examples(side, name string, before, after *backup.Document, replaced bool) []Example {
	var out []Example
	b, a := before.Collection(name), after.Collection(name)
	for _, r := range b.Records {
		if len(out) >= maxExamples {
			break
		}
		n, ok := a.Get(r.ID)
		change := ""
		switch {
		case !ok:
			change = "deleted"
		case replaced && string(n.Raw) != string(r.Raw):
			change = "replaced"
		default:
			continue
		}
		out = append(out, Example{Side: side, Collection: name, ID: r.ID, Name: RecordName(r.Raw), Change: change})
	}
	return out
}

// RecordName is what a person calls a record: its site or plain name
// ("" when it has neither).
func RecordName(raw []byte) string {
	for _, f := range []string{"site_name", "name", "site_url", "url"} {
		if v := gjson.GetBytes(raw, f); v.Type == gjson.String && v.Str != "" {
			return v.Str
		}
	}
	return ""
}

func sortedNames(ch merge.Changes) []string {
	out := make([]string, 0, len(ch))
	for n := range ch {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// answered reports whether the user's confirmation covers preview p. A
// plain Confirm (upload, download, restore: the user chose the operation)
// covers the guard's questions; with AnswerHeld only a preview no bigger
// than one the user saw, for the same reason. The encryption question is
// never answered by a plain Confirm: only by the operation's own choice,
// or by a confirmation of that very file.
func (o Options) answered(p *Preview) bool {
	if p.Reason == "encryption_change" {
		if o.AllowEncryptionChange || (p.Subject != "" && o.AcceptEncryption == p.Subject) {
			return true
		}
		for _, h := range o.Held {
			if o.AnswerHeld && h.Reason == p.Reason && h.Subject == p.Subject {
				return true
			}
		}
		return false
	}
	if !o.Confirm {
		return false
	}
	if !o.AnswerHeld {
		return true
	}
	within := func(now, seen merge.Changes) bool {
		for name, c := range now {
			s := seen[name]
			if c.Deleted > s.Deleted || (o.ReplaceSide && c.Updated > s.Updated) {
				return false
			}
		}
		return true
	}
	for _, h := range o.Held {
		if h.Reason == p.Reason && within(p.Local, h.Local) && within(p.Remote, h.Remote) {
			return true
		}
	}
	return false
}
