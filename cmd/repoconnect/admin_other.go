//go:build !linux

package main

import (
	"fmt"
	"net"
	"os"
)

// peerAllowed accepts every peer: outside Linux only the socket's file mode guards the
// admin socket.
func peerAllowed(net.Conn) (uid int, ok bool) { return -1, true }

// checkAdminDir refuses a data directory writable by group or others (who could replace the
// socket).
func checkAdminDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("the data directory %s is writable by group or others (mode %04o): chmod go-w it to have the admin socket", dir, fi.Mode().Perm())
	}
	return nil
}
