package services

import (
	"strings"

	"github.com/repoconnect/repoconnect/services/store"
)

// Bounds of a trigger's branch filters.
const (
	// MaxTriggerPatterns bounds the patterns of one trigger (push or pullRequest).
	MaxTriggerPatterns = 32
	// MaxTriggerPatternLen bounds one pattern, in bytes (refs/heads/ prefix included).
	MaxTriggerPatternLen = 250
)

// TriggersInput is the "triggers" object of a build profile as the API takes it. A nil Push
// or PullRequest turns that trigger off. Push with no branches means the profile's branch.
// PullRequest with no branches is refused (name the target branches).
type TriggersInput struct {
	Push        *BranchFilterInput `json:"push,omitempty"`
	PullRequest *BranchFilterInput `json:"pullRequest,omitempty"`
}

// BranchFilterInput is a list of include patterns (see MatchBranch).
type BranchFilterInput struct {
	Branches []string `json:"branches"`
}

// normalizeTriggers validates in and returns the stored form (patterns without the
// refs/heads/ prefix). field is the JSON path of the triggers object ("triggers"); an error
// names the offending field, e.g. "triggers.push.branches[2]". defaultBranch fills an empty
// push filter. A nil in gives nil (no trigger).
func normalizeTriggers(field string, in *TriggersInput, defaultBranch string) (*store.Triggers, error) {
	if in == nil {
		return nil, nil
	}
	out := &store.Triggers{}
	if in.Push != nil {
		bs, err := normalizePatterns(field+".push.branches", in.Push.Branches)
		if err != nil {
			return nil, err
		}
		if len(bs) == 0 {
			bs = []string{defaultBranch}
		}
		out.Push = &store.BranchFilter{Branches: bs}
	}
	if in.PullRequest != nil {
		bs, err := normalizePatterns(field+".pullRequest.branches", in.PullRequest.Branches)
		if err != nil {
			return nil, err
		}
		if len(bs) == 0 {
			return nil, invalid(field+".pullRequest.branches", "name at least one target branch (e.g. [\"main\"]), or leave pullRequest out to turn the trigger off")
		}
		out.PullRequest = &store.BranchFilter{Branches: bs}
	}
	if out.Push == nil && out.PullRequest == nil {
		return nil, nil
	}
	return out, nil
}

// normalizePatterns checks each pattern and drops the optional refs/heads/ prefix and
// duplicates, keeping the order.
func normalizePatterns(field string, ps []string) ([]string, error) {
	if len(ps) > MaxTriggerPatterns {
		return nil, invalid(field, "at most %d branch patterns are allowed, got %d", MaxTriggerPatterns, len(ps))
	}
	seen := map[string]bool{}
	var out []string
	for i, p := range ps {
		f := field + "[" + itoa(i) + "]"
		if len(p) > MaxTriggerPatternLen {
			return nil, invalid(f, "a branch pattern is at most %d bytes long", MaxTriggerPatternLen)
		}
		p = strings.TrimPrefix(strings.TrimSpace(p), "refs/heads/")
		if err := checkPattern(p); err != "" {
			return nil, invalid(f, "%q is not a branch pattern: %s", p, err)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// checkPattern returns why p cannot be a branch pattern, or "". The rules are git's ref name
// rules (git-check-ref-format) with '*' allowed: no empty segment, no segment starting with
// '.' or ending with ".lock", no "..", "@{", control characters, space, '~', '^', ':', '?',
// '[', '\\'; '*' at most twice in a row.
func checkPattern(p string) string {
	if p == "" {
		return "it is empty"
	}
	if strings.Contains(p, "***") {
		return "'*' matches within a segment and '**' across segments; three in a row mean nothing more"
	}
	if strings.Contains(p, "..") || strings.Contains(p, "@{") || p == "@" {
		return "git ref names cannot contain \"..\" or \"@{\""
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?[\\", r) {
			return "git ref names cannot contain spaces, control characters or any of ~ ^ : ? [ \\"
		}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" {
			return "it has an empty segment (a leading, trailing or double '/')"
		}
		if strings.HasPrefix(seg, ".") || strings.HasSuffix(seg, ".lock") {
			return "a segment cannot start with '.' or end with \".lock\""
		}
	}
	return ""
}

// MatchBranch reports whether the branch (a short name, or a full refs/heads/ name) matches
// one of the include patterns. Semantics, after Azure Pipelines' branch filters
// (learn.microsoft.com/azure/devops/pipelines/repos/azure-repos-git#branches: include lists,
// the refs/heads/ prefix optional, '*' as wildcard), made precise here:
//
//   - a pattern without '*' matches that branch exactly (case-sensitive, as git refs are);
//   - '*' matches any run of characters within one path segment (not '/'): "release/*"
//     matches "release/1.0", not "release/1.0/hotfix";
//   - '**' matches any run of characters across segments: "release/**" matches both, and
//     "**" matches every branch.
//
// Exclude patterns ('!' or Azure Pipelines' exclude lists) are not supported.
func MatchBranch(patterns []string, branch string) bool {
	branch = strings.TrimPrefix(branch, "refs/heads/")
	for _, p := range patterns {
		if globMatch(p, branch) {
			return true
		}
	}
	return false
}

// globMatch matches s against p with '*' (not '/') and '**' (anything), by dynamic
// programming over (pattern position, string position): O(len(p)·len(s)) whatever the
// pattern, so an untrusted ref name cannot make it slow.
func globMatch(p, s string) bool {
	if !strings.Contains(p, "*") {
		return p == s
	}
	// next[j] is whether p[i+1:] (or the token after the current one) matches s[j:].
	n := len(s)
	next := make([]bool, n+1)
	next[n] = true // the empty pattern matches the empty rest
	cur := make([]bool, n+1)
	// Walk the pattern's tokens from the end.
	for i := len(p) - 1; i >= 0; i-- {
		width := 1
		double := false
		if p[i] == '*' && i > 0 && p[i-1] == '*' && (i < 2 || p[i-2] != '*') {
			double = true
			width = 2
		}
		switch {
		case double:
			// '**': matches s[j:k] for any k ≥ j.
			cur[n] = next[n]
			for j := n - 1; j >= 0; j-- {
				cur[j] = next[j] || cur[j+1]
			}
		case p[i] == '*':
			cur[n] = next[n]
			for j := n - 1; j >= 0; j-- {
				cur[j] = next[j] || (s[j] != '/' && cur[j+1])
			}
		default:
			cur[n] = false
			for j := n - 1; j >= 0; j-- {
				cur[j] = s[j] == p[i] && next[j+1]
			}
		}
		next, cur = cur, next
		i -= width - 1
	}
	return next[0]
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}
