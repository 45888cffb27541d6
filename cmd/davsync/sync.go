package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/davsync/davsync/internal/app"
	"github.com/davsync/davsync/internal/cycle"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/webdav/httptransport"
)

// replicaID is the one remote a replica syncs with.
const replicaID = "1"

type syncOut struct {
	State  string        `json:"state"`
	Result *cycle.Result `json:"result,omitempty"`
}

func (s syncOut) text() string {
	r := s.Result
	if r == nil {
		return "nothing to do\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "synced: %d requests, %d bytes up, %d bytes down\n", r.Requests, r.BytesUp, r.BytesDown)
	for _, side := range []struct {
		name string
		c    merge.Changes
	}{{"this replica", r.Local}, {"the server", r.Remote}} {
		for _, coll := range sortedKeys(side.c) {
			c := side.c[coll]
			if c.Added+c.Updated+c.Deleted > 0 {
				fmt.Fprintf(&b, "  %s, %s: %d added, %d updated, %d deleted\n", side.name, coll, c.Added, c.Updated, c.Deleted)
			}
		}
	}
	if r.Conflicts > 0 {
		fmt.Fprintf(&b, "  %d conflicts kept both ways in the conflict log\n", r.Conflicts)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "  note: %s\n", w)
	}
	return b.String()
}

// cmdSync runs one cycle of a headless replica whose device store is the
// directory --state: the extension's app layer over a file instead of
// chrome.storage, so the same merge, mass-change guard, encryption
// question and conflict log apply. The password and passphrase are read
// on every run and never written to the directory. A question (a mass
// deletion, an encryption change) holds the cycle and exits 5 until a run
// with --confirm answers it.
func cmdSync(ctx context.Context, g *globals, args []string) (any, error) {
	var stateDir string
	var confirm bool
	if _, err := g.parse("sync", args, func(fs *flag.FlagSet) {
		fs.StringVar(&stateDir, "state", "", "")
		fs.BoolVar(&confirm, "confirm", false, "")
	}); err != nil {
		return nil, err
	}
	if stateDir == "" {
		return nil, usageError{"sync needs --state DIR: the directory that holds this replica's data"}
	}
	if g.url == "" {
		return nil, usageError{"no server: give --url or set DAVSYNC_URL (the folder URL the extension uses)"}
	}
	kv, err := openFileKV(stateDir)
	if err != nil {
		return nil, err
	}
	release, err := lockState(stateDir)
	if err != nil {
		return nil, err
	}
	defer release()
	password, err := g.passwordValue()
	if err != nil {
		return nil, err
	}
	passphrase := ""
	if g.passFile != "" || envSet("DAVSYNC_PASSPHRASE") {
		if passphrase, err = g.passphraseValue(); err != nil {
			return nil, err
		}
	}
	a := app.New(app.Config{
		KV:        kv,
		Transport: httptransport.New(),
		Secrets:   func(string) (string, string) { return password, passphrase },
	})
	if err := g.replicaRemote(ctx, a, password, passphrase); err != nil {
		return nil, err
	}
	res, err := a.Sync(ctx, replicaID, app.SyncOptions{Confirm: confirm})
	if err != nil {
		return nil, err
	}
	return syncOut{State: "ok", Result: res}, nil
}

// replicaRemote makes the replica's one remote match the flags. The
// secrets in the edit only pass through: with Config.Secrets set, the app
// stores neither (the passphrase goes to the session store, which is
// memory here). The
// directory belongs to one sync file: pointing it at another server or
// folder is refused rather than merging two unrelated data sets into one.
func (g *globals) replicaRemote(ctx context.Context, a *app.App, password, passphrase string) error {
	s, err := a.Settings(ctx)
	if err != nil {
		return err
	}
	edit := map[string]any{
		"url": g.url, "folder": g.folder, "username": g.user, "password": password, "autoSync": false,
		"encryption": map[string]any{"enabled": passphrase != "", "passphrase": passphrase, "remember": false},
	}
	if g.allowInsecure {
		edit["allowInsecure"] = true
	}
	id := ""
	for _, r := range s.Remotes {
		if r.ID != replicaID {
			continue
		}
		id = r.ID
		if r.URL != g.url || r.Folder != g.folder {
			return usageError{fmt.Sprintf("the state directory is a replica of %s (folder %s); use another --state for %s", r.URL, r.Folder, g.url)}
		}
	}
	raw, _ := json.Marshal(edit)
	saved, _, err := a.SaveRemote(ctx, id, raw)
	if err != nil {
		return err
	}
	if saved.ID != replicaID {
		return errkind.New(errkind.Invalid, "state", "the state directory holds another davsync profile; use an empty directory")
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
