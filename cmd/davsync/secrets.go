package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/davsync/davsync/internal/errkind"
)

// The password and the passphrase are never flag values (they would show in
// the process list and the shell's history): they come from the
// environment, a file, or a prompt without echo when stdin is a terminal.

// password returns the WebDAV password ("" when there is none to give).
func (g *globals) passwordValue() (string, error) {
	if g.password != nil {
		return *g.password, nil
	}
	p, err := g.secret("DAVSYNC_PASSWORD", g.passwordFile, "password for "+g.user, g.user != "")
	if err != nil {
		return "", err
	}
	g.password = &p
	return p, nil
}

// passphraseValue returns the encryption passphrase, asking for it only
// when a file needs it.
func (g *globals) passphraseValue() (string, error) {
	if g.passphrase != nil {
		return *g.passphrase, nil
	}
	p, err := g.secret("DAVSYNC_PASSPHRASE", g.passFile, "passphrase", true)
	if err != nil {
		return "", err
	}
	g.passphrase = &p
	return p, nil
}

// secret reads one secret: the file, else the environment variable, else a
// prompt when stdin is a terminal (and ask is set).
func (g *globals) secret(env, file, what string, ask bool) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", errkind.Wrap(errkind.Invalid, "read "+what, "cannot read "+file+": "+err.Error(), err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if v, ok := os.LookupEnv(env); ok {
		return v, nil
	}
	f, isFile := g.stdin.(*os.File)
	if !ask || !isFile || !term.IsTerminal(int(f.Fd())) {
		return "", nil
	}
	fmt.Fprintf(g.stderr, "%s: ", what)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(g.stderr)
	if err != nil {
		return "", errkind.Wrap(errkind.Canceled, "read "+what, "no "+what+" was entered", err)
	}
	return string(b), nil
}

// confirm asks a yes/no question on a terminal; without one, the answer is
// no and the caller reports that confirmation is needed (exit 5).
func (g *globals) confirm(question string) bool {
	f, isFile := g.stdin.(*os.File)
	if !isFile || !term.IsTerminal(int(f.Fd())) {
		return false
	}
	fmt.Fprintf(g.stderr, "%s [y/N] ", question)
	line, _ := bufio.NewReader(f).ReadString('\n')
	line = strings.ToLower(strings.TrimSpace(line))
	return line == "y" || line == "yes"
}

// envSet reports whether the environment variable is set (even to "").
func envSet(name string) bool {
	_, ok := os.LookupEnv(name)
	return ok
}
