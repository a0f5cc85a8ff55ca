package azuredevops

import (
	"context"
	cryptotls "crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/repoconnect/repoconnect/connections"
)

// Names of the token check's steps, in order.
const (
	StepReach        = "reach_host"
	StepTLS          = "tls"
	StepAuthenticate = "authenticate"
	StepCollection   = "collection"
	StepVersion      = "server_version"
	StepPublicURL    = "public_url"
	// StepOAuthPolicy is checked for Azure DevOps OAuth app tokens only: the organization
	// policy "Third-party application access via OAuth" (docs/azure-devops-protocol.md §6).
	StepOAuthPolicy = "oauth_policy"
	// StepMembership fails when an OAuth token's user is not a member of the organization
	// (reason not_org_member, membership.go).
	StepMembership = "org_membership"
)

// ReasonPublicURLMismatch warns that the server's public URL names another host than the
// one the user gave (the localhost case has its own code, connections.ReasonPublicURLLocalhost).
const ReasonPublicURLMismatch connections.Reason = "public_url_mismatch"

// probeVersion is the api-version of the connectionData probe: the newest the service knows.
// A server below it answers 400 VssVersionOutOfRangeException naming its ceiling, which tells
// the release (docs/azure-devops-protocol.md §1). connectionData accepts preview versions only (§5).
const probeVersion = "7.1"

// CheckToken runs the token check that users run by hand,
// curl -u :PAT {server}/{collection}/_apis/projects?api-version=6.0 (docs/azure-devops-protocol.md §3), and
// then asks _apis/connectionData who the token is and what the server is.
//
// A credential or server problem is reported in the result (Valid false, Reason, Message, the
// failed step): invalid_token (401, 203, HTML sign-in page, expired PAT), collection_not_found
// (404), server_too_old (REST ceiling below 6.0, i.e. older than Server 2020; the release is
// named), unreachable (DNS, refused, timeout: says which), destination_not_allowed (the
// outbound policy refused the server's address before any connection, step reach_host; the
// message names the operator's settings and nothing of the target), tls (says which
// certificate problem), and for an Azure DevOps OAuth app's token oauth_policy_disabled (401 TF400813:
// the organization policy is off, step oauth_policy; the caller must hold a freshly minted
// token for that to be the cause, docs/azure-devops-protocol.md §6), and for an OAuth token of either
// provider not_org_member (the same TF400813, but the accounts API does not list the
// organization among the user's: step org_membership, membership.go). A public URL naming localhost, or
// another host, is a warning. The error return is for a cancelled context, and for Azure
// DevOps throttling or failing after the transport's retries (a *connections.Error of kind
// ErrRateLimited or ErrUpstreamUnavailable with RetryAfter set, from package
// connections/resilience): then the check could not be run, which says nothing of the
// credential, and the caller answers 429 or 503 with Retry-After.
//
// Under connections.WithCheckObserver the check tells its plan (host, the per-request timeout,
// the steps) before its first request, and each step as soon as it is known: reach_host and
// tls when the connection to the server is made (net/http/httptrace), before any answer; the
// others as their requests answer. The result is the same with or without an observer.
func (c *Client) CheckToken(ctx context.Context) (*connections.CheckResult, error) {
	rep := connections.NewCheckReporter(ctx)
	defer rep.Close()
	rep.Start(connections.CheckPlan{Host: c.ep.Host, Timeout: c.timeout, Steps: c.plannedSteps()})
	res := &connections.CheckResult{APIVersion: APIVersion, CheckedAt: time.Now().UTC()}
	projects, err := c.ListProjects(c.traceConnection(ctx, rep))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if retryLater(err) {
			return nil, err
		}
		c.fail(res, err)
		report(rep, res)
		return res, nil
	}
	c.pass(res, StepReach, StepTLS, StepAuthenticate, StepCollection)
	if c.cred.OAuthProvider == ProviderAzureDevOps {
		res.Steps = append(res.Steps, connections.CheckStep{Name: StepOAuthPolicy, OK: true,
			Message: "the organization allows third-party application access via OAuth"})
	}
	res.Projects = projects
	report(rep, res)

	cd, version, err := c.connectionData(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if retryLater(err) {
			return nil, err
		}
		c.fail(res, err)
		report(rep, res)
		return res, nil
	}
	res.User = cd.AuthenticatedUser.toUser()
	res.DeploymentType = string(cd.DeploymentType)
	res.ServerVersion = releaseFor(version, res.DeploymentType)
	res.Steps = append(res.Steps, connections.CheckStep{Name: StepVersion, OK: true,
		Message: fmt.Sprintf("%s (REST API %s)", describeRelease(res.ServerVersion, res.DeploymentType), version)})

	res.Warnings = publicURLWarnings(c.ep, cd.publicURL())
	step := connections.CheckStep{Name: StepPublicURL, OK: len(res.Warnings) == 0}
	if !step.OK {
		step.Message = res.Warnings[0].Message
	}
	res.Steps = append(res.Steps, step)
	res.Valid = true
	report(rep, res)
	return res, nil
}

// plannedSteps names the steps a check of c reports when nothing fails, in order: tls for
// https only, oauth_policy for an Azure DevOps OAuth app's token only.
func (c *Client) plannedSteps() []string {
	steps := []string{StepReach}
	if c.ep.Scheme == "https" {
		steps = append(steps, StepTLS)
	}
	steps = append(steps, StepAuthenticate, StepCollection)
	if c.cred.OAuthProvider == ProviderAzureDevOps {
		steps = append(steps, StepOAuthPolicy)
	}
	return append(steps, StepVersion, StepPublicURL)
}

// traceConnection returns ctx with connection hooks telling rep that the host was reached
// (a TCP connection made, or a kept-alive one reused) and, for https, that its certificate was
// trusted (the handshake done), as soon as that happens: before the server answers, which
// may take up to the request timeout. Without a reporter it returns ctx.
func (c *Client) traceConnection(ctx context.Context, rep *connections.CheckReporter) context.Context {
	if rep == nil {
		return ctx
	}
	tls := c.ep.Scheme == "https"
	reached := func() { rep.Step(connections.CheckStep{Name: StepReach, OK: true}) }
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				reached()
			}
		},
		TLSHandshakeDone: func(_ cryptotls.ConnectionState, err error) {
			if err == nil && tls {
				reached()
				rep.Step(connections.CheckStep{Name: StepTLS, OK: true})
			}
		},
		GotConn: func(httptrace.GotConnInfo) {
			reached()
			if tls {
				rep.Step(connections.CheckStep{Name: StepTLS, OK: true})
			}
		},
	})
}

// report tells rep every step of res (the reporter tells each once, again when it changed).
func report(rep *connections.CheckReporter, res *connections.CheckResult) {
	for _, s := range res.Steps {
		rep.Step(s)
	}
}

// retryLater reports whether err is a transient refusal that already went through retries:
// ErrRateLimited or ErrUpstreamUnavailable carrying a RetryAfter.
func retryLater(err error) bool {
	e := connections.AsError(err)
	return e != nil && e.RetryAfter > 0 &&
		(errors.Is(err, connections.ErrRateLimited) || errors.Is(err, connections.ErrUpstreamUnavailable))
}

// connectionData asks _apis/connectionData at probeVersion-preview and, when the server says
// that is out of range, again at its ceiling. It returns the answer and the version accepted.
func (c *Client) connectionData(ctx context.Context) (*wireConnectionData, string, error) {
	version := probeVersion
	for range 2 {
		q := url.Values{"connectOptions": {"includeServices"}, "api-version": {version + "-preview"}}
		var cd wireConnectionData
		_, err := c.get(ctx, "_apis/connectionData", q, lenient(&cd))
		var vr *VersionOutOfRangeError
		if errors.As(err, &vr) && vr.Latest != "" && vr.Latest != version {
			version = vr.Latest
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return &cd, version, nil
	}
	return nil, "", connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol,
		"the server refused every api-version for connectionData")
}

// pass appends successful steps not recorded yet; the TLS step only for https.
func (c *Client) pass(res *connections.CheckResult, steps ...string) {
	for _, s := range steps {
		if (s == StepTLS && c.ep.Scheme != "https") || slices.ContainsFunc(res.Steps, func(st connections.CheckStep) bool { return st.Name == s }) {
			continue
		}
		res.Steps = append(res.Steps, connections.CheckStep{Name: s, OK: true})
	}
}

// fail records the failure in res: reason, message, and the steps up to the failed one.
func (c *Client) fail(res *connections.CheckResult, err error) {
	e := connections.AsError(err)
	if e == nil {
		e = connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol, "the check failed unexpectedly").Wrap(err)
	}
	res.Valid, res.Reason, res.Message = false, e.Reason, e.Message
	var failed string
	switch e.Reason {
	case connections.ReasonUnreachable, connections.ReasonDestinationNotAllowed:
		failed = StepReach
	case connections.ReasonTLS:
		c.pass(res, StepReach)
		failed = StepTLS
	case connections.ReasonInvalidToken, connections.ReasonForbidden:
		c.pass(res, StepReach, StepTLS)
		failed = StepAuthenticate
	case connections.ReasonCollectionNotFound:
		c.pass(res, StepReach, StepTLS, StepAuthenticate)
		failed = StepCollection
	case connections.ReasonOAuthPolicyDisabled:
		c.pass(res, StepReach, StepTLS, StepAuthenticate)
		failed = StepOAuthPolicy
	case connections.ReasonNotOrgMember:
		c.pass(res, StepReach, StepTLS, StepAuthenticate)
		failed = StepMembership
	case connections.ReasonServerTooOld:
		c.pass(res, StepReach, StepTLS)
		failed = StepVersion
		var vr *VersionOutOfRangeError
		if errors.As(err, &vr) {
			rel := releaseFor(vr.Latest, "onPremises")
			res.ServerVersion = rel
			res.Message = fmt.Sprintf("this server is %s (REST API %s); repoconnect needs Azure DevOps Server 2020 or newer (REST API 6.0): upgrade the server",
				describeRelease(rel, "onPremises"), vr.Latest)
		}
	default:
		c.pass(res, StepReach, StepTLS)
		failed = StepAuthenticate
	}
	res.Steps = append(res.Steps, connections.CheckStep{Name: failed, OK: false, Message: res.Message})
}

// releaseFor names the product release for a REST API ceiling (docs/azure-devops-protocol.md §1): 7.1 →
// "2022.1", 7.0 → "2022", 6.0 → "2020", 5.x → "2019", 4.x → "TFS 2018", 3.x → "TFS 2017".
// Services answers "services".
func releaseFor(apiVersion, deploymentType string) string {
	if strings.EqualFold(deploymentType, "hosted") {
		return "services"
	}
	major, minor, _ := strings.Cut(apiVersion, ".")
	switch major {
	case "7":
		if minor != "" && minor != "0" {
			return "2022.1"
		}
		return "2022"
	case "6":
		return "2020"
	case "5":
		return "2019"
	case "4":
		return "TFS 2018"
	case "3":
		return "TFS 2017"
	}
	return "unknown"
}

func describeRelease(rel, deploymentType string) string {
	switch {
	case rel == "services":
		return "Azure DevOps Services"
	case rel == "2022.1":
		return "Azure DevOps Server 2022.1 or newer"
	case strings.HasPrefix(rel, "TFS"):
		return "Team Foundation Server " + strings.TrimPrefix(rel, "TFS ")
	case rel == "unknown":
		return "an Azure DevOps Server of unknown release"
	}
	return "Azure DevOps Server " + rel
}

// publicURLWarnings compares the host of the server's public URL with the host the user gave
// (docs/azure-devops-protocol.md §3: a public URL left at http://localhost:8080/tfs makes every returned URL
// say localhost).
func publicURLWarnings(ep Endpoint, publicURL string) []connections.Warning {
	u, err := url.Parse(publicURL)
	if publicURL == "" || err != nil || u.Hostname() == "" {
		return nil
	}
	got, gave := strings.ToLower(u.Hostname()), strings.ToLower(ep.Hostname())
	if got == gave {
		return nil
	}
	if isLoopbackName(got) && !isLoopbackName(gave) || got == "localhost" {
		return []connections.Warning{{Code: connections.ReasonPublicURLLocalhost, Message: fmt.Sprintf(
			"the server's public URL is %s, so the clone URLs and links it returns say localhost; ask the server administrator to set the Public URL in the Azure DevOps Server Administration Console (Application Tier) to %s",
			publicURL, ep.ServerURL())}}
	}
	return []connections.Warning{{Code: ReasonPublicURLMismatch, Message: fmt.Sprintf(
		"the server's public URL is %s, another host than %s; clone URLs it returns will use that host", publicURL, ep.Host)}}
}

func isLoopbackName(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}
