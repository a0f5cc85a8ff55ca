package azdosim

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ControlPrefix is the path of the test-only control endpoint (Options.FaultControl):
//
//	GET    /_azdosim/faults    the faults in force and the request counts per route (JSON)
//	POST   /_azdosim/faults    add faults: the body holds one ParseFault spec per line
//	DELETE /_azdosim/faults    remove every fault
//	DELETE /_azdosim/requests  clear the request counts and log
//
// Requests to it are neither counted nor faulted. It answers 404 when FaultControl is off.
const ControlPrefix = "/_azdosim/"

// defaultFaultRetryAfter and defaultSlowDelay fill a fault's unset options.
const (
	defaultFaultRetryAfter = time.Second
	defaultSlowDelay       = 2 * time.Second
)

// tf400733 is the message Azure DevOps sends with a blocked request (docs/azure-devops-protocol.md §8).
const tf400733 = "TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'ATCPU' in namespace 'User'."

// applyFault injects f into the request; it returns true when the request was answered (or
// dropped) and must not be dispatched.
func (s *Server) applyFault(w http.ResponseWriter, rw http.ResponseWriter, r *http.Request, f Fault) bool {
	retryAfter := f.RetryAfter
	switch f.Kind {
	case Fault429:
		if retryAfter <= 0 {
			retryAfter = defaultFaultRetryAfter
		}
		w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
		w.Header().Set("X-RateLimit-Resource", "ATCPU")
		writeAPIError(w, newAPIError(http.StatusTooManyRequests, "RequestBlockedException",
			"Microsoft.TeamFoundation.Framework.Server.RequestBlockedException, Microsoft.TeamFoundation.Framework.Server", tf400733))
		return true
	case Fault500, Fault502, Fault503, Fault504:
		status, _ := strconv.Atoi(string(f.Kind))
		if retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, http.StatusText(status)+"\n")
		return true
	case FaultReset:
		resetConn(rw)
		return true
	case FaultSlow:
		d := f.Delay
		if d <= 0 {
			d = defaultSlowDelay
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return false
		case <-r.Context().Done():
			return true
		}
	case FaultThrottleHeaders:
		if retryAfter <= 0 {
			retryAfter = defaultFaultRetryAfter
		}
		h := w.Header()
		h.Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
		h.Set("X-RateLimit-Resource", "Core")
		h.Set("X-RateLimit-Delay", "0.5")
		h.Set("X-RateLimit-Limit", "200")
		h.Set("X-RateLimit-Remaining", "5")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(retryAfter).Unix(), 10))
		return false
	}
	return false
}

// resetConn drops the connection without an answer: hijacked and closed with SO_LINGER 0, so
// the client sees a reset (or EOF).
func resetConn(rw http.ResponseWriter) {
	hj, ok := rw.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: aborting the handler resets the stream
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// controlView is the GET answer of the control endpoint.
type controlView struct {
	Faults   []string         `json:"faults"`
	Requests map[string]int64 `json:"requests"`
}

// serveControl answers the control endpoint (see ControlPrefix).
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, ControlPrefix) {
	case "faults":
	case "requests":
		if r.Method == http.MethodDelete {
			s.ResetRequests()
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.Error(w, "use DELETE", http.StatusMethodNotAllowed)
		return
	default:
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		v := controlView{Faults: []string{}, Requests: map[string]int64{}}
		for _, f := range s.Faults() {
			v.Faults = append(v.Faults, f.String())
		}
		s.faults.mu.Lock()
		for k, n := range s.faults.counts {
			v.Requests[k] = n
		}
		s.faults.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	case http.MethodPost:
		var add []Fault
		sc := bufio.NewScanner(io.LimitReader(r.Body, 64<<10))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			f, err := ParseFault(line)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			add = append(add, f)
		}
		for _, f := range add {
			s.AddFault(f)
		}
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "use GET, POST or DELETE", http.StatusMethodNotAllowed)
	}
}
