//go:build !js

package faultproxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// backend is a small WebDAV-like server: files in memory with a version
// number as ETag, PROPFIND answering one getetag, MOVE by Destination.
type backend struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	vers  map[string]int
	hits  map[string]int // requests per method
	dests []string       // Destination headers seen
}

func newBackend(t *testing.T) *backend {
	b := &backend{files: map[string][]byte{}, vers: map[string]int{}, hits: map[string]int{}}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hits[r.Method]++
	p := r.URL.Path
	etag := func() string { return `"v` + strconv.Itoa(b.vers[p]) + `"` }
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if p == "/dir" {
			http.Redirect(w, r, b.URL+"/dir/", http.StatusMovedPermanently)
			return
		}
		data, ok := b.files[p]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", etag())
		if r.Header.Get("If-None-Match") == etag() {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(data)
		}
	case http.MethodPut:
		data, _ := io.ReadAll(r.Body)
		_, existed := b.files[p]
		b.files[p] = data
		b.vers[p]++
		w.Header().Set("ETag", etag())
		if existed {
			w.WriteHeader(http.StatusNoContent)
		} else {
			w.WriteHeader(http.StatusCreated)
		}
	case "PROPFIND":
		if _, ok := b.files[p]; !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(http.StatusMultiStatus)
		fmt.Fprintf(w, `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response><d:href>%s%s</d:href>`+
			`<d:propstat><d:prop><d:getetag>%s</d:getetag><d:getcontentlength>%d</d:getcontentlength></d:prop>`+
			`<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`, b.URL, p, etag(), len(b.files[p]))
	case "MOVE":
		d := r.Header.Get("Destination")
		b.dests = append(b.dests, d)
		to := strings.TrimPrefix(d, b.URL)
		b.files[to] = b.files[p]
		b.vers[to]++
		delete(b.files, p)
		w.WriteHeader(http.StatusCreated)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (b *backend) file(p string) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.files[p]
	return d, ok
}

func (b *backend) count(m string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits[m]
}

func (b *backend) put(p string, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.files[p] = data
	b.vers[p]++
}

// client never reuses connections (Go's Transport silently retries an
// idempotent request that fails on a reused connection, which would hide a
// fault) and never follows redirects.
var client = &http.Client{
	Transport:     &http.Transport{DisableKeepAlives: true, DisableCompression: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type result struct {
	status int
	header http.Header
	body   []byte
	err    error // from the round trip or from reading the body
}

func do(t *testing.T, method, url string, body []byte, hdr ...string) result {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: data, err: err}
}

func setup(t *testing.T) (*backend, *Proxy) {
	b := newBackend(t)
	p := New(b.URL)
	t.Cleanup(p.Close)
	return b, p
}

func TestPassThrough(t *testing.T) {
	b, p := setup(t)
	doc := bytes.Repeat([]byte("0123456789"), 100)
	if r := do(t, "PUT", p.URL()+"/a.json", doc); r.err != nil || r.status != 201 || r.header.Get("ETag") != `"v1"` {
		t.Fatalf("PUT: %+v", r)
	}
	r := do(t, "GET", p.URL()+"/a.json", nil)
	if r.err != nil || r.status != 200 || !bytes.Equal(r.body, doc) || r.header.Get("ETag") != `"v1"` {
		t.Fatalf("GET: %d %v", r.status, r.err)
	}
	if r := do(t, "GET", p.URL()+"/a.json", nil, "If-None-Match", `"v1"`); r.err != nil || r.status != 304 || len(r.body) != 0 {
		t.Fatalf("conditional GET: %+v", r)
	}
	if r := do(t, "HEAD", p.URL()+"/a.json", nil); r.err != nil || r.status != 200 || r.header.Get("Content-Length") != "1000" {
		t.Fatalf("HEAD: %+v", r)
	}
	r = do(t, "PROPFIND", p.URL()+"/a.json", nil, "Depth", "0")
	if r.status != 207 || !bytes.Contains(r.body, []byte("<d:href>"+p.URL()+"/a.json</d:href>")) {
		t.Fatalf("PROPFIND hrefs not rewritten to the proxy: %s", r.body)
	}
	if r := do(t, "MOVE", p.URL()+"/a.json", nil, "Destination", p.URL()+"/b.json"); r.status != 201 {
		t.Fatalf("MOVE: %+v", r)
	}
	if b.dests[0] != b.URL+"/b.json" {
		t.Fatalf("Destination not rewritten to the target: %q", b.dests[0])
	}
	if _, ok := b.file("/b.json"); !ok {
		t.Fatal("MOVE did not land")
	}
	if r := do(t, "GET", p.URL()+"/dir", nil); r.status != 301 || r.header.Get("Location") != p.URL()+"/dir/" {
		t.Fatalf("server redirect Location not rewritten: %d %q", r.status, r.header.Get("Location"))
	}

	st := p.Stats()
	if st.Requests != 7 || st.Forwarded != 7 || st.Method("GET").Requests != 3 || st.Method("PUT").BytesUp != 1000 ||
		st.Method("GET").BytesDown < 1000 || st.Method("PUT").BytesDown != 0 || len(st.Faults) != 0 {
		t.Fatalf("stats: %+v GET=%+v PUT=%+v", st, st.Method("GET"), st.Method("PUT"))
	}
	p.Reset()
	if st := p.Stats(); st.Requests != 0 || len(st.ByMethod) != 0 {
		t.Fatalf("after Reset: %+v", st)
	}
}

func TestPathPrefixTarget(t *testing.T) {
	b := newBackend(t)
	b.put("/dav/x", []byte("x"))
	p := New(b.URL + "/dav/")
	defer p.Close()
	if r := do(t, "GET", p.URL()+"/x", nil); r.status != 200 || string(r.body) != "x" {
		t.Fatalf("%+v", r)
	}
}

func TestResetBefore(t *testing.T) {
	b, p := setup(t)
	p.MustAdd(Rule{Method: "PUT", Fault: ResetBefore})
	r := do(t, "PUT", p.URL()+"/a", []byte("new"))
	if !errors.Is(r.err, syscall.ECONNRESET) {
		t.Fatalf("PUT through a reset: %+v", r)
	}
	if b.count("PUT") != 0 {
		t.Fatal("reset-before forwarded the write")
	}
	if st := p.Stats(); st.Faults[ResetBefore] != 1 || st.Forwarded != 0 || st.Method("PUT").Requests != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestResetAfter(t *testing.T) {
	b, p := setup(t)
	p.MustAdd(Rule{Method: "PUT", Fault: ResetAfter})
	r := do(t, "PUT", p.URL()+"/a", []byte("stored"))
	if !errors.Is(r.err, syscall.ECONNRESET) {
		t.Fatalf("PUT through a reset: %+v", r)
	}
	if got, _ := b.file("/a"); string(got) != "stored" {
		t.Fatalf("reset-after must forward the write first; server has %q", got)
	}
}

func TestStatusFaults(t *testing.T) {
	date := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).Format(http.TimeFormat)
	for _, tt := range []struct {
		status int
		retry  string
	}{{500, ""}, {502, ""}, {503, "7"}, {429, date}, {507, ""}, {423, ""}, {413, ""}} {
		b, p := setup(t)
		p.MustAdd(Rule{Method: "PUT", Fault: Status, Status: tt.status, RetryAfter: tt.retry})
		r := do(t, "PUT", p.URL()+"/a", []byte("x"))
		if r.err != nil || r.status != tt.status || r.header.Get("Retry-After") != tt.retry {
			t.Fatalf("%d: %+v", tt.status, r)
		}
		if b.count("PUT") != 0 {
			t.Fatalf("%d: the write was forwarded", tt.status)
		}
		// Other methods are untouched.
		if r := do(t, "GET", p.URL()+"/a", nil); r.status != 404 {
			t.Fatalf("GET: %d", r.status)
		}
	}
}

func TestDelayAndTrickle(t *testing.T) {
	b, p := setup(t)
	doc := bytes.Repeat([]byte("abcdefgh"), 64)
	b.put("/a", doc)
	p.MustAdd(Rule{Method: "GET", Fault: Delay, Delay: 5 * time.Millisecond})
	p.MustAdd(Rule{Method: "GET", Fault: Trickle, TrickleBytes: 100, TrickleEvery: time.Millisecond})
	r := do(t, "GET", p.URL()+"/a", nil)
	if r.err != nil || r.status != 200 || !bytes.Equal(r.body, doc) {
		t.Fatalf("%d %v %d bytes", r.status, r.err, len(r.body))
	}
	if st := p.Stats(); st.Faults[Delay] != 1 || st.Faults[Trickle] != 1 || st.Method("GET").BytesDown != int64(len(doc)) {
		t.Fatalf("stats %+v", st)
	}
}

func TestTruncate(t *testing.T) {
	b, p := setup(t)
	doc := bytes.Repeat([]byte("x"), 1000)
	b.put("/a", doc)
	p.MustAdd(Rule{Method: "GET", Fault: Truncate, TruncateAt: 100})
	r := do(t, "GET", p.URL()+"/a", nil)
	if r.status != 200 || !errors.Is(r.err, io.ErrUnexpectedEOF) || len(r.body) != 100 {
		t.Fatalf("status %d err %v body %d", r.status, r.err, len(r.body))
	}
	if st := p.Stats(); st.Method("GET").BytesDown != 100 {
		t.Fatalf("bytes down %d", st.Method("GET").BytesDown)
	}
}

func TestDropWrite(t *testing.T) {
	b, p := setup(t)
	b.put("/a", []byte("old"))
	p.MustAdd(Rule{Method: "PUT", Fault: DropWrite, Status: 201, ETag: `"lie"`})
	r := do(t, "PUT", p.URL()+"/a", []byte("new"))
	if r.err != nil || r.status != 201 || r.header.Get("ETag") != `"lie"` {
		t.Fatalf("%+v", r)
	}
	if got, _ := b.file("/a"); string(got) != "old" || b.count("PUT") != 0 {
		t.Fatalf("the dropped write reached the server: %q", got)
	}
	if r := do(t, "GET", p.URL()+"/a", nil); string(r.body) != "old" {
		t.Fatalf("read back %q", r.body)
	}
}

func TestETagFaults(t *testing.T) {
	b, p := setup(t)
	b.put("/a", []byte("doc"))

	id := p.MustAdd(Rule{Fault: StripETag})
	if r := do(t, "GET", p.URL()+"/a", nil); r.header.Get("ETag") != "" || string(r.body) != "doc" {
		t.Fatalf("strip GET: %+v", r)
	}
	r := do(t, "PROPFIND", p.URL()+"/a", nil)
	if bytes.Contains(r.body, []byte("getetag")) || !bytes.Contains(r.body, []byte("getcontentlength>3<")) {
		t.Fatalf("strip PROPFIND: %s", r.body)
	}
	p.Remove(id)

	id = p.MustAdd(Rule{Fault: FakeETag, ETag: `"same"`})
	if r := do(t, "GET", p.URL()+"/a", nil); r.header.Get("ETag") != `"same"` {
		t.Fatalf("fake GET: %q", r.header.Get("ETag"))
	}
	if r := do(t, "PROPFIND", p.URL()+"/a", nil); !bytes.Contains(r.body, []byte(`<d:getetag>"same"</d:getetag>`)) {
		t.Fatalf("fake PROPFIND: %s", r.body)
	}
	p.Remove(id)

	id = p.MustAdd(Rule{Fault: FakeETag}) // a new value every response
	e1 := do(t, "GET", p.URL()+"/a", nil).header.Get("ETag")
	e2 := do(t, "GET", p.URL()+"/a", nil).header.Get("ETag")
	if e1 == "" || e1 == e2 || e1 == `"v1"` {
		t.Fatalf("unique fakes: %q %q", e1, e2)
	}
	p.Remove(id)

	p.MustAdd(Rule{Fault: WeakETag})
	if r := do(t, "GET", p.URL()+"/a", nil); r.header.Get("ETag") != `W/"v1"` {
		t.Fatalf("weak GET: %q", r.header.Get("ETag"))
	}
	if r := do(t, "PROPFIND", p.URL()+"/a", nil); !bytes.Contains(r.body, []byte(`<d:getetag>W/"v1"</d:getetag>`)) {
		t.Fatalf("weak PROPFIND: %s", r.body)
	}
}

func TestRedirect(t *testing.T) {
	b, p := setup(t)
	for _, status := range []int{301, 302, 307, 308} {
		id := p.MustAdd(Rule{Path: "/a", Fault: Redirect, Status: status, Location: "https://elsewhere.example{path}"})
		r := do(t, "PUT", p.URL()+"/a?x=1", []byte("x"))
		if r.status != status || r.header.Get("Location") != "https://elsewhere.example/a?x=1" {
			t.Fatalf("%d: %+v", status, r)
		}
		p.Remove(id)
	}
	if b.count("PUT") != 0 {
		t.Fatal("a redirected write was forwarded")
	}
}

func TestNthAndTimes(t *testing.T) {
	for _, tt := range []struct {
		rule Rule
		want string // per request: F = fault fired, . = passed
	}{
		{Rule{}, "FFFFFF"},
		{Rule{Nth: 2}, ".F...."},
		{Rule{Times: 2}, "FF...."},
		{Rule{Nth: 3, Times: 2}, "..FF.."},
		{Rule{Nth: 4, Times: -1}, "...FFF"},
		{Rule{Path: "/other"}, "......"},
		{Rule{Method: "put"}, "......"},
		{Rule{Method: "get", Path: "/a"}, "FFFFFF"},
	} {
		b, p := setup(t)
		b.put("/a", []byte("x"))
		r := tt.rule
		r.Fault, r.Status = Status, 503
		p.MustAdd(r)
		got := ""
		for range 6 {
			if do(t, "GET", p.URL()+"/a", nil).status == 503 {
				got += "F"
			} else {
				got += "."
			}
		}
		if got != tt.want {
			t.Errorf("%+v: %s, want %s", tt.rule, got, tt.want)
		}
	}
}

func TestTerminalFaultsDoNotStack(t *testing.T) {
	b, p := setup(t)
	p.MustAdd(Rule{Fault: Status, Status: 503})
	p.MustAdd(Rule{Fault: DropWrite})
	p.MustAdd(Rule{Fault: StripETag})
	if r := do(t, "PUT", p.URL()+"/a", []byte("x")); r.status != 503 {
		t.Fatalf("%+v", r)
	}
	if st := p.Stats(); st.Faults[Status] != 1 || st.Faults[DropWrite] != 0 || b.count("PUT") != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSeededProbability(t *testing.T) {
	b, p := setup(t)
	b.put("/a", []byte("x"))
	run := func() string {
		p.Clear()
		p.Seed(42)
		p.MustAdd(Rule{Prob: 0.5, Fault: Status, Status: 500})
		s := ""
		for range 40 {
			s += strconv.Itoa(do(t, "GET", p.URL()+"/a", nil).status / 100)
		}
		return s
	}
	first, second := run(), run()
	if first != second {
		t.Fatalf("same seed, different schedules:\n%s\n%s", first, second)
	}
	if !strings.Contains(first, "2") || !strings.Contains(first, "5") {
		t.Fatalf("p=0.5 over 40 requests gave %s", first)
	}
}

func TestControlAPI(t *testing.T) {
	b, p := setup(t)
	b.put("/a", []byte("x"))
	rules := `[{"method":"GET","fault":"delay","delay":"1ms"},{"method":"GET","nth":1,"fault":"status","status":429,"retry_after":"3"}]`
	r := do(t, "POST", p.URL()+ControlPrefix+"rules", []byte(rules))
	var ids struct{ IDs []int }
	if r.status != 200 || json.Unmarshal(r.body, &ids) != nil || len(ids.IDs) != 2 {
		t.Fatalf("add rules: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", p.URL()+"/a", nil); r.status != 429 || r.header.Get("Retry-After") != "3" {
		t.Fatalf("%+v", r)
	}
	if r := do(t, "GET", p.URL()+"/a", nil); r.status != 200 {
		t.Fatalf("second GET %d", r.status)
	}
	r = do(t, "GET", p.URL()+ControlPrefix+"stats", nil)
	var st Stats
	if err := json.Unmarshal(r.body, &st); err != nil || st.Requests != 2 || st.Faults[Status] != 1 || st.Faults[Delay] != 2 {
		t.Fatalf("stats %s (%v)", r.body, err)
	}
	for _, bad := range []string{`{"fault":"explode"}`, `{"fault":"status"}`, `{"fault":"redirect","status":200,"location":"/x"}`, `{"fault":"delay","delay":"soon"}`, `nope`} {
		if r := do(t, "POST", p.URL()+ControlPrefix+"rules", []byte(bad)); r.status != 400 {
			t.Fatalf("bad rule %s: %d", bad, r.status)
		}
	}
	if r := do(t, "DELETE", p.URL()+ControlPrefix+"rules", nil); r.status != 204 {
		t.Fatal(r.status)
	}
	if r := do(t, "POST", p.URL()+ControlPrefix+"reset", nil); r.status != 204 || p.Stats().Requests != 0 {
		t.Fatal("reset")
	}
	if r := do(t, "POST", p.URL()+ControlPrefix+"seed?n=7", nil); r.status != 204 {
		t.Fatal(r.status)
	}
}

func TestRuleJSONRoundTrip(t *testing.T) {
	in := Rule{Method: "GET", Nth: 2, Fault: Trickle, TrickleBytes: 3, TrickleEvery: 15 * time.Millisecond, Delay: time.Second}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Rule
	if err := json.Unmarshal(data, &out); err != nil || out != in {
		t.Fatalf("%s -> %+v (%v)", data, out, err)
	}
}

func TestUpstreamDown(t *testing.T) {
	b := newBackend(t)
	p := New(b.URL)
	defer p.Close()
	b.Close()
	if r := do(t, "GET", p.URL()+"/a", nil); r.status != http.StatusBadGateway {
		t.Fatalf("%+v", r)
	}
}
