//go:build !unix

package gitops

import "errors"

// freeSpace is not measured on this system: the free-space reserve is not checked.
func freeSpace(string) (int64, error) {
	return 0, errors.New("free space is not measured on this system")
}
