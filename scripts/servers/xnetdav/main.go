// Command xnetdav serves a local folder over WebDAV with golang.org/x/net/webdav
// behind HTTP Basic auth, for the contract tests and as the local server of
// `make run`.
//
//	go run ./scripts/servers/xnetdav -addr 127.0.0.1:0 -root DIR -user U -pass P [-prefix /dav/] [-preconditions]
//
// It prints the server's base URL as the first line on stdout once it is
// listening, then serves until SIGINT or SIGTERM. The password may also come
// from the environment variable XNETDAV_PASS so it stays out of `ps`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/davsync/davsync/scripts/servers/xnetdav/davhandler"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	root := flag.String("root", "", "folder to serve (created if missing)")
	prefix := flag.String("prefix", "/dav/", "URL path the folder is served under")
	user := flag.String("user", "", "Basic auth user name")
	pass := flag.String("pass", "", "Basic auth password (or set XNETDAV_PASS)")
	pre := flag.Bool("preconditions", false, "honour If-Match / If-None-Match, content-hash ETags, atomic PUT")
	flag.Parse()
	if *pass == "" {
		*pass = os.Getenv("XNETDAV_PASS")
	}
	if *root == "" || *user == "" || *pass == "" {
		fmt.Fprintln(os.Stderr, "xnetdav: -root, -user and -pass (or XNETDAV_PASS) are required")
		os.Exit(2)
	}
	if err := os.MkdirAll(*root, 0o755); err != nil {
		log.Fatalf("xnetdav: cannot create the root folder: %v", err)
	}
	h, err := davhandler.New(davhandler.Config{
		Root: *root, Prefix: *prefix, User: *user, Pass: *pass,
		Preconditions: *pre, Logf: davhandler.StdLogf,
	})
	if err != nil {
		log.Fatalf("xnetdav: %v", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("xnetdav: cannot listen on %s: %v", *addr, err)
	}
	p := "/" + strings.Trim(*prefix, "/") + "/"
	if p == "//" {
		p = "/"
	}
	fmt.Printf("http://%s%s\n", ln.Addr().String(), p)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("xnetdav: %v", err)
	}
}
