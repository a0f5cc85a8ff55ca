package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestCommandFaultFlags: --fault injects from the start and --fault-control serves the control
// endpoint; a malformed --fault stops the command with a message naming the flag.
func TestCommandFaultFlags(t *testing.T) {
	first, stop := startCommand(t, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--pat", secretPAT,
		"--fault", "projects=503:1,retry-after=2", "--fault-control")
	req, _ := http.NewRequest(http.MethodGet, first+"/DefaultCollection/_apis/projects", nil)
	req.SetBasicAuth("", secretPAT)
	for i, want := range []int{http.StatusServiceUnavailable, http.StatusOK} {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("request %d: %d, want %d", i, resp.StatusCode, want)
		}
		if i == 0 && resp.Header.Get("Retry-After") != "2" {
			t.Fatalf("Retry-After = %q", resp.Header.Get("Retry-After"))
		}
	}
	resp, err := http.Post(first+"/_azdosim/faults", "text/plain", strings.NewReader("refs=reset"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("control POST: %d", resp.StatusCode)
	}
	rest, _ := stop()
	if !strings.Contains(rest, "fault: projects=503:1,retry-after=2") || !strings.Contains(rest, "/_azdosim/faults") {
		t.Fatalf("summary does not list the fault and the control endpoint:\n%s", rest)
	}

	cmd := newRootCommand(t.Context(), &strings.Builder{}, &strings.Builder{})
	cmd.SetArgs([]string{"--addr", "127.0.0.1:0", "--fault", "projects=418"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--fault") {
		t.Fatalf("malformed --fault: err = %v", err)
	}
}
