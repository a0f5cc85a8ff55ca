package store

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// sortKeyTimeLen is the length of the time part of a SortKey: 12 bytes as 24 hex digits.
const sortKeyTimeLen = 24

// SortKey is the list order of a record as a string whose byte order is the (CreatedAt, ID)
// order: CreatedAt as 8 big-endian bytes of Unix seconds (sign bit flipped, so earlier is
// smaller, before 1970 included) and 4 of nanoseconds, in lower-case hex, then the ID.
// Backends that keep an ordered index (the Redis sorted sets) store it as the index member.
func SortKey(createdAt time.Time, id string) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(createdAt.Unix())^(1<<63))
	binary.BigEndian.PutUint32(b[8:], uint32(createdAt.Nanosecond()))
	return hex.EncodeToString(b[:]) + id
}

// IDOfSortKey returns the ID part of a SortKey ("" for a string too short to be one).
func IDOfSortKey(k string) string {
	if len(k) < sortKeyTimeLen {
		return ""
	}
	return k[sortKeyTimeLen:]
}

// Cursor is the opaque page cursor for a record's SortKey: its unpadded base64url form.
func Cursor(sortKey string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(sortKey))
}

// SortKeyOfCursor decodes a cursor made by Cursor. An empty cursor gives "" (from the first
// record). Errors wrap ErrInvalid.
func SortKeyOfCursor(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	k := string(b)
	if err != nil || len(k) <= sortKeyTimeLen || strings.IndexByte(k, 0) >= 0 {
		return "", fmt.Errorf("%w: malformed page cursor", ErrInvalid)
	}
	if _, err := hex.DecodeString(k[:sortKeyTimeLen]); err != nil || strings.ToLower(k[:sortKeyTimeLen]) != k[:sortKeyTimeLen] {
		return "", fmt.Errorf("%w: malformed page cursor", ErrInvalid)
	}
	return k, nil
}

// RunOrder maps a run's CreatedAt to the time its SortKey is made of so that byte order is
// newest first: the instant mirrored around the Unix epoch.
func RunOrder(createdAt time.Time) time.Time {
	return time.Unix(-createdAt.Unix(), -int64(createdAt.Nanosecond())).UTC()
}
