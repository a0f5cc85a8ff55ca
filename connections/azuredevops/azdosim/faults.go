package azdosim

import (
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is what an injected fault does to a matching request (docs/azure-devops-protocol.md §8 for the
// throttling shapes).
type FaultKind string

// Fault kinds.
const (
	// Fault429 answers 429 with Retry-After (Fault.RetryAfter, default 1 s), the
	// X-RateLimit-Resource header and the TF400733 RequestBlockedException JSON envelope.
	Fault429 FaultKind = "429"
	// Fault500, Fault502, Fault503 and Fault504 answer that status with a short text body (and
	// Retry-After when Fault.RetryAfter is set).
	Fault500 FaultKind = "500"
	Fault502 FaultKind = "502"
	Fault503 FaultKind = "503"
	Fault504 FaultKind = "504"
	// FaultReset hijacks the connection and closes it with SO_LINGER 0 (a TCP RST) without
	// answering.
	FaultReset FaultKind = "reset"
	// FaultSlow waits Fault.Delay (default 2 s) before answering normally; when the request's
	// context ends first (the client gave up) nothing is answered.
	FaultSlow FaultKind = "slow"
	// FaultThrottleHeaders answers normally but adds the headers of a throttled identity:
	// Retry-After (Fault.RetryAfter, default 1 s), X-RateLimit-Resource "Core",
	// X-RateLimit-Delay "0.5", X-RateLimit-Limit "200", X-RateLimit-Remaining "5" and
	// X-RateLimit-Reset (Unix seconds, now plus Retry-After).
	FaultThrottleHeaders FaultKind = "throttle-headers"
)

// Fault injects a failure into the requests of one route.
//
// Route is a route name, "*" (every request), or a path pattern starting with "/" matched
// with path.Match against the escaped request path. Route names: "locations" (OPTIONS
// _apis[/{area}]), "resourceAreas", "connectionData", "projects", "repositories", "refs",
// "items", "commits", "pullRequests", "pullRequestWrites", "commitStatuses",
// "pullRequestStatuses", "threads", "serviceEndpoints", "hooksSubscriptions" (REST, under
// _apis; see classifyAPI), "api" (any other REST path),
// "vsts/info", "info/refs", "git-upload-pack", "git-receive-pack" (git), "vssps" and "entra"
// (OAuth endpoints), "other". Count is how many of the next matching requests the fault hits;
// 0 means every one (always).
type Fault struct {
	Route      string        `json:"route"`
	Kind       FaultKind     `json:"kind"`
	Count      int           `json:"count,omitempty"`
	RetryAfter time.Duration `json:"retryAfter,omitempty"`
	Delay      time.Duration `json:"delay,omitempty"`
}

// String is the fault in ParseFault's syntax.
func (f Fault) String() string {
	s := f.Route + "=" + string(f.Kind)
	if f.Count > 0 {
		s += ":" + strconv.Itoa(f.Count)
	}
	if f.RetryAfter > 0 {
		s += ",retry-after=" + strconv.Itoa(int(f.RetryAfter/time.Second))
	}
	if f.Delay > 0 {
		s += ",delay=" + f.Delay.String()
	}
	return s
}

// ParseFault reads "ROUTE=KIND[:N][,retry-after=S][,delay=D]", e.g. "projects=429:1,retry-after=1",
// "*=503", "git-upload-pack=reset:2", "refs=slow,delay=3s", "projects=throttle-headers:1".
// N is a count or "always" (the default); S whole seconds; D a Go duration. Errors name the
// part that is wrong.
func ParseFault(spec string) (Fault, error) {
	parts := strings.Split(strings.TrimSpace(spec), ",")
	route, kindCount, ok := strings.Cut(parts[0], "=")
	route = strings.TrimSpace(route)
	if !ok || route == "" {
		return Fault{}, fmt.Errorf("fault %q: want ROUTE=KIND[:N][,retry-after=S][,delay=D]", spec)
	}
	kind, count, hasCount := strings.Cut(strings.TrimSpace(kindCount), ":")
	f := Fault{Route: route, Kind: FaultKind(kind)}
	switch f.Kind {
	case Fault429, Fault500, Fault502, Fault503, Fault504, FaultReset, FaultSlow, FaultThrottleHeaders:
	default:
		return Fault{}, fmt.Errorf("fault %q: unknown kind %q (want 429, 500, 502, 503, 504, reset, slow or throttle-headers)", spec, kind)
	}
	if hasCount && count != "always" {
		n, err := strconv.Atoi(count)
		if err != nil || n < 1 {
			return Fault{}, fmt.Errorf("fault %q: count %q is not a positive number or \"always\"", spec, count)
		}
		f.Count = n
	}
	for _, p := range parts[1:] {
		name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch name {
		case "retry-after":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return Fault{}, fmt.Errorf("fault %q: retry-after %q is not a number of seconds", spec, val)
			}
			f.RetryAfter = time.Duration(n) * time.Second
		case "delay":
			d, err := time.ParseDuration(val)
			if err != nil || d < 0 {
				return Fault{}, fmt.Errorf("fault %q: delay %q is not a duration such as 2s", spec, val)
			}
			f.Delay = d
		default:
			return Fault{}, fmt.Errorf("fault %q: unknown option %q (want retry-after or delay)", spec, name)
		}
	}
	return f, nil
}

// Hit is one request the server received, with its route name and the fault it met ("" for
// none). At is when the request arrived (server clock).
type Hit struct {
	Route  string    `json:"route"`
	Method string    `json:"method"`
	At     time.Time `json:"at"`
	Fault  FaultKind `json:"fault,omitempty"`
}

// maxHits bounds the request log kept for Hits (oldest dropped first).
const maxHits = 10000

// faultState holds the faults and the per-route request log. Its own lock keeps it apart
// from the server's data.
type faultState struct {
	mu     sync.Mutex
	faults []Fault
	counts map[string]int64
	hits   []Hit
}

// take records a request of route (path p) and returns the fault it meets, counting it down.
func (fs *faultState) take(route, method, p string, now time.Time) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.counts == nil {
		fs.counts = map[string]int64{}
	}
	fs.counts[route]++
	h := Hit{Route: route, Method: method, At: now}
	var hit Fault
	found := false
	for i, f := range fs.faults {
		if !f.matches(route, p) {
			continue
		}
		hit, found, h.Fault = f, true, f.Kind
		if f.Count > 0 {
			if f.Count == 1 {
				fs.faults = append(fs.faults[:i:i], fs.faults[i+1:]...)
			} else {
				fs.faults[i].Count--
			}
		}
		break
	}
	if len(fs.hits) >= maxHits {
		fs.hits = append(fs.hits[:0], fs.hits[1:]...)
	}
	fs.hits = append(fs.hits, h)
	return hit, found
}

func (f Fault) matches(route, p string) bool {
	switch {
	case f.Route == "*":
		return true
	case strings.HasPrefix(f.Route, "/"):
		ok, _ := path.Match(f.Route, p)
		return ok
	}
	return strings.EqualFold(f.Route, route)
}

// AddFault adds a fault; faults are tried in the order added, the first match applies.
// Safe while serving.
func (s *Server) AddFault(f Fault) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.faults = append(s.faults.faults, f)
}

// ClearFaults removes every fault (the request counts stay). Safe while serving.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.faults = nil
}

// Faults returns the faults still in force, with their remaining counts.
func (s *Server) Faults() []Fault {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return append([]Fault(nil), s.faults.faults...)
}

// RouteRequests returns how many requests of a route name ("" or "*": all routes) the
// server received since it started or ResetRequests, faulted or not.
func (s *Server) RouteRequests(route string) int64 {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if route == "" || route == "*" {
		var n int64
		for _, c := range s.faults.counts {
			n += c
		}
		return n
	}
	return s.faults.counts[route]
}

// Hits returns the logged requests of a route name ("" or "*": all), oldest first (the last
// 10000 requests are kept).
func (s *Server) Hits(route string) []Hit {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	var out []Hit
	for _, h := range s.faults.hits {
		if route == "" || route == "*" || h.Route == route {
			out = append(out, h)
		}
	}
	return out
}

// ResetRequests clears the request counts and the request log.
func (s *Server) ResetRequests() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.counts, s.faults.hits = nil, nil
}

// routeName names a request's route for faults and counts (see Fault).
func (s *Server) routeName(r *http.Request) string {
	segs, ok := splitPath(r.URL.EscapedPath())
	if !ok || len(segs) == 0 {
		return "other"
	}
	switch segs[0] {
	case vsspsPrefix:
		return "vssps"
	case entraPrefix:
		return "entra"
	}
	if segs, ok = s.stripVirtualDir(segs); !ok {
		return "other"
	}
	rt, ok := parseRoute(segs)
	if !ok {
		return "other"
	}
	rest := rt.rest
	if rt.git {
		switch {
		case len(rest) == 2 && rest[0] == "vsts" && rest[1] == "info":
			return "vsts/info"
		case len(rest) == 2 && rest[0] == "info" && rest[1] == "refs":
			return "info/refs"
		case len(rest) == 1:
			return rest[0]
		}
		return "other"
	}
	if t := classifyAPI(r.Method, rt); t.kind != apiUnknown {
		return t.name
	}
	// Shapes the simulator does not serve keep the names they had before classifyAPI.
	switch {
	case len(rest) >= 1 && strings.EqualFold(rest[0], "projects"):
		return "projects"
	case len(rest) >= 2 && strings.EqualFold(rest[0], "git") && strings.EqualFold(rest[1], "repositories"):
		return "repositories"
	}
	return "api"
}
