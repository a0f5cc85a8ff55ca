// Package ratelimit counts events per (tenant, action) against configured limits: in process
// (NewMemory, for the embedded deployment) or in Redis (NewRedis, one budget shared by every
// instance).
package ratelimit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limit allows Rate events per Per with bursts up to Burst (Burst 0 means Rate). Events are
// spread evenly: after a burst, one more event is allowed every Per/Rate.
type Limit struct {
	Rate  int           // events per Per; > 0
	Per   time.Duration // > 0
	Burst int           // events allowed at once; 0 means Rate
}

// burst is the effective burst: Burst, or Rate when Burst <= 0.
func (l Limit) burst() int {
	if l.Burst > 0 {
		return l.Burst
	}
	return l.Rate
}

// valid reports whether l limits anything.
func (l Limit) valid() bool { return l.Rate > 0 && l.Per > 0 }

const limitForm = `RATE/PER[ burst=N], PER one of s, m, h or a Go duration ("30/m", "5/s", "10/1m30s", "30/m burst=60"), or "0"/"off"`

// ParseLimit reads a limit: "RATE/PER" where RATE is a positive integer and PER is "s", "m",
// "h" or a positive Go duration ("30/m", "5/s", "100/h", "10/1m30s"), optionally followed by
// " burst=N" (N a positive integer). "0" and "off" (any case), and "", mean no limit: ok is
// false and l is zero. Surrounding space is ignored. Errors name the expected form.
func ParseLimit(s string) (l Limit, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" || strings.EqualFold(s, "off") {
		return Limit{}, false, nil
	}
	bad := func(why string) (Limit, bool, error) {
		return Limit{}, false, fmt.Errorf("ratelimit: invalid limit %q: %s; want %s", s, why, limitForm)
	}
	spec, burst, hasBurst := strings.Cut(s, " ")
	rateStr, perStr, found := strings.Cut(spec, "/")
	if !found {
		return bad("no slash")
	}
	rate, err := strconv.Atoi(rateStr)
	if err != nil || rate <= 0 {
		return bad("the rate must be a positive integer")
	}
	per, err := parsePer(perStr)
	if err != nil {
		return bad(err.Error())
	}
	l = Limit{Rate: rate, Per: per}
	if hasBurst {
		n, found := strings.CutPrefix(strings.TrimSpace(burst), "burst=")
		if !found {
			return bad("unexpected text after the period")
		}
		if l.Burst, err = strconv.Atoi(n); err != nil || l.Burst <= 0 {
			return bad("the burst must be a positive integer")
		}
	}
	return l, true, nil
}

func parsePer(s string) (time.Duration, error) {
	switch s {
	case "s":
		return time.Second, nil
	case "m":
		return time.Minute, nil
	case "h":
		return time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("the period %q must be s, m, h or a positive Go duration", s)
	}
	return d, nil
}

// String returns l in the form ParseLimit reads ("30/m", "10/1m30s", "30/m burst=60"); the
// burst is shown only when it differs from the rate. A limit that limits nothing is "off".
func (l Limit) String() string {
	if !l.valid() {
		return "off"
	}
	var per string
	switch l.Per {
	case time.Second:
		per = "s"
	case time.Minute:
		per = "m"
	case time.Hour:
		per = "h"
	default:
		per = l.Per.String()
	}
	s := strconv.Itoa(l.Rate) + "/" + per
	if b := l.burst(); b != l.Rate {
		s += " burst=" + strconv.Itoa(b)
	}
	return s
}
