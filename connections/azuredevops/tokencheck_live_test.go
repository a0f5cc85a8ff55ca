package azuredevops_test

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// observed collects what a check tells its observer.
type observed struct {
	mu    sync.Mutex
	plan  *connections.CheckPlan
	steps []connections.CheckStep
	told  chan connections.CheckStep
}

func newObserved() *observed { return &observed{told: make(chan connections.CheckStep, 32)} }

func (o *observed) observer() connections.CheckObserver {
	return connections.CheckObserver{
		Start: func(p connections.CheckPlan) { o.mu.Lock(); o.plan = &p; o.mu.Unlock() },
		Step: func(s connections.CheckStep) {
			o.mu.Lock()
			o.steps = append(o.steps, s)
			o.mu.Unlock()
			o.told <- s
		},
	}
}

func (o *observed) names() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, s := range o.steps {
		out = append(out, s.Name+map[bool]string{true: "+", false: "-"}[s.OK])
	}
	return out
}

// heldSim fronts the simulator with a server that holds every REST request until release is
// closed: a check against it is connected but unanswered.
// For https, caPEM is the test server's certificate.
func heldSim(t *testing.T, tlsServer bool) (url string, caPEM []byte, held <-chan struct{}, release func()) {
	t.Helper()
	sim := startSim(t, azdosim.Options{Seed: true})
	h := sim.Handler()
	heldc, gate := make(chan struct{}, 8), make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case heldc <- struct{}{}:
		default:
		}
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		h.ServeHTTP(w, r)
	})
	var ts *httptest.Server
	if tlsServer {
		ts = httptest.NewTLSServer(handler)
		caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	} else {
		ts = httptest.NewServer(handler)
	}
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(ts.Close)
	t.Cleanup(release) // before ts.Close, which waits for held requests
	return ts.URL, caPEM, heldc, release
}

// The observer hears reach_host (and tls for https) when the connection is made, while the
// server still holds its answer; the rest as the answers come, in the result's order; and the
// result is the same as without an observer.
func TestCheckTokenObserverLive(t *testing.T) {
	for _, tlsServer := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[tlsServer], func(t *testing.T) {
			front, caPEM, held, release := heldSim(t, tlsServer)
			opts := azuredevops.Options{Door: azuredevops.LoopbackDoor, Timeout: 20 * time.Second, CACertificatePEM: caPEM}
			ep, err := azuredevops.NewEndpoint(front, "DefaultCollection")
			if err != nil {
				t.Fatal(err)
			}
			c, err := azuredevops.New(ep, azuredevops.Credential{PAT: testPAT}, opts)
			if err != nil {
				t.Fatal(err)
			}
			o := newObserved()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			type outcome struct {
				res *connections.CheckResult
				err error
			}
			done := make(chan outcome, 1)
			go func() {
				res, err := c.CheckToken(connections.WithCheckObserver(ctx, o.observer()))
				done <- outcome{res, err}
			}()
			select {
			case <-held:
			case <-time.After(10 * time.Second):
				t.Fatal("the check's first request never reached the server")
			}
			want := []string{"reach_host+"}
			if tlsServer {
				want = append(want, "tls+")
			}
			deadline := time.After(10 * time.Second)
			for len(o.names()) < len(want) {
				select {
				case <-o.told:
				case <-deadline:
					t.Fatalf("while the server holds its answer the observer heard %v, want %v", o.names(), want)
				}
			}
			if got := o.names(); !slices.Equal(got, want) {
				t.Fatalf("before any answer the observer heard %v, want %v", got, want)
			}
			select {
			case r := <-done:
				t.Fatalf("the check ended while the server held its answer: %+v %v", r.res, r.err)
			default:
			}
			o.mu.Lock()
			plan := o.plan
			o.mu.Unlock()
			if plan == nil || plan.Timeout != 20*time.Second || plan.Host != ep.Host || plan.Steps[0] != azuredevops.StepReach {
				t.Fatalf("plan = %+v, want host %s, timeout 20s", plan, ep.Host)
			}
			release()
			r := <-done
			if r.err != nil || !r.res.Valid {
				t.Fatalf("check: %+v %v", r.res, r.err)
			}
			var result []string
			for _, s := range r.res.Steps {
				result = append(result, s.Name+"+")
			}
			if got := o.names(); !slices.Equal(got, result) {
				t.Fatalf("observer heard %v, the result says %v", got, result)
			}
			if !slices.Equal(plan.Steps, stepNames(r.res.Steps)) {
				t.Fatalf("planned %v, reported %v", plan.Steps, stepNames(r.res.Steps))
			}
		})
	}
}

// A failing check tells the failed step with its message, once, as the result has it.
func TestCheckTokenObserverFailure(t *testing.T) {
	sim := startSim(t, azdosim.Options{Seed: true})
	ep, _ := azuredevops.NewEndpoint(sim.URL(), "DefaultCollection")
	c, err := azuredevops.New(ep, azuredevops.Credential{PAT: "wrong-pat"}, azuredevops.Options{Door: azuredevops.LoopbackDoor})
	if err != nil {
		t.Fatal(err)
	}
	o := newObserved()
	res, err := c.CheckToken(connections.WithCheckObserver(context.Background(), o.observer()))
	if err != nil || res.Valid {
		t.Fatalf("check: %+v %v", res, err)
	}
	if got := o.names(); !slices.Equal(got, []string{"reach_host+", "authenticate-"}) {
		t.Fatalf("observer heard %v", got)
	}
	if last := o.steps[len(o.steps)-1]; last.Message != res.Message || last.Message == "" {
		t.Fatalf("failed step told as %+v, result message %q", last, res.Message)
	}
}

// A connection made but never answered: reach_host is told passed, then failed with the
// timeout when the result says so.
func TestCheckTokenObserverTimeout(t *testing.T) {
	front, _, _, _ := heldSim(t, false)
	ep, _ := azuredevops.NewEndpoint(front, "DefaultCollection")
	c, err := azuredevops.New(ep, azuredevops.Credential{PAT: testPAT}, azuredevops.Options{Door: azuredevops.LoopbackDoor, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	o := newObserved()
	res, err := c.CheckToken(connections.WithCheckObserver(context.Background(), o.observer()))
	if err != nil || res.Reason != connections.ReasonUnreachable {
		t.Fatalf("check: %+v %v", res, err)
	}
	if got := o.names(); !slices.Equal(got, []string{"reach_host+", "reach_host-"}) {
		t.Fatalf("observer heard %v", got)
	}
}

func stepNames(steps []connections.CheckStep) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Name)
	}
	return out
}
