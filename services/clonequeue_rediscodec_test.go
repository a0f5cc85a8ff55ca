package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services/store"
)

// A job's error survives its stored form (JSON in Redis): the rebuilt error matches the same
// sentinels, carries the same *connections.Error fields and *RateLimitedError, and says the
// same; an error of no known kind stays one.
func TestJobErrorRoundTrip(t *testing.T) {
	field := connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput, "the repository %q is disabled", "ios")
	field.Field = "repositoryId"
	timeout := connections.Errorf(connections.ErrUnreachable, connections.ReasonUnreachable, "no answer").Wrap(context.DeadlineExceeded)
	all := append([]error{context.Canceled, context.DeadlineExceeded, store.ErrNotFound, store.ErrConflict, store.ErrInvalid, store.ErrUnavailable},
		connections.ErrUnauthorized, connections.ErrForbidden, connections.ErrNotFound, connections.ErrPolicyDisabled, connections.ErrScopeMismatch,
		connections.ErrServerTooOld, connections.ErrUnreachable, connections.ErrTLS, connections.ErrInvalidInput, connections.ErrRateLimited, connections.ErrProtocol)
	for _, err := range []error{
		field, timeout, ErrCloneCancelled, ErrClonesStopped, ErrCloneLost, store.ErrNotFound,
		fmt.Errorf("clone: %w", connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound, "no branch %q", "develop")),
		&RateLimitedError{Action: ActionClone, RetryAfter: 90 * time.Second},
		errors.New("disk full"),
	} {
		raw, jerr := json.Marshal(encodeJobError(err))
		var je *jobError
		if jerr != nil || json.Unmarshal(raw, &je) != nil {
			t.Fatalf("%v: %s %v", err, raw, jerr)
		}
		got := je.decode()
		if got.Error() != err.Error() {
			t.Errorf("%v: text %q", err, got.Error())
		}
		for _, s := range all {
			if errors.Is(got, s) != errors.Is(err, s) {
				t.Errorf("%v: errors.Is(…, %v) = %v after the round trip", err, s, errors.Is(got, s))
			}
		}
		if want, ce := connections.AsError(err), connections.AsError(got); (want == nil) != (ce == nil) ||
			want != nil && (ce.Kind != want.Kind || ce.Reason != want.Reason || ce.Message != want.Message || ce.Field != want.Field) {
			t.Errorf("%v: *connections.Error %+v, want %+v", err, ce, want)
		}
		var wantRL, gotRL *RateLimitedError
		if errors.As(err, &wantRL) != errors.As(got, &gotRL) || wantRL != nil && *wantRL != *gotRL {
			t.Errorf("%v: *RateLimitedError %+v", err, gotRL)
		}
	}
	if encodeJobError(nil) != nil || (*jobError)(nil).decode() != nil {
		t.Error("nil does not stay nil")
	}
}
