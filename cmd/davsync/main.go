// Command davsync reads, checks and restores davsync's backups on a WebDAV
// server without a browser, and can keep a headless replica for cron. It is
// the same engine as the extension (internal/...), run natively: the same
// file layout, the same readers, the same conditional writes, so running it
// while browsers sync loses nothing.
//
//	davsync [flags] check | list | verify [NAME|FILE] | export [NAME] [-o FILE] [--only accounts|preferences]
//	        | snapshot | restore NAME [--only ...] [--yes] | import FILE | sync --state DIR
//
// Connection: --url (DAVSYNC_URL: the folder URL the extension uses, or the
// sync file's URL), --folder (davsync's folder inside it, default davsync),
// --user (DAVSYNC_USER). The password comes from DAVSYNC_PASSWORD,
// --password-file or a prompt when stdin is a terminal, never from a flag
// value; the passphrase the same way (DAVSYNC_PASSPHRASE,
// --passphrase-file). --json prints one JSON value. Exit codes: 0 ok, 1
// usage, 2 server or network, 3 damaged or unreadable backup, 4 wrong or
// missing passphrase, 5 needs confirmation.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/davsync/davsync/internal/errkind"
)

// Exit codes.
const (
	exitOK       = 0
	exitUsage    = 1
	exitServer   = 2
	exitDamaged  = 3
	exitPass     = 4
	exitConfirm  = 5
	usageMessage = `usage: davsync [flags] COMMAND [ARGS]

commands:
  check                         test the server (what Test connection shows)
  list                          the sync file and every snapshot
  verify [NAME | FILE]          read and validate the sync file, a snapshot or a local file
  export [NAME] [-o FILE] [--only accounts|preferences]
                                the data as plain davsync JSON (to stdout or FILE, mode 0600)
  snapshot                      keep the current sync file as a snapshot now
  restore NAME [--only accounts|preferences] [--yes]
                                make snapshot NAME the current data (the current file is kept first)
  import FILE                   upload a davsync or All API Hub file as a new snapshot
  sync --state DIR              one sync cycle of a replica kept in DIR (for cron)

flags (also as environment variables):
  --url URL            DAVSYNC_URL     the WebDAV folder (as in the extension) or the sync file's URL
  --folder PATH                        davsync's folder inside the URL (default davsync)
  --user NAME          DAVSYNC_USER
  --password-file F    DAVSYNC_PASSWORD    (else asked when stdin is a terminal)
  --passphrase-file F  DAVSYNC_PASSPHRASE  (for encrypted files)
  --json                               print one JSON value
  --allow-insecure                     allow http:// to another machine (the password crosses unencrypted)
  --timeout D                          give up after D (default 10m)
`
)

// usageError is a mistake on the command line (exit 1).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main with its streams, for the tests.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	fs := g.flags("davsync")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usageMessage)
		return exitUsage
	}
	cmd, cmdArgs := rest[0], rest[1:]
	commands := map[string]func(context.Context, *globals, []string) (any, error){
		"check": cmdCheck, "list": cmdList, "verify": cmdVerify, "export": cmdExport,
		"snapshot": cmdSnapshot, "restore": cmdRestore, "import": cmdImport, "sync": cmdSync,
	}
	fn, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "davsync: unknown command %q\n\n%s", cmd, usageMessage)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	out, err := fn(ctx, g, cmdArgs)
	if err != nil {
		return g.fail(err)
	}
	if g.json {
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintln(stdout, string(b))
	} else if t, ok := out.(interface{ text() string }); ok {
		fmt.Fprint(stdout, t.text())
	}
	return exitOK
}

// globals are the flags every command takes.
type globals struct {
	url, folder, user      string
	passwordFile, passFile string
	json, allowInsecure    bool
	timeout                time.Duration
	stdin                  io.Reader
	stdout, stderr         io.Writer
	password, passphrase   *string // read once, on first use
}

// flags registers the global flags on a new flag set (every command's
// flag set has them too, so they may come after the command).
func (g *globals) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(g.stderr)
	fs.Usage = func() { fmt.Fprint(g.stderr, usageMessage) }
	fs.StringVar(&g.url, "url", envOr(g.url, "DAVSYNC_URL"), "")
	fs.StringVar(&g.folder, "folder", orDefault(g.folder, "davsync"), "")
	fs.StringVar(&g.user, "user", envOr(g.user, "DAVSYNC_USER"), "")
	fs.StringVar(&g.passwordFile, "password-file", g.passwordFile, "")
	fs.StringVar(&g.passFile, "passphrase-file", g.passFile, "")
	fs.BoolVar(&g.json, "json", g.json, "")
	fs.BoolVar(&g.allowInsecure, "allow-insecure", g.allowInsecure, "")
	fs.DurationVar(&g.timeout, "timeout", orDur(g.timeout, 10*time.Minute), "")
	return fs
}

func envOr(cur, env string) string {
	if cur != "" {
		return cur
	}
	return os.Getenv(env)
}

func orDefault(cur, d string) string {
	if cur != "" {
		return cur
	}
	return d
}

func orDur(cur, d time.Duration) time.Duration {
	if cur != 0 {
		return cur
	}
	return d
}

// fail prints err as the extension would say it (its kind's name and fix,
// then the details) and returns its exit code.
func (g *globals) fail(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(g.stderr, "davsync: %s\n", ue.msg)
		return exitUsage
	}
	k := errkind.Of(err)
	code := exitCode(k)
	if g.json {
		b, _ := json.Marshal(map[string]any{"error": map[string]string{"kind": string(k), "title": k.Title(), "fix": k.Fix(), "message": errkind.Message(err)}})
		fmt.Fprintln(g.stderr, string(b))
		return code
	}
	fmt.Fprintf(g.stderr, "davsync: %s: %s\n  %s\n", k.Title(), errkind.Message(err), k.Fix())
	return code
}

// exitCode maps a failure's kind to the tool's exit code.
func exitCode(k errkind.Kind) int {
	switch k {
	case errkind.BadDocument, errkind.NewerVersion, errkind.TooLarge:
		return exitDamaged
	case errkind.Decrypt, errkind.PassphraseNeeded:
		return exitPass
	case errkind.NeedsConfirmation:
		return exitConfirm
	case errkind.Invalid, errkind.NotConfigured:
		return exitUsage
	}
	return exitServer
}

// parse parses a command's arguments with the global flags and the
// command's own; positional arguments may come before, between or after
// flags.
func (g *globals) parse(name string, args []string, extra func(fs *flag.FlagSet)) ([]string, error) {
	fs := g.flags(name)
	if extra != nil {
		extra(fs)
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// only checks an --only value.
func only(v string) error {
	switch v {
	case "", "accounts", "preferences":
		return nil
	}
	return usageError{"--only takes accounts or preferences, not " + strings.TrimSpace(v)}
}
