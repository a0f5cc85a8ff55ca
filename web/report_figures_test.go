package web_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestLoopFigures measures the loop (bench/hooks.sh): over N pushes (REPOCONNECT_LOOP_PUSHES,
// e.g. 20) to main, one after the other, the median time from `git push` returning to the
// run's createdAt and to the final commit status's creation in the simulator, and the
// simulator requests one push costs the service (REST calls by route, git requests of the
// run's clone). Skipped unless the variable is set; it prints figures and asserts no time.
func TestLoopFigures(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("REPOCONNECT_LOOP_PUSHES"))
	if n <= 0 {
		t.Skip("set REPOCONNECT_LOOP_PUSHES (bench/hooks.sh)")
	}
	l := startLoop(t, nil)
	routes := []string{"repositories", "commitStatuses", "pullRequests", "threads", "info/refs", "git-upload-pack"}
	var toRun, toStatus []time.Duration
	var apiCalls []int64
	perRoute := map[string][]int64{}
	// One push not measured: the work tree is then at main's tip, and its run settled.
	first := l.push("main", "main", "warm-up")
	l.reported(l.runWith("the warm-up run", func(r map[string]any) bool { return r["commit"] == first })["id"].(string), "commitStatus:succeeded")
	for i := range n {
		before := l.sim.APIRequests()
		counts := map[string]int64{}
		for _, r := range routes {
			counts[r] = l.sim.RouteRequests(r)
		}
		sha := l.pushOnly("main", fmt.Sprintf("measured %d", i))
		pushed := time.Now()
		r := l.runWith("the run of push "+strconv.Itoa(i), func(r map[string]any) bool { return r["commit"] == sha })
		created, _ := time.Parse(time.RFC3339Nano, r["createdAt"].(string))
		toRun = append(toRun, created.Sub(pushed))
		r = l.reported(r["id"].(string), "commitStatus:succeeded")
		if r["report"].(map[string]any)["failed"] != nil {
			t.Fatalf("report %v", r["report"])
		}
		for _, st := range statusesOf(t, l.sim, l.repo.ID, sha) {
			if st.State == "succeeded" {
				toStatus = append(toStatus, st.Created.Sub(pushed))
			}
		}
		apiCalls = append(apiCalls, l.sim.APIRequests()-before)
		for _, rt := range routes {
			perRoute[rt] = append(perRoute[rt], l.sim.RouteRequests(rt)-counts[rt])
		}
	}
	fmt.Printf("loop figures over %d pushes (median): git push returned → run createdAt %v; → final commit status created %v\n",
		n, medianDur(toRun), medianDur(toStatus))
	fmt.Printf("simulator REST requests per push (median, _apis paths): %d; by route:", medianInt(apiCalls))
	for _, rt := range routes {
		fmt.Printf(" %s=%d", rt, medianInt(perRoute[rt]))
	}
	fmt.Println(" (info/refs counts the measured git push's own discovery too)")
}

// pushOnly is push of a commit on the work tree's current branch (already at the remote's
// tip after a push): one commit, one `git push`.
func (l *loopEnv) pushOnly(branch, msg string) string {
	l.t.Helper()
	if err := os.WriteFile(l.work+"/ci.txt", []byte(msg), 0o644); err != nil {
		l.t.Fatal(err)
	}
	l.git("commit", "--quiet", "-am", msg)
	l.git("push", "--quiet", l.remote, "HEAD:refs/heads/"+branch)
	return l.git("rev-parse", "HEAD")
}

func medianDur(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2].Round(time.Millisecond)
}

func medianInt(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
