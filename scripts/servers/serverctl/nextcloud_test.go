//go:build !js

package serverctl

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestNextcloudNotInAll keeps the Nextcloud-shaped servers out of "all",
// which the contract suite runs against.
func TestNextcloudNotInAll(t *testing.T) {
	for _, n := range []string{"nextcloud", "nextcloud-wellknown"} {
		if slices.Contains(Names(), n) {
			t.Errorf("Names() (all) contains %s", n)
		}
		if !slices.Contains(AllNames(), n) {
			t.Errorf("AllNames() lacks %s", n)
		}
	}
	if got, want := len(AllNames()), len(Names())+2; got != want {
		t.Errorf("AllNames() has %d servers, want %d", got, want)
	}
}

// TestNextcloud starts the Nextcloud-shaped servers (installing their
// packages as the contract suite does: a server that cannot start fails the
// test) and checks the answers discovery relies on.
func TestNextcloud(t *testing.T) {
	repo, err := FindRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"nextcloud", "nextcloud-wellknown"}
	if err := Install(repo, names, os.Stderr); err != nil {
		t.Fatalf("cannot install the nextcloud servers: %v", err)
	}
	run := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	started, err := StartAll(ctx, Options{Repo: repo, RunDir: run}, names)
	t.Cleanup(func() {
		for _, s := range started {
			if err := Stop(run, s.Name); err != nil {
				t.Errorf("stop %s: %v", s.Name, err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range started {
		t.Run(s.Name, func(t *testing.T) { checkNextcloud(t, s) })
	}
}

func checkNextcloud(t *testing.T, s *Server) {
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	do := func(method, u string, auth bool, body []byte, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, u, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		if auth {
			req.SetBasicAuth(s.User, s.Pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, u, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: %v", method, u, err)
		}
		return resp, b
	}
	want := func(resp *http.Response, code int) {
		t.Helper()
		if resp.StatusCode != code {
			t.Errorf("%s %s: %d, want %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, code)
		}
	}

	u, err := url.Parse(s.URL)
	if err != nil || u.Path != "/" {
		t.Fatalf("URL %q is not a bare host root", s.URL)
	}
	host := strings.TrimSuffix(s.URL, "/")
	if want := s.URL + "remote.php/dav/files/" + s.User + "/"; s.FilesURL != want {
		t.Fatalf("FilesURL = %q, want %q", s.FilesURL, want)
	}

	// status.php: Nextcloud's JSON, without credentials.
	resp, body := do("GET", host+"/status.php", false, nil)
	want(resp, 200)
	var st struct {
		Installed, Maintenance, NeedsDbUpgrade bool
		Version, Versionstring, Productname    string
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("status.php: %v in %q", err, body)
	}
	if st.Productname != "Nextcloud" || !st.Installed || st.Maintenance || st.NeedsDbUpgrade ||
		!strings.HasPrefix(st.Version, st.Versionstring+".") {
		t.Errorf("status.php = %s", body)
	}

	// .well-known: caldav and carddav lead to the DAV root for any method;
	// webdav only in the variant, else through the front controller to 404.
	wellKnown := []string{"caldav", "carddav"}
	if s.Name == "nextcloud-wellknown" {
		wellKnown = append(wellKnown, "webdav")
	}
	for _, svc := range wellKnown {
		for _, m := range []string{"GET", "PROPFIND"} {
			resp, _ := do(m, host+"/.well-known/"+svc, false, nil)
			want(resp, 301)
			if loc := resp.Header.Get("Location"); loc != "/remote.php/dav/" {
				t.Errorf("%s /.well-known/%s: Location %q, want /remote.php/dav/", m, svc, loc)
			}
		}
	}
	if s.Name == "nextcloud" {
		for _, m := range []string{"GET", "PROPFIND"} {
			resp, _ := do(m, host+"/.well-known/webdav", false, nil)
			want(resp, 301)
			if loc := resp.Header.Get("Location"); loc != "/index.php/.well-known/webdav" {
				t.Errorf("%s /.well-known/webdav: Location %q, want /index.php/.well-known/webdav", m, loc)
			}
		}
		resp, body := do("GET", host+"/index.php/.well-known/webdav", false, nil)
		want(resp, 404)
		if resp.Header.Get("X-Nextcloud-Well-Known") != "1" || !strings.Contains(string(body), "webdav not supported") {
			t.Errorf("GET /index.php/.well-known/webdav: %v %s", resp.Header, body)
		}
	}

	// The files folder: 401 without credentials, 207 with.
	resp, _ = do("PROPFIND", s.FilesURL, false, nil, "Depth", "0")
	want(resp, 401)
	if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `Basic realm="Nextcloud"`) {
		t.Errorf("401 challenge %q", resp.Header.Get("WWW-Authenticate"))
	}
	resp, _ = do("PROPFIND", s.FilesURL, true, nil, "Depth", "0")
	want(resp, 207)

	// A PUT through the v2 URL is the same file under the legacy one and
	// on disk.
	content := []byte("Nextcloud-shaped\x00\xff bytes\n")
	resp, _ = do("PUT", s.FilesURL+"probe%20file.bin", true, content)
	want(resp, 201)
	resp, body = do("GET", host+"/remote.php/webdav/probe%20file.bin", true, nil)
	want(resp, 200)
	if !bytes.Equal(body, content) {
		t.Errorf("GET via /remote.php/webdav/ = %q, want %q", body, content)
	}
	if disk, err := os.ReadFile(s.Data + "/probe file.bin"); err != nil || !bytes.Equal(disk, content) {
		t.Errorf("on disk: %q, %v", disk, err)
	}
	resp, _ = do("GET", host+"/remote.php/webdav/probe%20file.bin", false, nil)
	want(resp, 401)

	// The DAV root lists Nextcloud's collections and names the user's
	// principal; another user's files are 404 (no such principal).
	propfind := []byte(`<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:current-user-principal/></d:prop></d:propfind>`)
	resp, body = do("PROPFIND", host+"/remote.php/dav/", true, propfind, "Depth", "1", "Content-Type", "application/xml")
	want(resp, 207)
	for _, h := range []string{"/remote.php/dav/files/", "/remote.php/dav/principals/", "/remote.php/dav/principals/users/" + s.User + "/"} {
		if !strings.Contains(string(body), "<d:href>"+h+"</d:href>") {
			t.Errorf("PROPFIND /remote.php/dav/ lacks %s:\n%s", h, body)
		}
	}
	resp, _ = do("PROPFIND", host+"/remote.php/dav/", false, nil, "Depth", "1")
	want(resp, 401)
	resp, _ = do("PROPFIND", host+"/remote.php/dav/files/someone-else/", true, nil, "Depth", "0")
	want(resp, 404)

	// The front controller: PROPFIND on the bare host is 405, GET goes to
	// the login page.
	resp, _ = do("PROPFIND", s.URL, true, nil, "Depth", "0")
	want(resp, 405)
	resp, _ = do("GET", s.URL, false, nil)
	want(resp, 302)
	if loc := resp.Header.Get("Location"); loc != host+"/login" {
		t.Errorf("GET /: Location %q", loc)
	}
}
