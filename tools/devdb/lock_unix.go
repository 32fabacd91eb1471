//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// errDataDirInUse: another launcher holds the data folder's lock.
var errDataDirInUse = errors.New("data folder in use")

// lockDataDir takes an exclusive flock on DIR/devdb.lock, so that one launcher
// at a time serves a data folder: two launchers on one folder each serialize
// only their own writes, and concurrent writes through both lose updates
// (issue 13). The lock is the kernel's: it dies with the process however the
// process ends (kill -9 included), so no stale lock is ever left to clean up.
// The file records "<launcher pid> <parent pid>" for the refusal message of
// the next launcher. The returned file must stay open for the process lifetime.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "devdb.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", errDataDirInUse, holderOf(path))
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err = f.Truncate(0); err == nil {
		_, err = fmt.Fprintf(f, "%d %d\n", os.Getpid(), os.Getppid())
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// holderOf describes the process holding the lock, from what it wrote.
func holderOf(path string) string {
	content, err := os.ReadFile(path)
	fields := strings.Fields(string(content))
	if err != nil || len(fields) < 2 {
		return "held by a process that is still starting"
	}
	return fmt.Sprintf("held by PID %s (the embedded database started by PID %s)", fields[0], fields[1])
}
