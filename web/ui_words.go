package web

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// sentence turns a message of the service ("the server rejected the PAT; create a new one")
// into a sentence for a page: the first letter a capital, one full stop at the end (none
// added after a question or exclamation mark). An empty message stays empty.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	s = strings.TrimRight(s, ". ")
	if strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return s
	}
	return s + "."
}
