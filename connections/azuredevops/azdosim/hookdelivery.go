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
// ("Subscription failures and probation"): a transient failure is resent up to eight times
// (nine attempts), waiting ~1 s before the first retry and doubling up to a 60 s cap; 410
// Gone is a terminal failure that disables the subscription at once; other failures put it
// on probation and, when they continue, it is disabled. The page gives no count for that last
// step, so DefaultHookDisableAfter (consecutive failed attempts) is the simulator's
// (unconfirmed). The simulator treats every non-2xx answer and every transport error as
// retryable (it does not tell transient from enduring failures apart).
const (
	DefaultHookRetryDelay   = time.Second
	DefaultHookMaxAttempts  = 9
	DefaultHookDisableAfter = 10
	hookMaxBackoffFactor    = 60 // the backoff cap is 60 × the first delay (60 s by default)
	DefaultHookTimeout      = 20 * time.Second
	DefaultHookMaxInFlight  = 4
	hookAnswerLimit         = 64 << 10
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
// first; nil for an unknown collection.
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
	slots    chan struct{}
	stop     chan struct{}
	mu       sync.Mutex // guards closed and wg.Add against close
	closed   bool
	wg       sync.WaitGroup
	client   *http.Client
	delay    time.Duration
	attempts int
	disable  int
	timeout  time.Duration
}

func newDeliveryQueue(o Options) *deliveryQueue {
	q := &deliveryQueue{stop: make(chan struct{}), client: o.HookClient, delay: o.HookRetryDelay,
		attempts: o.HookMaxAttempts, disable: o.HookDisableAfter, timeout: o.HookTimeout}
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
	if q.attempts <= 0 {
		q.attempts = DefaultHookMaxAttempts
	}
	if q.disable <= 0 {
		q.disable = DefaultHookDisableAfter
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

// deliver posts ev to sub's URL until it succeeds, the attempts run out, the subscription is
// no longer active (disabled, deleted), the consumer answers 410 Gone (the subscription is
// then disabledBySystem) or the server closes. Backoff: delay, 2×delay, 4×delay... capped at
// 60×delay.
func (s *Server) deliver(q *deliveryQueue, ev hookEvent, sub *subscription) {
	s.hooks.mu.Lock()
	sub.notifications++
	notificationID := sub.notifications
	s.hooks.mu.Unlock()
	for attempt := 1; attempt <= q.attempts; attempt++ {
		if attempt > 1 {
			wait := q.delay << min(attempt-2, 6)
			wait = min(wait, q.delay*hookMaxBackoffFactor)
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
		s.hooks.mu.Lock()
		s.hooks.deliveries = append(s.hooks.deliveries, d)
		if d.OK() {
			sub.status, sub.probationRetries, sub.consecutiveFailures = HookEnabled, 0, 0
		} else if sub.status == HookEnabled || sub.status == HookOnProbation {
			sub.consecutiveFailures++
			sub.probationRetries++
			sub.status = HookOnProbation
			if sub.consecutiveFailures >= q.disable || d.StatusCode == http.StatusGone {
				sub.status = HookDisabledBySystem
			}
		}
		s.hooks.notifyLocked()
		s.hooks.mu.Unlock()
		if d.OK() || d.StatusCode == http.StatusGone {
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
