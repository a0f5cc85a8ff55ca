package web

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Words of the pages: service messages (lower-case and chained, as the API's details are)
// made into sentences, and the server's own words set apart from ours.

func init() {
	uiFuncs["serverQuote"] = serverQuote
}

// sentence turns a message of the service ("the server rejected the PAT; create a new one")
// into a sentence for a page: the first letter a capital, one full stop at the end (none
// added after a question or exclamation mark, an ellipsis, or a full stop inside closing
// quotes or brackets), and the joins of chained messages mended: ".;" and ".:" become ";" and
// ":", doubled stops one, a trailing colon, semicolon or comma a full stop, runs of spaces one
// space. A letter after a full stop inside the message starts a sentence and gets a capital
// too. A first word that is an identifier, a URL or a host name ("vso.code", "https://…",
// "dev.azure.com", "iOS") is left as written, as are quotes at the start. An empty message
// stays empty. sentence(sentence(s)) == sentence(s).
func sentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return ""
	}
	s = mendJoins(s)
	s = capitalAt(s, 0)
	// Later sentences of the message: a lower-case word after ". " starts one.
	for i := 0; i+2 < len(s); i++ {
		if (s[i] == '.' || s[i] == '?' || s[i] == '!') && s[i+1] == ' ' && !abbreviation(s[:i+1]) {
			s = capitalAt(s, i+2)
		}
	}
	return endStop(s)
}

// mendJoins mends the joins of chained messages: ".;" → ";", ".:" → ":", ".," → ",", ". ;" → ";",
// "..", ". ." → ".", "?." → "?", "!." → "!". An ellipsis ("...", "…") is kept.
func mendJoins(s string) string {
	for {
		before := s
		for _, r := range []struct{ from, to string }{
			{".;", ";"}, {". ;", ";"}, {".:", ":"}, {". :", ":"}, {".,", ","}, {";;", ";"}, {"; ;", ";"},
			{"?.", "?"}, {"!.", "!"}, {". .", "."}, {";.", ";"}, {":.", ":"}, {",.", ","},
		} {
			s = strings.ReplaceAll(s, r.from, r.to)
		}
		// Two stops that end a sentence (before a space or the end) are one; three are an
		// ellipsis and stay, and so do stops inside a word or a quote ("bad..name", "..").
		var b strings.Builder
		for i := 0; i < len(s); {
			if s[i] == '.' {
				j := i
				for j < len(s) && s[j] == '.' {
					j++
				}
				if j-i >= 3 || (j < len(s) && s[j] != ' ') {
					b.WriteString(s[i:j])
				} else {
					b.WriteByte('.')
				}
				i = j
				continue
			}
			b.WriteByte(s[i])
			i++
		}
		s = b.String()
		if s == before {
			return s
		}
	}
}

// abbreviation reports whether the text ends with an abbreviation whose full stop ends no
// sentence ("e.g.", "i.e.", "etc.", "vs.").
func abbreviation(s string) bool {
	l := strings.ToLower(s)
	for _, a := range []string{"e.g.", "i.e.", "etc.", "vs.", "cf.", "approx."} {
		if strings.HasSuffix(l, a) && (len(l) == len(a) || !isLetter(l[len(l)-len(a)-1])) {
			return true
		}
	}
	return false
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// capitalAt upper-cases the letter at byte i when it begins a plain lower-case word (not an
// identifier, URL, host name or a word with capitals or digits in it).
func capitalAt(s string, i int) string {
	r, n := utf8.DecodeRuneInString(s[i:])
	if !unicode.IsLower(r) {
		return s
	}
	end := i + n
	for end < len(s) {
		c, m := utf8.DecodeRuneInString(s[end:])
		if unicode.IsSpace(c) {
			break
		}
		end += m
	}
	word := strings.TrimRight(s[i:end], ",;:!?)]}\"'”’")
	word = strings.TrimSuffix(word, ".")
	for _, c := range word[n:] {
		if !unicode.IsLower(c) && c != '\'' && c != '’' && c != '-' {
			return s // "vso.code", "https://…", "iOS", "v2", "dev.azure.com"
		}
	}
	return s[:i] + string(unicode.ToUpper(r)) + s[i+n:]
}

// endStop ends s with one full stop unless it ends a sentence already: ".", "?", "!", an
// ellipsis, or one of these inside closing quotes or brackets ("… denied.”", "(see below.)").
// A trailing colon, semicolon or comma becomes the full stop.
func endStop(s string) string {
	s = strings.TrimRight(s, " :;,")
	if s == "" {
		return ""
	}
	// A closing quote or bracket may follow the stop ("(on the settings page.)"), but an
	// ellipsis inside a bracket ends no sentence: the stop goes after it ("(git@host:v3/...).").
	t := strings.TrimRight(s, "\"'”’)]»")
	if t == "" {
		return s + "."
	}
	bracketed := strings.ContainsAny(s[len(t):], ")]")
	switch {
	case bracketed && (strings.HasSuffix(t, "...") || strings.HasSuffix(t, "…")):
	case strings.HasSuffix(t, "."), strings.HasSuffix(t, "?"), strings.HasSuffix(t, "!"), strings.HasSuffix(t, "…"):
		return s
	}
	return s + "."
}

// serverWords is the start of an Azure DevOps error message quoted in a service message:
// its TF or VS code ("TF400813: The user … is not authorized …").
var serverWords = regexp.MustCompile(`\b(?:TF|VS)\d{4,7}:`)

// quotedMessage is a service message split for a page: Sentence is ours (made a sentence), Quote the
// server's own words verbatim ("" when the message quotes none).
type quotedMessage struct {
	Sentence string
	Quote    string
}

// serverQuote splits a service message that quotes Azure DevOps ("the server rejected the
// personal access token: TF400813: The user is not authorized.; create a new PAT …") into our
// sentence ("The server rejected the personal access token; create a new PAT ….") and the
// server's words ("TF400813: The user is not authorized."), so a page can set the quote apart
// (class server-quote). The server's words run from their TF/VS code to the next "; " (our
// advice after them), or to the bracket that closes ours around them ("(HTTP 403: TF…)"). A
// message with no server words is all Sentence.
func serverQuote(msg string) quotedMessage {
	s := strings.Join(strings.Fields(msg), " ")
	loc := serverWords.FindStringIndex(s)
	if loc == nil {
		return quotedMessage{Sentence: sentence(s)}
	}
	start := loc[0]
	end := len(s)
	if i := strings.Index(s[start:], "; "); i >= 0 {
		end = start + i
	}
	quote := s[start:end]
	// Inside a bracket of ours ("(HTTP 403: TF…)"), our bracket closes after the quote.
	if strings.Count(s[:start], "(") > strings.Count(s[:start], ")") && strings.Count(quote, ")") > strings.Count(quote, "(") {
		cut := strings.LastIndex(quote, ")")
		end = start + cut
		quote = quote[:cut]
	}
	ours := strings.TrimRight(s[:start], " :") + s[end:]
	ours = strings.ReplaceAll(ours, "()", "")
	return quotedMessage{Sentence: sentence(ours), Quote: strings.TrimSpace(quote)}
}
