package azuredevops

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/repoconnect/repoconnect/connections"
)

// Fuzz targets for what the REST client reads of an Azure DevOps answer (FuzzParseRemoteURL,
// in remoteurl_test.go, covers the URLs users type). `make fuzz` runs each.

// FuzzClassifyResponse classifies any answer: status, body, Content-Type, X-TFS-ServiceError,
// Location and Retry-After, with a PAT and with a Bearer credential. No panic; a 2xx other than
// 203 that is not an HTML page passes; anything else is a *connections.Error with a reason; the
// message never carries the Location's user information.
func FuzzClassifyResponse(f *testing.F) {
	f.Add(200, []byte(`{"count":1,"value":[]}`), "application/json", "", "", "")
	f.Add(203, []byte("<html>sign in</html>"), "text/html", "", "", "")
	f.Add(401, []byte(`{"message":"TF400813: The user is not authorized","typeKey":"UnauthorizedRequestException"}`), "application/json", "", "", "")
	f.Add(400, []byte(`{"message":"The requested REST API version of 7.1 is out of range for this server. The latest REST API version this server supports is 6.0.","typeKey":"VssVersionOutOfRangeException"}`), "application/json", "", "", "")
	f.Add(404, []byte("not json"), "text/plain", "TF200016%3A%20The%20following%20project%20does%20not%20exist", "", "")
	f.Add(404, []byte{}, "", "%zz", "", "")
	f.Add(302, []byte{}, "", "", "https://user:secretpw@other.example/x", "")
	f.Add(429, []byte{}, "", "", "", "30")
	f.Add(500, []byte("<!DOCTYPE html><p>internal</p>"), "text/html; charset=utf-8", "", "", "")
	f.Fuzz(func(t *testing.T, status int, body []byte, contentType, serviceError, location, retryAfter string) {
		h := http.Header{}
		for k, v := range map[string]string{"Content-Type": contentType, "X-TFS-ServiceError": serviceError, "Location": location, "Retry-After": retryAfter} {
			if v != "" {
				h.Set(k, v)
			}
		}
		r := &response{status: status, header: h, body: body}
		ep := Endpoint{Scheme: "https", Host: "ado.example", Collection: "DefaultCollection"}
		for _, cred := range []Credential{{PAT: connections.Secret("pat")}, {Bearer: connections.Secret("tok"), OAuthProvider: ProviderAzureDevOps}} {
			err := classifyResponse(r, ep, cred)
			if status >= 200 && status < 300 && status != http.StatusNonAuthoritativeInfo && !isHTML(r) {
				if err != nil {
					t.Fatalf("HTTP %d refused: %v", status, err)
				}
				continue
			}
			ce := connections.AsError(err)
			if ce == nil || ce.Reason == "" || ce.Kind == nil {
				t.Fatalf("HTTP %d: %#v is not a *connections.Error with a reason", status, err)
			}
			if u, perr := url.Parse(location); perr == nil && u.User != nil && strings.Contains(ce.Message, u.User.String()+"@") {
				t.Fatalf("the message repeats the Location's user information: %q", ce.Message)
			}
		}
	})
}

// FuzzServiceError decodes any error envelope and X-TFS-ServiceError header: no panic, a type
// key only with a message, and no message from an empty answer.
func FuzzServiceError(f *testing.F) {
	f.Add([]byte(`{"$id":"1","message":"TF401019: The Git repository does not exist","typeName":"x","typeKey":"GitRepositoryNotFoundException"}`), "")
	f.Add([]byte(`{"message":""}`), "TF400813%3A%20not%20authorized")
	f.Add([]byte(`{"message":1}`), "%")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		h := http.Header{}
		if header != "" {
			h.Set("X-TFS-ServiceError", header)
		}
		msg, typeKey := serviceError(&response{status: 500, header: h, body: body})
		if msg == "" && typeKey != "" {
			t.Fatalf("a type key %q without a message", typeKey)
		}
		if header == "" && len(body) == 0 && msg != "" {
			t.Fatalf("a message %q from an empty answer", msg)
		}
	})
}

// FuzzParseOAuthError reads any token endpoint error body: no panic; the description is cut to
// 400 bytes (plus "…") on a character boundary, so a valid UTF-8 description stays valid.
func FuzzParseOAuthError(f *testing.F) {
	f.Add(400, []byte(`{"error":"invalid_grant","error_description":"AADSTS70008: The refresh token has expired"}`))
	f.Add(401, []byte(`{"Error":"invalid_client","ErrorDescription":"`+strings.Repeat("é", 300)+`"}`))
	f.Add(500, []byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseOAuthError(status, body)
		if e == nil || e.Status != status {
			t.Fatalf("%+v", e)
		}
		if d := strings.TrimSuffix(e.Description, "…"); len(d) > 400 {
			t.Fatalf("a description of %d bytes", len(d))
		}
		if utf8.Valid(body) && !utf8.ValidString(e.Description) {
			t.Fatalf("the cut made invalid UTF-8: %q", e.Description)
		}
	})
}

// FuzzRedactURL removes the user information of any URL the server names: the password of a URL
// that parses with one (and holds it once) is not in what comes out. (What comes out may still
// parse with user information taken from the path: "//@//u:p@h" is the path "//u:p@h" once its
// empty user information goes; nothing of a credential is shown that the server did not put in
// the path itself.)
func FuzzRedactURL(f *testing.F) {
	f.Add("https://user:pw@host.example/path")
	f.Add("https://host.example/a@b")
	f.Add("https://u:p@[::1:bad/x")
	f.Add("ht tp://u:p@host/%zz")
	f.Add("//user:secret@//x@h")
	f.Fuzz(func(t *testing.T, s string) {
		out := redactURL(s)
		u, err := url.Parse(s)
		if err != nil || u.User == nil {
			return
		}
		if pw, ok := u.User.Password(); ok && len(pw) >= 3 && strings.Count(s, pw) == 1 && strings.Contains(out, pw) {
			t.Fatalf("redactURL(%q) = %q keeps the password", s, out)
		}
	})
}
