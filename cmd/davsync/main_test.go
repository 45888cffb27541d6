package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/davsync/davsync/internal/app"
	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/transfer"
	"github.com/davsync/davsync/internal/webdav/httptransport"
	"github.com/davsync/davsync/scripts/servers/xnetdav/davhandler"
)

// These tests run the tool against files the extension's own code wrote:
// an app.App (the engine the extension runs, over memory instead of
// chrome.storage) syncs to a real WebDAV server, and the tool reads,
// exports and restores what it left there. test-go runs them against
// golang.org/x/net/webdav in-process; make test-cli adds Apache and nginx.

const (
	testPassword   = "pw-Quetzal-91"
	testPassphrase = "pp-Marmot-Lantern-77"
)

type server struct{ Name, URL, User, Pass string }

func servers(t *testing.T) []server {
	t.Helper()
	var out []server
	if os.Getenv("DAVSYNC_CLI_LISTED_ONLY") == "" {
		h, err := davhandler.New(davhandler.Config{Root: t.TempDir(), Prefix: "/dav/", User: "u", Pass: testPassword, Preconditions: true})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		out = append(out, server{"xnet", srv.URL + "/dav/", "u", testPassword})
	}
	if f := os.Getenv("DAVSYNC_TEST_SERVERS"); f != "" {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var s server
			if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
	}
	return out
}

var folderSeq atomic.Int64

// device is a browser profile running the extension's engine.
type device struct {
	t   *testing.T
	app *app.App
	kv  local.KV
}

func newDevice(t *testing.T, s server, folder string, compress bool, passphrase string) *device {
	t.Helper()
	d := &device{t: t, kv: local.NewMemKV()}
	d.app = app.New(app.Config{KV: d.kv, Transport: httptransport.New(), KeyOptions: envelope.KeyOptions{Iterations: envelope.MinIterations}})
	remote := map[string]any{"url": s.URL, "folder": folder, "username": s.User, "password": s.Pass, "compress": compress, "snapshotsKeep": 5}
	if passphrase != "" {
		remote["encryption"] = map[string]any{"enabled": true, "passphrase": passphrase, "remember": false}
	}
	raw, _ := json.Marshal(remote)
	if _, _, err := d.app.SaveRemote(context.Background(), "", raw); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *device) put(id, name string) {
	d.t.Helper()
	if _, err := d.app.PutAccount(context.Background(), []byte(fmt.Sprintf(`{"id":%q,"site_name":%q,"token":"sk-%s"}`, id, name, id)), nil); err != nil {
		d.t.Fatal(err)
	}
}

func (d *device) sync() {
	d.t.Helper()
	if _, err := d.app.Sync(context.Background(), "1", app.SyncOptions{}); err != nil {
		d.t.Fatalf("extension sync: %v", err)
	}
}

func (d *device) names() []string {
	d.t.Helper()
	doc, err := d.app.Doc(context.Background())
	if err != nil {
		d.t.Fatal(err)
	}
	var out []string
	for _, r := range doc.Collection("accounts").Records {
		out = append(out, r.ID+"="+gjsonString(r.Raw, "site_name"))
	}
	return sorted(out)
}

// cli runs the tool with the server's URL and user in the environment and
// the password (and passphrase, when given) in files.
type cli struct {
	t      *testing.T
	s      server
	folder string
	pp     string
	dir    string
}

type outcome struct {
	code           int
	stdout, stderr string
}

func (c cli) run(args ...string) outcome {
	c.t.Helper()
	pwFile := filepath.Join(c.dir, "password")
	if err := os.WriteFile(pwFile, []byte(c.s.Pass+"\n"), 0o600); err != nil {
		c.t.Fatal(err)
	}
	full := []string{"--url", c.s.URL, "--folder", c.folder, "--user", c.s.User, "--password-file", pwFile}
	if c.pp != "" {
		ppFile := filepath.Join(c.dir, "passphrase")
		if err := os.WriteFile(ppFile, []byte(c.pp), 0o600); err != nil {
			c.t.Fatal(err)
		}
		full = append(full, "--passphrase-file", ppFile)
	}
	full = append(full, args...)
	var out, errb bytes.Buffer
	code := run(full, strings.NewReader(""), &out, &errb)
	o := outcome{code, out.String(), errb.String()}
	for _, secret := range []string{testPassword, testPassphrase, "wrong-" + testPassphrase} {
		if strings.Contains(o.stdout+o.stderr, secret) || strings.Contains(strings.Join(full, " "), secret) {
			c.t.Fatalf("a secret appears in the tool's arguments or output: %q / %q", o.stdout, o.stderr)
		}
	}
	return o
}

func (c cli) ok(args ...string) string {
	c.t.Helper()
	o := c.run(args...)
	if o.code != 0 {
		c.t.Fatalf("davsync %v: exit %d\nstdout: %s\nstderr: %s", args, o.code, o.stdout, o.stderr)
	}
	return o.stdout
}

func newCLI(t *testing.T, s server, folder, pp string) cli {
	return cli{t: t, s: s, folder: folder, pp: pp, dir: t.TempDir()}
}

// synced is an encrypted, compressed sync file with Alpha and Beta that
// the extension's engine wrote, and the tool pointed at it.
func synced(t *testing.T, s server) (*device, cli) {
	t.Helper()
	folder := nextFolder(s)
	d := newDevice(t, s, folder, true, testPassphrase)
	d.put("a1", "Alpha")
	d.put("a2", "Beta")
	d.sync()
	return d, newCLI(t, s, folder, testPassphrase)
}

func nextFolder(s server) string { return fmt.Sprintf("cli-%s-%d", s.Name, folderSeq.Add(1)) }

// TestReadsWhatTheExtensionWrote: list, verify and export read the plain,
// compressed and encrypted files the extension writes, and export gives
// exactly the bytes the extension's own export gives for the same data.
func TestReadsWhatTheExtensionWrote(t *testing.T) {
	for _, s := range servers(t) {
		for _, f := range []struct {
			name     string
			compress bool
			pp       string
		}{{"plain", false, ""}, {"gzip", true, ""}, {"encrypted", true, testPassphrase}} {
			t.Run(s.Name+"/"+f.name, func(t *testing.T) {
				folder := nextFolder(s)
				d := newDevice(t, s, folder, f.compress, f.pp)
				d.put("a1", "Alpha")
				d.put("a2", "Beta")
				if _, err := d.app.SavePreferences(context.Background(), []byte(`{"theme":"dark"}`)); err != nil {
					t.Fatal(err)
				}
				d.sync()
				c := newCLI(t, s, folder, f.pp)

				var list listOut
				if err := json.Unmarshal([]byte(c.ok("--json", "list")), &list); err != nil {
					t.Fatal(err)
				}
				if list.File == nil || list.File.Form != f.name || list.File.Records["accounts"] != 2 {
					t.Fatalf("list: %+v", list.File)
				}
				if out := c.ok("verify"); !strings.Contains(out, "accounts") || !strings.Contains(out, "2") {
					t.Fatalf("verify: %s", out)
				}

				got := c.ok("export")
				doc, err := backup.Parse([]byte(got))
				if err != nil {
					t.Fatalf("export is not a davsync document: %v", err)
				}
				mine, err := d.app.Doc(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				want, _, err := transfer.Export(mine, transfer.ScopeAll, transfer.ExportOptions{Now: doc.ExportedAt})
				if err != nil {
					t.Fatal(err)
				}
				if got != string(want) {
					t.Fatalf("export differs from the extension's export of the same data\n got: %s\nwant: %s", got, want)
				}

				out := filepath.Join(t.TempDir(), "accounts.json")
				c.ok("export", "--only", "accounts", "-o", out)
				st, err := os.Stat(out)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != 0o600 {
					t.Fatalf("export file mode %v, want 0600", st.Mode().Perm())
				}
				b, _ := os.ReadFile(out)
				if !bytes.Contains(b, []byte("Alpha")) || bytes.Contains(b, []byte(`"theme"`)) {
					t.Fatalf("--only accounts: %s", b)
				}
			})
		}
	}
}

// TestPassphraseAndDamage: the exit codes a script can act on.
func TestPassphraseAndDamage(t *testing.T) {
	s := servers(t)[0]
	folder := nextFolder(s)
	d := newDevice(t, s, folder, true, testPassphrase)
	d.put("a1", "Alpha")
	d.sync()

	if o := newCLI(t, s, folder, "").run("verify"); o.code != exitPass || !strings.Contains(o.stderr, "Passphrase needed") {
		t.Fatalf("no passphrase: exit %d, %s", o.code, o.stderr)
	}
	if o := newCLI(t, s, folder, "wrong-"+testPassphrase).run("export"); o.code != exitPass || !strings.Contains(o.stderr, "Wrong passphrase") || o.stdout != "" {
		t.Fatalf("wrong passphrase: exit %d, %q %q", o.code, o.stdout, o.stderr)
	}
	// list still lists what it cannot open.
	if out := newCLI(t, s, folder, "").ok("list"); !strings.Contains(out, "encrypted") {
		t.Fatalf("list: %s", out)
	}

	// A local file that is not a backup.
	bad := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(bad, []byte(`{"version":"2.0","accounts":[`), 0o600)
	if o := newCLI(t, s, folder, testPassphrase).run("verify", bad); o.code != exitDamaged {
		t.Fatalf("damaged file: exit %d, %s", o.code, o.stderr)
	}
	newer := filepath.Join(t.TempDir(), "newer.json")
	_ = os.WriteFile(newer, []byte(`{"format":"davsync","version":99,"collections":{}}`), 0o600)
	if o := newCLI(t, s, folder, testPassphrase).run("verify", newer); o.code != exitDamaged {
		t.Fatalf("newer file: exit %d, %s", o.code, o.stderr)
	}
	// Usage mistakes.
	if o := newCLI(t, s, folder, "").run("export", "--only", "passwords"); o.code != exitUsage {
		t.Fatalf("bad --only: exit %d", o.code)
	}
	if o := newCLI(t, s, folder, "").run("frobnicate"); o.code != exitUsage {
		t.Fatalf("unknown command: exit %d", o.code)
	}
	// http:// to another machine is refused before anything is sent.
	var out, errb bytes.Buffer
	if code := run([]string{"--url", "http://192.0.2.1/dav/", "check"}, strings.NewReader(""), &out, &errb); code != exitServer || !strings.Contains(errb.String(), "Unencrypted connection") {
		t.Fatalf("http to another machine: exit %d, %s", code, errb.String())
	}
}

// TestSnapshotRestoreImport: a snapshot made now, restored later (all, or
// only the accounts), reaches the extension as edits on its next sync;
// without --yes and without a terminal, restore changes nothing (exit 5);
// an imported file becomes a snapshot and the current file stays.
func TestSnapshotRestoreImport(t *testing.T) {
	for _, s := range servers(t) {
		t.Run(s.Name, func(t *testing.T) {
			d, c := synced(t, s)
			var snap nameOut
			if err := json.Unmarshal([]byte(c.ok("--json", "snapshot")), &snap); err != nil {
				t.Fatal(err)
			}

			// After the snapshot: Beta deleted, Gamma added, preferences set.
			if err := d.app.DeleteAccount(context.Background(), "a2"); err != nil {
				t.Fatal(err)
			}
			d.put("a3", "Gamma")
			if _, err := d.app.SavePreferences(context.Background(), []byte(`{"theme":"dark"}`)); err != nil {
				t.Fatal(err)
			}
			d.sync()

			if o := c.run("restore", snap.Snapshot); o.code != exitConfirm {
				t.Fatalf("restore without --yes: exit %d, %s", o.code, o.stderr)
			}
			d.sync()
			if got := strings.Join(d.names(), ","); got != "a1=Alpha,a3=Gamma" {
				t.Fatalf("restore without --yes changed data: %s", got)
			}

			c.ok("restore", snap.Snapshot, "--only", "accounts", "--yes")
			d.sync()
			if got := strings.Join(d.names(), ","); got != "a1=Alpha,a2=Beta" {
				t.Fatalf("after restore --only accounts: %s", got)
			}
			prefs, _, err := d.app.Preferences(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(prefs), "dark") {
				t.Fatalf("restore --only accounts lost the preferences: %s", prefs)
			}

			// Import: a file the extension exported becomes a snapshot.
			exp, _, err := transfer.Export(backupWith(t, "z9", "Zeta"), transfer.ScopeAll, transfer.ExportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "in.json")
			_ = os.WriteFile(file, exp, 0o600)
			var imp nameOut
			if err := json.Unmarshal([]byte(c.ok("--json", "import", file)), &imp); err != nil {
				t.Fatal(err)
			}
			d.sync()
			if got := strings.Join(d.names(), ","); got != "a1=Alpha,a2=Beta" {
				t.Fatalf("import changed the current data: %s", got)
			}
			if out := c.ok("verify", imp.Snapshot); !strings.Contains(out, "1") {
				t.Fatalf("verify imported: %s", out)
			}
			c.ok("restore", imp.Snapshot, "--yes")
			d.sync()
			if got := strings.Join(d.names(), ","); got != "z9=Zeta" {
				t.Fatalf("after restoring the import: %s", got)
			}

			// An encrypted export: the passphrase is asked for only once the
			// file turns out to need it; without one the tool exits 4.
			sealed, _, err := transfer.Export(backupWith(t, "y8", "Ypsilon"), transfer.ScopeAll, transfer.ExportOptions{Passphrase: testPassphrase})
			if err != nil {
				t.Fatal(err)
			}
			file = filepath.Join(t.TempDir(), "sealed.json")
			_ = os.WriteFile(file, sealed, 0o600)
			if o := newCLI(t, c.s, c.folder, "").run("import", file); o.code != 4 {
				t.Fatalf("encrypted import without a passphrase: exit %d, %s", o.code, o.stderr)
			}
			if err := json.Unmarshal([]byte(c.ok("--json", "import", file)), &imp); err != nil {
				t.Fatal(err)
			}
			if out := c.ok("verify", imp.Snapshot); !strings.Contains(out, "1") {
				t.Fatalf("verify the encrypted import: %s", out)
			}
		})
	}
}

func gjsonString(raw []byte, field string) string {
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	v, _ := m[field].(string)
	return v
}

func sorted(s []string) []string {
	sort.Strings(s)
	return s
}

func backupWith(t *testing.T, id, name string) *backup.Document {
	t.Helper()
	doc := backup.New()
	if _, err := local.PutRecord(doc, "accounts", []byte(fmt.Sprintf(`{"id":%q,"site_name":%q}`, id, name)), 1700000000000); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestReplica: `sync --state DIR` is one more device. Edits on either side
// (deletions included) reach the other, also when both sync at the same
// moment, and the state directory never holds the password or passphrase.
func TestReplica(t *testing.T) {
	for _, s := range servers(t) {
		t.Run(s.Name, func(t *testing.T) {
			d, c := synced(t, s)
			state := filepath.Join(t.TempDir(), "replica")
			c.ok("sync", "--state", state)

			replica := func() []string {
				kv, err := openFileKV(state)
				if err != nil {
					t.Fatal(err)
				}
				doc, err := app.New(app.Config{KV: kv}).Doc(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, r := range doc.Collection("accounts").Records {
					out = append(out, r.ID+"="+gjsonString(r.Raw, "site_name"))
				}
				return sorted(out)
			}
			if got := strings.Join(replica(), ","); got != "a1=Alpha,a2=Beta" {
				t.Fatalf("replica after first sync: %s", got)
			}

			// The extension deletes Beta and adds Gamma while the replica
			// syncs at the same moment; then each syncs once more.
			if err := d.app.DeleteAccount(context.Background(), "a2"); err != nil {
				t.Fatal(err)
			}
			d.put("a3", "Gamma")
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); _ = c.run("sync", "--state", state) }()
			d.sync()
			wg.Wait()
			c.ok("sync", "--state", state)
			d.sync()
			want := "a1=Alpha,a3=Gamma"
			if got := strings.Join(replica(), ","); got != want {
				t.Fatalf("replica: %s, want %s", got, want)
			}
			if got := strings.Join(d.names(), ","); got != want {
				t.Fatalf("extension: %s, want %s", got, want)
			}

			// Another server for the same directory is refused.
			other := s
			other.URL = strings.TrimSuffix(s.URL, "/") + "/elsewhere/"
			if o := newCLI(t, other, c.folder, testPassphrase).run("sync", "--state", state); o.code != exitUsage {
				t.Fatalf("another server for the replica: exit %d, %s", o.code, o.stderr)
			}

			err := filepath.Walk(state, func(p string, info os.FileInfo, err error) error {
				if err != nil || info.IsDir() {
					return err
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				for _, secret := range []string{testPassword, testPassphrase} {
					if bytes.Contains(b, []byte(secret)) {
						t.Errorf("%s holds a secret", p)
					}
				}
				if info.Mode().Perm()&0o077 != 0 {
					t.Errorf("%s is readable by others: %v", p, info.Mode().Perm())
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
