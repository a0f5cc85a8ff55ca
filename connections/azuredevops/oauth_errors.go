package azuredevops

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"github.com/repoconnect/repoconnect/connections"
)

// OAuthError is an error answer of an OAuth token endpoint. Azure DevOps OAuth writes
// PascalCase bodies ({"Error","ErrorDescription"}), Entra RFC 6749 ones ({"error",
// "error_description","error_codes"}) (docs/azure-devops-protocol.md §6); both are read into Code and
// Description. Status is the HTTP status.
type OAuthError struct {
	Status      int
	Code        string
	Description string
}

// Error names the status, the code and the description (which never carries a token).
func (e *OAuthError) Error() string {
	s := fmt.Sprintf("token endpoint answered HTTP %d", e.Status)
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Permanent reports whether asking again cannot help: a 4xx other than 408 and 429.
func (e *OAuthError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests
}

// parseOAuthError reads an error body in either casing. Keys are matched case-insensitively
// with underscores ignored, so "ErrorDescription" and "error_description" are the same.
func parseOAuthError(status int, body []byte) *OAuthError {
	e := &OAuthError{Status: status}
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				continue
			}
			switch strings.ReplaceAll(strings.ToLower(k), "_", "") {
			case "error":
				e.Code = s
			case "errordescription":
				e.Description = s
			}
		}
	}
	if len(e.Description) > 400 {
		n := 400
		for n > 0 && !utf8.RuneStart(e.Description[n]) {
			n-- // cut on a character boundary: Entra descriptions may be localized
		}
		e.Description = e.Description[:n] + "…"
	}
	return e
}

// classifyOAuth turns a failed token request into a *connections.Error:
//   - invalid_client, unauthorized_client or HTTP 401: ErrUnauthorized, client_invalid (the
//     client secret expired or was regenerated);
//   - invalid_grant, and Azure DevOps OAuth's invalid_request "The access token is not
//     valid" (its answer to a refresh token that is no longer valid,
//     MicrosoftDocs/azure-devops-docs#8583): ErrUnauthorized, grant_invalid (consent revoked,
//     account deactivated, secret regenerated, a code or refresh token expired or used twice);
//     other invalid_request answers stay oauth_error;
//   - other 4xx: ErrProtocol, oauth_error, naming the provider's code;
//   - 429: ErrRateLimited; 5xx and transport failures: ErrUnreachable (or ErrTLS), which are
//     worth retrying.
//
// The cause is kept for logs; messages never carry a token.
func classifyOAuth(provider, tokenURL string, err error) error {
	host := tokenURL
	if u, perr := url.Parse(tokenURL); perr == nil {
		host = u.Host
	}
	var oe *OAuthError
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &oe):
	case errors.As(err, &re):
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		oe = parseOAuthError(status, re.Body)
		if oe.Code == "" {
			oe.Code = re.ErrorCode
		}
	default:
		if e := connections.RecognizeTransport(err, host, 0); e != nil {
			return e
		}
		return connections.Errorf(connections.ErrProtocol, connections.ReasonOAuthError,
			"the OAuth token endpoint %s gave an answer repoconnect does not understand", host).Wrap(err)
	}
	who := providerName(provider)
	detail := oe.Code
	if oe.Description != "" {
		detail += ": " + oe.Description
	}
	switch {
	case oe.Code == "invalid_client" || oe.Code == "unauthorized_client" || (oe.Status == http.StatusUnauthorized && oe.Code != "invalid_grant"):
		return connections.Errorf(connections.ErrUnauthorized, connections.ReasonClientInvalid,
			"%s refused the app's client id or secret (%s); the client secret may have expired or been regenerated: give the app's current secret and authorize the connection again", who, detail).Wrap(oe)
	case oe.Code == "invalid_grant" || refreshTokenRefused(provider, oe):
		return connections.Errorf(connections.ErrUnauthorized, connections.ReasonGrantInvalid,
			"%s refused the authorization (%s): consent was revoked, the account was deactivated, the client secret was regenerated, or the code or refresh token expired or was used already; authorize the connection again", who, detail).Wrap(oe)
	case oe.Status == http.StatusTooManyRequests:
		return connections.Errorf(connections.ErrRateLimited, connections.ReasonRateLimited,
			"%s is throttling token requests (HTTP 429); try again in a minute", who).Wrap(oe)
	case oe.Status >= 500 || oe.Status == http.StatusRequestTimeout:
		return connections.Errorf(connections.ErrUnreachable, connections.ReasonUnreachable,
			"%s's token endpoint failed (HTTP %d); try again", who, oe.Status).Wrap(oe)
	}
	return connections.Errorf(connections.ErrProtocol, connections.ReasonOAuthError,
		"%s refused the token request (HTTP %d: %s)", who, oe.Status, detail).Wrap(oe)
}

// accessTokenNotValid is the ErrorDescription with which the Azure DevOps token endpoint
// refuses a refresh token that is no longer valid (MicrosoftDocs/azure-devops-docs#8583).
const accessTokenNotValid = "The access token is not valid"

// refreshTokenRefused reports whether oe is Azure DevOps OAuth's invalid_request "The access
// token is not valid" (trailing period and case aside).
func refreshTokenRefused(provider string, oe *OAuthError) bool {
	return provider == ProviderAzureDevOps && oe.Code == "invalid_request" &&
		strings.EqualFold(strings.TrimSuffix(strings.TrimSpace(oe.Description), "."), accessTokenNotValid)
}

// providerName is the provider's name in sentences.
func providerName(provider string) string {
	if provider == ProviderEntra {
		return "Microsoft Entra ID"
	}
	return "Azure DevOps OAuth"
}

// IsTransient reports whether a failed token request is worth retrying: the provider could
// not be reached, failed with 5xx, or throttled.
func IsTransient(err error) bool {
	return errors.Is(err, connections.ErrUnreachable) || errors.Is(err, connections.ErrRateLimited)
}
