package webdav

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestSupportJSON(t *testing.T) {
	b, err := json.Marshal(Traits{IfMatch: Yes, ConditionalGet: No, WeakETags: true})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"ifMatch":"yes","conditionalGet":"no","weakETags":true}` {
		t.Fatalf("%s", b)
	}
	var back Traits
	if err := json.Unmarshal(b, &back); err != nil || back.IfMatch != Yes || back.ConditionalGet != No || back.IfNoneMatch != Unknown {
		t.Fatalf("%+v %v", back, err)
	}
}

// A client given traits sends the known login at once and learns the rest
// from answers: what a GET, a PUT and a PROPFIND showed.
func TestTraitsGivenAndLearned(t *testing.T) {
	s := newFakeServer()
	s.noConditionalGet = true
	s.noPutETag = true
	c := s.client(t, WithTraits(Traits{Login: &AuthState{Scheme: "basic"}}))
	ctx := context.Background()
	if _, err := c.Put(ctx, "f.json", []byte("{}"), PutCondition{}); err != nil {
		t.Fatal(err)
	}
	if a := hdr(&s.log[0], "Authorization"); !strings.HasPrefix(a, "Basic ") {
		t.Fatal("the known Basic login was not sent up front")
	}
	st, err := c.Stat(ctx, "f.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "f.json", st.ETag); err != nil {
		t.Fatal(err)
	}
	got := c.Traits()
	if got.PutETag != No || got.PropfindETag != Yes || got.ConditionalGet != No || got.Login == nil || got.Login.Scheme != "basic" {
		t.Fatalf("learned %+v", got)
	}
	// A weak ETag (Apache right after a write) is noted.
	s.hook = func(req *Request) (*Response, error, bool) {
		if req.Method == "GET" {
			return &Response{Status: 200, Header: map[string]string{"etag": `W/"3-5f0"`}, Body: []byte("{}")}, nil, true
		}
		return nil, nil, false
	}
	if _, err := c.Get(ctx, "f.json", ""); err != nil {
		t.Fatal(err)
	}
	if !c.Traits().WeakETags {
		t.Fatal("a weak ETag went unnoticed")
	}
}

// With the If header, a write matches a weak ETag without waiting for it
// to turn strong; a stale one is still refused.
func TestPutWithIfHeader(t *testing.T) {
	s := newFakeServer()
	c := s.client(t)
	ctx := context.Background()
	pr, err := c.Put(ctx, "f.json", []byte("one"), PutCondition{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "f.json", []byte("two"), PutCondition{IfMatch: pr.ETag, IfHeader: true}); err != nil {
		t.Fatal(err)
	}
	last := s.log[len(s.log)-1]
	if hdr(&last, "If") != `(["`+pr.ETag+`"])` || hdr(&last, "If-Match") != "" {
		t.Fatalf("sent If %q If-Match %q", hdr(&last, "If"), hdr(&last, "If-Match"))
	}
	_, err = c.Put(ctx, "f.json", []byte("three"), PutCondition{IfMatch: pr.ETag, IfHeader: true})
	wantKind(t, err, "precondition")
}
