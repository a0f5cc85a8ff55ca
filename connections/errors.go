package connections

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Category sentinels. Drivers wrap one of these (with %w) in an *Error so that callers can
// branch with errors.Is without knowing the forge, and so that the web layer can map every
// failure to one HTTP status in one place.
var (
	// ErrUnauthorized: the forge rejected the credential (expired, revoked, wrong, or an HTML
	// sign-in page instead of JSON).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the credential is valid but lacks a permission or scope.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: the collection, project, repository or branch does not exist or is not visible.
	ErrNotFound = errors.New("not found")
	// ErrPolicyDisabled: an organization policy blocks the credential (OAuth third-party access).
	ErrPolicyDisabled = errors.New("policy disabled")
	// ErrScopeMismatch: the scopes requested differ from the scopes the app registered.
	ErrScopeMismatch = errors.New("scope mismatch")
	// ErrServerTooOld: the server's REST API is older than the oldest supported release.
	ErrServerTooOld = errors.New("server too old")
	// ErrUnreachable: no HTTP answer (DNS, connection refused, timeout).
	ErrUnreachable = errors.New("unreachable")
	// ErrTLS: the TLS handshake failed (unknown authority, wrong host name, expired certificate).
	ErrTLS = errors.New("tls")
	// ErrInvalidInput: the caller's input cannot be used (malformed URL, bad name).
	ErrInvalidInput = errors.New("invalid input")
	// ErrRateLimited: the forge throttled the caller (HTTP 429).
	ErrRateLimited = errors.New("rate limited")
	// ErrProtocol: the forge answered with something the driver does not understand.
	ErrProtocol = errors.New("protocol error")
	// ErrUpstreamUnavailable: Azure DevOps kept failing (HTTP 500, 502, 503, 504 or a reset
	// connection) after every retry the resilience transport allows; trying later may work.
	ErrUpstreamUnavailable = errors.New("upstream unavailable")
	// ErrHostKey: the SSH server presented a host key that is not the one pinned for it
	// (reason host_key_changed) or that nobody confirmed yet (reason host_key_unconfirmed).
	// Nothing was sent to the server; an operator or the user accepts the new key.
	ErrHostKey = errors.New("ssh host key")
	// ErrDestinationNotAllowed: the service's outbound network policy (package
	// connections/egress) refused the destination a tenant chose, before any byte was sent
	// to it. The message names the operator's settings and nothing about the destination.
	ErrDestinationNotAllowed = errors.New("destination not allowed")
)

// Reason is a stable, machine-readable code shown to users and API clients, e.g. "invalid_token".
type Reason string

// Reasons reported by the token check and by connection operations. They are part of the API.
const (
	ReasonInvalidToken       Reason = "invalid_token"
	ReasonCollectionNotFound Reason = "collection_not_found"
	ReasonServerTooOld       Reason = "server_too_old"
	ReasonPublicURLLocalhost Reason = "public_url_localhost"
	ReasonUnreachable        Reason = "unreachable"
	ReasonTLS                Reason = "tls"
	ReasonForbidden          Reason = "forbidden"
	ReasonNotFound           Reason = "not_found"
	ReasonRateLimited        Reason = "rate_limited"
	ReasonProtocol           Reason = "protocol_error"
	ReasonInvalidInput       Reason = "invalid_input"
	// ReasonTooLarge: a clone was stopped because the repository's pack passed the clone's
	// size limit (gitops.CloneOptions.MaxBytes); kind ErrInvalidInput.
	ReasonTooLarge Reason = "repository_too_large"

	// ReasonOAuthPolicyDisabled: the organization's policy "Third-party application access via
	// OAuth" is off, so Azure DevOps refuses every call made with an OAuth app's token (401
	// TF400813 on a freshly minted token; docs/azure-devops-protocol.md §6).
	ReasonOAuthPolicyDisabled Reason = "oauth_policy_disabled"
	// ReasonNotOrgMember: the account that authorized an OAuth connection is not a member of
	// the organization (or signed in from another directory than the organization's), so
	// Azure DevOps refuses its token with the policy's TF400813; told apart from
	// ReasonOAuthPolicyDisabled by the accounts the user belongs to (kind ErrForbidden).
	ReasonNotOrgMember Reason = "not_org_member"
	// ReasonScopeMismatch: the scopes requested differ from the scopes registered with the
	// OAuth app (the callback got error=InvalidScope; docs/azure-devops-protocol.md §6).
	ReasonScopeMismatch Reason = "scope_mismatch"
	// ReasonAccessDenied: the user declined the consent page.
	ReasonAccessDenied Reason = "access_denied"
	// ReasonGrantInvalid: the provider refused the authorization code or refresh token for good
	// (consent revoked, account deactivated, client secret regenerated, token expired or reused).
	ReasonGrantInvalid Reason = "grant_invalid"
	// ReasonClientInvalid: the provider refused the OAuth app's client id or secret (a secret
	// expired or regenerated).
	ReasonClientInvalid Reason = "client_invalid"
	// ReasonNoRefreshToken: the token answer carried no refresh token (Entra: offline_access
	// was not granted), so the connection could not stay authorized past the first hour.
	ReasonNoRefreshToken Reason = "no_refresh_token"
	// ReasonOAuthError: any other error the OAuth provider named.
	ReasonOAuthError Reason = "oauth_error"
	// ReasonUpstreamUnavailable: Azure DevOps answered 5xx or reset the connection on every
	// attempt (kind ErrUpstreamUnavailable); Error.RetryAfter says when to try again.
	ReasonUpstreamUnavailable Reason = "azure_devops_unavailable"
	// ReasonDestinationNotAllowed: the outbound network policy refused the destination (an
	// address, a host name, a redirect to another host); kind ErrDestinationNotAllowed, HTTP
	// 422. Operators change the policy with --allow-destinations, --deny-destinations and
	// --deny-private-networks (connections/egress).
	ReasonDestinationNotAllowed Reason = "destination_not_allowed"
	// ReasonWorkTreeTooLarge: a clone was refused or stopped because what it writes to disk
	// (pack, index and work tree) passed its size limit (gitops.CloneOptions.MaxBytes; serve
	// --max-clone-size); kind ErrInvalidInput.
	ReasonWorkTreeTooLarge Reason = "work_tree_too_large"
	// ReasonTooManyFiles: a clone was refused because its work tree has more entries than
	// its limit (gitops.CloneOptions.MaxFiles; serve --max-clone-files); kind ErrInvalidInput.
	ReasonTooManyFiles Reason = "too_many_files"
	// ReasonObjectTooLarge: a clone was stopped because one object passed the object size
	// limit (gitops.CloneOptions.MaxObjectBytes; serve --max-object-size); kind ErrInvalidInput.
	ReasonObjectTooLarge Reason = "object_too_large"
	// ReasonDiskSpaceLow: a clone was refused or stopped because the data directory's free
	// space fell below the reserve (gitops.CloneOptions.MinFreeBytes; serve --min-free-space);
	// kind ErrInvalidInput.
	ReasonDiskSpaceLow Reason = "disk_space_low"
	// ReasonMemoryBudgetExceeded: a clone was stopped because one object alone needs more
	// memory than the clones' whole memory budget (gitops.MemoryBudget; serve
	// --clone-memory); kind ErrInvalidInput.
	ReasonMemoryBudgetExceeded Reason = "memory_budget_exceeded"

	// SSH (docs/ssh.md). ReasonHostKeyChanged: the server's host key differs from the one
	// pinned (Azure DevOps Services' published fingerprints, or the key a user confirmed for a
	// Server); every clone stops until the new key is accepted. Kind ErrHostKey.
	ReasonHostKeyChanged Reason = "host_key_changed"
	// ReasonHostKeyUnconfirmed: a Server's host key was seen but nobody confirmed its
	// fingerprint yet. Kind ErrHostKey.
	ReasonHostKeyUnconfirmed Reason = "host_key_unconfirmed"
	// ReasonSSHKeyNotAdded: the server refused the connection's public key: it is not added
	// under User settings > SSH public keys (or the user lacks access). Kind ErrUnauthorized.
	ReasonSSHKeyNotAdded Reason = "ssh_key_not_added"
	// ReasonSSHKeyTypeRefused: the server does not accept keys of this type (e.g. Ed25519 on
	// Azure DevOps); a key of an accepted type is needed. Kind ErrUnauthorized, or
	// ErrInvalidInput (field privateKey) when a supplied key is refused before it is stored.
	ReasonSSHKeyTypeRefused Reason = "ssh_key_type_refused"
	// ReasonSSHDisabled: nothing accepts SSH connections where the server's SSH URL says
	// (SSH is turned off on the server). Kind ErrUnreachable.
	ReasonSSHDisabled Reason = "ssh_disabled"
	// ReasonSSHWrongPort: the port answers, but not with SSH, or it is not the port the
	// server's SSH URL names. Kind ErrUnreachable.
	ReasonSSHWrongPort Reason = "ssh_wrong_port"
)

// Error is a categorized failure with a sentence a user can act on.
//
// Kind is one of the sentinels above (errors.Is(err, ErrUnauthorized) works through it);
// Reason is the stable code; Message is the user-facing sentence: it never contains a secret
// and never contains a URL with user info; Err is the underlying cause, for logs only.
type Error struct {
	Kind    error
	Reason  Reason
	Message string
	// Field names the input that caused the failure, when there is one (e.g. "collection").
	Field string
	Err   error
	// RetryAfter is how long the caller should wait before trying again, when the forge said
	// so (Retry-After) or the failure is transient (ErrRateLimited, ErrUpstreamUnavailable);
	// 0 when unknown or not applicable. The web layer sends it as the Retry-After header.
	RetryAfter time.Duration
	// ActivityID and E2EID are Azure DevOps' ids of the request that failed, from its
	// answer's ActivityId and X-VSS-E2EID headers (every Azure DevOps Services and Server
	// answer carries them; Microsoft support asks for them); empty when the failure had no
	// answer. They name a request, not a credential: they go to logs (LogValue), never to API
	// answers.
	ActivityID, E2EID string
}

// Error returns the user-facing message only. The cause (which may name internal URLs) is
// left out so that printing an error never shows more than the user should see; logs get it
// through LogValue.
func (e *Error) Error() string { return e.Message }

// LogValue implements slog.LogValuer: the message, the reason and the cause's text, for logs.
func (e *Error) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("msg", e.Message), slog.String("reason", string(e.Reason))}
	if e.Err != nil {
		attrs = append(attrs, slog.String("cause", e.Err.Error()))
	}
	if e.ActivityID != "" {
		attrs = append(attrs, slog.String("activityId", e.ActivityID))
	}
	if e.E2EID != "" {
		attrs = append(attrs, slog.String("e2eId", e.E2EID))
	}
	return slog.GroupValue(attrs...)
}

// Is reports whether target is the error's category sentinel.
func (e *Error) Is(target error) bool { return e.Kind == target }

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error of the given category and reason with a formatted user-facing message.
func Errorf(kind error, reason Reason, format string, args ...any) *Error {
	return &Error{Kind: kind, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns e with its cause set to cause (for logs). It returns e for chaining.
func (e *Error) Wrap(cause error) *Error { e.Err = cause; return e }

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
