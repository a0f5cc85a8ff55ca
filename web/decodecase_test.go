package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

type caseInner struct {
	Branches []string `json:"branches"`
}

type caseEmbedded struct {
	Depth int `json:"depth"`
}

type caseRaw struct{ v string }

func (r *caseRaw) UnmarshalJSON(b []byte) error { r.v = string(b); return nil }

type caseBody struct {
	caseEmbedded
	RemoteURL string               `json:"remoteUrl"`
	Push      *caseInner           `json:"push"`
	Items     []caseInner          `json:"items"`
	Raw       caseRaw              `json:"raw"`
	Labels    map[string]caseInner `json:"labels"`
	Untagged  string
	Skipped   string `json:"-"`
}

// Member names must match the API's spelling exactly: encoding/json would accept any case.
func TestCaseMismatch(t *testing.T) {
	for body, want := range map[string]string{
		`{"remoteUrl":"x","depth":1,"push":{"branches":[]},"items":[{"branches":[]}],"Untagged":"y"}`: "",
		`{"remoteURL":"x"}`:                  "remoteURL",
		`{"Depth":1}`:                        "Depth",
		`{"push":{"Branches":["main"]}}`:     "push.Branches",
		`{"items":[{},{"BRANCHES":[]}]}`:     "items[1].BRANCHES",
		`{"raw":{"Anything":1}}`:             "",
		`{"labels":{"Any":{"branches":[]}}}`: "",
		`{"untagged":"y"}`:                   "untagged",
		`{"nosuch":1}`:                       "",
		`[1,2]`:                              "",
	} {
		if got := caseMismatch([]byte(body), reflect.TypeOf(&caseBody{})); got != want {
			t.Errorf("%s: caseMismatch = %q, want %q", body, got, want)
		}
	}
}

// decodeJSON refuses a member name spelled in another case, naming it as the field.
func TestDecodeJSONRefusesOtherCase(t *testing.T) {
	e := echo.New()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"remoteURL":"https://dev.azure.com/o/p/_git/r"}`))
	req.Header.Set("Content-Type", "application/json")
	var dst caseBody
	err := decodeJSON(e.NewContext(req, httptest.NewRecorder()), &dst)
	p := problemFor(err)
	if p.Status != http.StatusBadRequest || p.Field != "remoteURL" || !strings.Contains(p.Detail, "case-sensitive") {
		b, _ := json.Marshal(p)
		t.Fatalf("problem = %s", b)
	}
	if dst.RemoteURL != "" && err == nil {
		t.Error("the value was taken")
	}
}
