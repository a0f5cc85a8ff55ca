package services

import (
	"strings"
	"testing"
)

// samplePush follows the "Code pushed" sample payload
// (learn.microsoft.com/azure/devops/service-hooks/events#git.push), trimmed.
const samplePush = `{
  "subscriptionId": "00000000-0000-0000-0000-000000000000",
  "notificationId": 1,
  "id": "03c164c2-8912-4d5e-8009-3707d5f83734",
  "eventType": "git.push",
  "publisherId": "tfs",
  "message": {"text": "Jamal Hartnett pushed updates to Fabrikam-Fiber-Git:master."},
  "resource": {
    "commits": [{"commitId": "33b55f7cb7e7e245323987634f960cf4a6e6bc74", "comment": "Fixed bug in web.config file"}],
    "refUpdates": [{"name": "refs/heads/master", "oldObjectId": "aad331d8d3b131fa9ae03cf5e53965b51942618a", "newObjectId": "33B55F7CB7E7E245323987634F960CF4A6E6BC74"}],
    "repository": {"id": "278D5CD2-584D-4B63-824A-2BA458937249", "name": "Fabrikam-Fiber-Git",
      "project": {"id": "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c", "name": "Fabrikam-Fiber-Git", "state": "wellFormed"},
      "defaultBranch": "refs/heads/master"},
    "pushedBy": {"displayName": "Jamal Hartnett", "id": "00ca946b-2fe9-4f2a-ae2f-40d5c48001bc", "uniqueName": "fabrikamfiber4@hotmail.com"},
    "pushId": 14, "date": "2014-05-02T19:17:13.3309587Z"
  },
  "resourceVersion": "1.0",
  "resourceContainers": {"collection": {"id": "c12d0eb8-e382-443b-9f9c-c52cba5014c2"},
    "account": {"id": "f844ec47-a9db-4511-8281-8b63f4eaf94e"}, "project": {"id": "be9b3917-87e6-42a4-a549-2bc06a7a878f"}},
  "createdDate": "2024-09-19T13:03:27.0379153Z"
}`

// samplePR follows the "Pull request created" sample payload (same page,
// #git.pullrequest.created), trimmed.
const samplePR = `{
  "id": "2ab4e3d3-b7a6-425e-92b1-5a9982c1269e",
  "eventType": "git.pullrequest.created",
  "resource": {
    "repository": {"id": "4bc14d40-c903-45e2-872e-0462c7748079", "project": {"id": "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c"}},
    "pullRequestId": 1, "status": "active",
    "sourceRefName": "refs/heads/mytopic", "targetRefName": "refs/heads/master",
    "mergeStatus": "succeeded",
    "lastMergeSourceCommit": {"commitId": "53d54ac915144006c2c9e90d2c7d3880920db49c"},
    "lastMergeTargetCommit": {"commitId": "a511f535b1ea495ee0c903badb68fbc83772c882"},
    "lastMergeCommit": {"commitId": "eef717f69257a6333f221566c1c987dc94cc0d72"}
  },
  "resourceVersion": "1.0",
  "resourceContainers": {"collection": {"id": "c12d0eb8-e382-443b-9f9c-c52cba5014c2"}}
}`

func TestParseHookEventSamples(t *testing.T) {
	ev, err := ParseHookEvent([]byte(samplePush))
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "03c164c2-8912-4d5e-8009-3707d5f83734" || ev.EventType != EventGitPush ||
		ev.RepositoryID != "278d5cd2-584d-4b63-824a-2ba458937249" || ev.ProjectID != "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c" ||
		ev.CollectionID != "c12d0eb8-e382-443b-9f9c-c52cba5014c2" || ev.PushedBy != "Jamal Hartnett" ||
		len(ev.RefUpdates) != 1 || ev.RefUpdates[0].NewObjectID != "33b55f7cb7e7e245323987634f960cf4a6e6bc74" {
		t.Fatalf("push parsed as %+v", ev)
	}
	pr, err := ParseHookEvent([]byte(samplePR))
	if err != nil {
		t.Fatal(err)
	}
	if pr.PullRequestID != 1 || pr.Status != "active" || pr.TargetRefName != "refs/heads/master" ||
		pr.MergeCommit != "eef717f69257a6333f221566c1c987dc94cc0d72" || pr.MergeSourceCommit != "53d54ac915144006c2c9e90d2c7d3880920db49c" {
		t.Fatalf("pull request parsed as %+v", pr)
	}
	for name, body := range map[string]string{
		"not json":   "hello",
		"array":      "[]",
		"no id":      `{"eventType": "git.push"}`,
		"no type":    `{"id": "x"}`,
		"id type":    `{"id": 7, "eventType": "git.push"}`,
		"two values": `{"id": "x", "eventType": "git.push"} {}`,
		"long ref":   `{"id": "x", "eventType": "git.push", "resource": {"refUpdates": [{"name": "` + strings.Repeat("a", 2000) + `"}]}}`,
	} {
		if _, err := ParseHookEvent([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParseHookEvent feeds the parser of untrusted delivery bytes: it must never panic, and
// whatever it accepts respects its bounds.
func FuzzParseHookEvent(f *testing.F) {
	f.Add([]byte(samplePush))
	f.Add([]byte(samplePR))
	f.Add([]byte(`{"id":"x","eventType":"git.push","resource":{"refUpdates":[{"name":"refs/heads/a","newObjectId":"0000000000000000000000000000000000000000"}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseHookEvent(body)
		if err != nil {
			return
		}
		if ev.ID == "" || len(ev.ID) > maxEventIDLen || len(ev.RefUpdates) > maxRefUpdates || len(ev.PushedBy) > 256 {
			t.Fatalf("accepted out of bounds: %+v", ev)
		}
		for _, u := range ev.RefUpdates {
			if len(u.Name) > maxRefLen {
				t.Fatalf("ref name of %d bytes accepted", len(u.Name))
			}
			MatchBranch([]string{"**", "release/*", "main"}, u.Name)
		}
	})
}
