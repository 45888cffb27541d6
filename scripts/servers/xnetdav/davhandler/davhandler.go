// Package davhandler is a small WebDAV server over a local folder:
// golang.org/x/net/webdav behind HTTP Basic auth, with an optional layer that
// honours If-Match and If-None-Match on writes, which x/net/webdav ignores.
//
// Without Preconditions it behaves exactly like a bare x/net/webdav server
// (what the contract suite calls "xnet"). With Preconditions it is the local
// server `make run` embeds: ETags are content hashes, PUT is atomic
// (temporary file + rename), and every write is serialised so that checking a
// precondition and acting on it cannot interleave with another write.
package davhandler

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/net/webdav"
)

// tmpPrefix marks the temporary files of an atomic PUT; listings hide them.
const tmpPrefix = ".davhandler-put-"

// Config says what to serve and to whom.
type Config struct {
	// Root is the local folder served.
	Root string
	// Prefix is the URL path the folder appears under, e.g. "/dav/".
	Prefix string
	// User and Pass are the only accepted Basic credentials.
	User, Pass string
	// Preconditions turns on If-Match / If-None-Match handling, content-hash
	// ETags and atomic PUTs.
	Preconditions bool
	// Logf, when set, receives one line per failed request (never credentials).
	Logf func(format string, args ...any)
}

// Handler serves WebDAV under Config.Prefix.
type Handler struct {
	cfg   Config
	dav   *webdav.Handler
	write sync.Mutex // held by every mutating request in Preconditions mode
}

// New returns the handler for cfg. Root must exist.
func New(cfg Config) (*Handler, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "/"
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, errors.New("davhandler: root " + root + " is not a directory")
	}
	cfg.Root = root
	var fsys webdav.FileSystem = webdav.Dir(root)
	if cfg.Preconditions {
		fsys = hashFS{root: root, Dir: webdav.Dir(root)}
	}
	h := &Handler{cfg: cfg}
	h.dav = &webdav.Handler{
		Prefix:     strings.TrimSuffix(cfg.Prefix, "/"),
		FileSystem: fsys,
		LockSystem: webdav.NewMemLS(),
		Logger: func(r *http.Request, err error) {
			if err != nil && cfg.Logf != nil {
				cfg.Logf("%s %s: %v", r.Method, r.URL.Path, err)
			}
		},
	}
	return h, nil
}

// ServeHTTP checks the credentials, then serves the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, p, ok := r.BasicAuth()
	if !ok || !equal(u, h.cfg.User) || !equal(p, h.cfg.Pass) {
		w.Header().Set("WWW-Authenticate", `Basic realm="davsync", charset="UTF-8"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	if !h.cfg.Preconditions {
		h.dav.ServeHTTP(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, "PROPFIND":
		// Reads need no lock: PUT replaces files by rename, so a reader sees
		// the old or the new content, never a mix. GET and HEAD evaluate
		// If-None-Match / If-Match in http.ServeContent against our ETag.
		h.dav.ServeHTTP(w, r)
		return
	}
	h.write.Lock()
	defer h.write.Unlock()
	if r.Method == http.MethodPut {
		h.put(w, r)
		return
	}
	// DELETE, MOVE, COPY, MKCOL, PROPPATCH, LOCK, UNLOCK: the preconditions
	// apply to the request URI (the source of a MOVE or COPY).
	if r.Header.Get("If-Match") != "" || r.Header.Get("If-None-Match") != "" {
		name, ok := h.localPath(r.URL.Path)
		if !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if _, ok := h.preconditions(w, r, name); !ok {
			return
		}
	}
	h.dav.ServeHTTP(w, r)
}

// preconditions checks r's If-Match and If-None-Match against the file at
// name, answering the request (412, or 500) when they do not hold; exists
// says whether the file is there.
func (h *Handler) preconditions(w http.ResponseWriter, r *http.Request, name string) (exists, ok bool) {
	tag, exists, err := currentETag(name)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return false, false
	}
	if !preconditionsHold(r.Header, tag, exists) {
		http.Error(w, "precondition failed", http.StatusPreconditionFailed)
		return exists, false
	}
	return exists, true
}

// put stores the body atomically. It cannot lose an edit: the precondition
// is checked and the new content renamed into place while h.write is held,
// so no other write can land between the check and the rename, and the old
// file stays intact until the new one is complete and synced.
func (h *Handler) put(w http.ResponseWriter, r *http.Request) {
	name, ok := h.localPath(r.URL.Path)
	if !ok || strings.HasSuffix(r.URL.Path, "/") {
		http.Error(w, "not a file path", http.StatusMethodNotAllowed)
		return
	}
	if strings.HasPrefix(filepath.Base(name), tmpPrefix) {
		http.Error(w, "reserved name", http.StatusForbidden)
		return
	}
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		http.Error(w, "a folder has this name", http.StatusMethodNotAllowed)
		return
	}
	exists, ok := h.preconditions(w, r, name)
	if !ok {
		return
	}
	dir := filepath.Dir(name)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		http.Error(w, "parent folder missing", http.StatusConflict)
		return
	}
	tmp, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	sum := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, sum), r.Body)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("ETag", formatETag(sum.Sum(nil)))
	if exists {
		w.WriteHeader(http.StatusNoContent)
	} else {
		w.WriteHeader(http.StatusCreated)
	}
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	if h.cfg.Logf != nil {
		h.cfg.Logf("%s %s: %v", r.Method, r.URL.Path, err)
	}
	http.Error(w, http.StatusText(status), status)
}

// localPath maps a URL path under the prefix to a file below Root.
func (h *Handler) localPath(urlPath string) (string, bool) {
	p := strings.TrimSuffix(h.cfg.Prefix, "/")
	if urlPath != p && !strings.HasPrefix(urlPath, p+"/") {
		return "", false
	}
	rel := path.Clean("/" + strings.TrimPrefix(urlPath, p))
	return filepath.Join(h.cfg.Root, filepath.FromSlash(rel)), true
}

// preconditionsHold evaluates If-Match and If-None-Match (RFC 9110 13.1)
// against the current state for a method that changes something: there a
// failed If-None-Match is 412 (only GET and HEAD turn it into 304).
func preconditionsHold(h http.Header, tag string, exists bool) bool {
	if im := h.Get("If-Match"); im != "" {
		if !exists || !matches(im, tag, true) {
			return false
		}
	}
	if inm := h.Get("If-None-Match"); inm != "" {
		if exists && matches(inm, tag, false) {
			return false
		}
	}
	return true
}

// matches reports whether the header list (or "*") names tag. Strong
// comparison refuses weak tags; ours are all strong.
func matches(list, tag string, strong bool) bool {
	if strings.TrimSpace(list) == "*" {
		return true
	}
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if strings.HasPrefix(t, "W/") {
			if strong {
				continue
			}
			t = t[2:]
		}
		if t == tag {
			return true
		}
	}
	return false
}

// currentETag hashes the file's content. Content hashes, unlike x/net's
// mtime+size, change on every change of content however fast the rewrites
// come, so If-Match can never accept a stale copy.
func currentETag(name string) (tag string, exists bool, err error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", false, err
	}
	if st.IsDir() {
		// The same form x/net/webdav reports for folders in PROPFIND.
		return fmt.Sprintf(`"%x%x"`, st.ModTime().UnixNano(), st.Size()), true, nil
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", false, err
	}
	return formatETag(sum.Sum(nil)), true, nil
}

func formatETag(sum []byte) string { return `"` + hex.EncodeToString(sum[:16]) + `"` }

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// hashFS is webdav.Dir with content-hash ETags that hides PUT temporaries.
type hashFS struct {
	webdav.Dir
	root string
}

func (f hashFS) local(name string) string {
	return filepath.Join(f.root, filepath.FromSlash(path.Clean("/"+name)))
}

func (f hashFS) Stat(ctx context.Context, name string) (os.FileInfo, error) {
	fi, err := f.Dir.Stat(ctx, name)
	if err != nil {
		return nil, err
	}
	return hashInfo{FileInfo: fi, path: f.local(name)}, nil
}

func (f hashFS) OpenFile(ctx context.Context, name string, flag int, perm os.FileMode) (webdav.File, error) {
	file, err := f.Dir.OpenFile(ctx, name, flag, perm)
	if err != nil {
		return nil, err
	}
	return hashFile{File: file, path: f.local(name)}, nil
}

type hashFile struct {
	webdav.File
	path string
}

func (f hashFile) Stat() (os.FileInfo, error) {
	fi, err := f.File.Stat()
	if err != nil {
		return nil, err
	}
	return hashInfo{FileInfo: fi, path: f.path}, nil
}

func (f hashFile) Readdir(count int) ([]os.FileInfo, error) {
	list, err := f.File.Readdir(count)
	out := list[:0]
	for _, fi := range list {
		if strings.HasPrefix(fi.Name(), tmpPrefix) {
			continue
		}
		out = append(out, hashInfo{FileInfo: fi, path: filepath.Join(f.path, fi.Name())})
	}
	return out, err
}

// hashInfo implements webdav.ETager so PROPFIND, GET and HEAD report the
// same content-hash ETag that PUT's precondition compares against.
type hashInfo struct {
	os.FileInfo
	path string
}

func (i hashInfo) ETag(ctx context.Context) (string, error) {
	if i.IsDir() {
		return "", webdav.ErrNotImplemented
	}
	tag, exists, err := currentETag(i.path)
	if err != nil {
		return "", err
	}
	if !exists {
		return "", os.ErrNotExist
	}
	return tag, nil
}

// StdLogf is a Logf that writes through the standard logger.
func StdLogf(format string, args ...any) { log.Printf(format, args...) }
