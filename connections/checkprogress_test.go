package connections_test

import (
	"context"
	"sync"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
)

// The reporter tells each step once (again when its outcome changes), nothing after Close, and
// is a no-op without an observer.
func TestCheckReporter(t *testing.T) {
	if r := connections.NewCheckReporter(context.Background()); r != nil {
		t.Fatalf("a reporter without an observer: %v", r)
	}
	var nilRep *connections.CheckReporter
	nilRep.Start(connections.CheckPlan{})
	nilRep.Step(connections.CheckStep{Name: "x"})
	nilRep.Close()

	var mu sync.Mutex
	var told []string
	var plans int
	ctx := connections.WithCheckObserver(context.Background(), connections.CheckObserver{
		Start: func(connections.CheckPlan) { plans++ },
		Step: func(s connections.CheckStep) {
			mu.Lock()
			defer mu.Unlock()
			told = append(told, s.Name+map[bool]string{true: "+", false: "-"}[s.OK])
		},
	})
	r := connections.NewCheckReporter(ctx)
	r.Start(connections.CheckPlan{Host: "tfs.example.com"})
	var wg sync.WaitGroup
	for range 8 { // connection hooks fire from transport goroutines
		wg.Add(1)
		go func() { defer wg.Done(); r.Step(connections.CheckStep{Name: "reach_host", OK: true}) }()
	}
	wg.Wait()
	r.Step(connections.CheckStep{Name: "authenticate", OK: false, Message: "refused"})
	r.Step(connections.CheckStep{Name: "authenticate", OK: false, Message: "refused"})
	r.Step(connections.CheckStep{Name: "reach_host", OK: false})
	r.Close()
	r.Step(connections.CheckStep{Name: "late", OK: true})
	r.Start(connections.CheckPlan{})
	if got, want := len(told), 3; got != want || told[0] != "reach_host+" || told[1] != "authenticate-" || told[2] != "reach_host-" || plans != 1 {
		t.Fatalf("told %v, %d plans", told, plans)
	}
}
