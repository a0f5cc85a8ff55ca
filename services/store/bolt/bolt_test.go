package bolt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/storetest"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "data", "repoconnect.db"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestOpenFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "repoconnect.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		// The umask may only narrow the mode.
		if got := fi.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s mode = %o, want at most %o", p, got, want)
		}
	}
}

func TestOpenInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "repoconnect.db")
	first, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	// bbolt locks with flock, which also conflicts between two opens in one process.
	second, err := Open(path, Options{Timeout: 50 * time.Millisecond})
	if err == nil {
		second.Close()
		t.Fatal("second Open succeeded while the file was locked")
	}
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: got %v, want ErrInUse", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	third, err := Open(path, Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	third.Close()
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "repoconnect.db")
	fixed := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	s, err := Open(path, Options{Now: func() time.Time { return fixed }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := &store.Connection{ID: "c1", TenantID: "t1", Name: "n", SealedCredential: []byte("sealed")}
	if err := s.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	if !c.CreatedAt.Equal(fixed) || !c.UpdatedAt.Equal(fixed) {
		t.Fatalf("CreatedAt/UpdatedAt = %v/%v, want %v from Options.Now", c.CreatedAt, c.UpdatedAt, fixed)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.GetConnection(ctx, "t1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.SealedCredential) != "sealed" || got.Version != 1 || !got.CreatedAt.Equal(fixed) {
		t.Fatalf("reopened record = %+v", got)
	}
}

func TestCanceledContext(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.CreateConnection(ctx, &store.Connection{ID: "c1", TenantID: "t1", Name: "n"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Create with canceled ctx: got %v", err)
	}
	if _, err := s.GetConnection(context.Background(), "t1", "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("record stored despite canceled ctx: %v", err)
	}
}
