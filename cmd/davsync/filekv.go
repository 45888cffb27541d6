package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"

	"github.com/davsync/davsync/internal/errkind"
)

// fileKV is the replica's device store in a directory: every value in one
// file, state.json, replaced as a whole by a write to a temporary file,
// fsync and rename. local.KV requires the items of one Set to be stored
// together or not at all; one file renamed into place gives exactly that,
// so a replica killed mid-sync (cron's timeout, a power cut) finds either
// the state before the write or the state after it, never a mix.
type fileKV struct {
	dir string
	mu  sync.Mutex
	m   map[string][]byte
}

const stateFile = "state.json"

// openFileKV reads dir's state (creating dir, mode 0700, when missing).
func openFileKV(dir string) (*fileKV, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, errkind.Wrap(errkind.Storage, "state", "cannot create the state directory "+dir+": "+err.Error(), err)
	}
	kv := &fileKV{dir: dir, m: map[string][]byte{}}
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return kv, nil
	}
	if err != nil {
		return nil, errkind.Wrap(errkind.Storage, "state", "cannot read "+filepath.Join(dir, stateFile)+": "+err.Error(), err)
	}
	if err := json.Unmarshal(b, &kv.m); err != nil {
		return nil, errkind.Wrap(errkind.Storage, "state", filepath.Join(dir, stateFile)+" is damaged ("+err.Error()+"); move it away to start the replica afresh from the server", err)
	}
	return kv, nil
}

// Get implements local.KV.
func (kv *fileKV) Get(ctx context.Context, keys ...string) (map[string][]byte, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		if v, ok := kv.m[k]; ok {
			out[k] = append([]byte(nil), v...)
		}
	}
	return out, nil
}

// Set implements local.KV: the new state reaches the disk before the call
// returns, or the call fails and the state in memory is what it was.
func (kv *fileKV) Set(ctx context.Context, items map[string][]byte) error {
	return kv.change(func(m map[string][]byte) {
		for k, v := range items {
			m[k] = append([]byte(nil), v...)
		}
	})
}

// Delete implements local.KV.
func (kv *fileKV) Delete(ctx context.Context, keys ...string) error {
	return kv.change(func(m map[string][]byte) {
		for _, k := range keys {
			delete(m, k)
		}
	})
}

func (kv *fileKV) change(fn func(map[string][]byte)) error {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	next := make(map[string][]byte, len(kv.m))
	for k, v := range kv.m {
		next[k] = v
	}
	fn(next)
	b, err := json.Marshal(next)
	if err != nil {
		return errkind.Wrap(errkind.Storage, "state", err.Error(), err)
	}
	if err := writeFileAtomic(filepath.Join(kv.dir, stateFile), b); err != nil {
		return errkind.Wrap(errkind.Storage, "state", "cannot write the replica's state in "+kv.dir+": "+err.Error(), err)
	}
	kv.m = next
	return nil
}

// writeFileAtomic writes data to path with mode 0600 through a temporary
// file in the same folder, synced and renamed: a crash leaves the old file
// or the new one, never half of it, and nobody else can read a backup that
// holds access tokens.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".davsync-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// The rename itself is durable once the folder is synced.
	if d, derr := os.Open(filepath.Dir(path)); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
