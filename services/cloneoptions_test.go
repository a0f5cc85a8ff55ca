package services_test

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services"
)

// A build profile's clone takes a commit of its branch and the service's size limit: an older
// commit is checked out detached; a malformed one is a field error; a repository past
// MaxCloneBytes fails with repository_too_large and leaves no directory behind.
func TestCloneOptions(t *testing.T) {
	e := newEnv(t, onMemory, 0)
	e.gate.release()
	ctx := context.Background()
	older := azdosimtest.Git(t, e.iosBare, "rev-parse", "refs/heads/main~1")
	res, err := e.svc.CloneBuildProfile(ctx, "acme", e.profile, services.CloneInput{Commit: older}, nil)
	if err != nil || res.Commit != older || res.Branch != "" {
		t.Fatalf("clone at main~1 (%s): %+v, %v", older, res, err)
	}
	if head := azdosimtest.Git(t, res.Path, "rev-parse", "HEAD"); head != older {
		t.Fatalf("HEAD of the clone is %s, want %s", head, older)
	}
	for _, bad := range []string{"main", older[:39], older[:39] + "g"} {
		_, err := e.svc.CloneBuildProfile(ctx, "acme", e.profile, services.CloneInput{Commit: bad}, nil)
		if ce := connections.AsError(err); ce == nil || ce.Field != "commit" || !errors.Is(err, connections.ErrInvalidInput) {
			t.Errorf("commit %q: %v", bad, err)
		}
		if _, err := e.svc.StartClone(ctx, "acme", e.profile, services.CloneInput{Commit: bad}); connections.AsError(err) == nil {
			t.Errorf("StartClone with commit %q: %v", bad, err)
		}
	}

	small := e.instance(0, t.TempDir(), func(o *services.Options) { o.MaxCloneBytes = 1024 })
	_, err = small.CloneBuildProfile(ctx, "acme", e.profile, services.CloneInput{}, nil)
	ce := connections.AsError(err)
	if ce == nil || ce.Reason != connections.ReasonTooLarge || !errors.Is(err, connections.ErrInvalidInput) {
		t.Fatalf("a repository past a 1 KiB limit: %v", err)
	}
	if ce.Message != "the repository is larger than the clone's size limit of 1 KiB; raise the limit (serve --max-clone-size, clone --max-size) or clone with a depth" {
		t.Errorf("message %q", ce.Message)
	}
	entries, _ := os.ReadDir(small.CloneRoot("acme", e.profile))
	if len(entries) != 0 {
		t.Fatalf("the failed clone left %d entries behind", len(entries))
	}
}

// A synchronous clone is held like a job's: deleting its build profile cancels it (and its
// directory goes), and the janitor leaves its directory alone while it runs.
func TestSynchronousCloneIsHeld(t *testing.T) {
	e := newEnv(t, onMemory, 0, func(o *services.Options) { o.CloneRetention = time.Nanosecond })
	<-services.JanitorFirstSweep(e.svc)
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() {
		// With a progress writer the server sends progress, which the gate holds the clone at.
		_, err := e.svc.CloneBuildProfile(ctx, "acme", e.profile, services.CloneInput{}, io.Discard)
		errc <- err
	}()
	select { // the clone is under way, its directory made
	case <-e.gate.stalled:
	case err := <-errc:
		t.Fatalf("the clone ended before it reached the server: %v", err)
	}
	e.clock.Advance(time.Hour)
	if n, err := e.svc.SweepClones(ctx); n != 0 || err != nil {
		t.Fatalf("the janitor removed %d directories of a running clone (%v)", n, err)
	}
	if entries, _ := os.ReadDir(e.svc.CloneRoot("acme", e.profile)); len(entries) != 1 {
		t.Fatalf("the running clone's directory: %d entries", len(entries))
	}
	if err := e.svc.DeleteBuildProfile(ctx, "acme", e.profile); err != nil {
		t.Fatal(err)
	}
	if err, _ := recv(t, errc); !errors.Is(err, services.ErrCloneCancelled) {
		t.Fatalf("the clone of a deleted profile: %v", err)
	}
	if _, err := os.Stat(e.svc.CloneRoot("acme", e.profile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the deleted profile's clones are still there: %v", err)
	}
}
