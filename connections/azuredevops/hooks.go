package azuredevops

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/repoconnect/repoconnect/connections"
)

// HooksWriteScope is the scope a credential needs to create, replace and delete service hooks
// subscriptions: "Service hooks (read and write)", vso.hooks_write
// (learn.microsoft.com/azure/devops/integrate/get-started/authentication/oauth, scopes table:
// "create and update service hook subscriptions"). It is not one of the six default scopes;
// ask for it only when a user turns triggers on. Note: hooks/7.1/serviceHooks.json in
// MicrosoftDocs/vsts-rest-api-specs lists vso.work, vso.build and vso.code as the OAuth
// security of the subscriptions operations; which of the two the service enforces for a PAT
// is unconfirmed, the simulator requires vso.hooks_write.
const HooksWriteScope = "vso.hooks_write"

// Subscription statuses (hooks/7.1/serviceHooks.json, SubscriptionStatus).
const (
	SubscriptionEnabled          = "enabled"
	SubscriptionOnProbation      = "onProbation"
	SubscriptionDisabledByUser   = "disabledByUser"
	SubscriptionDisabledBySystem = "disabledBySystem"
)

// Subscription is a service hooks subscription (hooks/7.1/serviceHooks.json, Subscription):
//   - PublisherID "tfs"; EventType "git.push", "git.pullrequest.created",
//     "git.pullrequest.updated", "git.pullrequest.merged"; ResourceVersion "1.0"
//     (learn.microsoft.com/azure/devops/service-hooks/events);
//   - ConsumerID "webHooks", ConsumerActionID "httpRequest"
//     (learn.microsoft.com/azure/devops/service-hooks/services/webhooks);
//   - PublisherInputs filter the events: "projectId", "repository" (id), "branch" (push: the
//     pushed branch; pull requests: the target branch), "pullrequestCreatedBy"...;
//   - ConsumerInputs configure the request: "url", "basicAuthUsername", "basicAuthPassword",
//     "httpHeaders" ("Name:value" lines), "resourceDetailsToSend"... Answers mask secrets, so
//     a Subscription read back does not carry the password;
//   - Status, ProbationRetries, ID, URL, CreatedDate and ModifiedDate are set by the server.
type Subscription struct {
	ID               string            `json:"id,omitempty"`
	URL              string            `json:"url,omitempty"`
	Status           string            `json:"status,omitempty"`
	PublisherID      string            `json:"publisherId"`
	EventType        string            `json:"eventType"`
	ResourceVersion  string            `json:"resourceVersion,omitempty"`
	ConsumerID       string            `json:"consumerId"`
	ConsumerActionID string            `json:"consumerActionId"`
	PublisherInputs  map[string]string `json:"publisherInputs,omitempty"`
	ConsumerInputs   map[string]string `json:"consumerInputs,omitempty"`
	CreatedDate      time.Time         `json:"createdDate,omitzero"`
	ModifiedDate     time.Time         `json:"modifiedDate,omitzero"`
	ProbationRetries int               `json:"probationRetries,omitempty"`
}

// WebHook builds a Web Hooks subscription for eventType on one repository, delivered as
// POST url with Basic user:password. branch ("main" or "refs/heads/main"; "" = every branch)
// filters pushes by the pushed branch and pull requests by their target branch.
func WebHook(eventType, projectID, repositoryID, branch, hookURL, user string, password connections.Secret) Subscription {
	pub := map[string]string{"projectId": projectID, "repository": repositoryID}
	if branch != "" {
		pub["branch"] = strings.TrimPrefix(branch, "refs/heads/")
	}
	return Subscription{PublisherID: "tfs", EventType: eventType, ResourceVersion: "1.0",
		ConsumerID: "webHooks", ConsumerActionID: "httpRequest", PublisherInputs: pub,
		ConsumerInputs: map[string]string{"url": hookURL, "basicAuthUsername": user, "basicAuthPassword": password.Reveal()}}
}

// CreateSubscription creates sub (POST {collection}/_apis/hooks/subscriptions) and returns
// the stored subscription (ID set, secrets masked). Errors: *connections.Error, see
// CannotManageHooks for a credential without the scope or permission.
func (c *Client) CreateSubscription(ctx context.Context, sub Subscription) (*Subscription, error) {
	var out Subscription
	if err := c.hooksSend(ctx, http.MethodPost, "_apis/hooks/subscriptions", sub, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSubscription reads one subscription (GET {collection}/_apis/hooks/subscriptions/{id});
// its Status tells whether Azure DevOps disabled it (SubscriptionDisabledBySystem) after failed
// deliveries. ErrNotFound when it does not exist.
func (c *Client) GetSubscription(ctx context.Context, id string) (*Subscription, error) {
	var out Subscription
	if _, err := c.get(ctx, "_apis/hooks/subscriptions/"+url.PathEscape(id), apiQuery(), lenient(&out)); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReplaceSubscription replaces subscription id with sub (PUT
// {collection}/_apis/hooks/subscriptions/{id}, Subscriptions_Replace). With Status
// SubscriptionEnabled it re-enables a subscription the service disabled: the repair. Send the
// password again in ConsumerInputs (a read-back subscription carries only its mask).
func (c *Client) ReplaceSubscription(ctx context.Context, id string, sub Subscription) (*Subscription, error) {
	var out Subscription
	if err := c.hooksSend(ctx, http.MethodPut, "_apis/hooks/subscriptions/"+url.PathEscape(id), sub, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteSubscription deletes subscription id (DELETE
// {collection}/_apis/hooks/subscriptions/{id}); deleting one that is already gone answers
// ErrNotFound, which callers removing a profile may treat as done.
func (c *Client) DeleteSubscription(ctx context.Context, id string) error {
	return c.hooksSend(ctx, http.MethodDelete, "_apis/hooks/subscriptions/"+url.PathEscape(id), nil, nil)
}

// CannotManageHooks reports whether err says the credential may not manage service hooks
// subscriptions (a missing vso.hooks_write scope or permission): ErrForbidden, or
// ErrUnauthorized naming a vso.hooks scope. The service then shows the manual setup.
func CannotManageHooks(err error) bool {
	if errors.Is(err, connections.ErrForbidden) {
		return true
	}
	ce := connections.AsError(err)
	return ce != nil && errors.Is(err, connections.ErrUnauthorized) && strings.Contains(ce.Message, "vso.hooks")
}

// hooksSend sends method {collectionURL}/{path}?api-version with body as JSON (nil: no body)
// and decodes a 2xx JSON answer into out (nil: ignored), through send. Errors as for send.
func (c *Client) hooksSend(ctx context.Context, method, path string, body, out any) error {
	_, err := c.send(ctx, method, path, apiQuery(), body, out)
	return err
}
