package services_test

import (
	"context"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services"
)

// TestCloneJobProgressPerPhase: a clone job's snapshots carry the engine's counts per phase
// through either queue (the Redis queue stores and publishes them): a checkout snapshot
// counts the tree's files (0 of 0 only before the tree is read), the done snapshot has all
// of them written and the pack bytes received, and no snapshot claims more done than total.
func TestCloneJobProgressPerPhase(t *testing.T) {
	forEachQueue(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, 1)
		e.gate.release()
		ctx := context.Background()
		files := int64(strings.Count(azdosimtest.Git(t, e.iosBare, "ls-tree", "-r", "--name-only", "refs/heads/main"), "\n") + 1)
		j, err := e.svc.StartClone(ctx, "acme", e.profile, services.CloneInput{})
		check(t, err)
		var snaps []services.CloneJob
		ch := e.watch(ctx, j.ID)
		for s, ok := recv(t, ch); ok; s, ok = recv(t, ch) {
			snaps = append(snaps, s)
		}
		done := snaps[len(snaps)-1]
		for _, s := range snaps {
			p := s.Progress
			if p.ObjectsTotal > 0 && p.ObjectsDone > p.ObjectsTotal {
				t.Errorf("snapshot %+v: more done than total", p)
			}
			if p.Phase == gitops.PhaseCheckout && p.ObjectsTotal != files && (p.ObjectsTotal != 0 || p.ObjectsDone != 0) {
				t.Errorf("checkout snapshot %+v, want n of the tree's %d files", p, files)
			}
		}
		if p := done.Progress; done.State != services.CloneSucceeded || p.Phase != gitops.PhaseDone || p.ObjectsDone != files ||
			p.ObjectsTotal != files || p.BytesReceived <= 0 || gitops.CountUnit(p.Phase) != "files" {
			t.Fatalf("the last snapshot %+v (%s), want done with %d of %d files and bytes", p, done.State, files, files)
		}
	})
}
