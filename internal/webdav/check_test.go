package webdav

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
)

func TestCheckStyles(t *testing.T) {
	cases := []struct {
		name     string
		style    func(s *fakeServer)
		want     CheckResult
		warnings int
	}{
		{"honours-everything", func(s *fakeServer) { s.serverHeader = "Apache/2.4.62 (Debian)" }, CheckResult{
			Traits: Traits{IfMatch: Yes, IfNoneMatch: Yes, ConditionalGet: Yes, GetETag: Yes, PropfindETag: Yes, PutETag: Yes, Copy: Unknown, MoveOverwrite: Yes},
			Server: "Apache/2.4.62 (Debian)",
		}, 0},
		{"nginx", func(s *fakeServer) {
			s.noPropfindETag = true
			s.ignorePreconditions = true
			s.noPutETag = true
			s.noIfHeader = true
		}, CheckResult{
			Traits: Traits{IfMatch: No, IfNoneMatch: No, ConditionalGet: Yes, GetETag: Yes, PropfindETag: No, PutETag: No, MoveOverwrite: Yes},
		}, 2},
		{"npm", func(s *fakeServer) {
			s.noGetETag = true
			s.noConditionalGet = true
			s.noPutETag = true
			s.ignorePreconditions = true
			s.absoluteHrefs = true
		}, CheckResult{
			Traits: Traits{IfMatch: No, IfNoneMatch: No, ConditionalGet: No, GetETag: No, PropfindETag: Yes, PutETag: No, MoveOverwrite: Yes},
		}, 2},
		{"no-etags-at-all", func(s *fakeServer) { s.noGetETag = true; s.noPutETag = true; s.noPropfindETag = true }, CheckResult{
			Traits: Traits{IfMatch: Yes, IfNoneMatch: Yes, GetETag: No, PropfindETag: No, PutETag: No, MoveOverwrite: Yes},
		}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeServer()
			tc.style(s)
			res, err := s.client(t).Check(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			want.URL, want.OK, want.CredentialsOK, want.AuthScheme, want.Folder = fakeBase, true, true, "basic", FolderExists
			want.CanWrite, want.CanDelete, want.ClockKnown, want.ClockOffsetMs = true, true, true, 500
			want.DAV = "1, 2"
			want.Traits.Login = &AuthState{Scheme: "basic"}
			want.Traits.Checked = s.date.UnixMilli()
			want.CheckedAt = s.date.UnixMilli()
			if len(res.Warnings) != tc.warnings {
				t.Errorf("warnings %q", res.Warnings)
			}
			res.Warnings = nil
			if !reflect.DeepEqual(*res, want) {
				t.Errorf("got  %+v\nwant %+v", *res, want)
			}
			assertClean(t, s)
		})
	}
}

func assertClean(t *testing.T, s *fakeServer) {
	t.Helper()
	for p := range s.files {
		if strings.Contains(p, ".davsync-check-") {
			t.Errorf("scratch file left behind: %s", p)
		}
	}
}

func TestCheckCreatesMissingFolder(t *testing.T) {
	s := newFakeServer()
	s.dirs = map[string]bool{"/": true}
	res, err := s.client(t).Check(context.Background())
	if err != nil || res.Folder != FolderCreated || !res.OK || !s.dirs["/dav"] {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestCheckFolderCannotBeCreated(t *testing.T) {
	s := newFakeServer()
	s.dirs = map[string]bool{}
	s.hook = func(req *Request) (*Response, error, bool) {
		if req.Method == "MKCOL" {
			return &Response{Status: 403}, nil, true
		}
		return nil, nil, false
	}
	res, err := s.client(t).Check(context.Background())
	wantKind(t, err, errkind.Forbidden)
	if res.OK || res.Folder != FolderNotCreated || res.ErrorKind != "forbidden" || res.Error == "" || !res.CredentialsOK {
		t.Fatalf("%+v", res)
	}
}

func TestCheckWrongPassword(t *testing.T) {
	s := newFakeServer()
	c, _ := New(fakeBase, testUser, "wrong", s)
	res, err := c.Check(context.Background())
	wantKind(t, err, errkind.Auth)
	if res.OK || res.CredentialsOK || res.ErrorKind != "auth" || res.Folder != FolderUnknown {
		t.Fatalf("%+v", res)
	}
	noSecret(t, errkind.New(errkind.Unknown, "", res.Error))
}

func TestCheckReadOnlyAccount(t *testing.T) {
	s := newFakeServer()
	s.hook = func(req *Request) (*Response, error, bool) {
		if req.Method == "PUT" && hdr(req, "Authorization") != "" {
			return &Response{Status: 403}, nil, true
		}
		return nil, nil, false
	}
	res, err := s.client(t).Check(context.Background())
	wantKind(t, err, errkind.Forbidden)
	if res.OK || !res.CredentialsOK || res.CanWrite || res.Folder != FolderExists || !strings.Contains(res.Error, "cannot write") {
		t.Fatalf("%+v", res)
	}
}

func TestCheckCleansUpOnFailure(t *testing.T) {
	s := newFakeServer()
	s.hook = func(req *Request) (*Response, error, bool) {
		if req.Method == "MOVE" {
			return &Response{Status: 500}, nil, true
		}
		return nil, nil, false
	}
	res, err := s.client(t).Check(context.Background())
	wantKind(t, err, errkind.Server)
	if res.OK || !res.CanWrite {
		t.Fatalf("%+v", res)
	}
	assertClean(t, s)
}

func TestCheckClockOffsetAndJSON(t *testing.T) {
	s := newFakeServer()
	clk := newClock()
	clk.now = s.date.Add(-90 * time.Minute)
	res, err := s.client(t, clk.opts()...).Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.ClockOffsetMs != 90*60*1000+500 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].String(), "clock") {
		t.Fatalf("%+v", res)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"credentialsOk":true`, `"ifMatch":"yes"`, `"ifNoneMatch":"yes"`, `"propfindETag":"yes"`,
		`"putETag":"yes"`, `"moveOverwrite":"yes"`, `"clockOffsetMs":5400500`, `"folder":"exists"`, `"dav":"1, 2"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}
}
