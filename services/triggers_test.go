package services

import (
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
)

func TestMatchBranchWildcards(t *testing.T) {
	cases := []struct {
		patterns []string
		branch   string
		want     bool
	}{
		{[]string{"main"}, "main", true},
		{[]string{"main"}, "refs/heads/main", true},
		{[]string{"main"}, "Main", false},
		{[]string{"main"}, "main2", false},
		{[]string{"release/*"}, "release/1.0", true},
		{[]string{"release/*"}, "release/", true},
		{[]string{"release/*"}, "release/1.0/hotfix", false},
		{[]string{"release/**"}, "release/1.0/hotfix", true},
		{[]string{"**"}, "any/deep/branch", true},
		{[]string{"*"}, "any/deep", false},
		{[]string{"feature/*-ui"}, "feature/login-ui", true},
		{[]string{"feature/*-ui"}, "feature/login-api", false},
		{[]string{"**/fix"}, "a/b/fix", true},
		{[]string{"dev", "release/*"}, "release/x", true},
		{nil, "main", false},
	}
	for _, c := range cases {
		if got := MatchBranch(c.patterns, c.branch); got != c.want {
			t.Errorf("MatchBranch(%q, %q) = %v, want %v", c.patterns, c.branch, got, c.want)
		}
	}
}

// An adversarial pattern against a long branch stays linear-by-quadratic (no backtracking
// blow-up): this would not finish with naive recursion.
func TestMatchBranchNoBlowUp(t *testing.T) {
	p := strings.Repeat("*a", 60) + "b"
	if MatchBranch([]string{p}, strings.Repeat("a", 1000)) {
		t.Fatal("matched a branch without the final b")
	}
}

func TestNormalizeTriggers(t *testing.T) {
	got, err := normalizeTriggers("triggers", &TriggersInput{Push: &BranchFilterInput{}, PullRequest: &BranchFilterInput{Branches: []string{"refs/heads/main", "main", " release/* "}}}, "develop")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Push.Branches, ",") != "develop" || strings.Join(got.PullRequest.Branches, ",") != "main,release/*" {
		t.Fatalf("normalized %+v %+v", got.Push, got.PullRequest)
	}
	for _, bad := range []string{"", "a b", "a..b", "a//b", "/a", "a/", ".a", "a.lock", "a:b", "a?", "a[", "a\\b", "a~1", "x^", "@", "a@{1}", "***"} {
		_, err := normalizeTriggers("triggers", &TriggersInput{Push: &BranchFilterInput{Branches: []string{"ok", bad}}}, "main")
		if err == nil {
			t.Errorf("pattern %q accepted", bad)
			continue
		}
		if f := fieldOf(err); f != "triggers.push.branches[1]" {
			t.Errorf("pattern %q: field %q", bad, f)
		}
	}
	if got, err := normalizeTriggers("triggers", &TriggersInput{}, "main"); err != nil || got != nil {
		t.Fatalf("empty triggers object: %v %v, want none", got, err)
	}
}

func fieldOf(err error) string {
	if ce := connections.AsError(err); ce != nil {
		return ce.Field
	}
	return ""
}
