package serverctl

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	_ "embed"
)

// The per-server recipes. Each writes its config under l.dir, serves l.data
// under /dav/ on 127.0.0.1:l.port, accepts only l.user / l.pass over Basic
// auth, and has no request body limit.

func init() {
	register(spec{name: "apache", packages: []string{"apache2"}, prepare: prepareApache(false)})
	// The same servers with Digest auth: Apache's mod_auth_digest speaks
	// MD5, lighttpd SHA-256, so the client's RFC 7616 code meets both.
	register(spec{name: "apache-digest", packages: []string{"apache2"}, prepare: prepareApache(true)})
	register(spec{name: "lighttpd-digest", packages: []string{"lighttpd", "lighttpd-mod-webdav"}, prepare: prepareLighttpd(true)})
	register(spec{name: "nginx", packages: []string{"nginx", "libnginx-mod-http-dav-ext"}, prepare: prepareNginx})
	register(spec{name: "lighttpd", packages: []string{"lighttpd", "lighttpd-mod-webdav"}, prepare: prepareLighttpd(false)})
	register(spec{name: "rclone", packages: []string{"rclone"}, prepare: prepareRclone})
	register(spec{name: "sabre", packages: sabrePackages, prepare: prepareSabre})
	register(spec{name: "xnet", prepare: prepareXnet(false)})
	register(spec{name: "xnet-pre", prepare: prepareXnet(true)})
	register(spec{name: "npm", npm: true, prepare: prepareNpm})
	// Not in "all": Nextcloud's layout for discovery tests, on the same
	// sabre/dav 1.8. nextcloud-wellknown adds the /.well-known/webdav
	// redirect a stock Nextcloud does not have (see nextcloud.php).
	register(spec{name: "nextcloud", extra: true, packages: sabrePackages, prepare: prepareNextcloud(false)})
	register(spec{name: "nextcloud-wellknown", extra: true, packages: sabrePackages, prepare: prepareNextcloud(true)})
}

var sabrePackages = []string{"php-cli", "php-xml", "php-mbstring", "php-sabre-dav"}

// htpasswdSHA is an Apache/nginx password file line in the {SHA} scheme,
// which both read and which needs no external tool to write.
func htpasswdSHA(user, pass string) string {
	sum := sha1.Sum([]byte(pass))
	return user + ":{SHA}" + base64.StdEncoding.EncodeToString(sum[:]) + "\n"
}

func write(path, content string, mode os.FileMode) error {
	return os.WriteFile(path, []byte(content), mode)
}

// chownTree gives dir and everything below it to the named account, so a
// server that drops privileges to it can write there.
func chownTree(dir, account string) error {
	u, err := user.Lookup(account)
	if err != nil {
		return fmt.Errorf("no %s account: %w", account, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// reachableBy checks that account can walk down to dir, so a server that
// drops privileges fails here with a clear message instead of with 403s.
func reachableBy(dir, account string) error {
	u, err := user.Lookup(account)
	if err != nil {
		return fmt.Errorf("no %s account: %w", account, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		sys := st.Sys().(*syscall.Stat_t)
		perm := st.Mode().Perm()
		ok := perm&0o001 != 0 || (int(sys.Uid) == uid && perm&0o100 != 0)
		if !ok {
			return fmt.Errorf("%s cannot enter %s (mode %v): choose a run directory it can reach", account, d, perm)
		}
		if d == "/" {
			return nil
		}
	}
}

func isRoot() bool { return os.Geteuid() == 0 }

// DefaultRunDir is REPO/.run/servers, unless davsync runs as root and
// www-data cannot enter the repository: a clone under root's 0700 home or
// in a 0700 mktemp directory. Apache, nginx and lighttpd drop privileges
// to www-data and must reach their data, so the run directory is then
// one under the system's temp directory, named for the repository so
// that stop finds what start made.
func DefaultRunDir(repo string) string {
	dir := filepath.Join(repo, ".run", "servers")
	if !isRoot() {
		return dir
	}
	if _, err := user.Lookup("www-data"); err != nil {
		return dir
	}
	if reachableBy(repo, "www-data") == nil {
		return dir
	}
	sum := sha256.Sum256([]byte(repo))
	return filepath.Join(os.TempDir(), "davsync-servers-"+hex.EncodeToString(sum[:6]))
}

// digestLine is an htdigest file line: user:realm:HEX(H(user:realm:pass)).
func digestLine(user, realm, pass string, h func([]byte) []byte) string {
	return user + ":" + realm + ":" + hex.EncodeToString(h([]byte(user+":"+realm+":"+pass))) + "\n"
}

func md5Sum(b []byte) []byte    { s := md5.Sum(b); return s[:] }
func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func prepareApache(digest bool) func(l *launch) (*exec.Cmd, error) {
	return func(l *launch) (*exec.Cmd, error) { return apache(l, digest) }
}

func prepareLighttpd(digest bool) func(l *launch) (*exec.Cmd, error) {
	return func(l *launch) (*exec.Cmd, error) { return lighttpd(l, digest) }
}

func apache(l *launch, digest bool) (*exec.Cmd, error) {
	if !isRoot() {
		return nil, fmt.Errorf("apache must be started as root (it switches to www-data); run as root")
	}
	if err := reachableBy(l.data, "www-data"); err != nil {
		return nil, err
	}
	lockDir := filepath.Join(l.dir, "lock")
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		return nil, err
	}
	users := htpasswdSHA(l.user, l.pass)
	auth := "AuthType Basic\n  AuthBasicProvider file"
	realm := "davsync"
	if digest {
		// A non-ASCII realm, sent as raw UTF-8: the Digest hash covers its
		// bytes, which fetch hands over one character per byte
		// (wasm/jsfetch must turn them back into the same bytes).
		realm = "davsync Zürich"
		users = digestLine(l.user, realm, l.pass, md5Sum)
		auth = "AuthType Digest\n  AuthDigestProvider file\n  AuthDigestDomain /dav/"
	}
	if err := write(filepath.Join(l.dir, "htpasswd"), users, 0o644); err != nil {
		return nil, err
	}
	mods := []string{"mpm_event", "authn_core", "authz_core", "authn_file", "auth_basic", "auth_digest", "authz_user", "alias", "mime", "dav", "dav_fs"}
	var b strings.Builder
	for _, m := range mods {
		fmt.Fprintf(&b, "LoadModule %s_module /usr/lib/apache2/modules/mod_%s.so\n", m, m)
	}
	fmt.Fprintf(&b, `ServerRoot "%[1]s"
DefaultRuntimeDir "%[1]s"
PidFile "%[1]s/httpd.pid"
Mutex "file:%[1]s" default
ErrorLog "%[1]s/error.log"
LogLevel warn
Listen 127.0.0.1:%[2]d
ServerName 127.0.0.1
User www-data
Group www-data
StartServers 1
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
TypesConfig /etc/mime.types
AddType application/gzip .gz
DavLockDB "%[1]s/lock/DavLock"
LimitRequestBody 0
LimitXMLRequestBody 0
Timeout 60
<Directory />
  AllowOverride None
  Require all denied
</Directory>
Alias /dav/ "%[3]s/"
<Directory "%[3]s">
  Options None
  AllowOverride None
  Dav On
  %[4]s
  AuthName "%[5]s"
  AuthUserFile "%[1]s/htpasswd"
  Require valid-user
</Directory>
`, l.dir, l.port, l.data, auth, realm)
	conf := filepath.Join(l.dir, "httpd.conf")
	if err := write(conf, b.String(), 0o644); err != nil {
		return nil, err
	}
	if err := chownTree(l.data, "www-data"); err != nil {
		return nil, err
	}
	if err := chownTree(lockDir, "www-data"); err != nil {
		return nil, err
	}
	cmd := exec.Command("/usr/sbin/apache2", "-f", conf, "-DFOREGROUND")
	// Debian's apache2 reads these from envvars; the config above names
	// every path itself, so only the locale matters.
	cmd.Env = append(os.Environ(), "LANG=C")
	return cmd, nil
}

// webRoot lays out a server that serves root + URI: the data folder is
// www/dav (l.data), beside a tmp folder for its uploads.
func (l *launch) webRoot() (www, tmp string, err error) {
	www = filepath.Join(l.dir, "www")
	l.data = filepath.Join(www, "dav")
	tmp = filepath.Join(l.dir, "tmp")
	for _, d := range []string{l.data, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", "", err
		}
	}
	_ = os.Remove(filepath.Join(l.dir, "data"))
	return www, tmp, nil
}

func prepareNginx(l *launch) (*exec.Cmd, error) {
	www, tmp, err := l.webRoot()
	if err != nil {
		return nil, err
	}
	if err := write(filepath.Join(l.dir, "htpasswd"), htpasswdSHA(l.user, l.pass), 0o644); err != nil {
		return nil, err
	}
	userLine := ""
	if isRoot() {
		if err := reachableBy(l.data, "www-data"); err != nil {
			return nil, err
		}
		userLine = "user www-data www-data;"
		if err := chownTree(www, "www-data"); err != nil {
			return nil, err
		}
		if err := chownTree(tmp, "www-data"); err != nil {
			return nil, err
		}
	}
	conf := fmt.Sprintf(`load_module /usr/lib/nginx/modules/ngx_http_dav_ext_module.so;
daemon off;
master_process on;
worker_processes 1;
%[4]s
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  client_body_temp_path %[3]s/body;
  proxy_temp_path %[3]s/proxy;
  fastcgi_temp_path %[3]s/fastcgi;
  uwsgi_temp_path %[3]s/uwsgi;
  scgi_temp_path %[3]s/scgi;
  dav_ext_lock_zone zone=davlock:1m;
  server {
    listen 127.0.0.1:%[2]d;
    root %[5]s;
    location /dav/ {
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_ext_methods PROPFIND OPTIONS LOCK UNLOCK;
      dav_ext_lock zone=davlock;
      create_full_put_path off;
      dav_access user:rw group:rw all:r;
      client_max_body_size 0;
      auth_basic "davsync";
      auth_basic_user_file %[1]s/htpasswd;
    }
  }
}
`, l.dir, l.port, tmp, userLine, www)
	path := filepath.Join(l.dir, "nginx.conf")
	if err := write(path, conf, 0o644); err != nil {
		return nil, err
	}
	return exec.Command("/usr/sbin/nginx", "-c", path, "-p", l.dir, "-e", filepath.Join(l.dir, "error.log")), nil
}

func lighttpd(l *launch, digest bool) (*exec.Cmd, error) {
	www, tmp, err := l.webRoot()
	if err != nil {
		return nil, err
	}
	users := l.user + ":" + l.pass + "\n"
	auth := `auth.backend = "plain"
  auth.backend.plain.userfile = "` + l.dir + `/users"
  auth.require = ("" => ("method" => "basic", "realm" => "davsync", "require" => "valid-user"))`
	if digest {
		users = digestLine(l.user, "davsync", l.pass, sha256Sum)
		auth = `auth.backend = "htdigest"
  auth.backend.htdigest.userfile = "` + l.dir + `/users"
  auth.require = ("" => ("method" => "digest", "realm" => "davsync", "require" => "valid-user", "algorithm" => "SHA-256"))`
	}
	if err := write(filepath.Join(l.dir, "users"), users, 0o600); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`server.modules = ("mod_auth", "mod_authn_file", "mod_webdav")
server.document-root = %[4]q
server.bind = "127.0.0.1"
server.port = %[2]d
server.pid-file = %[1]q + "/lighttpd.pid"
server.errorlog = %[1]q + "/error.log"
server.upload-dirs = (%[3]q)
server.max-request-size = 0
include_shell "/usr/share/lighttpd/create-mime.conf.pl"
$HTTP["url"] =~ "^/dav($|/)" {
  webdav.activate = "enable"
  webdav.is-readonly = "disable"
  webdav.sqlite-db-name = %[1]q + "/webdav.db"
  %[5]s
}
`, l.dir, l.port, tmp, www, auth)
	path := filepath.Join(l.dir, "lighttpd.conf")
	if err := write(path, conf, 0o644); err != nil {
		return nil, err
	}
	return exec.Command("/usr/sbin/lighttpd", "-D", "-f", path), nil
}

func prepareRclone(l *launch) (*exec.Cmd, error) {
	cfg := filepath.Join(l.dir, "rclone.conf")
	if err := write(cfg, "", 0o600); err != nil {
		return nil, err
	}
	bin, err := exec.LookPath("rclone")
	if err != nil {
		return nil, fmt.Errorf("rclone is not installed: %w", err)
	}
	cmd := exec.Command(bin, "serve", "webdav", l.data,
		"--addr", fmt.Sprintf("127.0.0.1:%d", l.port), "--baseurl", "/dav",
		"--user", l.user, "--pass", l.pass, "--config", cfg, "--log-level", "NOTICE")
	return cmd, nil
}

//go:embed sabre.php
var sabreFront string

func prepareSabre(l *launch) (*exec.Cmd, error) {
	front := filepath.Join(l.dir, "front.php")
	if err := write(front, sabreFront, 0o644); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(l.dir, "state"), 0o755); err != nil {
		return nil, err
	}
	return phpServer(l, front,
		"DAVSYNC_SABRE_DATA="+l.data,
		"DAVSYNC_SABRE_STATE="+filepath.Join(l.dir, "state"),
		"DAVSYNC_SABRE_USER="+l.user,
		"DAVSYNC_SABRE_PASS="+l.pass), nil
}

// phpServer runs `php -S 127.0.0.1:PORT front` with four workers and no
// body or time limits, the front script reading env.
func phpServer(l *launch, front string, env ...string) *exec.Cmd {
	cmd := exec.Command("php",
		"-d", "display_errors=stderr", "-d", "error_reporting=E_ALL & ~E_DEPRECATED & ~E_NOTICE",
		"-d", "memory_limit=512M", "-d", "post_max_size=0", "-d", "upload_max_filesize=0",
		"-d", "max_execution_time=0", "-d", "output_buffering=0",
		"-S", fmt.Sprintf("127.0.0.1:%d", l.port), front)
	cmd.Dir = l.dir
	cmd.Env = append(append(os.Environ(), "PHP_CLI_SERVER_WORKERS=4"), env...)
	return cmd
}

//go:embed nextcloud.php
var nextcloudFront string

// prepareNextcloud serves nextcloud.php: Nextcloud's URLs (/status.php,
// /.well-known/*, /remote.php/dav/, /remote.php/webdav/) over one user's
// folder, kept where Nextcloud keeps it (DATA/USER/files). The URL is the
// bare host; FilesURL is /remote.php/dav/files/USER/. wellKnownWebdav
// adds a 301 from /.well-known/webdav to /remote.php/dav/.
func prepareNextcloud(wellKnownWebdav bool) func(l *launch) (*exec.Cmd, error) {
	return func(l *launch) (*exec.Cmd, error) {
		l.data = filepath.Join(l.dir, "data", l.user, "files")
		state := filepath.Join(l.dir, "state")
		for _, d := range []string{l.data, state} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, err
			}
		}
		front := filepath.Join(l.dir, "front.php")
		if err := write(front, nextcloudFront, 0o644); err != nil {
			return nil, err
		}
		l.url = fmt.Sprintf("http://127.0.0.1:%d/", l.port)
		l.filesURL = l.url + "remote.php/dav/files/" + url.PathEscape(l.user) + "/"
		wk := "0"
		if wellKnownWebdav {
			wk = "1"
		}
		return phpServer(l, front,
			"DAVSYNC_NC_DATA="+l.data,
			"DAVSYNC_NC_STATE="+state,
			"DAVSYNC_NC_USER="+l.user,
			"DAVSYNC_NC_PASS="+l.pass,
			"DAVSYNC_NC_WELLKNOWN_WEBDAV="+wk), nil
	}
}

func prepareXnet(preconditions bool) func(l *launch) (*exec.Cmd, error) {
	return func(l *launch) (*exec.Cmd, error) {
		bin, err := buildXnet(l.opt)
		if err != nil {
			return nil, err
		}
		args := []string{"-addr", fmt.Sprintf("127.0.0.1:%d", l.port), "-root", l.data, "-user", l.user, "-prefix", "/dav/"}
		if preconditions {
			args = append(args, "-preconditions")
		}
		cmd := exec.Command(bin, args...)
		// The password goes through the environment, not the command line.
		cmd.Env = append(os.Environ(), "XNETDAV_PASS="+l.pass)
		return cmd, nil
	}
}

//go:embed npmdav.js
var npmServer string

func prepareNpm(l *launch) (*exec.Cmd, error) {
	mods := filepath.Join(l.opt.Repo, "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "webdav-server")); err != nil {
		return nil, fmt.Errorf("node_modules/webdav-server is missing: run the install step (npm ci)")
	}
	js := filepath.Join(l.dir, "server.js")
	if err := write(js, npmServer, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("node", js)
	cmd.Env = append(os.Environ(),
		"NODE_PATH="+mods,
		"DAVSYNC_NPM_PORT="+strconv.Itoa(l.port),
		"DAVSYNC_NPM_DATA="+l.data,
		"DAVSYNC_NPM_USER="+l.user,
		"DAVSYNC_NPM_PASS="+l.pass)
	return cmd, nil
}
