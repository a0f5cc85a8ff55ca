package azdosim

import (
	"encoding/base64"
	"net/http"
	"strconv"
)

// pageRequest is the $top / continuationToken pair of a paged list (docs/azure-devops-protocol.md §4, §5).
type pageRequest struct {
	top   int    // 0 = everything
	after string // decoded token: the sort key of the first item to return
}

// parsePage reads $top and continuationToken. defaultTop applies when $top is absent (0 means
// "all"); tokenTop applies when only a continuation token is given (the refs API documents
// 100); maxTop caps $top (0 = no cap). Errors: non-numeric or negative $top, undecodable token
// (400; the real text is unconfirmed).
func parsePage(r *http.Request, defaultTop, tokenTop, maxTop int) (pageRequest, *apiError) {
	q := r.URL.Query()
	var pr pageRequest
	if tok := q.Get("continuationToken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) == 0 {
			return pr, errBadArgument("The continuation token '" + tok + "' is not valid.")
		}
		pr.after = string(raw)
		pr.top = tokenTop
	} else {
		pr.top = defaultTop
	}
	if t := q.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return pr, errBadArgument("The value '" + t + "' of parameter $top is not valid.")
		}
		if n > 0 {
			pr.top = n
		}
	}
	if maxTop > 0 && pr.top > maxTop {
		pr.top = maxTop
	}
	return pr, nil
}

// window returns the [start, end) range of keys (sorted ascending) to answer and the opaque
// continuation token for the rest ("" when nothing remains). The token encodes the sort key of
// the next item, so pages stay consistent when items are added in between.
func (pr pageRequest) window(keys []string) (start, end int, next string) {
	for start < len(keys) && keys[start] < pr.after {
		start++
	}
	end = len(keys)
	if pr.top > 0 && start+pr.top < end {
		end = start + pr.top
		next = base64.RawURLEncoding.EncodeToString([]byte(keys[end]))
	}
	return start, end, next
}

// setContinuation sets X-MS-ContinuationToken when more items remain (docs/azure-devops-protocol.md §4).
func setContinuation(w http.ResponseWriter, next string) {
	if next != "" {
		w.Header().Set("X-MS-ContinuationToken", next)
	}
}
