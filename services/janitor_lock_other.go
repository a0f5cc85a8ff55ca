//go:build !unix

package services

import "os"

// lockMarker does nothing where flock is not available: the process id and host decide.
func lockMarker(*os.File) error { return nil }

// markerHeld is false where flock is not available: the process id and host decide.
func markerHeld(string) bool { return false }
