package contract

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
)

// server is one running server as the suite sees it.
type server struct {
	Name, URL, User, Pass string
	// Data is the server's data folder on this machine: the suite checks
	// what a server stored, not only what it serves.
	Data string
}

var (
	// servers are the servers under test; set by TestMain.
	servers []server
	// newTransport is the transport under test: net/http natively, fetch
	// under GOOS=js (set by TestMain).
	newTransport func() webdav.Transport
	// checkTablePath is where the server check table goes.
	checkTablePath string
	// transportName says which transport the table was made with.
	transportName string
)

// checks collects each server's Check result for the table.
var checks = newCheckTable()

func TestContract(t *testing.T) {
	if len(servers) == 0 {
		t.Fatal("no servers started")
	}
	t.Run("server", func(t *testing.T) {
		for _, s := range servers {
			t.Run(s.Name, func(t *testing.T) {
				t.Parallel()
				contract(t, s)
			})
		}
	})
	checks.write(t, checkTablePath)
}

func newClient(t *testing.T, url, user, pass string) *webdav.Client {
	t.Helper()
	// Few, short retries: a real failure must show up as a failure here, not
	// as minutes of backoff.
	c, err := webdav.New(url, user, pass, newTransport(),
		webdav.WithRetry(2, 50*time.Millisecond, 200*time.Millisecond),
		webdav.WithTimeout(60*time.Second))
	if err != nil {
		t.Fatalf("webdav.New: %v", err)
	}
	return c
}

func contract(t *testing.T, s server) {
	exp, ok := expectFor(s.Name)
	if !ok {
		t.Fatalf("no expected behaviour written down for server %q", s.Name)
	}
	c := newClient(t, s.URL, s.User, s.Pass)
	ctx := context.Background()
	// age sets a file's modification time into the past, directly in the
	// server's data folder: Apache's ETag is weak for a second after a
	// write, which would make "If-Match: current" fail by timing alone.
	age := func(t *testing.T, rel string) {
		t.Helper()
		past := time.Now().Add(-10 * time.Second)
		if err := os.Chtimes(filepath.Join(s.Data, filepath.FromSlash(rel)), past, past); err != nil {
			t.Fatalf("age %s: %v", rel, err)
		}
	}
	// etagOf is the current ETag as a client learns it: PROPFIND, or GET
	// where PROPFIND has none (nginx).
	etagOf := func(t *testing.T, rel string) string {
		t.Helper()
		r, err := c.Stat(ctx, rel)
		if err != nil {
			t.Fatalf("Stat %s: %v", rel, err)
		}
		if r.ETag != "" {
			return r.ETag
		}
		g, err := c.Get(ctx, rel, "")
		if err != nil {
			t.Fatalf("Get %s: %v", rel, err)
		}
		return g.ETag
	}
	put := func(t *testing.T, rel string, body []byte, cond webdav.PutCondition) *webdav.PutResult {
		t.Helper()
		r, err := c.Put(ctx, rel, body, cond)
		if err != nil {
			t.Fatalf("Put %s: %v", rel, err)
		}
		return r
	}
	content := func(t *testing.T, rel string) []byte {
		t.Helper()
		g, err := c.Get(ctx, rel, "")
		if err != nil {
			t.Fatalf("Get %s: %v", rel, err)
		}
		if g.NotModified {
			t.Fatalf("Get %s without a condition answered not modified", rel)
		}
		return g.Body
	}
	wantContent := func(t *testing.T, rel string, want []byte) {
		t.Helper()
		if got := content(t, rel); !bytes.Equal(got, want) {
			t.Fatalf("%s holds %q, want %q", rel, clip(got), clip(want))
		}
	}
	wantKind := func(t *testing.T, what string, err error, kinds ...errkind.Kind) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error, want %v", what, kinds)
		}
		if !slices.Contains(kinds, errkind.Of(err)) {
			t.Fatalf("%s: error %q of kind %q, want %v", what, err, errkind.Of(err), kinds)
		}
		if msg := err.Error(); bytes.Contains([]byte(msg), []byte(s.Pass)) {
			t.Fatalf("%s: the error message contains the password", what)
		}
	}
	wantMissing := func(t *testing.T, rel string) {
		t.Helper()
		_, err := c.Stat(ctx, rel)
		wantKind(t, "Stat "+rel+" after it went away", err, errkind.NotFound)
	}

	t.Run("mkcol", func(t *testing.T) {
		for _, dir := range []string{"a/b/c", "Über Ordner/naïve dir/日本 語", "with space/and+plus&amp"} {
			if err := c.MkcolAll(ctx, dir); err != nil {
				t.Fatalf("MkcolAll %q: %v", dir, err)
			}
			// Again: every level exists now (405, or rclone's 201).
			if err := c.MkcolAll(ctx, dir); err != nil {
				t.Fatalf("MkcolAll %q a second time: %v", dir, err)
			}
			r, err := c.Stat(ctx, dir)
			if err != nil {
				t.Fatalf("Stat %q: %v", dir, err)
			}
			if !r.IsDir {
				t.Fatalf("Stat %q: not a folder: %+v", dir, r)
			}
		}
		list, err := c.List(ctx, "Über Ordner")
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(list) != 1 || list[0].Path != "Über Ordner/naïve dir" || !list[0].IsDir {
			t.Fatalf("List \"Über Ordner\" = %+v, want the one folder \"Über Ordner/naïve dir\"", list)
		}
	})

	t.Run("put-get-overwrite", func(t *testing.T) {
		if err := c.MkcolAll(ctx, "pg/Ünïcode dir"); err != nil {
			t.Fatal(err)
		}
		for _, rel := range []string{"pg/f.json", "pg/Ünïcode dir/résumé 1 & 2.json"} {
			v1 := []byte(`{"v":1}`)
			r := put(t, rel, v1, webdav.PutCondition{ContentType: "application/json"})
			if exp.putETag && r.ETag == "" {
				t.Errorf("Put %s: no ETag, but this server sends one on PUT", rel)
			}
			g, err := c.Get(ctx, rel, "")
			if err != nil {
				t.Fatalf("Get %s: %v", rel, err)
			}
			if !bytes.Equal(g.Body, v1) {
				t.Fatalf("Get %s = %q, want %q", rel, g.Body, v1)
			}
			if exp.getETag != (g.ETag != "") {
				t.Errorf("Get %s: ETag %q; this server is expected to send one: %v", rel, g.ETag, exp.getETag)
			}
			v2 := []byte(`{"v":2,"longer":true}`)
			put(t, rel, v2, webdav.PutCondition{ContentType: "application/json"})
			wantContent(t, rel, v2)
			st, err := c.Stat(ctx, rel)
			if err != nil {
				t.Fatalf("Stat %s: %v", rel, err)
			}
			if st.IsDir || st.Size != int64(len(v2)) {
				t.Fatalf("Stat %s = %+v, want a file of %d bytes", rel, st, len(v2))
			}
			if exp.propfindETag != (st.ETag != "") {
				t.Errorf("Stat %s: ETag %q; this server is expected to report one in PROPFIND: %v", rel, st.ETag, exp.propfindETag)
			}
		}
	})

	t.Run("conditional-get", func(t *testing.T) {
		rel := "cg.json"
		body := []byte(`{"cg":true}`)
		put(t, rel, body, webdav.PutCondition{})
		tag := etagOf(t, rel)
		if tag == "" {
			t.Fatal("no ETag from PROPFIND or GET")
		}
		g, err := c.Get(ctx, rel, tag)
		if err != nil {
			t.Fatalf("conditional Get: %v", err)
		}
		if exp.notModified {
			if !g.NotModified || len(g.Body) != 0 {
				t.Fatalf("Get If-None-Match current: NotModified=%v body %d bytes, want not modified", g.NotModified, len(g.Body))
			}
		} else if g.NotModified || !bytes.Equal(g.Body, body) {
			// The deviation the client copes with: a full answer.
			t.Fatalf("Get If-None-Match current: NotModified=%v body %q; this server is expected to answer 200 with the body", g.NotModified, g.Body)
		}
		g, err = c.Get(ctx, rel, `"davsync-not-the-etag"`)
		if err != nil || g.NotModified || !bytes.Equal(g.Body, body) {
			t.Fatalf("Get If-None-Match other: %+v, %v; want the body", g, err)
		}
	})

	t.Run("conditional-put", func(t *testing.T) {
		rel := "cp.json"
		v1 := []byte(`{"n":1}`)
		r := put(t, rel, v1, webdav.PutCondition{IfNoneMatchAny: true})
		if exp.weakAfterWrite {
			// Right after our own write the ETag is weak: If-Match with it
			// may be refused. Either answer is the documented behaviour.
			tag := r.ETag
			if tag == "" {
				tag = etagOf(t, rel)
			}
			_, err := c.Put(ctx, rel, v1, webdav.PutCondition{IfMatch: tag})
			if err != nil && !errors.Is(err, errkind.Precondition) {
				t.Fatalf("If-Match right after a write: %v, want success or precondition", err)
			}
			t.Logf("If-Match with the ETag of a write just made: %v (weak-ETag window)", errOrOK(err))
			age(t, rel)
		}
		cur := etagOf(t, rel)
		v2 := []byte(`{"n":2,"more":"yes"}`)
		if _, err := c.Put(ctx, rel, v2, webdav.PutCondition{IfMatch: cur}); err != nil {
			t.Fatalf("Put If-Match current: %v", err)
		}
		wantContent(t, rel, v2)

		v3 := []byte(`{"n":3,"lost":"update"}`)
		_, err := c.Put(ctx, rel, v3, webdav.PutCondition{IfMatch: cur})
		if exp.ifMatch {
			wantKind(t, "Put If-Match stale", err, errkind.Precondition)
			wantContent(t, rel, v2)
		} else {
			if err != nil {
				t.Fatalf("Put If-Match stale on a server that ignores it: %v, want the write to happen", err)
			}
			wantContent(t, rel, v3) // the lost update the client must detect by other means
		}

		before := content(t, rel)
		_, err = c.Put(ctx, rel, []byte(`{"n":4}`), webdav.PutCondition{IfNoneMatchAny: true})
		if exp.ifNoneMatch {
			wantKind(t, "Put If-None-Match * on an existing file", err, errkind.Precondition)
			wantContent(t, rel, before)
		} else {
			if err != nil {
				t.Fatalf("Put If-None-Match * on a server that ignores it: %v, want the write to happen", err)
			}
			wantContent(t, rel, []byte(`{"n":4}`))
		}
		if _, err := c.Put(ctx, "cp-new.json", v1, webdav.PutCondition{IfNoneMatchAny: true}); err != nil {
			t.Fatalf("Put If-None-Match * of a new file: %v", err)
		}
		wantContent(t, "cp-new.json", v1)
	})

	t.Run("write-right-after-write", func(t *testing.T) {
		// A remote that never ran the server check (its traits unknown)
		// writes twice in a row, the second time under the ETag of the
		// first: inside Apache's weak-ETag window. The client finds out
		// once that the If header takes the weak tag and writes with it,
		// without a pause; a stale ETag is still refused.
		var pauses []time.Duration
		c2, err := webdav.New(s.URL, s.User, s.Pass, newTransport(),
			webdav.WithRetry(2, 50*time.Millisecond, 200*time.Millisecond), webdav.WithTimeout(60*time.Second),
			webdav.WithSleep(func(ctx context.Context, d time.Duration) error { pauses = append(pauses, d); return ctx.Err() }))
		if err != nil {
			t.Fatal(err)
		}
		rel := "again.json"
		r, err := c2.Put(ctx, rel, []byte(`{"n":1}`), webdav.PutCondition{IfNoneMatchAny: true})
		if err != nil {
			t.Fatal(err)
		}
		tag := r.ETag
		if tag == "" {
			tag = etagOf(t, rel)
		}
		if _, err := c2.Put(ctx, rel, []byte(`{"n":2}`), webdav.PutCondition{IfMatch: tag}); err != nil {
			t.Fatalf("the second write: %v (pauses %v)", err, pauses)
		}
		wantContent(t, rel, []byte(`{"n":2}`))
		if exp.weakAfterWrite && exp.ifHeader && (len(pauses) != 0 || c2.Traits().IfHeader != webdav.Yes) {
			t.Fatalf("pauses %v, If header %v: the weak-ETag window was waited out", pauses, c2.Traits().IfHeader)
		}
		if exp.ifMatch {
			_, err := c2.Put(ctx, rel, []byte(`{"n":3}`), webdav.PutCondition{IfMatch: tag})
			wantKind(t, "a third write under the first ETag", err, errkind.Precondition)
			wantContent(t, rel, []byte(`{"n":2}`))
		}
		t.Logf("second write inside the window: pauses %v, If header %v", pauses, c2.Traits().IfHeader)
	})

	t.Run("move", func(t *testing.T) {
		if err := c.MkcolAll(ctx, "mv/Zïel ordner"); err != nil {
			t.Fatal(err)
		}
		src, dst := "mv/src.json", "mv/Zïel ordner/dst file.json"
		put(t, src, []byte("source"), webdav.PutCondition{})
		put(t, dst, []byte("existing"), webdav.PutCondition{})
		wantKind(t, "Move Overwrite:F onto an existing file", c.Move(ctx, src, dst, false), errkind.Precondition)
		wantContent(t, dst, []byte("existing"))
		wantContent(t, src, []byte("source"))
		if err := c.Move(ctx, src, dst, true); err != nil {
			t.Fatalf("Move Overwrite:T: %v", err)
		}
		wantContent(t, dst, []byte("source"))
		wantMissing(t, src)
		if err := c.Move(ctx, dst, "mv/new name.json", false); err != nil {
			t.Fatalf("Move to a free name: %v", err)
		}
		wantContent(t, "mv/new name.json", []byte("source"))
		wantMissing(t, dst)
	})

	t.Run("copy", func(t *testing.T) {
		if err := c.MkcolAll(ctx, "cp dir"); err != nil {
			t.Fatal(err)
		}
		put(t, "cp dir/a.json", []byte("A"), webdav.PutCondition{})
		if err := c.Copy(ctx, "cp dir/a.json", "cp dir/b é.json", false); err != nil {
			t.Fatalf("Copy to a free name: %v", err)
		}
		wantContent(t, "cp dir/b é.json", []byte("A"))
		wantContent(t, "cp dir/a.json", []byte("A"))
		put(t, "cp dir/a.json", []byte("A2"), webdav.PutCondition{})
		err := c.Copy(ctx, "cp dir/a.json", "cp dir/b é.json", false)
		if exp.copyIgnoresNoOverwrite {
			if err != nil {
				t.Fatalf("Copy Overwrite:F on a server that ignores it: %v, want the copy to happen", err)
			}
			wantContent(t, "cp dir/b é.json", []byte("A2"))
			put(t, "cp dir/a.json", []byte("A3"), webdav.PutCondition{})
		} else {
			wantKind(t, "Copy Overwrite:F onto an existing file", err, errkind.Precondition)
			wantContent(t, "cp dir/b é.json", []byte("A"))
		}
		want := content(t, "cp dir/a.json")
		if err := c.Copy(ctx, "cp dir/a.json", "cp dir/b é.json", true); err != nil {
			t.Fatalf("Copy Overwrite:T: %v", err)
		}
		if exp.copyStaleRead {
			// What the server serves may lag; what it stored may not.
			onDisk, err := os.ReadFile(filepath.Join(s.Data, "cp dir", "b é.json"))
			if err != nil || !bytes.Equal(onDisk, want) {
				t.Fatalf("after Copy Overwrite:T the server stored %q (%v), want %q", onDisk, err, want)
			}
			t.Logf("GET right after COPY onto an existing file served %q (stored: %q)", content(t, "cp dir/b é.json"), onDisk)
		} else {
			wantContent(t, "cp dir/b é.json", want)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := c.MkcolAll(ctx, "del/sub"); err != nil {
			t.Fatal(err)
		}
		rel := "del/f.json"
		put(t, rel, []byte("doomed"), webdav.PutCondition{})
		err := c.Delete(ctx, rel, `"davsync-stale-etag"`)
		if exp.deleteIfMatch {
			wantKind(t, "Delete If-Match stale", err, errkind.Precondition)
			wantContent(t, rel, []byte("doomed"))
			if exp.weakAfterWrite {
				age(t, rel)
			}
			if err := c.Delete(ctx, rel, etagOf(t, rel)); err != nil {
				t.Fatalf("Delete If-Match current: %v", err)
			}
		} else if err != nil {
			t.Fatalf("Delete If-Match stale on a server that ignores it: %v, want the delete to happen", err)
		}
		wantMissing(t, rel)
		wantKind(t, "Delete of a missing file", c.Delete(ctx, rel, ""), errkind.NotFound)
		put(t, "del/sub/x.json", []byte("x"), webdav.PutCondition{})
		err = c.Delete(ctx, "del", "")
		// nginx refuses DELETE of "del" (it wants "del/") with 409; the
		// client retries once with the slash, so this must succeed on
		// every server (exp.deleteDirNeedsSlash only documents it).
		if err != nil {
			t.Fatalf("Delete of a folder: %v", err)
		}
		wantMissing(t, "del/sub/x.json")
		wantMissing(t, "del")
	})

	t.Run("list", func(t *testing.T) {
		if err := c.MkcolAll(ctx, "ls/Ördner 2"); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{"ls/a.json": "aa", "ls/b c.json.gz": "bbbb", "ls/日本.json": "ccc"}
		for rel, body := range files {
			put(t, rel, []byte(body), webdav.PutCondition{})
		}
		list, err := c.List(ctx, "ls")
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		var got []string
		for _, r := range list {
			got = append(got, r.Path)
			if r.IsDir {
				continue
			}
			body, ok := files[r.Path]
			if !ok {
				continue
			}
			if r.Size != int64(len(body)) {
				t.Errorf("List: %s size %d, want %d", r.Path, r.Size, len(body))
			}
			if exp.propfindETag && r.ETag == "" {
				t.Errorf("List: %s has no ETag", r.Path)
			}
			if r.Modified.IsZero() {
				t.Errorf("List: %s has no modification time", r.Path)
			}
		}
		sort.Strings(got)
		want := []string{"ls/a.json", "ls/b c.json.gz", "ls/Ördner 2", "ls/日本.json"}
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Fatalf("List ls = %q, want %q", got, want)
		}
		for _, r := range list {
			if r.Path == "ls/Ördner 2" && !r.IsDir {
				t.Fatalf("List: %q is not a folder", r.Path)
			}
		}
		root, err := c.List(ctx, "")
		if err != nil {
			t.Fatalf("List of the base folder: %v", err)
		}
		if !slices.ContainsFunc(root, func(r webdav.Resource) bool { return r.Path == "ls" && r.IsDir }) {
			t.Fatalf("List of the base folder lacks \"ls\": %+v", root)
		}
	})

	t.Run("wrong-password", func(t *testing.T) {
		bad := newClient(t, s.URL, s.User, s.Pass+"-wrong")
		_, err := bad.Stat(ctx, "")
		wantKind(t, "Stat with a wrong password", err, errkind.Auth)
		_, err = bad.Put(ctx, "never.json", []byte("x"), webdav.PutCondition{})
		wantKind(t, "Put with a wrong password", err, errkind.Auth)
		wantMissing(t, "never.json")
		wrongUser := newClient(t, s.URL, "nobody-"+s.Name, s.Pass)
		_, err = wrongUser.List(ctx, "")
		wantKind(t, "List with a wrong user", err, errkind.Auth)
	})

	t.Run("missing-parent", func(t *testing.T) {
		_, err := c.Put(ctx, "no/such/folder/f.json", []byte("x"), webdav.PutCondition{})
		wantKind(t, "Put below a missing folder", err, exp.missingParent...)
		_, err = c.Stat(ctx, "no/such/folder")
		wantKind(t, "Stat of a missing folder", err, errkind.NotFound)
		_, err = c.Get(ctx, "no-such-file.json", "")
		wantKind(t, "Get of a missing file", err, errkind.NotFound)
	})

	t.Run("copy-move-into-missing-folder", func(t *testing.T) {
		// Servers answer this 409, 400 (Apache's slashed retry), 403
		// (lighttpd; x/net and rclone MOVE) or 500 (nginx COPY, Apache
		// MOVE); the client must say the folder is missing, or the sync
		// would take the server for one that refuses COPY.
		put(t, "cm-src.json", []byte("x"), webdav.PutCondition{})
		wantKind(t, "COPY into a missing folder", c.Copy(ctx, "cm-src.json", "no-such-folder/snap.json", false), errkind.FolderMissing)
		if err := c.Move(ctx, "cm-src.json", "no-such-folder/snap.json", false); err != nil || s.Name != "nginx" {
			// nginx creates the missing folder on MOVE (and succeeds).
			wantKind(t, "MOVE into a missing folder", err, errkind.FolderMissing)
		}
	})

	t.Run("large-5MB", func(t *testing.T) {
		body := make([]byte, 5<<20)
		if _, err := rand.Read(body); err != nil {
			t.Fatal(err)
		}
		put(t, "large.bin", body, webdav.PutCondition{ContentType: "application/octet-stream"})
		if got := content(t, "large.bin"); !bytes.Equal(got, body) {
			t.Fatalf("5 MB round trip: got %d bytes, different from the %d sent", len(got), len(body))
		}
		st, err := c.Stat(ctx, "large.bin")
		if err != nil || st.Size != int64(len(body)) {
			t.Fatalf("Stat large.bin = %+v, %v; want %d bytes", st, err, len(body))
		}
	})

	t.Run("check", func(t *testing.T) {
		res, err := c.Check(ctx)
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		checks.add(s.Name, res)
		t.Logf("check %s: %s", s.Name, checks.row(s.Name))
		verifyCheck(t, s, exp, res)
	})

	t.Run("check-missing-folder", func(t *testing.T) {
		// A 404 on the configured folder is "created", not "success".
		fresh := newClient(t, s.URL+"new%20f%C3%B6lder/", s.User, s.Pass)
		res, err := fresh.Check(ctx)
		if err != nil {
			t.Fatalf("Check of a missing folder: %v", err)
		}
		if res.Folder != webdav.FolderCreated || !res.OK {
			t.Fatalf("Check of a missing folder: folder=%q ok=%v, want created and ok", res.Folder, res.OK)
		}
		if st, err := c.Stat(ctx, "new földer"); err != nil || !st.IsDir {
			t.Fatalf("Stat of the folder Check created: %+v, %v", st, err)
		}
		bad := newClient(t, s.URL, s.User, "wrong-"+s.Pass)
		res, err = bad.Check(ctx)
		if !errors.Is(err, errkind.Auth) || res == nil || res.CredentialsOK || res.OK {
			t.Fatalf("Check with a wrong password: %+v, %v; want an auth error", res, err)
		}
	})
}

func errOrOK(err error) string {
	if err == nil {
		return "accepted"
	}
	return "refused (" + string(errkind.Of(err)) + ")"
}

func clip(b []byte) []byte {
	if len(b) > 80 {
		return append(b[:80:80], "..."...)
	}
	return b
}
