package azuredevops

import "testing"

// TestResultsWireTolerance: the answers of issue 17's calls are read whatever way the .NET
// serializer writes enums (names or numbers), with properties typed ({"$type","$value"}) or
// plain, and fields of another JSON type read as empty instead of failing.
func TestResultsWireTolerance(t *testing.T) {
	var st wireStatus
	if err := decodeWire([]byte(`{"id":"7","state":2,"context":{"name":"b","genre":"g"},"iterationId":1,"creationDate":"2026-01-02T03:04:05.123Z"}`), &st); err != nil {
		t.Fatal(err)
	}
	if p := st.toPosted(); p.ID != 7 || p.State != "succeeded" || p.Genre != "g" || p.IterationID != 1 || p.CreatedAt.Year() != 2026 {
		t.Fatalf("status %+v", p)
	}
	var th wireThread
	raw := `{"id":3,"status":4,"properties":{"a":{"$type":"System.String","$value":"x"},"b":5,"c":{"$type":"System.Int32","$value":1}},
		"comments":[{"id":1,"parentCommentId":0,"content":"hi","author":{"displayName":"D"}},{"id":"2","content":{"odd":true}}]}`
	if err := decodeWire([]byte(raw), &th); err != nil {
		t.Fatal(err)
	}
	got := th.toThread()
	if got.ID != 3 || got.Status != "closed" || got.Properties["a"] != "x" || got.Properties["b"] != "5" || got.Properties["c"] != "1" ||
		len(got.Comments) != 2 || got.Comments[0].Author != "D" || got.Comments[1].ID != 2 || got.Comments[1].Content != "" {
		t.Fatalf("thread %+v", got)
	}
	var pr wirePullRequest
	if err := decodeWire([]byte(`{"pullRequestId":4,"status":3,"mergeStatus":2,"lastMergeCommit":"not an object"}`), &pr); err != nil {
		t.Fatal(err)
	}
	if pr.Status != "completed" || pr.MergeStatus != "conflicts" || pr.LastMergeCommit.CommitID != "" {
		t.Fatalf("pull request %+v", pr)
	}
}
