package ratelimit

import (
	"strings"
	"testing"
	"time"
)

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in     string
		want   Limit
		ok     bool
		errHas string
		str    string // String of the result; in when empty
	}{
		{in: "30/m", want: Limit{Rate: 30, Per: time.Minute}, ok: true},
		{in: "5/s", want: Limit{Rate: 5, Per: time.Second}, ok: true},
		{in: "100/h", want: Limit{Rate: 100, Per: time.Hour}, ok: true},
		{in: "10/1m30s", want: Limit{Rate: 10, Per: 90 * time.Second}, ok: true},
		{in: "10/90s", want: Limit{Rate: 10, Per: 90 * time.Second}, ok: true, str: "10/1m30s"},
		{in: "2/1m", want: Limit{Rate: 2, Per: time.Minute}, ok: true, str: "2/m"},
		{in: "1/500ms", want: Limit{Rate: 1, Per: 500 * time.Millisecond}, ok: true},
		{in: " 30/m ", want: Limit{Rate: 30, Per: time.Minute}, ok: true, str: "30/m"},
		{in: "30/m burst=60", want: Limit{Rate: 30, Per: time.Minute, Burst: 60}, ok: true},
		{in: "30/m burst=30", want: Limit{Rate: 30, Per: time.Minute, Burst: 30}, ok: true, str: "30/m"},
		{in: "0", str: "off"},
		{in: "off", str: "off"},
		{in: "OFF", str: "off"},
		{in: "", str: "off"},
		{in: "30", errHas: "no slash"},
		{in: "30/", errHas: "period"},
		{in: "30/d", errHas: "period"},
		{in: "30/-1m", errHas: "period"},
		{in: "30/0s", errHas: "period"},
		{in: "0/m", errHas: "rate"},
		{in: "-1/m", errHas: "rate"},
		{in: "x/m", errHas: "rate"},
		{in: "1.5/m", errHas: "rate"},
		{in: "30/m burst=0", errHas: "burst"},
		{in: "30/m burst=x", errHas: "burst"},
		{in: "30/m 60", errHas: "after the period"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			l, ok, err := ParseLimit(tc.in)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), "RATE/PER") {
					t.Fatalf("ParseLimit(%q) error = %v; want one about %q naming the form", tc.in, err, tc.errHas)
				}
				return
			}
			if err != nil || ok != tc.ok || l != tc.want {
				t.Fatalf("ParseLimit(%q) = %+v, %v, %v; want %+v, %v", tc.in, l, ok, err, tc.want, tc.ok)
			}
			want := tc.str
			if want == "" {
				want = tc.in
			}
			if got := l.String(); got != want {
				t.Fatalf("String() = %q, want %q", got, want)
			}
		})
	}
}

func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"30/m", "5/s", "10/1m30s", "30/m burst=60", "off", "0", "1/0s", "/", " burst=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, ok, err := ParseLimit(s)
		if err != nil || !ok {
			if l != (Limit{}) {
				t.Fatalf("ParseLimit(%q) = %+v with ok %v, err %v", s, l, ok, err)
			}
			return
		}
		if !l.valid() || l.Burst < 0 {
			t.Fatalf("ParseLimit(%q) = %+v, not a valid limit", s, l)
		}
		// String round-trips to the same effective limit.
		back, ok, err := ParseLimit(l.String())
		if err != nil || !ok || back.Rate != l.Rate || back.Per != l.Per || back.burst() != l.burst() {
			t.Fatalf("ParseLimit(%q) = %+v; its String %q reads back as %+v, %v, %v", s, l, l.String(), back, ok, err)
		}
	})
}
