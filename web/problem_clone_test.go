package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/repoconnect/repoconnect/services"
)

// A clone job's end is told apart: cancelled by a user, stopped with its instance, lost with a
// vanished instance, each with its own sentence; any other cancellation keeps the generic one.
func TestCloneJobProblems(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		code   string
		detail string
	}{
		{services.ErrCloneCancelled, statusClientClosedRequest, "cancelled", "the clone was cancelled before it finished; nothing of it was kept"},
		{fmt.Errorf("wrapped: %w", services.ErrClonesStopped), statusClientClosedRequest, "cancelled", "the instance running the clone shut down before it finished; start the clone again"},
		{services.ErrCloneLost, http.StatusServiceUnavailable, "clone_lost", "the instance running the clone stopped answering before it finished; start the clone again"},
		{context.Canceled, statusClientClosedRequest, "cancelled", "the request was cancelled before it finished"},
	} {
		p := problemFor(c.err)
		if p.Status != c.status || p.Code != c.code || p.Detail != c.detail {
			t.Errorf("%v: %+v", c.err, p)
		}
	}
	if !errors.Is(services.ErrCloneCancelled, context.Canceled) {
		t.Error("a cancelled clone no longer wraps context.Canceled")
	}
}
