package azdosim

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Subscription statuses (specification/hooks/7.1/serviceHooks.json, SubscriptionStatus).
const (
	HookEnabled          = "enabled"
	HookOnProbation      = "onProbation"
	HookDisabledByUser   = "disabledByUser"
	HookDisabledBySystem = "disabledBySystem"
)

// hooksWriteScope is the PAT/OAuth scope creating, replacing and deleting subscriptions needs:
// "Service hooks (read and write)", vso.hooks_write, which is not one of the six scopes the
// connection asks for by default (learn.microsoft.com/azure/devops/integrate/get-started/authentication/oauth,
// scopes table; learn.microsoft.com/azure/devops/service-hooks/create-subscription "Create a
// subscription programmatically"). Reading needs vso.hooks, which vso.hooks_write implies.
const (
	hooksWriteScope = "vso.hooks_write"
	hooksReadScope  = "vso.hooks"
)

// secretInputs are consumerInputs never echoed back (masked) in answers. The real service
// answers "********" for them (unconfirmed: the mask text is the simulator's).
var secretInputs = map[string]bool{"basicAuthPassword": true}

const secretMask = "********"

// subscription is one stored service hooks subscription of a collection.
type subscription struct {
	id                string
	coll              *collection
	eventType         string
	publisherID       string
	consumerID        string
	consumerActionID  string
	resourceVersion   string
	publisherInputs   map[string]string
	consumerInputs    map[string]string
	status            string
	createdBy         identity
	modifiedBy        identity
	created, modified time.Time
	probationRetries  int
	notifications     int // notificationId of the last event delivered (1, 2, ... per subscription)
}

// hookState holds the subscriptions and the delivery machinery (hookdelivery.go).
type hookState struct {
	mu         sync.Mutex
	subs       []*subscription // creation order
	deliveries []Delivery
	base       string // public base URL last seen on a request (for payload URLs)
	changed    chan struct{}
	q          *deliveryQueue
}

// SubscriptionInfo is a stored subscription as tests see it (secrets included).
type SubscriptionInfo struct {
	ID, EventType, PublisherID, ConsumerID, ConsumerActionID, Status string
	PublisherInputs, ConsumerInputs                                  map[string]string
	ProbationRetries                                                 int
}

// Subscriptions lists the service hooks subscriptions of collection ("" = default) in
// creation order; nil for an unknown collection.
func (s *Server) Subscriptions(collection string) []SubscriptionInfo {
	s.mu.Lock()
	c, err := s.collectionLocked(collection)
	s.mu.Unlock()
	if err != nil {
		return nil
	}
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	var out []SubscriptionInfo
	for _, sub := range s.hooks.subs {
		if sub.coll == c {
			out = append(out, SubscriptionInfo{ID: sub.id, EventType: sub.eventType, PublisherID: sub.publisherID,
				ConsumerID: sub.consumerID, ConsumerActionID: sub.consumerActionID, Status: sub.status,
				PublisherInputs: cloneInputs(sub.publisherInputs), ConsumerInputs: cloneInputs(sub.consumerInputs),
				ProbationRetries: sub.probationRetries})
		}
	}
	return out
}

func cloneInputs(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// subscriptionJSON is a Subscription (specification/hooks/7.1/serviceHooks.json, definition
// Subscription): publisherId, eventType, resourceVersion, consumerId, consumerActionId,
// publisherInputs, consumerInputs, status, id, url, createdBy, createdDate, modifiedBy,
// modifiedDate, probationRetries, actionDescription, eventDescription.
type subscriptionJSON struct {
	ID               string            `json:"id,omitempty"`
	URL              string            `json:"url,omitempty"`
	Status           string            `json:"status,omitempty"`
	PublisherID      string            `json:"publisherId"`
	EventType        string            `json:"eventType"`
	ResourceVersion  string            `json:"resourceVersion"`
	ConsumerID       string            `json:"consumerId"`
	ConsumerActionID string            `json:"consumerActionId"`
	PublisherInputs  map[string]string `json:"publisherInputs"`
	ConsumerInputs   map[string]string `json:"consumerInputs"`
	CreatedBy        *identityRefLite  `json:"createdBy,omitempty"`
	CreatedDate      *time.Time        `json:"createdDate,omitempty"`
	ModifiedBy       *identityRefLite  `json:"modifiedBy,omitempty"`
	ModifiedDate     *time.Time        `json:"modifiedDate,omitempty"`
	ProbationRetries int               `json:"probationRetries"`
	EventDescription string            `json:"eventDescription,omitempty"`
}

// identityRefLite is an IdentityRef with the three fields the samples show.
type identityRefLite struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	UniqueName  string `json:"uniqueName"`
}

func refOf(id identity) *identityRefLite {
	return &identityRefLite{ID: id.ID, DisplayName: id.DisplayName, UniqueName: id.UniqueName}
}

// hookEventTypes are the tfs events the simulator publishes (learn.microsoft.com/azure/devops/service-hooks/events).
var hookEventTypes = map[string]bool{"git.push": true, "git.pullrequest.created": true,
	"git.pullrequest.updated": true, "git.pullrequest.merged": true}

// view renders sub with secrets masked; the caller holds s.hooks.mu.
func (sub *subscription) view(base string) subscriptionJSON {
	ci := map[string]string{}
	for k, v := range sub.consumerInputs {
		if secretInputs[k] && v != "" {
			v = secretMask
		}
		ci[k] = v
	}
	created, modified := sub.created, sub.modified
	return subscriptionJSON{ID: sub.id, URL: base + "/" + esc(sub.coll.name) + "/_apis/hooks/subscriptions/" + sub.id,
		Status: sub.status, PublisherID: sub.publisherID, EventType: sub.eventType, ResourceVersion: sub.resourceVersion,
		ConsumerID: sub.consumerID, ConsumerActionID: sub.consumerActionID, PublisherInputs: cloneInputs(sub.publisherInputs),
		ConsumerInputs: ci, CreatedBy: refOf(sub.createdBy), CreatedDate: &created, ModifiedBy: refOf(sub.modifiedBy),
		ModifiedDate: &modified, ProbationRetries: sub.probationRetries}
}

// errHooks is a 400 about a subscription body (typeKey and texts unconfirmed).
func errHooks(msg string) *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidSubscriptionException",
		"Microsoft.VisualStudio.Services.ServiceHooks.WebApi.InvalidSubscriptionException", msg)
}

func errSubscriptionNotFound(id string) *apiError {
	return newAPIError(http.StatusNotFound, "SubscriptionNotFoundException",
		"Microsoft.VisualStudio.Services.ServiceHooks.WebApi.SubscriptionNotFoundException",
		"VS1050009: Subscription with ID '"+id+"' does not exist.")
}

// decodeSubscription reads and checks a subscription body: publisherId "tfs", an event type
// the simulator publishes, consumerId "webHooks", consumerActionId "httpRequest" and an
// absolute http(s) consumerInputs.url.
func decodeSubscription(r *http.Request) (subscriptionJSON, *apiError) {
	var in subscriptionJSON
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&in); err != nil {
		return in, errHooks("The subscription body is not valid JSON.")
	}
	switch {
	case in.PublisherID != "tfs":
		return in, errHooks("Publisher '" + in.PublisherID + "' is not supported (the simulator publishes tfs).")
	case !hookEventTypes[in.EventType]:
		return in, errHooks("Event type '" + in.EventType + "' is not supported.")
	case in.ConsumerID != "webHooks" || in.ConsumerActionID != "httpRequest":
		return in, errHooks("Consumer '" + in.ConsumerID + "/" + in.ConsumerActionID + "' is not supported (webHooks/httpRequest only).")
	}
	u := in.ConsumerInputs["url"]
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return in, errHooks("consumerInputs.url must be an absolute http or https URL.")
	}
	if in.ResourceVersion == "" {
		in.ResourceVersion = "1.0"
	}
	if in.PublisherInputs == nil {
		in.PublisherInputs = map[string]string{}
	}
	return in, nil
}

// serveHooks answers {collection}/_apis/hooks/subscriptions[/{id}]:
//
//	GET    subscriptions           list of the collection's subscriptions, {count, value}
//	POST   subscriptions           create; answers the subscription (status enabled), 200
//	GET    subscriptions/{id}      one subscription
//	PUT    subscriptions/{id}      replace (ReplaceSubscription); status in the body is kept
//	                               (enabled re-enables a disabled one: the "repair"); a masked
//	                               basicAuthPassword keeps the stored secret
//	DELETE subscriptions/{id}      204, deliveries stop
//
// Secrets in consumerInputs are masked in every answer. Errors: 404 VS1050009 for an unknown
// id, 400 for a body the simulator does not support, 405 for other methods.
func (s *Server) serveHooks(w http.ResponseWriter, r *http.Request, rc restCaller, tail []string) {
	base := rc.urls.base
	s.hooks.mu.Lock()
	s.hooks.base = base
	s.hooks.mu.Unlock()
	if len(tail) == 0 {
		switch r.Method {
		case http.MethodGet:
			s.hooks.mu.Lock()
			out := []subscriptionJSON{}
			for _, sub := range s.hooks.subs {
				if sub.coll == rc.coll {
					out = append(out, sub.view(base))
				}
			}
			s.hooks.mu.Unlock()
			writeJSON(w, http.StatusOK, listJSON{Count: len(out), Value: out})
		case http.MethodPost:
			in, e := decodeSubscription(r)
			if e != nil {
				writeAPIError(w, e)
				return
			}
			now := time.Now().UTC().Truncate(time.Millisecond)
			sub := &subscription{id: uuid.NewString(), coll: rc.coll, eventType: in.EventType, publisherID: in.PublisherID,
				consumerID: in.ConsumerID, consumerActionID: in.ConsumerActionID, resourceVersion: in.ResourceVersion,
				publisherInputs: cloneInputs(in.PublisherInputs), consumerInputs: cloneInputs(in.ConsumerInputs),
				status: HookEnabled, createdBy: rc.id, modifiedBy: rc.id, created: now, modified: now}
			s.hooks.mu.Lock()
			s.hooks.subs = append(s.hooks.subs, sub)
			v := sub.view(base)
			s.hooks.mu.Unlock()
			writeJSON(w, http.StatusOK, v)
		default:
			writeMethodNotAllowed(w, r)
		}
		return
	}
	id := tail[0]
	s.hooks.mu.Lock()
	var sub *subscription
	idx := -1
	for i, x := range s.hooks.subs {
		if x.coll == rc.coll && strings.EqualFold(x.id, id) {
			sub, idx = x, i
		}
	}
	s.hooks.mu.Unlock()
	if sub == nil {
		writeAPIError(w, errSubscriptionNotFound(id))
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.hooks.mu.Lock()
		v := sub.view(base)
		s.hooks.mu.Unlock()
		writeJSON(w, http.StatusOK, v)
	case http.MethodPut:
		in, e := decodeSubscription(r)
		if e != nil {
			writeAPIError(w, e)
			return
		}
		status := in.Status
		switch status {
		case "":
			status = HookEnabled
		case HookEnabled, HookDisabledByUser, HookOnProbation, HookDisabledBySystem:
		default:
			writeAPIError(w, errHooks("Status '"+status+"' is not valid."))
			return
		}
		s.hooks.mu.Lock()
		ci := cloneInputs(in.ConsumerInputs)
		for k := range secretInputs {
			if ci[k] == secretMask {
				ci[k] = sub.consumerInputs[k]
			}
		}
		sub.eventType, sub.resourceVersion = in.EventType, in.ResourceVersion
		sub.publisherInputs, sub.consumerInputs = cloneInputs(in.PublisherInputs), ci
		if status == HookEnabled {
			sub.probationRetries = 0
		}
		sub.status = status
		sub.modifiedBy, sub.modified = rc.id, time.Now().UTC().Truncate(time.Millisecond)
		v := sub.view(base)
		s.hooks.notifyLocked()
		s.hooks.mu.Unlock()
		writeJSON(w, http.StatusOK, v)
	case http.MethodDelete:
		s.hooks.mu.Lock()
		s.hooks.subs = append(s.hooks.subs[:idx:idx], s.hooks.subs[idx+1:]...)
		s.hooks.notifyLocked()
		s.hooks.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		writeMethodNotAllowed(w, r)
	}
}

func writeMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeAPIError(w, newAPIError(http.StatusMethodNotAllowed, "HttpMethodNotAllowedException",
		"Microsoft.VisualStudio.Services.WebApi.HttpMethodNotAllowedException", "The requested resource does not support http method '"+r.Method+"'."))
}

// matchingSubscriptions returns snapshots (id, url, credentials) of the enabled or on-probation
// subscriptions of c for eventType whose publisherInputs accept the event: repository (id),
// projectId, and branch (push: any updated ref's branch; pull requests: the target branch;
// short or full names). Empty inputs match everything.
func (s *Server) matchingSubscriptions(c *collection, eventType, repoID, projectID string, branches []string) []*subscription {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	var out []*subscription
	for _, sub := range s.hooks.subs {
		if sub.coll != c || sub.eventType != eventType || (sub.status != HookEnabled && sub.status != HookOnProbation) {
			continue
		}
		in := sub.publisherInputs
		if v := in["repository"]; v != "" && !strings.EqualFold(v, repoID) {
			continue
		}
		if v := in["projectId"]; v != "" && !strings.EqualFold(v, projectID) {
			continue
		}
		if v := in["branch"]; v != "" {
			want := fullBranch(v)
			ok := false
			for _, b := range branches {
				ok = ok || b == want
			}
			if !ok {
				continue
			}
		}
		out = append(out, sub)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].created.Before(out[j].created) })
	return out
}
