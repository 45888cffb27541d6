//go:build !js

package faultproxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
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

// --- hostile server / man in the middle ---

func TestReplace(t *testing.T) {
	b, p := setup(t)
	b.put("/davsync.json", []byte(`{"encrypted":"..."}`))
	swapped := []byte{0, 1, 2, 0xff, 0xfe, '\r', '\n', 'x'}
	rule := `{"method":"GET","path":"davsync.json","fault":"replace","body_b64":"` +
		base64.StdEncoding.EncodeToString(swapped) + `","etag":"\"swapped\"","content_type":"application/json"}`
	if r := do(t, "POST", p.URL()+ControlPrefix+"rules", []byte(rule)); r.status != 200 {
		t.Fatalf("add rule: %d %s", r.status, r.body)
	}
	r := do(t, "GET", p.URL()+"/davsync.json", nil)
	if r.err != nil || r.status != 200 || !bytes.Equal(r.body, swapped) || r.header.Get("ETag") != `"swapped"` ||
		r.header.Get("Content-Type") != "application/json" || r.header.Get("Content-Length") != strconv.Itoa(len(swapped)) {
		t.Fatalf("%+v", r)
	}
	if b.count("GET") != 0 {
		t.Fatal("replace forwarded the request")
	}
	p.Clear()
	p.MustAdd(Rule{Fault: Replace, Status: 404, Body: "plain text"})
	if r := do(t, "GET", p.URL()+"/davsync.json", nil); r.status != 404 || string(r.body) != "plain text" ||
		r.header.Get("ETag") != "" || r.header.Get("Content-Type") != "" {
		t.Fatalf("%+v", r)
	}
	if r := do(t, "HEAD", p.URL()+"/davsync.json", nil); r.status != 404 || len(r.body) != 0 || r.header.Get("Content-Length") != "10" {
		t.Fatalf("HEAD %+v", r)
	}
	for _, bad := range []Rule{{Fault: Replace, Status: 101}, {Fault: Replace, Status: 204, Body: "x"}} {
		if _, err := p.Add(bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

func TestRuleJSONBody(t *testing.T) {
	for _, in := range []Rule{
		{Fault: Replace, Body: "plain {\"a\":1}", ETag: `"e"`, ContentType: "text/plain"},
		{Fault: Replace, Body: "\x00\xff\xfe binary"},
		{Fault: Endless, DeclaredLength: 1 << 40, Status: 207},
		{Fault: HugeMultistatus, Size: 5 << 20},
		{Fault: Challenge, Challenge: `Basic realm="x"`},
		{Fault: FakeETag, ETag: "x\r\nX-Injected: 1", RawHeader: true},
	} {
		data, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out Rule
		if err := json.Unmarshal(data, &out); err != nil || out != in {
			t.Errorf("%s -> %+v (%v)", data, out, err)
		}
		if in.Body == "\x00\xff\xfe binary" && !bytes.Contains(data, []byte(`"body_b64":"AP/+IGJpbmFyeQ=="`)) {
			t.Errorf("binary body not as body_b64: %s", data)
		}
	}
	var r Rule
	for _, bad := range []string{
		`{"fault":"replace","body":"a","body_b64":"Yg=="}`,
		`{"fault":"replace","body_b64":"%%"}`,
		`{"fault":"challenge"}`,
		`{"fault":"endless","status":204}`,
		`{"fault":"huge-multistatus","size":-1}`,
		`{"fault":"status","status":500,"raw_header":true}`,
	} {
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestChallenge(t *testing.T) {
	b, p := setup(t)
	p.MustAdd(Rule{Fault: Challenge, Challenge: `Basic realm="x", charset="UTF-8"`})
	r := do(t, "PUT", p.URL()+"/a", []byte("x"), "Authorization", `Digest username="u", realm="r", response="abc"`)
	if r.err != nil || r.status != 401 || r.header.Get("WWW-Authenticate") != `Basic realm="x", charset="UTF-8"` {
		t.Fatalf("%+v", r)
	}
	if b.count("PUT") != 0 {
		t.Fatal("challenge forwarded the request")
	}
	if st := p.Stats(); st.Faults[Challenge] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// waitEndless waits until no Endless stream is running.
func waitEndless(t *testing.T, p *Proxy) Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := p.Stats()
		if st.EndlessOpen == 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("endless stream still running after the client left: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readEndless reads limit bytes of an Endless body and hangs up, like a
// client with a size limit.
func readEndless(t *testing.T, method, url string, limit int64) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, limit))
	if err != nil || n != limit {
		t.Fatalf("read %d of %d: %v", n, limit, err)
	}
	resp.Body.Close()
	return resp
}

func TestEndless(t *testing.T) {
	const limit = 4 << 20
	b, p := setup(t)
	p.MustAdd(Rule{Method: "GET", Fault: Endless})
	resp := readEndless(t, "GET", p.URL()+"/big", limit)
	if resp.StatusCode != 200 || resp.ContentLength != -1 || len(resp.TransferEncoding) != 1 ||
		resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("%d %d %v %v", resp.StatusCode, resp.ContentLength, resp.TransferEncoding, resp.Header)
	}
	st := waitEndless(t, p)
	// The proxy stopped soon after the client did: what it wrote is what the
	// client read plus what sat in socket buffers.
	if st.EndlessBytes < limit || st.EndlessBytes > limit+16<<20 || st.Method("GET").BytesDown != st.EndlessBytes {
		t.Fatalf("endless bytes %d for a client that read %d", st.EndlessBytes, limit)
	}
	if b.count("GET") != 0 || st.Faults[Endless] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestEndlessDeclaredLength(t *testing.T) {
	_, p := setup(t)
	p.MustAdd(Rule{Method: "GET", Path: "/huge", Fault: Endless, DeclaredLength: 1 << 40})
	resp := readEndless(t, "GET", p.URL()+"/huge", 1<<20)
	if resp.ContentLength != 1<<40 || len(resp.TransferEncoding) != 0 {
		t.Fatalf("content length %d, transfer encoding %v", resp.ContentLength, resp.TransferEncoding)
	}
	waitEndless(t, p)

	// A small declared length is a lie too: the bytes keep coming past it.
	p.MustAdd(Rule{Method: "GET", Path: "/small", Fault: Endless, DeclaredLength: 100})
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
	got := make([]byte, 64<<10)
	if _, err := io.ReadFull(conn, got); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	head, body, ok := bytes.Cut(got, []byte("\r\n\r\n"))
	if !ok || !bytes.Contains(head, []byte("\r\nContent-Length: 100\r\n")) || len(body) <= 100 {
		t.Fatalf("head %q, %d body bytes", head, len(body))
	}
	waitEndless(t, p)
}

func TestEndlessMultistatus(t *testing.T) {
	_, p := setup(t)
	p.MustAdd(Rule{Method: "PROPFIND", Fault: Endless})
	req, _ := http.NewRequest("PROPFIND", p.URL()+"/dav/dir", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 207 || resp.Header.Get("Content-Type") != "application/xml; charset=utf-8" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	dec := xml.NewDecoder(io.LimitReader(resp.Body, 1<<20))
	responses, hrefs := 0, 0
	var inHref bool
	for {
		tok, err := dec.Token()
		if err != nil {
			var se *xml.SyntaxError
			if !errors.As(err, &se) || !strings.Contains(se.Msg, "unexpected EOF") {
				t.Fatalf("after %d responses: %v", responses, err)
			}
			break
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if tok.Name.Space != "DAV:" {
				t.Fatalf("element %v", tok.Name)
			}
			responses += b2i(tok.Name.Local == "response")
			inHref = tok.Name.Local == "href"
		case xml.CharData:
			if inHref && !strings.HasPrefix(string(tok), "/dav/dir/endless-") {
				t.Fatalf("href %q", tok)
			}
			hrefs += b2i(inHref)
			inHref = false
		}
	}
	resp.Body.Close()
	if responses < 1000 || hrefs < responses-1 {
		t.Fatalf("%d responses, %d hrefs in the first MiB", responses, hrefs)
	}
	waitEndless(t, p)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestEndlessEndsOnClose(t *testing.T) {
	_, p := setup(t)
	p.MustAdd(Rule{Fault: Endless})
	req, _ := http.NewRequest("GET", p.URL()+"/x", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	// The client stalls without hanging up; closing the proxy ends the stream.
	if st := p.Stats(); st.EndlessOpen != 1 {
		t.Fatalf("open streams %d", st.EndlessOpen)
	}
	p.Close()
	waitEndless(t, p)
}

func TestHugeMultistatus(t *testing.T) {
	b, p := setup(t)
	const size = 1<<20 + 7
	p.MustAdd(Rule{Method: "PROPFIND", Fault: HugeMultistatus, Size: size})
	r := do(t, "PROPFIND", p.URL()+"/dav/dir", nil, "Depth", "1")
	if r.err != nil || r.status != 207 || len(r.body) != size || r.header.Get("Content-Length") != strconv.Itoa(size) ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "application/xml") {
		t.Fatalf("%d %v %d bytes %v", r.status, r.err, len(r.body), r.header)
	}
	var ms struct {
		Responses []struct {
			Href string `xml:"href"`
			ETag string `xml:"propstat>prop>getetag"`
		} `xml:"DAV: response"`
	}
	if err := xml.Unmarshal(r.body, &ms); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, resp := range ms.Responses {
		if !strings.HasPrefix(resp.Href, "/dav/dir/") || seen[resp.Href] {
			t.Fatalf("href %q", resp.Href)
		}
		seen[resp.Href] = true
	}
	if len(ms.Responses) < 2000 || ms.Responses[0].Href != "/dav/dir/" || ms.Responses[1].ETag == "" {
		t.Fatalf("%d responses, first %+v", len(ms.Responses), ms.Responses[:min(2, len(ms.Responses))])
	}
	if st := p.Stats(); st.Method("PROPFIND").BytesDown != size || b.count("PROPFIND") != 0 {
		t.Fatalf("stats %+v", st.Method("PROPFIND"))
	}
	// Too small a size still gives a well-formed document.
	p.Clear()
	p.MustAdd(Rule{Fault: HugeMultistatus, Size: 10})
	r = do(t, "PROPFIND", p.URL()+"/", nil)
	ms.Responses = nil
	if err := xml.Unmarshal(r.body, &ms); err != nil || len(ms.Responses) != 1 || r.header.Get("Content-Length") != strconv.Itoa(len(r.body)) {
		t.Fatalf("%v %s", err, r.body)
	}
}

// rawGet sends a request on a bare connection and returns every byte the
// proxy answers until it closes.
func rawGet(t *testing.T, p *Proxy, method, path string) []byte {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method, path)
	data, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestETagInjection(t *testing.T) {
	const evil = "x\r\nX-Injected: 1"
	b, p := setup(t)
	b.put("/a", []byte("doc"))

	// Through net/http the value is sanitized: no second header.
	id := p.MustAdd(Rule{Fault: FakeETag, ETag: evil})
	if r := do(t, "GET", p.URL()+"/a", nil); r.header.Get("X-Injected") != "" {
		t.Fatalf("net/http passed the CR LF: %v", r.header)
	}
	// In multistatus bodies it arrives as character references.
	r := do(t, "PROPFIND", p.URL()+"/a", nil)
	if !bytes.Contains(r.body, []byte(`<d:getetag>x&#13;&#10;X-Injected: 1</d:getetag>`)) {
		t.Fatalf("PROPFIND: %s", r.body)
	}
	p.Remove(id)

	p.MustAdd(Rule{Fault: FakeETag, ETag: evil, RawHeader: true})
	for _, method := range []string{"GET", "HEAD"} {
		raw := rawGet(t, p, method, "/a")
		head, body, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
		if !bytes.Contains(raw, []byte("\r\nETag: x\r\nX-Injected: 1\r\n")) || !bytes.HasPrefix(raw, []byte("HTTP/1.1 200 OK\r\n")) {
			t.Fatalf("%s: %q", method, raw)
		}
		if want := map[string]string{"GET": "doc", "HEAD": ""}[method]; string(body) != want ||
			!bytes.Contains(head, []byte("\r\nContent-Length: 3\r\n")) {
			t.Fatalf("%s: %q", method, raw)
		}
	}
	if r := do(t, "GET", p.URL()+"/a", nil); r.header.Get("X-Injected") != "1" || r.header.Get("ETag") != "x" || string(r.body) != "doc" {
		t.Fatalf("a client sees %v %q", r.header, r.body)
	}
	if r := do(t, "PROPFIND", p.URL()+"/a", nil); !bytes.Contains(r.body, []byte(`x&#13;&#10;X-Injected: 1`)) || r.header.Get("X-Injected") != "" {
		t.Fatalf("PROPFIND: %v %s", r.header, r.body)
	}
	p.Clear()

	// The terminal answers that carry an ETag can inject it too.
	p.MustAdd(Rule{Method: "PUT", Fault: DropWrite, ETag: evil, RawHeader: true})
	p.MustAdd(Rule{Method: "GET", Fault: Replace, Body: "swapped", ETag: evil, RawHeader: true})
	if raw := rawGet(t, p, "PUT", "/a"); !bytes.HasPrefix(raw, []byte("HTTP/1.1 204 No Content\r\n")) ||
		!bytes.Contains(raw, []byte("\r\nETag: x\r\nX-Injected: 1\r\n")) {
		t.Fatalf("drop-write: %q", raw)
	}
	if raw := rawGet(t, p, "GET", "/a"); !bytes.Contains(raw, []byte("\r\nETag: x\r\nX-Injected: 1\r\n")) ||
		!bytes.HasSuffix(raw, []byte("\r\n\r\nswapped")) {
		t.Fatalf("replace: %q", raw)
	}
}

func TestReceived(t *testing.T) {
	_, p := setup(t)
	p.MustAdd(Rule{Method: "PUT", Path: "/locked", Fault: Challenge, Challenge: `Basic realm="x"`})
	secret := "s3cret-passphrase"
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+secret))
	do(t, "PUT", p.URL()+"/a?x=1", []byte(`{"token":"`+secret+`"}`), "Authorization", basic, "X-Custom", " kept ")
	do(t, "PUT", p.URL()+"/locked", []byte{0xff, 0}, "Authorization", basic) // answered by the proxy: still recorded
	big := bytes.Repeat([]byte("b"), ReceivedBodyMax+500)
	do(t, "PUT", p.URL()+"/big", big)
	do(t, "GET", p.URL()+ControlPrefix+"stats", nil) // control requests are not recorded

	got := p.Received()
	if len(got) != 3 {
		t.Fatalf("%d requests recorded", len(got))
	}
	a := got[0]
	if a.Method != "PUT" || a.Path != "/a" || a.URI != "/a?x=1" || a.Header.Get("Authorization") != basic ||
		a.Header.Get("Host") != strings.TrimPrefix(p.URL(), "http://") || string(a.Body) != `{"token":"`+secret+`"}` || a.BodyLen != int64(len(a.Body)) {
		t.Fatalf("%+v", a)
	}
	cred, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(got[1].Header.Get("Authorization"), "Basic "))
	if string(cred) != "user:"+secret || !bytes.Equal(got[1].Body, []byte{0xff, 0}) {
		t.Fatalf("%+v", got[1])
	}
	if len(got[2].Body) != ReceivedBodyMax || got[2].BodyLen != int64(len(big)) {
		t.Fatalf("big body: kept %d of %d", len(got[2].Body), got[2].BodyLen)
	}
	all := p.ReceivedBytes()
	for _, want := range []string{secret, "PUT /a?x=1 HTTP/1.1\r\n", "\r\nAuthorization: " + basic + "\r\n", "\r\nX-Custom: kept\r\n"} {
		if !bytes.Contains(all, []byte(want)) {
			t.Errorf("ReceivedBytes lacks %q", want)
		}
	}

	r := do(t, "GET", p.URL()+ControlPrefix+"received", nil)
	var viaAPI []Received
	if err := json.Unmarshal(r.body, &viaAPI); err != nil || len(viaAPI) != 3 {
		t.Fatalf("%v %.300s", err, r.body)
	}
	if viaAPI[0].Header.Get("Authorization") != basic || !bytes.Equal(viaAPI[1].Body, []byte{0xff, 0}) ||
		!bytes.Contains(r.body, []byte(`"body":"{\"token\":\"`+secret)) || !bytes.Contains(r.body, []byte(`"body_b64":"/wA="`)) {
		t.Fatalf("%+v %.300s", viaAPI[:2], r.body)
	}
	if r := do(t, "GET", p.URL()+ControlPrefix+"received.txt", nil); !bytes.Equal(r.body, all) {
		t.Fatal("received.txt differs from ReceivedBytes")
	}

	do(t, "POST", p.URL()+ControlPrefix+"reset", nil)
	if len(p.Received()) != 0 || len(p.ReceivedBytes()) != 0 {
		t.Fatal("Reset kept the received requests")
	}
}

// hostileUpstream answers with a Location on another origin and with an
// absurd Retry-After.
func hostileUpstream(t *testing.T) *Proxy {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved":
			w.Header().Set("Location", "https://other.example:8443/steal?from=/moved")
			w.WriteHeader(http.StatusFound)
		case "/busy":
			w.Header().Set("Retry-After", "99999999999")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(up.Close)
	p := New(up.URL)
	t.Cleanup(p.Close)
	return p
}

func TestRedirectToOtherOriginPassesThrough(t *testing.T) {
	p := hostileUpstream(t)
	if r := do(t, "GET", p.URL()+"/moved", nil); r.status != 302 || r.header.Get("Location") != "https://other.example:8443/steal?from=/moved" {
		t.Fatalf("server's redirect: %d %q", r.status, r.header.Get("Location"))
	}
	p.MustAdd(Rule{Fault: Redirect, Status: 308, Location: "http://127.0.0.2:9{path}"})
	if r := do(t, "PUT", p.URL()+"/dav/davsync.json", []byte("x")); r.status != 308 || r.header.Get("Location") != "http://127.0.0.2:9/dav/davsync.json" {
		t.Fatalf("injected redirect: %d %q", r.status, r.header.Get("Location"))
	}
}

func TestAbsurdRetryAfterPassesThrough(t *testing.T) {
	p := hostileUpstream(t)
	if r := do(t, "GET", p.URL()+"/busy", nil); r.status != 503 || r.header.Get("Retry-After") != "99999999999" {
		t.Fatalf("server's Retry-After: %d %q", r.status, r.header.Get("Retry-After"))
	}
	p.MustAdd(Rule{Fault: Status, Status: 429, RetryAfter: "99999999999"})
	if r := do(t, "GET", p.URL()+"/busy", nil); r.status != 429 || r.header.Get("Retry-After") != "99999999999" {
		t.Fatalf("injected Retry-After: %d %q", r.status, r.header.Get("Retry-After"))
	}
}

func TestRequestLog(t *testing.T) {
	b, p := setup(t)
	b.put("/doc.json", []byte("0123456789"))
	p.MustAdd(Rule{Method: "GET", Path: "/doc.json", Nth: 2, Fault: Delay, Delay: 30 * time.Millisecond})
	p.MustAdd(Rule{Method: "DELETE", Fault: ResetBefore})
	p.MustAdd(Rule{Method: "PUT", Path: "/dropped", Fault: DropWrite, Status: 201, ETag: `"x"`, RawHeader: true})
	do(t, "GET", p.URL()+"/doc.json", nil)
	do(t, "GET", p.URL()+"/doc.json", nil, "If-None-Match", `"v1"`) // delayed, then 304
	do(t, "PUT", p.URL()+"/doc.json", []byte("abc"))
	do(t, "PROPFIND", p.URL()+"/doc.json", nil, "Depth", "0")
	do(t, "GET", p.URL()+"/missing", nil)
	do(t, "DELETE", p.URL()+"/doc.json", nil)         // reset: no status
	do(t, "PUT", p.URL()+"/dropped", []byte("12345")) // answered by hand on the hijacked connection
	do(t, "GET", p.URL()+ControlPrefix+"stats", nil)  // control requests are not logged

	st := p.Stats()
	want := []struct {
		method, path string
		status       int
		up           int64
	}{
		{"GET", "/doc.json", 200, 0}, {"GET", "/doc.json", 304, 0}, {"PUT", "/doc.json", 204, 3},
		{"PROPFIND", "/doc.json", 207, 0}, {"GET", "/missing", 404, 0}, {"DELETE", "/doc.json", 0, 0},
		{"PUT", "/dropped", 201, 5},
	}
	if len(st.Log) != len(want) || st.Requests != len(want) {
		t.Fatalf("log has %d entries, %d requests: %+v", len(st.Log), st.Requests, st.Log)
	}
	var down int64
	for i, w := range want {
		e := st.Log[i]
		if e.Method != w.method || e.Path != w.path || e.Status != w.status || e.BytesUp != w.up || e.DurationMs <= 0 {
			t.Errorf("entry %d: %+v, want %+v", i, e, w)
		}
		down += e.BytesDown
	}
	if st.Log[0].BytesDown != 10 || st.Log[1].BytesDown != 0 || st.Log[3].BytesDown == 0 || st.Log[6].BytesDown != 0 {
		t.Errorf("bytes down: %+v", st.Log)
	}
	if st.Log[1].DurationMs < 30 {
		t.Errorf("the delayed GET took %v ms", st.Log[1].DurationMs)
	}
	for i := 1; i < len(st.Log); i++ {
		if st.Log[i].AtMs < st.Log[i-1].AtMs+st.Log[i-1].DurationMs {
			t.Errorf("entry %d arrived at %v ms, before %d ended", i, st.Log[i].AtMs, i-1)
		}
	}
	// The log adds up to the per-method counters.
	var total int64
	for _, ms := range st.ByMethod {
		total += ms.BytesDown
	}
	if total != down {
		t.Errorf("log bytes down %d, counters %d", down, total)
	}

	// The control API carries it; reset empties it.
	r := do(t, "GET", p.URL()+ControlPrefix+"stats", nil)
	var viaAPI Stats
	if err := json.Unmarshal(r.body, &viaAPI); err != nil || len(viaAPI.Log) != len(want) || viaAPI.Log[2] != st.Log[2] ||
		!bytes.Contains(r.body, []byte(`"log":[{"method":"GET","path":"/doc.json","status":200,"bytes_up":0,"bytes_down":10,"at_ms":`)) {
		t.Fatalf("%v %.400s", err, r.body)
	}
	do(t, "POST", p.URL()+ControlPrefix+"reset", nil)
	if st := p.Stats(); len(st.Log) != 0 || st.LogDropped != 0 {
		t.Fatalf("reset kept the log: %+v", st.Log)
	}
	time.Sleep(5 * time.Millisecond)
	do(t, "GET", p.URL()+"/doc.json", nil)
	if st := p.Stats(); len(st.Log) != 1 || st.Log[0].Status != 200 || st.Log[0].AtMs < 5 {
		t.Fatalf("after reset: %+v", st.Log)
	}
}
