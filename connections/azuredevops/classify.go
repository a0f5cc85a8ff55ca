package azuredevops

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/resilience"
)

// VersionOutOfRangeError is HTTP 400 VssVersionOutOfRangeException: the server's REST API is
// older than the api-version asked for. Latest is the newest version it supports ("6.0"),
// parsed from the message (docs/azure-devops-protocol.md §1).
type VersionOutOfRangeError struct {
	Requested string
	Latest    string
}

// Error says which version was asked for and which the server supports.
func (e *VersionOutOfRangeError) Error() string {
	return fmt.Sprintf("REST API version %s is out of range for this server (latest %s)", e.Requested, e.Latest)
}

var versionOutOfRange = regexp.MustCompile(`version of ([0-9]+\.[0-9]+)\S* is out of range.*supports is ([0-9]+\.[0-9]+)`)

// classifyResponse turns a non-success answer into a *connections.Error; nil for 200-202/204.
//
// 203 and HTML bodies mean the credential was not accepted (docs/azure-devops-protocol.md §3, reported);
// 401 is ErrUnauthorized with the server's message (e.g. an expired PAT); 403 ErrForbidden;
// the server's message is quoted only when the answer has a recognised Azure DevOps error
// shape (serviceError); any other body is summarised by its status alone;
// 404 ErrNotFound; 400 with VssVersionOutOfRangeException wraps *VersionOutOfRangeError;
// 429 ErrRateLimited (§8); anything else ErrProtocol. With a Bearer credential the sentences
// speak of the OAuth access token, and a 401 TF400813 to an Azure DevOps OAuth app's token is
// ErrPolicyDisabled (reason oauth_policy_disabled): on a freshly minted token it means the
// organization policy "Third-party application access via OAuth" is off (§6); a caller holding
// an older token refreshes it and asks again before believing that. The same TF400813 also
// answers a user who is not a member of the organization; the Client tells that case apart
// with two more requests (membership.go) and reports not_org_member instead.
func classifyResponse(r *response, ep Endpoint, cred Credential) error {
	bearer := !cred.Bearer.Empty()
	switch {
	case bearer && (r.status == http.StatusNonAuthoritativeInfo || (r.status < 300 && isHTML(r))):
		return connections.Errorf(connections.ErrUnauthorized, connections.ReasonInvalidToken,
			"the server did not accept the OAuth access token (it answered with a sign-in page, HTTP %d); authorize the connection again", r.status)
	case r.status == http.StatusNonAuthoritativeInfo || (r.status < 300 && isHTML(r)):
		return connections.Errorf(connections.ErrUnauthorized, connections.ReasonInvalidToken,
			"the server did not accept the personal access token (it answered with a sign-in page, HTTP %d); create a new PAT with the Code (Read) and Project and Team (Read) scopes", r.status)
	case r.status >= 200 && r.status < 300:
		return nil
	case r.status >= 300 && r.status < 400:
		return connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol,
			"the server redirected the request (HTTP %d), and REST calls follow no redirect; check the server URL and its scheme (http or https)", r.status)
	}
	msg, typeKey := serviceError(r)
	switch r.status {
	case http.StatusUnauthorized:
		if bearer {
			return bearerRefused(ep, cred, msg)
		}
		text := "the server answered HTTP 401 without an Azure DevOps error, so either the URL does not name an Azure DevOps server or it rejected the personal access token"
		if msg != "" {
			text = "the server rejected the personal access token: " + msg
		}
		return connections.Errorf(connections.ErrUnauthorized, connections.ReasonInvalidToken,
			"%s; create a new PAT in User settings > Personal access tokens on %s and try again", text, ep.Hostname())
	case http.StatusForbidden:
		return connections.Errorf(connections.ErrForbidden, connections.ReasonForbidden,
			"the token is not allowed to do this (%s); give the PAT the needed scope or permission", describeStatus(r))
	case http.StatusNotFound:
		return connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound, "%s", describeStatus(r))
	case http.StatusTooManyRequests:
		// Only the parsed Retry-After is shown: the header's text is the server's to choose.
		after := resilience.ParseRetryAfter(r.header.Get("Retry-After"), time.Now())
		when := "in a few seconds"
		if after > 0 {
			when = "after " + after.Round(time.Second).String()
		}
		e := connections.Errorf(connections.ErrRateLimited, connections.ReasonRateLimited,
			"Azure DevOps is throttling this identity (HTTP 429); retry %s", when)
		e.RetryAfter = after
		return e
	case http.StatusBadRequest:
		if typeKey == "VssVersionOutOfRangeException" || versionOutOfRange.MatchString(msg) {
			v := &VersionOutOfRangeError{}
			if m := versionOutOfRange.FindStringSubmatch(msg); m != nil {
				v.Requested, v.Latest = m[1], m[2]
			}
			return connections.Errorf(connections.ErrServerTooOld, connections.ReasonServerTooOld, "%s", msg).Wrap(v)
		}
	}
	return connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol, "the server answered %s", describeStatus(r))
}

// withRequestIDs stamps the failed answer's ActivityId and X-VSS-E2EID headers (Azure DevOps
// sends both on every answer, Services and Server alike; Microsoft support asks for them) on
// the *connections.Error err carries, for the logs, unless it carries ids already. err is
// returned as is.
func withRequestIDs(err error, h http.Header) error {
	if e := connections.AsError(err); e != nil && e.ActivityID == "" && e.E2EID == "" {
		e.ActivityID, e.E2EID = h.Get("ActivityId"), h.Get("X-VSS-E2EID")
	}
	return err
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// classifyTransport turns a failure to get an HTTP answer into ErrUnreachable or ErrTLS; a
// refusal of the outbound policy (ErrDestinationNotAllowed) is returned as it is.
func classifyTransport(err error, ep Endpoint, timeout time.Duration) error {
	return connections.ClassifyTransport(err, ep.Host, timeout)
}

// bearerRefused classifies a 401 to an OAuth access token: TF400813 to an Azure DevOps OAuth
// app's token is the organization policy (docs/azure-devops-protocol.md §6); anything else (expired,
// revoked) is ErrUnauthorized asking for a new authorization. A TF400813 that names the user
// (to a token of either provider) carries a *userRefusal cause: the user may instead not be
// a member of the organization, which Client.explainRefusal finds out (membership.go).
func bearerRefused(ep Endpoint, cred Credential, msg string) error {
	named := tf400813User.MatchString(msg)
	if cred.OAuthProvider == ProviderAzureDevOps && strings.Contains(msg, "TF400813") {
		e := PolicyDisabledError(ep)
		if named {
			e.Wrap(&userRefusal{})
		}
		return e
	}
	text := "the server answered HTTP 401 without an Azure DevOps error, so either the URL does not name Azure DevOps or it rejected the OAuth access token"
	if msg != "" {
		text = "the server rejected the OAuth access token: " + msg
	}
	e := connections.Errorf(connections.ErrUnauthorized, connections.ReasonInvalidToken,
		"%s; authorize the connection again", text)
	if named {
		e.Wrap(&userRefusal{})
	}
	return e
}

// PolicyDisabledError is the error of an organization whose policy "Third-party application
// access via OAuth" is off (docs/azure-devops-protocol.md §6): it names the setting, where it is, who may
// change it, and the alternatives. Kind ErrPolicyDisabled, reason oauth_policy_disabled.
func PolicyDisabledError(ep Endpoint) *connections.Error {
	return connections.Errorf(connections.ErrPolicyDisabled, connections.ReasonOAuthPolicyDisabled,
		"the organization %s does not allow third-party application access via OAuth, so Azure DevOps refuses the app's token (TF400813); a Project Collection Administrator can turn on \"Third-party application access via OAuth\" at %s/_settings/organizationPolicy and then check the connection again, or connect with Microsoft Entra ID or a personal access token instead",
		ep.Collection, ep.CollectionURL())
}
