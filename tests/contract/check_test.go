package contract

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/davsync/davsync/internal/webdav"
)

// checkTable is the server-by-server table of what Check reported, built
// from the result's JSON form so it shows every field the client reports.
type checkTable struct {
	mu   sync.Mutex
	rows map[string]map[string]string // server -> flattened field -> value
}

func newCheckTable() *checkTable { return &checkTable{rows: map[string]map[string]string{}} }

func (c *checkTable) add(server string, res any) {
	b, err := json.Marshal(res)
	row := map[string]string{}
	if err != nil {
		row["error"] = "not JSON-serialisable: " + err.Error()
	} else {
		var v any
		_ = json.Unmarshal(b, &v)
		flatten("", v, row)
		// Different on every run and not about the server.
		delete(row, "url")
		delete(row, "checked_at")
	}
	c.mu.Lock()
	c.rows[server] = row
	c.mu.Unlock()
}

func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flatten(key, e, out)
		}
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			b, _ := json.Marshal(e)
			parts = append(parts, strings.Trim(string(b), `"`))
		}
		out[prefix] = strings.Join(parts, "; ")
	case nil:
		out[prefix] = ""
	case string:
		out[prefix] = x
	default:
		b, _ := json.Marshal(x)
		out[prefix] = string(b)
	}
}

func (c *checkTable) columns() []string {
	seen := map[string]bool{}
	for _, r := range c.rows {
		for k := range r {
			seen[k] = true
		}
	}
	var cols []string
	for k := range seen {
		cols = append(cols, k)
	}
	sort.Strings(cols)
	return cols
}

func (c *checkTable) row(server string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rows[server]
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%s", k, r[k])
	}
	return b.String()
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// write prints the table (servers as columns, fields as rows, which stays
// readable with many fields) to the test log and to path.
func (c *checkTable) write(t *testing.T, path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.rows) == 0 {
		return
	}
	var servers []string
	for s := range c.rows {
		servers = append(servers, s)
	}
	sort.Strings(servers)
	cols := c.columns()
	var b strings.Builder
	b.WriteString("# Server check, per server\n\nWhat `webdav.Client.Check` reported against each real server in `make test-servers` (tests/contract), over " + transportName + ".\n\n")
	b.WriteString("| field | " + strings.Join(servers, " | ") + " |\n")
	b.WriteString("|---" + strings.Repeat("|---", len(servers)) + "|\n")
	for _, col := range cols {
		b.WriteString("| " + cell(col))
		for _, s := range servers {
			b.WriteString(" | " + cell(c.rows[s][col]))
		}
		b.WriteString(" |\n")
	}
	b.WriteString("\nDeviations the contract suite asserts (besides the check's fields above):\n\n")
	for _, s := range servers {
		e, _ := expectFor(s)
		if d := e.deviations(); d != "" {
			b.WriteString("- " + s + ": " + d + "\n")
		}
	}
	t.Log("\n" + b.String())
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Errorf("server check table: %v", err)
		return
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Errorf("server check table: %v", err)
	}
}

// verifyCheck holds Check's findings against the written-down behaviour: a
// check that misreports a server would make sync pick the wrong strategy.
func verifyCheck(t *testing.T, s server, exp expect, res *webdav.CheckResult) {
	t.Helper()
	if !res.OK || !res.CredentialsOK || !res.CanWrite || !res.CanDelete || res.Folder != webdav.FolderExists {
		t.Errorf("Check: ok=%v credentials=%v write=%v delete=%v folder=%q, want all good and an existing folder (error %q)",
			res.OK, res.CredentialsOK, res.CanWrite, res.CanDelete, res.Folder, res.Error)
	}
	scheme := "basic"
	if exp.digest {
		scheme = "digest"
	}
	if res.AuthScheme != scheme {
		t.Errorf("Check: auth scheme %q, want %s", res.AuthScheme, scheme)
	}
	yes := func(b bool) webdav.Support {
		if b {
			return webdav.Yes
		}
		return webdav.No
	}
	tr := res.Traits
	for _, f := range []struct {
		name      string
		got, want webdav.Support
	}{
		{"honours If-Match", tr.IfMatch, yes(exp.ifMatch)},
		{"honours If-None-Match", tr.IfNoneMatch, yes(exp.ifNoneMatch)},
		{"honours the If header", tr.IfHeader, map[bool]webdav.Support{true: webdav.Yes, false: webdav.Unknown}[exp.ifHeader]},
		{"conditional GET", tr.ConditionalGet, yes(exp.notModified)},
		{"PROPFIND ETags", tr.PropfindETag, yes(exp.propfindETag)},
		{"PUT ETag", tr.PutETag, yes(exp.putETag)},
		{"MOVE overwrites", tr.MoveOverwrite, webdav.Yes},
	} {
		if f.got != f.want {
			t.Errorf("Check on %s: %s = %v, want %v", s.Name, f.name, f.got, f.want)
		}
	}
	if tr.WeakETags != exp.weakAfterWrite || tr.SecondETags != exp.secondETags || !res.ClockKnown {
		t.Errorf("Check on %s: weak ETags %v, second ETags %v, clock known %v", s.Name, tr.WeakETags, tr.SecondETags, res.ClockKnown)
	}
	if tr.Conditional() != (exp.ifMatch && exp.ifNoneMatch) {
		t.Errorf("Check on %s: conditional writes %v, want %v", s.Name, tr.Conditional(), exp.ifMatch && exp.ifNoneMatch)
	}
	// Same machine, same clock: only the Date header's one-second
	// resolution separates them.
	if res.ClockOffsetMs > 2000 || res.ClockOffsetMs < -2000 {
		t.Errorf("Check on %s: clock offset %d ms on loopback", s.Name, res.ClockOffsetMs)
	}
	if strings.Contains(res.Error, s.Pass) {
		t.Errorf("Check on %s: the error holds the password", s.Name)
	}
}
