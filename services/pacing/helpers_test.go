package pacing_test

import (
	"errors"

	"github.com/repoconnect/repoconnect/connections"
)

func isRateLimited(err error) bool {
	var ce *connections.Error
	return errors.As(err, &ce) && ce.Reason == connections.ReasonRateLimited && ce.RetryAfter > 0
}
