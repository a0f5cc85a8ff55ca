package gitops

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/repoconnect/repoconnect/connections"
)

// TestTranslatePassesClassifiedErrors: an *connections.Error from the transport (the
// retrying transport's verdict) comes out of translate unchanged, whether go-git returned the
// HTTP client's error as is (info/refs) or inside a *plumbing.UnexpectedError (upload-pack).
func TestTranslatePassesClassifiedErrors(t *testing.T) {
	ce := connections.Errorf(connections.ErrUpstreamUnavailable, connections.ReasonUpstreamUnavailable, "Azure DevOps is unavailable")
	ce.RetryAfter = 7 * time.Second
	urlErr := &url.Error{Op: "Post", URL: "https://dev.azure.com/x/_git/y/git-upload-pack", Err: ce}
	for name, err := range map[string]error{"as is": urlErr, "unexpected": plumbing.NewUnexpectedError(urlErr)} {
		got := translate(err, "dev.azure.com", "main", time.Minute)
		var e *connections.Error
		if !errors.As(got, &e) || e != ce || e.RetryAfter != 7*time.Second {
			t.Errorf("%s: translate = %#v, want the transport's error", name, got)
		}
	}
}
