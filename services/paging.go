package services

import (
	"errors"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services/store"
)

// Page sizes of the list use cases.
const (
	// DefaultPageSize is the page size when a caller gives none.
	DefaultPageSize = 100
	// MaxPageSize is the largest page a caller may ask for.
	MaxPageSize = 500
)

// pageOf validates a caller's page request: limit 0 means DefaultPageSize; negative or above
// MaxPageSize is a field error on "limit". The cursor is checked by the store (pageError).
func pageOf(limit int, after string) (store.Page, error) {
	switch {
	case limit == 0:
		limit = DefaultPageSize
	case limit < 0 || limit > MaxPageSize:
		return store.Page{}, invalid("limit", "limit is the page size, 1 to %d", MaxPageSize)
	}
	if len(after) > 1024 {
		return store.Page{}, badCursor()
	}
	return store.Page{Limit: limit, After: after}, nil
}

// pageError turns the store's refusal of a cursor into a field error on "after" (not wrapping
// the store's error, whose message is about records, not requests).
func pageError(err error) error {
	if errors.Is(err, store.ErrInvalid) {
		return badCursor()
	}
	return err
}

func badCursor() *connections.Error {
	return invalid("after", "after is not a page cursor this service gave out; take the \"next\" of the previous page, or leave it out to start from the first")
}
