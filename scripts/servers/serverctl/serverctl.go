// Package serverctl installs, starts and stops the real WebDAV servers the
// contract tests run against: Apache httpd + mod_dav, nginx + dav-ext,
// lighttpd + mod_webdav, rclone serve webdav, sabre/dav 1.8 under `php -S`,
// golang.org/x/net/webdav (plain, and with preconditions honoured), and the
// npm webdav-server; plus Apache and lighttpd again with Digest auth (MD5
// and SHA-256), so the client's Digest code meets real servers.
//
// Besides these, which Names lists and "all" starts, there are servers that
// only tests of a particular feature start, by name (AllNames lists them
// too): "nextcloud", sabre/dav 1.8 behind Nextcloud's URL layout and
// discovery answers, whose URL is the bare host and whose FilesURL is the
// user's folder.
//
// Every server runs in the foreground of its own session (so one kill of its
// process group stops master and workers), on a free port of 127.0.0.1, with
// its config, data, log and pidfile under RunDir/NAME. The pidfile holds the
// PID and the kernel start time of the process, so Stop never kills a process
// that merely reused the PID.
package serverctl

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Server is one running server: what a client needs to reach it.
type Server struct {
	Name string `json:"name"`
	URL  string `json:"url"` // base URL of the served folder, ending in "/"
	// FilesURL is set only by servers whose URL is not the served folder
	// itself (nextcloud: URL is the host root, FilesURL the user's WebDAV
	// folder /remote.php/dav/files/USER/).
	FilesURL string `json:"files_url,omitempty"`
	User     string `json:"user"`
	Pass     string `json:"pass"`
	PID      int    `json:"pid"`
	// Dir is the server's run directory (config, log, pidfile); Data is the
	// folder it serves.
	Dir  string `json:"dir"`
	Data string `json:"data"`
}

// Options locate the repository and the run directory.
type Options struct {
	// Repo is the repository root (where go.mod and node_modules live).
	Repo string
	// RunDir holds one sub-directory per server.
	RunDir string
	// ReadyTimeout bounds the wait for a started server to answer; 0 = 45 s.
	ReadyTimeout time.Duration
}

// spec describes how to run one server.
type spec struct {
	name string
	// packages are the Debian packages it needs; npm says it needs node_modules.
	packages []string
	npm      bool
	// extra servers are not part of "all" (Names): the contract suite does
	// not run against them; tests of one feature start them by name.
	extra bool
	// prepare writes the config under l.dir and returns the command to run
	// in the foreground.
	prepare func(l *launch) (*exec.Cmd, error)
}

// launch is the state of one start attempt.
type launch struct {
	opt        Options
	name       string
	dir, data  string
	port       int
	user, pass string
	url        string
	// filesURL becomes Server.FilesURL; the readiness probe uses it
	// instead of url when set.
	filesURL string
}

var specs = map[string]spec{}

func register(s spec) { specs[s.name] = s }

// Names lists the servers "all" means, sorted: every server serverctl knows
// but the extra ones (see AllNames). The contract suite runs against these.
func Names() []string {
	var n []string
	for k, s := range specs {
		if !s.extra {
			n = append(n, k)
		}
	}
	sort.Strings(n)
	return n
}

// AllNames lists every server serverctl can start, sorted, including the
// extra ones (nextcloud) that only feature tests start by name.
func AllNames() []string {
	var n []string
	for k := range specs {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Packages returns the Debian packages the named servers need.
func Packages(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		for _, p := range specs[n].packages {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// FindRepo walks up from dir to the directory holding go.mod.
func FindRepo(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("serverctl: no go.mod above the current directory; run from inside the repository")
		}
		dir = parent
	}
}

// Start starts the named server afresh (stopping a previous instance in the
// same run directory and wiping its data) and waits until it answers an
// authenticated PROPFIND. A port taken between choosing and binding it is
// retried with another port.
func Start(ctx context.Context, opt Options, name string) (*Server, error) {
	sp, ok := specs[name]
	if !ok {
		return nil, fmt.Errorf("serverctl: unknown server %q (known: %s)", name, strings.Join(AllNames(), ", "))
	}
	if opt.ReadyTimeout == 0 {
		opt.ReadyTimeout = 45 * time.Second
	}
	if err := Stop(opt.RunDir, name); err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		srv, err := startOnce(ctx, opt, sp)
		if err == nil {
			return srv, nil
		}
		lastErr = err
		if ctx.Err() != nil || !errors.Is(err, errExited) {
			break
		}
	}
	return nil, lastErr
}

var errExited = errors.New("the server process exited")

func startOnce(ctx context.Context, opt Options, sp spec) (*Server, error) {
	dir := filepath.Join(opt.RunDir, sp.name)
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("%s: cannot clear %s: %w", sp.name, dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// Servers that drop privileges (Apache, nginx) must reach their files.
	if st, err := os.Stat(opt.RunDir); err == nil && st.Mode().Perm()&0o001 == 0 {
		_ = os.Chmod(opt.RunDir, st.Mode().Perm()|0o711)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	l := &launch{
		opt: opt, name: sp.name, dir: dir, data: filepath.Join(dir, "data"),
		port: port, user: "user-" + sp.name, pass: randomPass(),
	}
	l.url = fmt.Sprintf("http://127.0.0.1:%d/dav/", port)
	if err := os.MkdirAll(l.data, 0o755); err != nil {
		return nil, err
	}
	cmd, err := sp.prepare(l)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sp.name, err)
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Stdin = nil
	// Its own session: survives the CLI that started it, is not hit by a
	// terminal's Ctrl-C, and its process group id is its PID.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: cannot run %s: %w", sp.name, cmd.Path, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	st, _ := startTime(pid)
	if err := os.WriteFile(pidFile(opt.RunDir, sp.name), []byte(fmt.Sprintf("%d %d\n", pid, st)), 0o644); err != nil {
		_ = killGroup(pid, exited)
		return nil, err
	}
	srv := &Server{Name: sp.name, URL: l.url, FilesURL: l.filesURL, User: l.user, Pass: l.pass, PID: pid, Dir: dir, Data: l.data}
	if err := waitReady(ctx, srv, exited, opt.ReadyTimeout); err != nil {
		_ = Stop(opt.RunDir, sp.name)
		return nil, fmt.Errorf("%s: %w\n%s", sp.name, err, tail(filepath.Join(dir, "server.log"), 20))
	}
	info, _ := json.MarshalIndent(srv, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "server.json"), info, 0o600); err != nil {
		_ = Stop(opt.RunDir, sp.name)
		return nil, err
	}
	return srv, nil
}

// StartAll starts the named servers in parallel. It returns every server
// that started and one error naming every server that did not; the caller
// stops the started ones either way.
func StartAll(ctx context.Context, opt Options, names []string) ([]*Server, error) {
	out := make([]*Server, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = Start(ctx, opt, n)
		}()
	}
	wg.Wait()
	var started []*Server
	for _, s := range out {
		if s != nil {
			started = append(started, s)
		}
	}
	return started, errors.Join(errs...)
}

// Stop stops the named server of runDir by the PID in its pidfile (the whole
// process group: master and workers). A missing pidfile, or one whose
// process is gone or is another process now, is not an error.
func Stop(runDir, name string) error {
	pf := pidFile(runDir, name)
	b, err := os.ReadFile(pf)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var pid int
	var st uint64
	if _, err := fmt.Sscan(string(b), &pid, &st); err != nil || pid <= 1 {
		_ = os.Remove(pf)
		return nil
	}
	if cur, err := startTime(pid); err != nil || (st != 0 && cur != st) {
		_ = os.Remove(pf)
		return nil
	}
	if err := killGroup(pid, nil); err != nil {
		return fmt.Errorf("%s: cannot stop pid %d: %w", name, pid, err)
	}
	return os.Remove(pf)
}

// Running returns the recorded details of a server started earlier in
// runDir, or an error if it is not running.
func Running(runDir, name string) (*Server, error) {
	b, err := os.ReadFile(filepath.Join(runDir, name, "server.json"))
	if err != nil {
		return nil, fmt.Errorf("%s is not running in %s", name, runDir)
	}
	var s Server
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	if !alive(s.PID) {
		return nil, fmt.Errorf("%s (pid %d) is not running any more", name, s.PID)
	}
	return &s, nil
}

func pidFile(runDir, name string) string { return filepath.Join(runDir, name, "server.pid") }

// killGroup sends SIGTERM to the process group of pid, waits up to 10 s for
// the leader to go, then SIGKILLs the group.
func killGroup(pid int, exited <-chan struct{}) error {
	if err := syscall.Kill(-pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if exited != nil {
			select {
			case <-exited:
				_ = syscall.Kill(-pid, syscall.SIGKILL) // stragglers of the group
				return nil
			default:
			}
		} else if !alive(pid) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := statFields(b)
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// startTime is field 22 of /proc/PID/stat: when the process started, in
// clock ticks since boot. Together with the PID it names one process.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	f := statFields(b)
	if len(f) < 20 {
		return 0, errors.New("short /proc stat")
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// statFields returns the fields of /proc/PID/stat after the command name
// (which may contain spaces), starting with the state (field 3).
func statFields(b []byte) []string {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomPass() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// waitReady polls an authenticated PROPFIND Depth 0 on the base URL (the
// FilesURL where there is one) until it answers 207, the process exits, or
// the timeout passes.
func waitReady(ctx context.Context, s *Server, exited <-chan struct{}, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	target := s.URL
	if s.FilesURL != "" {
		target = s.FilesURL
	}
	var last string
	for {
		resp, err := probe(client, func() *http.Request {
			req, _ := http.NewRequestWithContext(ctx, "PROPFIND", target, nil)
			req.Header.Set("Depth", "0")
			return req
		}, s.User, s.Pass)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusMultiStatus {
				return nil
			}
			last = "PROPFIND answered " + resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-exited:
			return fmt.Errorf("%w before it answered (last: %s)", errExited, last)
		case <-ctx.Done():
			return fmt.Errorf("no answer within %s (last: %s)", timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tail(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  log " + file + ":\n    " + strings.Join(lines, "\n    ")
}
