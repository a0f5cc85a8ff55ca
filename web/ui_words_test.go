package web

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSentence(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"the server rejected the PAT; create a new one", "The server rejected the PAT; create a new one."},
		{"The server rejected the PAT.", "The server rejected the PAT."},
		{"the server rejected the PAT..", "The server rejected the PAT."},
		{"is it there?", "Is it there?"},
		{"it is there!.", "It is there!"},
		// Chained messages: a server sentence's stop before our advice.
		{"the PAT is required.; create a new PAT", "The PAT is required; create a new PAT."},
		{"the PAT is required. ; create a new PAT.", "The PAT is required; create a new PAT."},
		{"the server said.: no", "The server said: no."},
		{"one,. two", "One, two."},
		// A trailing colon, semicolon or comma.
		{"the server answered:", "The server answered."},
		{"check the URL;", "Check the URL."},
		{"check the URL, ", "Check the URL."},
		// A full stop inside closing quotes or brackets ends the sentence.
		{`the server said "access denied."`, `The server said "access denied."`},
		{"the server said “access denied.”", "The server said “access denied.”"},
		{"see the settings (on the organization page.)", "See the settings (on the organization page.)"},
		// Stops inside a word or a quote are the user's text, not a chain to mend.
		{`"bad..name" is not a branch pattern: git ref names cannot contain ".." or "@{"`, `"bad..name" is not a branch pattern: git ref names cannot contain ".." or "@{".`},
		// An ellipsis inside brackets ends no sentence.
		{"it should start with https:// (or be an SSH URL such as git@ssh.dev.azure.com:v3/...)", "It should start with https:// (or be an SSH URL such as git@ssh.dev.azure.com:v3/...)."},
		{`the server said "access denied"`, `The server said "access denied".`},
		{"reaching tfs.example.com…", "Reaching tfs.example.com…"},
		{"reaching tfs.example.com...", "Reaching tfs.example.com..."},
		// Runs of spaces, later sentences.
		{"  the PAT   expired.  create a new one ", "The PAT expired. Create a new one."},
		{"use a PAT, e.g. one with Code read", "Use a PAT, e.g. one with Code read."},
		// Identifiers, URLs and host names stay as written.
		{"vso.code is missing", "vso.code is missing."},
		{"https://dev.azure.com/fabrikam answered 404", "https://dev.azure.com/fabrikam answered 404."},
		{"dev.azure.com refused", "dev.azure.com refused."},
		{"iOS builds need macOS", "iOS builds need macOS."},
		{`"main" is not a branch`, `"main" is not a branch.`},
		{"étape manquée", "Étape manquée."},
	} {
		if got := sentence(c.in); got != c.want {
			t.Errorf("sentence(%q) = %q, want %q", c.in, got, c.want)
		}
		if again := sentence(sentence(c.in)); again != sentence(c.in) {
			t.Errorf("sentence is not idempotent on %q: %q then %q", c.in, sentence(c.in), again)
		}
	}
}

func TestServerQuote(t *testing.T) {
	for _, c := range []struct{ in, sentence, quote string }{
		{"the server rejected the personal access token: TF400813: The user 'x' is not authorized to access this resource.; create a new PAT in User settings > Personal access tokens on tfs.example.com and try again",
			"The server rejected the personal access token; create a new PAT in User settings > Personal access tokens on tfs.example.com and try again.",
			"TF400813: The user 'x' is not authorized to access this resource."},
		{"the token is not allowed to do this (HTTP 403: TF401027: You need the Git 'GenericRead' permission (on this repository).); give the PAT the needed scope or permission",
			"The token is not allowed to do this (HTTP 403); give the PAT the needed scope or permission.",
			"TF401027: You need the Git 'GenericRead' permission (on this repository)."},
		{"HTTP 404: VS800075: The project with id 'x' does not exist",
			"HTTP 404.", "VS800075: The project with id 'x' does not exist"},
		{"the server rejected the PAT; create a new one", "The server rejected the PAT; create a new one.", ""},
		{"", "", ""},
	} {
		got := serverQuote(c.in)
		if got.Sentence != c.sentence || got.Quote != c.quote {
			t.Errorf("serverQuote(%q)\n = %q / %q\nwant %q / %q", c.in, got.Sentence, got.Quote, c.sentence, c.quote)
		}
	}
}

// sentence never panics, keeps valid UTF-8 valid, is idempotent, ends a non-empty result with
// one stop and never leaves ".;" or ".." (outside an ellipsis) in it; serverQuote never panics
// and keeps every word of the server.
func FuzzSentence(f *testing.F) {
	for _, s := range []string{"", "the PAT is required.; create a new PAT", "a:", `said "no."`, "x...", "e.g. y", "TF400813: no.; fix it",
		"(HTTP 403: TF401027: no (x).); fix", "ı", "ǆ", ". . .", "?.!.", "a .;. b", "…."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := sentence(in)
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Fatalf("sentence(%q) = %q, not UTF-8", in, out)
		}
		if again := sentence(out); again != out {
			t.Fatalf("not idempotent: %q → %q → %q", in, out, again)
		}
		if strings.TrimSpace(in) != "" && utf8.ValidString(in) {
			if out == "" && strings.Trim(in, " \t\n\r\v\f:;,\u0085\u00a0") != "" {
				t.Fatalf("sentence(%q) is empty", in)
			}
			if strings.Contains(out, ".;") {
				t.Fatalf("sentence(%q) = %q keeps a chained stop", in, out)
			}
		}
		q := serverQuote(in)
		if q.Quote != "" && !strings.Contains(strings.Join(strings.Fields(in), " "), q.Quote) {
			t.Fatalf("serverQuote(%q) quote %q is not the server's words", in, q.Quote)
		}
	})
}
