package webdav_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
)

func TestCheckStyles(t *testing.T) {
	cases := []struct {
		name     string
		style    func(s *davtest.Server)
		want     webdav.CheckResult
		warnings int
	}{
		{"honours-everything", func(s *davtest.Server) { s.ServerHeader = "Apache/2.4.62 (Debian)" }, webdav.CheckResult{
			Traits: webdav.Traits{IfMatch: webdav.Yes, IfNoneMatch: webdav.Yes, ConditionalGet: webdav.Yes, GetETag: webdav.Yes, PropfindETag: webdav.Yes, PutETag: webdav.Yes, Copy: webdav.Unknown, MoveOverwrite: webdav.Yes},
			Server: "Apache/2.4.62 (Debian)",
		}, 0},
		{"nginx", func(s *davtest.Server) {
			s.Traits = webdav.Traits{PropfindETag: webdav.No, IfMatch: webdav.No, IfNoneMatch: webdav.No, IfHeader: webdav.No, PutETag: webdav.No}
		}, webdav.CheckResult{
			Traits: webdav.Traits{IfMatch: webdav.No, IfNoneMatch: webdav.No, ConditionalGet: webdav.Yes, GetETag: webdav.Yes, PropfindETag: webdav.No, PutETag: webdav.No, MoveOverwrite: webdav.Yes},
		}, 2},
		{"npm", func(s *davtest.Server) {
			s.Traits = webdav.Traits{GetETag: webdav.No, ConditionalGet: webdav.No, PutETag: webdav.No, IfMatch: webdav.No, IfNoneMatch: webdav.No, IfHeader: webdav.No}
			s.Propfind.Absolute = true
		}, webdav.CheckResult{
			Traits: webdav.Traits{IfMatch: webdav.No, IfNoneMatch: webdav.No, ConditionalGet: webdav.No, GetETag: webdav.No, PropfindETag: webdav.Yes, PutETag: webdav.No, MoveOverwrite: webdav.Yes},
		}, 2},
		{"no-etags-at-all", func(s *davtest.Server) {
			s.Traits = webdav.Traits{GetETag: webdav.No, PutETag: webdav.No, PropfindETag: webdav.No}
		}, webdav.CheckResult{
			Traits: webdav.Traits{IfMatch: webdav.Yes, IfNoneMatch: webdav.Yes, GetETag: webdav.No, PropfindETag: webdav.No, PutETag: webdav.No, MoveOverwrite: webdav.Yes},
		}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer()
			tc.style(s)
			res, err := newClient(t, s).Check(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			want.URL, want.OK, want.CredentialsOK, want.AuthScheme, want.Folder = fakeBase, true, true, "basic", webdav.FolderExists
			want.CanWrite, want.CanDelete, want.ClockKnown, want.ClockOffsetMs = true, true, true, 500
			want.DAV = "1, 2"
			want.Traits.Login = &webdav.AuthState{Scheme: "basic"}
			want.Traits.Checked = serverDate.UnixMilli()
			want.CheckedAt = serverDate.UnixMilli()
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

func assertClean(t *testing.T, s *davtest.Server) {
	t.Helper()
	for _, p := range s.Files() {
		if strings.Contains(p, ".davsync-check-") {
			t.Errorf("scratch file left behind: %s", p)
		}
	}
}

func TestCheckCreatesMissingFolder(t *testing.T) {
	s := newServer()
	s.Remove("")
	res, err := newClient(t, s).Check(context.Background())
	if err != nil || res.Folder != webdav.FolderCreated || !res.OK || !s.IsDir("") {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestCheckFolderCannotBeCreated(t *testing.T) {
	s := newServer()
	s.Remove("")
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		if req.Method == "MKCOL" {
			return &webdav.Response{Status: 403}, nil
		}
		return nil, nil
	}
	res, err := newClient(t, s).Check(context.Background())
	wantKind(t, err, errkind.Forbidden)
	if res.OK || res.Folder != webdav.FolderNotCreated || res.ErrorKind != "forbidden" || res.Error == "" || !res.CredentialsOK {
		t.Fatalf("%+v", res)
	}
}

func TestCheckWrongPassword(t *testing.T) {
	s := newServer()
	c, _ := webdav.New(fakeBase, testUser, "wrong", s)
	res, err := c.Check(context.Background())
	wantKind(t, err, errkind.Auth)
	if res.OK || res.CredentialsOK || res.ErrorKind != "auth" || res.Folder != webdav.FolderUnknown {
		t.Fatalf("%+v", res)
	}
	noSecret(t, errkind.New(errkind.Unknown, "", res.Error))
}

func TestCheckReadOnlyAccount(t *testing.T) {
	s := newServer()
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		if req.Method == "PUT" && hdr(req, "Authorization") != "" {
			return &webdav.Response{Status: 403}, nil
		}
		return nil, nil
	}
	res, err := newClient(t, s).Check(context.Background())
	wantKind(t, err, errkind.Forbidden)
	if res.OK || !res.CredentialsOK || res.CanWrite || res.Folder != webdav.FolderExists || !strings.Contains(res.Error, "cannot write") {
		t.Fatalf("%+v", res)
	}
}

func TestCheckCleansUpOnFailure(t *testing.T) {
	s := newServer()
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		if req.Method == "MOVE" {
			return &webdav.Response{Status: 500}, nil
		}
		return nil, nil
	}
	res, err := newClient(t, s).Check(context.Background())
	wantKind(t, err, errkind.Server)
	if res.OK || !res.CanWrite {
		t.Fatalf("%+v", res)
	}
	assertClean(t, s)
}

func TestCheckClockOffsetAndJSON(t *testing.T) {
	s := newServer()
	clk := newClock()
	clk.now = serverDate.Add(-90 * time.Minute)
	res, err := newClient(t, s, clk.opts()...).Check(context.Background())
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
