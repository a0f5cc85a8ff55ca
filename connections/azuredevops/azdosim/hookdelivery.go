package azdosim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Delivery defaults, from learn.microsoft.com/azure/devops/service-hooks/troubleshoot
// ("Subscription failures and probation"; MicrosoftDocs/azure-devops-docs
// docs/service-hooks/troubleshoot.md):
//   - a terminal failure, 410 Gone, disables the subscription at once (disabledBySystem);
//   - a transient failure, 408, 502, 503 or 504, is resent up to eight times, waiting ~1 s
//     before the first retry and doubling up to 60 s; when all fail it counts as an enduring
//     failure;
//   - an enduring failure, any other failure, is not retried at once: the subscription goes on
//     probation (onProbation) and the notification is retried up to seven times, waiting ~20
//     minutes before the first and doubling up to 15 hours; after the seventh fails the
//     subscription is disabledBySystem; a success restores it to enabled.
//
// A transport error (refused connection, timeout) is treated as transient (unconfirmed). The
// real service also limits how many notifications a subscription on probation may send; the
// simulator still delivers new events to it (unconfirmed).
const (
	DefaultHookRetryDelay       = time.Second
	DefaultHookTransientRetries = 8
	DefaultHookProbationDelay   = 20 * time.Minute
	DefaultHookProbationRetries = 7
	DefaultHookTimeout          = 20 * time.Second
	DefaultHookMaxInFlight      = 4
	hookAnswerLimit             = 64 << 10
	maxDeliveryRecords          = 10000 // Deliveries keeps the newest; the older half goes when full
	transientBackoffCap         = 60    // × HookRetryDelay: 60 s by default
	probationBackoffCap         = 45    // × HookProbationDelay: 15 h by default
)

// Delivery is one attempt to deliver a service hook event to a subscription's URL.
// StatusCode is 0 when the request failed before an answer (Err says why); Attempt counts
// from 1 per event and subscription; EventID is the payload's id, the same on every retry.
type Delivery struct {
	SubscriptionID, EventID, EventType string
	Attempt, StatusCode                int
	Err                                string
	Time                               time.Time
	coll                               *collection
}

// OK reports whether the consumer answered 2xx.
func (d Delivery) OK() bool { return d.StatusCode >= 200 && d.StatusCode < 300 }

// Deliveries lists the delivery attempts to subscriptions of collection ("" = default), oldest
// first (the server keeps at most the newest 10000 of all collections); nil for an unknown
// collection.
func (s *Server) Deliveries(collection string) []Delivery {
	s.mu.Lock()
	c, err := s.collectionLocked(collection)
	s.mu.Unlock()
	if err != nil {
		return nil
	}
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	var out []Delivery
	for _, d := range s.hooks.deliveries {
		if d.coll == c {
			out = append(out, d)
		}
	}
	return out
}

// HookChanged returns a channel closed at the next change of the service hooks state (a
// delivery attempt recorded, a subscription's status changed, replaced or deleted). Tests
// wait on it instead of sleeping: check, then wait on a channel taken before the check.
func (s *Server) HookChanged() <-chan struct{} {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	if s.hooks.changed == nil {
		s.hooks.changed = make(chan struct{})
	}
	return s.hooks.changed
}

// notifyLocked wakes HookChanged waiters; the caller holds s.hooks.mu.
func (h *hookState) notifyLocked() {
	if h.changed != nil {
		close(h.changed)
	}
	h.changed = make(chan struct{})
}

// deliveryQueue bounds deliveries: at most maxInFlight requests at once; stop ends pending
// retries (Close).
type deliveryQueue struct {
	slots     chan struct{}
	stop      chan struct{}
	mu        sync.Mutex // guards closed and wg.Add against close
	closed    bool
	wg        sync.WaitGroup
	client    *http.Client
	delay     time.Duration // first transient retry
	transient int           // transient retries per notification
	pdelay    time.Duration // first probation retry
	probation int           // probation retries per notification
	timeout   time.Duration
}

func newDeliveryQueue(o Options) *deliveryQueue {
	q := &deliveryQueue{stop: make(chan struct{}), client: o.HookClient, delay: o.HookRetryDelay,
		transient: o.HookTransientRetries, pdelay: o.HookProbationDelay, probation: o.HookProbationRetries, timeout: o.HookTimeout}
	n := o.HookMaxInFlight
	if n <= 0 {
		n = DefaultHookMaxInFlight
	}
	q.slots = make(chan struct{}, n)
	if q.client == nil {
		q.client = loopbackOnlyClient()
	}
	if q.delay <= 0 {
		q.delay = DefaultHookRetryDelay
	}
	if q.transient <= 0 {
		q.transient = DefaultHookTransientRetries
	}
	if q.pdelay <= 0 {
		q.pdelay = DefaultHookProbationDelay
	}
	if q.probation <= 0 {
		q.probation = DefaultHookProbationRetries
	}
	if q.timeout <= 0 {
		q.timeout = DefaultHookTimeout
	}
	return q
}

// close stops pending retries and waits for running deliveries.
func (q *deliveryQueue) close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.stop)
	}
	q.mu.Unlock()
	q.wg.Wait()
}

// start runs f as a delivery unless the queue is closed.
func (q *deliveryQueue) start(f func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		f()
	}()
}

// errNotLoopback is the default client's refusal of a non-loopback destination.
var errNotLoopback = errors.New("azdosim: the default hook client delivers to loopback addresses only (set Options.HookClient)")

// loopbackOnlyClient is the default delivery client: it connects to loopback addresses only
// and follows no redirects, so a simulator never posts events to the network unless its owner
// configures Options.HookClient.
func loopbackOnlyClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return errNotLoopback
		}
		return nil
	}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// hookEvent is one event to deliver: its id and payload fields without the per-subscription
// ones (subscriptionId, notificationId).
type hookEvent struct {
	id, eventType string
	payload       map[string]any
	coll          *collection
}

// enqueue starts the delivery of ev to each subscription, asynchronously.
func (s *Server) enqueue(ev hookEvent, subs []*subscription) {
	q := s.hooks.q
	for _, sub := range subs {
		q.start(func() { s.deliver(q, ev, sub) })
	}
}

// failureKind classifies an attempt (see the defaults above).
type failureKind int

const (
	deliveredOK failureKind = iota
	failedTerminal
	failedTransient
	failedEnduring
)

func classifyDelivery(code int, err error) failureKind {
	switch {
	case err != nil:
		return failedTransient
	case code >= 200 && code < 300:
		return deliveredOK
	case code == http.StatusGone:
		return failedTerminal
	case code == http.StatusRequestTimeout || code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout:
		return failedTransient
	}
	return failedEnduring
}

// backoff is the wait before retry n (1, 2, ...): first, doubled per retry, capped at
// capFactor × first.
func backoff(first time.Duration, n, capFactor int) time.Duration {
	return min(first<<min(n-1, 20), first*time.Duration(capFactor))
}

// deliver posts ev to sub's URL until it succeeds, fails for good (the subscription is then
// disabledBySystem), the subscription is no longer active (disabled, deleted) or the server
// closes; retries follow the transient and probation schedules above and keep the event id
// and the notificationId.
func (s *Server) deliver(q *deliveryQueue, ev hookEvent, sub *subscription) {
	s.hooks.mu.Lock()
	sub.notifications++
	notificationID := sub.notifications
	s.hooks.mu.Unlock()
	transient, probation := 0, 0
	var wait time.Duration
	for attempt := 1; ; attempt++ {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-q.stop:
				t.Stop()
				return
			case <-t.C:
			}
		}
		s.hooks.mu.Lock()
		active := (sub.status == HookEnabled || sub.status == HookOnProbation) && s.hookExistsLocked(sub)
		url, user, pass := sub.consumerInputs["url"], sub.consumerInputs["basicAuthUsername"], sub.consumerInputs["basicAuthPassword"]
		headers := sub.consumerInputs["httpHeaders"]
		s.hooks.mu.Unlock()
		if !active {
			return
		}
		body := map[string]any{"subscriptionId": sub.id, "notificationId": notificationID}
		for k, v := range ev.payload {
			body[k] = v
		}
		raw, _ := json.Marshal(body)
		select {
		case q.slots <- struct{}{}:
		case <-q.stop:
			return
		}
		code, err := q.post(url, user, pass, headers, raw)
		<-q.slots
		d := Delivery{SubscriptionID: sub.id, EventID: ev.id, EventType: ev.eventType, Attempt: attempt,
			StatusCode: code, Time: time.Now().UTC(), coll: ev.coll}
		if err != nil {
			d.Err = err.Error()
		}
		kind := classifyDelivery(code, err)
		if kind == failedTransient && probation == 0 && transient < q.transient {
			transient++
			wait = backoff(q.delay, transient, transientBackoffCap)
		} else if kind == failedTransient || kind == failedEnduring {
			kind = failedEnduring
			probation++
			wait = backoff(q.pdelay, probation, probationBackoffCap)
		}
		s.hooks.mu.Lock()
		if len(s.hooks.deliveries) >= maxDeliveryRecords {
			s.hooks.deliveries = append(s.hooks.deliveries[:0:0], s.hooks.deliveries[len(s.hooks.deliveries)/2:]...)
		}
		s.hooks.deliveries = append(s.hooks.deliveries, d)
		done := true
		if sub.status == HookEnabled || sub.status == HookOnProbation {
			switch kind {
			case deliveredOK:
				sub.status, sub.probationRetries = HookEnabled, 0
			case failedTerminal:
				sub.status = HookDisabledBySystem
			case failedTransient:
				done = false
			case failedEnduring:
				// probationRetries counts the retries made on probation (the failure that
				// started it is not one).
				sub.probationRetries = probation - 1
				if probation > q.probation {
					sub.status = HookDisabledBySystem
				} else {
					sub.status, done = HookOnProbation, false
				}
			}
		}
		s.hooks.notifyLocked()
		s.hooks.mu.Unlock()
		if done {
			return
		}
	}
}

func (s *Server) hookExistsLocked(sub *subscription) bool {
	for _, x := range s.hooks.subs {
		if x == sub {
			return true
		}
	}
	return false
}

// post sends one attempt: POST url, JSON body, Basic auth when a user name or password is
// set, and httpHeaders ("Name:value" lines, as the Web Hooks consumer takes them). It reads at
// most hookAnswerLimit bytes of the answer. Errors are transport failures (code 0).
func (q *deliveryQueue) post(url, user, pass, headers string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
	defer cancel()
	go func() {
		select {
		case <-q.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("azdosim: hook url: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	for _, line := range splitLines(headers) {
		if k, v, ok := cutHeader(line); ok {
			req.Header.Set(k, v)
		}
	}
	resp, err := q.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, hookAnswerLimit))
	return resp.StatusCode, nil
}

func splitLines(s string) []string {
	var out []string
	for _, l := range bytes.Split([]byte(s), []byte("\n")) {
		if t := string(bytes.TrimSpace(l)); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func cutHeader(line string) (string, string, bool) {
	i := bytes.IndexByte([]byte(line), ':')
	if i <= 0 {
		return "", "", false
	}
	return string(bytes.TrimSpace([]byte(line[:i]))), string(bytes.TrimSpace([]byte(line[i+1:]))), true
}
