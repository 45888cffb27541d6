package webdav_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/webdav"
)

func TestSupportJSON(t *testing.T) {
	b, err := json.Marshal(webdav.Traits{IfMatch: webdav.Yes, ConditionalGet: webdav.No, WeakETags: true})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"ifMatch":"yes","conditionalGet":"no","weakETags":true}` {
		t.Fatalf("%s", b)
	}
	var back webdav.Traits
	if err := json.Unmarshal(b, &back); err != nil || back.IfMatch != webdav.Yes || back.ConditionalGet != webdav.No || back.IfNoneMatch != webdav.Unknown {
		t.Fatalf("%+v %v", back, err)
	}
}

// A client given traits sends the known login at once and learns the rest
// from answers: what a GET, a PUT and a PROPFIND showed.
func TestTraitsGivenAndLearned(t *testing.T) {
	s := newServer()
	s.Traits.ConditionalGet = webdav.No
	s.Traits.PutETag = webdav.No
	c := newClient(t, s, webdav.WithTraits(webdav.Traits{Login: &webdav.AuthState{Scheme: "basic"}}))
	ctx := context.Background()
	if _, err := c.Put(ctx, "f.json", []byte("{}"), webdav.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	if a := hdr(&s.Log()[0], "Authorization"); !strings.HasPrefix(a, "Basic ") {
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
	if got.PutETag != webdav.No || got.PropfindETag != webdav.Yes || got.ConditionalGet != webdav.No || got.Login == nil || got.Login.Scheme != "basic" {
		t.Fatalf("learned %+v", got)
	}
	// A weak ETag (Apache right after a write) is noted.
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		if req.Method == "GET" {
			return &webdav.Response{Status: 200, Header: map[string]string{"etag": `W/"3-5f0"`}, Body: []byte("{}")}, nil
		}
		return nil, nil
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
	s := newServer()
	c := newClient(t, s)
	ctx := context.Background()
	pr, err := c.Put(ctx, "f.json", []byte("one"), webdav.PutCondition{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "f.json", []byte("two"), webdav.PutCondition{IfMatch: pr.ETag, IfHeader: true}); err != nil {
		t.Fatal(err)
	}
	last := lastRequest(t, s)
	if hdr(&last, "If") != `(["`+pr.ETag+`"])` || hdr(&last, "If-Match") != "" {
		t.Fatalf("sent If %q If-Match %q", hdr(&last, "If"), hdr(&last, "If-Match"))
	}
	_, err = c.Put(ctx, "f.json", []byte("three"), webdav.PutCondition{IfMatch: pr.ETag, IfHeader: true})
	wantKind(t, err, "precondition")
}
