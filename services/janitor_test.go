package services_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services"
)

// The janitor removes the clone directories older than the retention by the service clock,
// and keeps the younger ones and every one of a build profile whose clone runs in this
// instance, until that clone has ended. Without a retention it removes nothing.
func TestSweepClones(t *testing.T) {
	forEachQueue(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, 1, func(o *services.Options) { o.CloneRetention = 24 * time.Hour })
		ctx := context.Background()
		recv(t, services.JanitorFirstSweep(e.svc))
		running := e.start(e.develop, 1)
		recv(t, e.gate.stalled)
		// mkdir makes a clone directory last modified age ago by the service clock.
		mkdir := func(tenant, profile, name string, age time.Duration) string {
			dir := filepath.Join(e.workDir, tenant, profile, name)
			check(t, os.MkdirAll(filepath.Join(dir, ".git"), 0o700))
			at := e.clock.Now().Add(-age)
			check(t, os.Chtimes(dir, at, at))
			return dir
		}
		old := mkdir("acme", e.profile, "20240101T000000Z-old", 25*time.Hour)
		otherOld := mkdir("other", "p1", "20240101T000000Z-other", 24*time.Hour)
		young := mkdir("acme", e.profile, "20240102T000000Z-young", 23*time.Hour)
		busyOld := mkdir("acme", e.develop, "20240101T000000Z-busy", 48*time.Hour)
		if n, err := e.svc.SweepClones(ctx); n != 2 || err != nil {
			t.Fatalf("first sweep removed %d, %v; want 2", n, err)
		}
		exists := func(dir string, want bool) {
			t.Helper()
			if _, err := os.Stat(dir); (err == nil) != want {
				t.Errorf("%s: exists %v, want %v", dir, err == nil, want)
			}
		}
		exists(old, false)
		exists(otherOld, false)
		exists(young, true)
		exists(busyOld, true)
		// A day later the young one is old; the running clone's directory is old by the
		// clock too, but kept with its profile's others while it runs.
		e.clock.Advance(25 * time.Hour)
		if n, err := e.svc.SweepClones(ctx); n != 1 || err != nil {
			t.Fatalf("second sweep removed %d, %v; want 1", n, err)
		}
		exists(young, false)
		exists(busyOld, true)
		if dirs := cloneDirs(t, filepath.Join(e.workDir, "acme", e.develop)); len(dirs) != 2 {
			t.Fatalf("the running profile's directories: %v", dirs)
		}
		e.gate.release()
		if j := last(t, e.watch(ctx, running.ID)); j.State != services.CloneSucceeded {
			t.Fatalf("the running job: %+v", j)
		}
		if n, err := e.svc.SweepClones(ctx); n != 2 || err != nil {
			t.Fatalf("sweep after the clone ended removed %d, %v; want 2", n, err)
		}
		if dirs := cloneDirs(t, filepath.Join(e.workDir, "acme", e.develop)); len(dirs) != 0 {
			t.Errorf("left after the clone ended: %v", dirs)
		}
	})
}

func TestSweepClonesKeepsForeverWithoutRetention(t *testing.T) {
	e := newEnv(t, onMemory, 1)
	if services.JanitorFirstSweep(e.svc) != nil {
		t.Error("a janitor runs without a retention")
	}
	dir := filepath.Join(e.workDir, "acme", e.profile, "20000101T000000Z-ancient")
	check(t, os.MkdirAll(dir, 0o700))
	at := e.clock.Now().Add(-10 * 365 * 24 * time.Hour)
	check(t, os.Chtimes(dir, at, at))
	if n, err := e.svc.SweepClones(context.Background()); n != 0 || err != nil {
		t.Fatalf("SweepClones without retention: %d, %v", n, err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}
