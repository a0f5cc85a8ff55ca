package bolt

import (
	"context"
	"path/filepath"
	"testing"
)

// Ping answers while the file is open and fails once it is closed: the store check of /readyz.
func TestPing(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "repoconnect.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("open store: Ping = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping with a cancelled context answered nil")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err == nil {
		t.Error("closed store: Ping answered nil")
	}
}
