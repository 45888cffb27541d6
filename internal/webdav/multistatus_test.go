package webdav_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
)

var msDate = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)

// msCase is one canned PROPFIND Depth 1 answer for the folder "café" in
// the style of one server, and what the client must read from it.
type msCase struct {
	name     string
	body     string
	selfETag string
	kids     []webdav.Resource // in the server's order
}

var msCases = []msCase{
	{
		name: "apache",
		body: `<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:" xmlns:ns0="DAV:">
<D:response xmlns:lp1="DAV:" xmlns:lp2="http://apache.org/dav/props/" xmlns:g0="DAV:">
<D:href>/dav/caf%c3%a9/</D:href>
<D:propstat>
<D:prop>
<lp1:resourcetype><D:collection/></lp1:resourcetype>
<lp1:getlastmodified>Sun, 22 Nov 2026 02:00:00 GMT</lp1:getlastmodified>
<lp1:getetag>"1000-5f3b2"</lp1:getetag>
<D:getcontenttype>httpd/unix-directory</D:getcontenttype>
</D:prop>
<D:status>HTTP/1.1 200 OK</D:status>
</D:propstat>
<D:propstat>
<D:prop>
<g0:getcontentlength/>
</D:prop>
<D:status>HTTP/1.1 404 Not Found</D:status>
</D:propstat>
</D:response>
<D:response xmlns:lp1="DAV:" xmlns:lp2="http://apache.org/dav/props/" xmlns:g0="DAV:">
<D:href>/dav/caf%c3%a9/a%20b%2bc.json</D:href>
<D:propstat>
<D:prop>
<lp1:resourcetype/>
<lp1:getcontentlength>12</lp1:getcontentlength>
<lp1:getlastmodified>Sun, 22 Nov 2026 02:00:00 GMT</lp1:getlastmodified>
<lp1:getetag>W/"c-5f3b2"</lp1:getetag>
<D:getcontenttype>application/json</D:getcontenttype>
</D:prop>
<D:status>HTTP/1.1 200 OK</D:status>
</D:propstat>
</D:response>
</D:multistatus>`,
		selfETag: "1000-5f3b2",
		kids:     []webdav.Resource{{Path: "café/a b+c.json", ETag: "c-5f3b2", Size: 12, Modified: msDate, ContentType: "application/json"}},
	},
	{
		name: "nginx-no-getetag",
		body: `<?xml version="1.0" encoding="utf-8" ?>
<D:multistatus xmlns:D="DAV:">
<D:response>
<D:href>/dav/caf%C3%A9/</D:href>
<D:propstat>
<D:prop>
<D:getlastmodified>Sun, 22 Nov 2026 02:00:00 GMT</D:getlastmodified>
<D:resourcetype><D:collection/></D:resourcetype>
</D:prop>
<D:status>HTTP/1.1 200 OK</D:status>
</D:propstat>
<D:propstat>
<D:prop>
<D:getetag/>
<D:getcontenttype/>
</D:prop>
<D:status>HTTP/1.1 404 Not Found</D:status>
</D:propstat>
</D:response>
<D:response>
<D:href>/dav/caf%C3%A9/sub/</D:href>
<D:propstat>
<D:prop>
<D:getlastmodified>Sun, 22 Nov 2026 02:00:00 GMT</D:getlastmodified>
<D:resourcetype><D:collection/></D:resourcetype>
</D:prop>
<D:status>HTTP/1.1 200 OK</D:status>
</D:propstat>
</D:response>
<D:response>
<D:href>/dav/caf%C3%A9/x.json.gz</D:href>
<D:propstat>
<D:prop>
<D:getcontentlength>3</D:getcontentlength>
<D:getlastmodified>Sun, 22 Nov 2026 02:00:00 GMT</D:getlastmodified>
<D:resourcetype></D:resourcetype>
</D:prop>
<D:status>HTTP/1.1 200 OK</D:status>
</D:propstat>
</D:response>
</D:multistatus>`,
		kids: []webdav.Resource{
			{Path: "café/sub", IsDir: true, Modified: msDate},
			{Path: "café/x.json.gz", Size: 3, Modified: msDate},
		},
	},
	{
		name: "lighttpd-self-last",
		body: `<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:" xmlns:ns0="urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/">
<D:response>
<D:href>/dav/caf%C3%A9/f.json</D:href>
<D:propstat>
<D:prop>
<D:getetag>"2907211441"</D:getetag>
<D:getcontentlength>5</D:getcontentlength>
<D:getlastmodified ns0:dt="dateTime.rfc1123">Sun, 22 Nov 2026 02:00:00 GMT</D:getlastmodified>
<D:resourcetype/>
</D:prop>
<D:status>HTTP/1.1 200 OK</D:status>
</D:propstat>
</D:response>
<D:response>
<D:href>/dav/caf%C3%A9/</D:href>
<D:propstat>
<D:prop>
<D:getetag>"12345"</D:getetag>
<D:resourcetype><D:collection/></D:resourcetype>
</D:prop>
<D:status>HTTP/1.1 200 OK</D:status>
</D:propstat>
</D:response>
</D:multistatus>`,
		selfETag: "12345",
		kids:     []webdav.Resource{{Path: "café/f.json", ETag: "2907211441", Size: 5, Modified: msDate}},
	},
	{
		name: "rclone-xnet-no-trailing-slash",
		body: `<?xml version="1.0" encoding="UTF-8"?><D:multistatus xmlns:D="DAV:"><D:response><D:href>/dav/caf%C3%A9</D:href><D:propstat><D:prop><D:resourcetype><D:collection xmlns:D="DAV:"/></D:resourcetype><D:getlastmodified>Sun, 22 Nov 2026 02:00:00 GMT</D:getlastmodified></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response><D:response><D:href>/dav/caf%C3%A9/d</D:href><D:propstat><D:prop><D:resourcetype><D:collection xmlns:D="DAV:"/></D:resourcetype></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response><D:response><D:href>/dav/caf%C3%A9/n%C3%B6.json</D:href><D:propstat><D:prop><D:resourcetype></D:resourcetype><D:getetag>"1873f2a9c0b5e0a6"</D:getetag><D:getcontentlength>0</D:getcontentlength><D:getcontenttype>application/json</D:getcontenttype></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`,
		kids: []webdav.Resource{
			{Path: "café/d", IsDir: true},
			{Path: "café/nö.json", ETag: "1873f2a9c0b5e0a6", Size: 0, ContentType: "application/json"},
		},
	},
	{
		name: "sabre-lowercase-d",
		body: `<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"><d:response><d:href>/dav/caf%c3%a9/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype><d:getlastmodified>Sun, 22 Nov 2026 02:00:00 GMT</d:getlastmodified></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat><d:propstat><d:prop><d:getetag/><d:getcontentlength/><d:getcontenttype/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response><d:response><d:href>/dav/caf%c3%a9/b.json</d:href><d:propstat><d:prop><d:resourcetype/><d:getetag>&quot;6e5a1e0c3d2f7b&quot;</d:getetag><d:getcontentlength>7</d:getcontentlength><d:getlastmodified>Sun, 22 Nov 2026 02:00:00 GMT</d:getlastmodified><d:getcontenttype>application/octet-stream</d:getcontenttype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`,
		kids: []webdav.Resource{{Path: "café/b.json", ETag: "6e5a1e0c3d2f7b", Size: 7, Modified: msDate, ContentType: "application/octet-stream"}},
	},
	{
		name:     "npm-absolute-hrefs",
		body:     `<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:"><D:response><D:href>http://127.0.0.1:1900/dav/caf%C3%A9/</D:href><D:propstat><D:status>HTTP/1.1 200 OK</D:status><D:prop><D:getlastmodified>Sun, 22 Nov 2026 02:00:00 GMT</D:getlastmodified><D:resourcetype><D:collection/></D:resourcetype><D:getetag>"abc"</D:getetag></D:prop></D:propstat></D:response><D:response><D:href>http://127.0.0.1:1900/dav/caf%C3%A9/c.json</D:href><D:propstat><D:status>HTTP/1.1 200 OK</D:status><D:prop><D:getlastmodified>Sun, 22 Nov 2026 02:00:00 GMT</D:getlastmodified><D:resourcetype/><D:getcontentlength>9</D:getcontentlength><D:getetag>"def"</D:getetag></D:prop></D:propstat></D:response></D:multistatus>`,
		selfETag: "abc",
		kids:     []webdav.Resource{{Path: "café/c.json", ETag: "def", Size: 9, Modified: msDate}},
	},
	{
		name: "default-namespace-iso-dates-no-status",
		body: `<multistatus xmlns="DAV:"><response><href>/dav/caf%C3%A9/</href><propstat><prop><resourcetype><collection/></resourcetype></prop></propstat></response>
<response><href>e.json</href><propstat><prop><getlastmodified>2026-11-22T02:00:00Z</getlastmodified><getetag>e1</getetag><getcontentlength> 4 </getcontentlength></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response><href>/dav/caf%C3%A9/gone.json</href><status>HTTP/1.1 404 Not Found</status></response></multistatus>`,
		kids: []webdav.Resource{{Path: "café/e.json", ETag: "e1", Size: 4, Modified: msDate}},
	},
	{
		name:     "nextcloud-extra-namespaces-latin1",
		body:     `<?xml version="1.0" encoding="ISO-8859-1"?><d:multistatus xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns"><d:response><d:href>/dav/caf%C3%A9/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype><oc:getetag>"not-dav"</oc:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response><d:response><d:href>/dav/caf%C3%A9/x</d:href><d:propstat><d:prop><d:resourcetype/><d:getlastmodified>Sun, 22 Nov 2026 02:00:00 GMT</d:getlastmodified><oc:size>99</oc:size></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`,
		selfETag: "not-dav", // matched by local name: harmless for a folder
		kids:     []webdav.Resource{{Path: "café/x", Size: -1, Modified: msDate}},
	},
	{
		name: "proxy-rewrites-prefix",
		body: `<D:multistatus xmlns:D="DAV:"><D:response><D:href>/internal/webdav/caf%C3%A9/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response><D:response><D:href>/internal/webdav/caf%C3%A9/p.json</D:href><D:propstat><D:prop><D:getcontentlength>1</D:getcontentlength></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`,
		kids: []webdav.Resource{{Path: "café/p.json", Size: 1}},
	},
}

func TestMultistatusStyles(t *testing.T) {
	for _, tc := range msCases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer()
			s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
				return &webdav.Response{Status: 207, Header: map[string]string{}, Body: []byte(tc.body)}, nil
			}
			c, err := webdav.New("http://127.0.0.1:1900/dav", testUser, testPass, s)
			if err != nil {
				t.Fatal(err)
			}
			kids, err := c.List(context.Background(), "café")
			if err != nil {
				t.Fatal(err)
			}
			if len(kids) != len(tc.kids) {
				t.Fatalf("got %d children %+v, want %+v", len(kids), kids, tc.kids)
			}
			for i := range kids {
				if kids[i] != tc.kids[i] {
					t.Errorf("child %d = %+v\n want %+v", i, kids[i], tc.kids[i])
				}
			}
			self, err := c.Stat(context.Background(), "café")
			if err != nil {
				t.Fatal(err)
			}
			if self.Path != "café" || !self.IsDir || self.ETag != tc.selfETag {
				t.Errorf("self = %+v, want dir with etag %q", self, tc.selfETag)
			}
		})
	}
}

func TestMultistatusRefusals(t *testing.T) {
	cases := []struct {
		name, body, ctype string
		kind              errkind.Kind
		msg               string
	}{
		{"html-login", "<!DOCTYPE html>\n<html><head><title>Login</title><meta charset=utf-8></head><body>", "text/html", errkind.BadResponse, "web page, not a WebDAV folder"},
		{"html-no-doctype", "  <html lang=en><body><form>", "text/html", errkind.BadResponse, "web page"},
		{"xhtml", `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>`, "", errkind.BadResponse, "web page"},
		{"other-xml", `<?xml version="1.0"?><error><message>nope</message></error>`, "", errkind.BadResponse, "<error>"},
		{"broken", `<D:multistatus xmlns:D="DAV:"><D:response><D:href>/x</D:href>`, "", errkind.BadResponse, "broken XML"},
		{"empty", ``, "", errkind.BadResponse, "empty"},
		{"json", `{"ok":true}`, "", errkind.BadResponse, "not valid XML"},
		{"bad-charset", `<?xml version="1.0" encoding="EBCDIC"?><multistatus/>`, "", errkind.BadResponse, "not valid XML"},
		{"too-large", `<D:multistatus xmlns:D="DAV:">` + strings.Repeat(" ", 2<<20) + `</D:multistatus>`, "", errkind.TooLarge, "larger than 1 MiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, status := range []int{200, 207} {
				s := newServer()
				s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
					return &webdav.Response{Status: status, Header: map[string]string{"content-type": tc.ctype}, Body: []byte(tc.body)}, nil
				}
				c := newClient(t, s, webdav.WithMaxXML(1<<20))
				_, err := c.List(context.Background(), "")
				wantKind(t, err, tc.kind)
				if !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("message %q lacks %q", err, tc.msg)
				}
			}
		})
	}
}

func TestMultistatusFailureInside207(t *testing.T) {
	s := newServer()
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		if req.Method != "DELETE" {
			return nil, nil
		}
		return &webdav.Response{Status: 207, Header: map[string]string{}, Body: []byte(`<d:multistatus xmlns:d="DAV:"><d:response><d:href>/dav/dir/locked.json</d:href><d:status>HTTP/1.1 423 Locked</d:status></d:response></d:multistatus>`)}, nil
	}
	c := newClient(t, s)
	err := c.Delete(context.Background(), "dir", "")
	wantKind(t, err, errkind.Locked)
	if !strings.Contains(err.Error(), "dir/locked.json") {
		t.Fatal(err)
	}
}

func TestHrefPath(t *testing.T) {
	cases := []struct{ href, req, want string }{
		{"/dav/a%20b/", "/dav/", "/dav/a b"},
		{"http://h:1/dav/a%2fb", "/", "/dav/a/b"},
		{"https://h/dav/x?y#z", "/", "/dav/x"},
		{"https://h", "/", "/"},
		{"rel.json", "/dav/dir/", "/dav/dir/rel.json"},
		{"rel.json", "/dav/file", "/dav/rel.json"},
		{"//dav//./x/../y", "/", "/dav/y"},
		{"/dav/100%", "/", "/dav/100%"},
		{"/dav/%zz%4", "/", "/dav/%zz%4"},
		{"/dav/caf%C3%A9", "/", "/dav/café"},
		{"/dav/caf%c3%a9", "/", "/dav/café"},
		{"/dav/café", "/", "/dav/café"},
	}
	for _, tc := range cases {
		if got, _ := webdav.HrefPath(tc.href, tc.req); got != tc.want {
			t.Errorf("hrefPath(%q, %q) = %q, want %q", tc.href, tc.req, got, tc.want)
		}
	}
}

func TestDates(t *testing.T) {
	want := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	for _, s := range []string{
		"Sun, 06 Nov 1994 08:49:37 GMT",
		"Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 1994",
		"Sun, 6 Nov 1994 08:49:37 GMT",
		"1994-11-06T08:49:37Z",
		"1994-11-06T09:49:37+01:00",
		"1994-11-06T08:49:37.000Z",
	} {
		if got := webdav.ParseDAVDate(s); !got.Equal(want) {
			t.Errorf("parseDAVDate(%q) = %v", s, got)
		}
	}
	if !webdav.ParseDAVDate("yesterday").IsZero() {
		t.Error("garbage date parsed")
	}
}

func TestPropfindSelfErrorInside207(t *testing.T) {
	s := newServer()
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		return &webdav.Response{Status: 207, Header: map[string]string{}, Body: []byte(`<d:multistatus xmlns:d="DAV:"><d:response><d:href>/dav/secret/</d:href><d:status>HTTP/1.1 403 Forbidden</d:status></d:response></d:multistatus>`)}, nil
	}
	_, err := newClient(t, s).List(context.Background(), "secret")
	wantKind(t, err, errkind.Forbidden)
}
