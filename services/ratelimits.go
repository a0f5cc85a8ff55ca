package services

import (
	"context"
	"fmt"
	"time"
)

// Rate-limited actions (ratelimit.Limiter action names), counted per tenant.
const (
	// ActionCheckToken: POST /api/v1/check-token, POST /api/v1/connections/{id}/check and a
	// PATCH that brings a new PAT or certificate, each of which sends requests to the forge.
	ActionCheckToken = "check-token"
	// ActionCreateConnection: POST /api/v1/connections (which runs a token check too).
	ActionCreateConnection = "create-connection"
	// ActionClone: a clone of a build profile (POST /api/v1/build-profiles/{id}/clone or
	// /clones, Clone now in the pages), which fetches a whole repository from the forge.
	ActionClone = "clone"
)

// RateLimitedError is returned when a tenant has used up its budget for an action. The web
// layer answers 429 with Retry-After (whole seconds, rounded up).
type RateLimitedError struct {
	Action     string
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many %s requests for this tenant; try again in %s", e.Action, e.RetryAfter.Round(time.Second))
}

// allow counts one event of action for tenant. When the limiter fails (Redis down), the event
// is allowed and the failure logged: the limits protect the forge, they must not take the
// service down with the store.
func (s *Service) allow(ctx context.Context, tenant, action string) error {
	if s.limiter == nil {
		return nil
	}
	d, err := s.limiter.Allow(ctx, tenant, action)
	if err != nil {
		s.log.WarnContext(ctx, "rate limiter unavailable; allowing the request", "action", action, "err", err)
		return nil
	}
	if !d.Allowed {
		return &RateLimitedError{Action: action, RetryAfter: max(d.RetryAfter, time.Second)}
	}
	return nil
}
