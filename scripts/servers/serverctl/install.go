package serverctl

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Missing returns the Debian packages of the named servers that dpkg does
// not report as installed.
func Missing(names []string) ([]string, error) {
	pkgs := Packages(names)
	if len(pkgs) == 0 {
		return nil, nil
	}
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		return nil, fmt.Errorf("dpkg-query not found: the servers install from Debian packages (%s); install them with your system's package manager", strings.Join(pkgs, " "))
	}
	var missing []string
	for _, p := range pkgs {
		out, err := exec.Command("dpkg-query", "-W", "-f=${db:Status-Abbrev}", p).Output()
		if err != nil || !bytes.HasPrefix(out, []byte("ii")) {
			missing = append(missing, p)
		}
	}
	return missing, nil
}

// Install makes sure the named servers can start: the Debian packages
// (installed with apt-get when running as root, otherwise listed in the
// error) and, for the npm server, node_modules (npm ci).
func Install(repo string, names []string, out io.Writer) error {
	missing, err := Missing(names)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		if !isRoot() {
			return fmt.Errorf("missing Debian packages; install them as root with:\n  apt-get install -y %s", strings.Join(missing, " "))
		}
		fmt.Fprintf(out, "servers: apt-get install -y %s\n", strings.Join(missing, " "))
		if err := apt(out, append([]string{"install", "-y", "--no-install-recommends"}, missing...)...); err != nil {
			// A fresh machine has no package lists yet.
			fmt.Fprintln(out, "servers: apt-get install failed; running apt-get update and trying again")
			if err := apt(out, "update"); err != nil {
				return fmt.Errorf("apt-get update: %w", err)
			}
			if err := apt(out, append([]string{"install", "-y", "--no-install-recommends"}, missing...)...); err != nil {
				return fmt.Errorf("apt-get install %s: %w", strings.Join(missing, " "), err)
			}
		}
	}
	for _, n := range names {
		if !specs[n].npm {
			continue
		}
		if _, err := os.Stat(filepath.Join(repo, "node_modules", "webdav-server", "package.json")); err == nil {
			break
		}
		fmt.Fprintln(out, "servers: npm ci")
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir, cmd.Stdout, cmd.Stderr = repo, out, out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("npm ci: %w", err)
		}
		break
	}
	return nil
}

func apt(out io.Writer, args ...string) error {
	cmd := exec.Command("apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout, cmd.Stderr = out, out
	return cmd.Run()
}
