package main

import (
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// peerAllowed reports whether the peer of an admin socket connection runs as this process's
// user or as root (SO_PEERCRED), and its uid (-1 when unknown; unknown is refused).
func peerAllowed(c net.Conn) (uid int, ok bool) {
	uc, isUnix := c.(*net.UnixConn)
	if !isUnix {
		return -1, false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return -1, false
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return -1, false
	}
	uid = int(cred.Uid)
	return uid, uid == os.Getuid() || uid == 0
}

// ownerProblem says why dir (whose FileInfo is fi) is not the service user's own: on Linux
// its owner must be the uid the service runs as.
func ownerProblem(dir string, fi os.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("the data directory %s belongs to uid %d, not to the user the service runs as (uid %d)", dir, st.Uid, os.Getuid())
	}
	return nil
}
