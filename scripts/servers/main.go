// Command servers installs, starts and stops the real WebDAV servers the
// contract tests use (see package serverctl for how each one runs).
//
//	go run ./scripts/servers install [NAME...]
//	go run ./scripts/servers start [-dir DIR] [-json|-env] NAME...|all
//	go run ./scripts/servers stop  [-dir DIR] NAME...|all
//	go run ./scripts/servers env   [-dir DIR] NAME     (of a started server)
//	go run ./scripts/servers names
//	go run ./scripts/servers rundir                   (the default run directory)
//
// start prints one line per server, "NAME URL USER PASS", or with -json one
// JSON object per line, or with -env the DAVSYNC_TEST_URL/USER/PASS (and
// SERVER, DATA) assignments of the (single) server, plus
// DAVSYNC_TEST_FILES_URL for a server whose URL is not its files folder
// (nextcloud). The default run directory is .run/servers in the repository,
// or one under the system's temp directory when the servers that drop
// privileges could not enter the repository (serverctl.DefaultRunDir).
//
// "all" starts the servers the contract suite runs against; the extra
// servers (nextcloud, nextcloud-wellknown) start only by name. stop all,
// install and names cover every server.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/davsync/davsync/scripts/servers/serverctl"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd := os.Args[1]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	dir := fs.String("dir", "", "run directory (default: REPO/.run/servers, see rundir)")
	asJSON := fs.Bool("json", false, "print one JSON object per server")
	asEnv := fs.Bool("env", false, "print DAVSYNC_TEST_URL/USER/PASS of the server")
	_ = fs.Parse(os.Args[2:])
	repo, err := serverctl.FindRepo(".")
	if err != nil {
		fail(err)
	}
	if *dir == "" {
		*dir = serverctl.DefaultRunDir(repo)
	}
	*dir, _ = filepath.Abs(*dir)
	names := fs.Args()
	if len(names) == 1 && names[0] == "all" || len(names) == 0 && (cmd == "install" || cmd == "stop") {
		names = serverctl.AllNames()
		if cmd == "start" {
			names = serverctl.Names()
		}
	}
	opt := serverctl.Options{Repo: repo, RunDir: *dir}
	switch cmd {
	case "rundir":
		fmt.Println(*dir)
	case "names":
		for _, n := range serverctl.AllNames() {
			fmt.Println(n)
		}
	case "install":
		if err := serverctl.Install(repo, names, os.Stderr); err != nil {
			fail(err)
		}
	case "start":
		if len(names) == 0 {
			usage()
		}
		if *asEnv && len(names) != 1 {
			fail(fmt.Errorf("-env takes exactly one server"))
		}
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			fail(err)
		}
		// Ctrl-C while starting must not leave half the servers running.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		started, err := serverctl.StartAll(ctx, opt, names)
		if err != nil {
			for _, s := range started {
				_ = serverctl.Stop(*dir, s.Name)
			}
			fail(err)
		}
		for _, s := range started {
			print(s, *asJSON, *asEnv)
		}
	case "env":
		if len(names) != 1 {
			usage()
		}
		s, err := serverctl.Running(*dir, names[0])
		if err != nil {
			fail(err)
		}
		print(s, false, true)
	case "stop":
		bad := false
		for _, n := range names {
			if err := serverctl.Stop(*dir, n); err != nil {
				fmt.Fprintln(os.Stderr, "servers:", err)
				bad = true
			}
		}
		if bad {
			os.Exit(1)
		}
	default:
		usage()
	}
}

func print(s *serverctl.Server, asJSON, asEnv bool) {
	switch {
	case asJSON:
		b, _ := json.Marshal(s)
		fmt.Println(string(b))
	case asEnv:
		fmt.Printf("DAVSYNC_TEST_URL=%s\nDAVSYNC_TEST_USER=%s\nDAVSYNC_TEST_PASS=%s\nDAVSYNC_TEST_SERVER=%s\nDAVSYNC_TEST_DATA=%s\n", s.URL, s.User, s.Pass, s.Name, s.Data)
		if s.FilesURL != "" {
			fmt.Printf("DAVSYNC_TEST_FILES_URL=%s\n", s.FilesURL)
		}
	default:
		fmt.Printf("%s %s %s %s\n", s.Name, s.URL, s.User, s.Pass)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: servers install [NAME...] | start [-dir DIR] [-json|-env] NAME...|all | stop [-dir DIR] [NAME...|all] | env [-dir DIR] NAME | names | rundir`)
	fmt.Fprintln(os.Stderr, "servers (all):", serverctl.Names())
	fmt.Fprintln(os.Stderr, "by name only:", extras())
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "servers:", err)
	os.Exit(1)
}

// extras are the servers "all" leaves out.
func extras() []string {
	in := map[string]bool{}
	for _, n := range serverctl.Names() {
		in[n] = true
	}
	var out []string
	for _, n := range serverctl.AllNames() {
		if !in[n] {
			out = append(out, n)
		}
	}
	return out
}
