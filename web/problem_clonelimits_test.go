package web

import (
	"net/http"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
)

// Every clone limit answers 422 with its own code and the engine's detail, which names the
// setting that raises it.
func TestCloneLimitProblems(t *testing.T) {
	for _, r := range []connections.Reason{connections.ReasonTooLarge, connections.ReasonWorkTreeTooLarge,
		connections.ReasonTooManyFiles, connections.ReasonObjectTooLarge, connections.ReasonDiskSpaceLow,
		connections.ReasonMemoryBudgetExceeded} {
		err := connections.Errorf(connections.ErrInvalidInput, r, "raise it (serve --some-setting)")
		p := problemFor(err)
		if p.Status != http.StatusUnprocessableEntity || p.Code != string(r) || p.Detail != err.Message || p.Title == "" || p.Title == "Invalid request" {
			t.Errorf("%s: %+v", r, p)
		}
	}
	if p := problemFor(connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput, "bad")); p.Status != http.StatusBadRequest {
		t.Errorf("other invalid input: %+v", p)
	}
}
