//go:build unix

package services

import (
	"errors"
	"os"
	"syscall"
)

// lockMarker takes an exclusive advisory lock (flock) on the marker file f, held for as long
// as f is open: while the clone runs.
func lockMarker(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// markerHeld reports whether the marker at path is locked by a clone still running, in any
// process of this machine (whatever its process id or host name: containers sharing a
// volume). False when it can be locked, or cannot be opened.
func markerHeld(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close() // and so unlocked
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	return errors.Is(err, syscall.EWOULDBLOCK)
}
