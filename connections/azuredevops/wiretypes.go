package azuredevops

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Tolerant JSON types for what Azure DevOps sends. The service is not strict about the shape
// of its answers: the vsts/info example in the REST specification sends a project's state as
// the number 1 where the projects list sends "wellFormed" (vsts-rest-api-specs,
// specification/git/7.1/httpExamples/repositories/GET__git_repositories__remoteurl.json, and
// specification/core/7.1/core.json), and its .NET serializer writes enums either way. So no
// scalar the client reads fails a decode: a value of another JSON type than expected becomes
// the zero value (or its text), and an enum is read from its name or its number. Unknown
// fields are ignored (encoding/json's default; no decoder of this package disallows them).

// wireText is a JSON string; a number or boolean is kept as its JSON text ("1", "true"),
// null, an object or an array read as "". It never fails a decode.
type wireText string

func (t *wireText) UnmarshalJSON(b []byte) error {
	*t = ""
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		var s string
		if json.Unmarshal(b, &s) == nil {
			*t = wireText(s)
		}
	case 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		*t = wireText(b)
	}
	return nil
}

// wireInt is a JSON integer; a fraction is truncated, a string holding a number ("3599") is
// read as that number, anything else (or a number out of the int64 range) reads as 0.
type wireInt int64

func (n *wireInt) UnmarshalJSON(b []byte) error {
	*n = 0
	raw := strings.TrimSpace(string(b))
	if strings.HasPrefix(raw, `"`) {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return nil
		}
		raw = strings.TrimSpace(s)
	}
	if i, err := strconv.ParseInt(raw, 10, 64); err == nil {
		*n = wireInt(i)
		return nil
	}
	if f, err := strconv.ParseFloat(raw, 64); err == nil && !math.IsNaN(f) && f > math.MinInt64 && f < math.MaxInt64 {
		*n = wireInt(f)
	}
	return nil
}

// wireBool is a JSON boolean; the strings "true"/"false" (any case) and numbers (non-zero is
// true) are read too, anything else reads as false.
type wireBool bool

func (v *wireBool) UnmarshalJSON(b []byte) error {
	*v = false
	var t wireText
	_ = t.UnmarshalJSON(b)
	s := strings.ToLower(strings.TrimSpace(string(t)))
	if s == "true" {
		*v = true
	} else if f, err := strconv.ParseFloat(s, 64); err == nil && f != 0 && !math.IsNaN(f) {
		*v = true
	}
	return nil
}

// decodeWire decodes the JSON value b into *v, a wire type, as far as it goes. *v is zeroed
// first. A part of another JSON shape than its field ("project":"Platform" where an object is
// expected, "accessMappings":{} where an array is, or b itself not an object) is passed over
// and leaves that field empty: encoding/json skips it, completes the rest "as best it can" and
// reports it as a *json.UnmarshalTypeError (pkg.go.dev/encoding/json#Unmarshal), which
// decodeWire ignores. The tolerant scalar types above never fail, so the errors left are b not
// being JSON and a list without its frame (wireList). A name repeated in one object is read
// again into the same field (encoding/json's rule; Azure DevOps does not repeat names).
func decodeWire[T any](b []byte, v *T) error {
	*v = *new(T)
	var skipped *json.UnmarshalTypeError
	if err := json.Unmarshal(b, v); err != nil && !errors.As(err, &skipped) {
		return err
	}
	return nil
}

// lenient returns what getURL decodes an answer into so that it is read into *v with
// decodeWire.
func lenient[T any](v *T) json.Unmarshaler { return &wireAnswer[T]{v} }

type wireAnswer[T any] struct{ v *T }

func (a *wireAnswer[T]) UnmarshalJSON(b []byte) error { return decodeWire(b, a.v) }

// isObject reports whether the JSON value b is an object.
func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

// enumUnknown is what an enum number that no table names reads as.
const enumUnknown = "unknown"

// maxEnumText bounds (bytes) an unknown enum name kept as sent.
const maxEnumText = 64

// readEnum reads an enum member sent as its name or its number. A name is matched
// case-insensitively against the table's names and returned in the table's spelling (the
// camelCase the REST specification uses); an unknown name is kept as sent (control characters
// dropped, at most maxEnumText bytes); an unknown number, or a value of another JSON type, is
// enumUnknown; null is "".
func readEnum(b []byte, byNumber map[int64]string) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return ""
	}
	if b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return enumUnknown
		}
		s = strings.TrimSpace(s)
		for _, name := range byNumber {
			if strings.EqualFold(name, s) {
				return name
			}
		}
		// A number sent as a string ("1") is the number.
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return enumByNumber(i, byNumber)
		}
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) || r == unicode.ReplacementChar {
				return -1
			}
			return r
		}, s)
		if len(s) > maxEnumText {
			s = strings.ToValidUTF8(s[:maxEnumText], "")
		}
		if s == "" {
			return enumUnknown
		}
		return s
	}
	var i int64
	if json.Unmarshal(b, &i) == nil {
		return enumByNumber(i, byNumber)
	}
	return enumUnknown
}

func enumByNumber(i int64, byNumber map[int64]string) string {
	if name, ok := byNumber[i]; ok {
		return name
	}
	return enumUnknown
}

// projectStates are the members of ProjectState: the names of the REST specification
// (core/7.1/core.json, TeamProjectReference.state) with the numbers of the .NET client's enum
// (learn.microsoft.com/dotnet/api/microsoft.teamfoundation.core.webapi.projectstate:
// Unchanged -2, All -1, New 0, WellFormed 1, Deleting 2, CreatePending 3, Deleted 4).
var projectStates = map[int64]string{
	-2: "unchanged", -1: "all", 0: "new", 1: "wellFormed", 2: "deleting", 3: "createPending", 4: "deleted",
}

// projectVisibilities are the members of ProjectVisibility (core/7.1/core.json;
// learn.microsoft.com/dotnet/api/microsoft.teamfoundation.core.webapi.projectvisibility:
// Unchanged -1, Private 0, Organization 1, Public 2, SystemPrivate 3).
var projectVisibilities = map[int64]string{
	-1: "unchanged", 0: "private", 1: "organization", 2: "public", 3: "systemPrivate",
}

// deploymentTypes are the members of DeploymentFlags, connectionData's deploymentType (the
// .NET client's Microsoft.VisualStudio.Services.WebApi.DeploymentFlags: None 0, Hosted 1,
// OnPremises 2; the JSON names are "hosted" and "onPremises", docs/azure-devops-protocol.md §1).
var deploymentTypes = map[int64]string{0: "none", 1: "hosted", 2: "onPremises"}

// projectState is a ProjectState member read from its name or number (see readEnum):
// "wellFormed" for both "wellFormed" and 1.
type projectState string

func (s *projectState) UnmarshalJSON(b []byte) error {
	*s = projectState(readEnum(b, projectStates))
	return nil
}

// projectVisibility is a ProjectVisibility member read from its name or number.
type projectVisibility string

func (v *projectVisibility) UnmarshalJSON(b []byte) error {
	*v = projectVisibility(readEnum(b, projectVisibilities))
	return nil
}

// deploymentType is connectionData's deploymentType read from its name or number.
type deploymentType string

func (d *deploymentType) UnmarshalJSON(b []byte) error {
	*d = deploymentType(readEnum(b, deploymentTypes))
	return nil
}
