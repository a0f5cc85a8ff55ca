//go:build unix

package gitops

import "syscall"

// freeSpace is the bytes an unprivileged user may still write on the file system of path
// (statfs(2): available blocks × block size). A path that does not exist yet is measured at
// its nearest existing parent.
func freeSpace(path string) (int64, error) {
	var st syscall.Statfs_t
	var err error
	for p := path; ; {
		if err = syscall.Statfs(p, &st); err == nil || p == "/" || p == "." {
			break
		}
		p = parentDir(p)
	}
	if err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
