package azuredevops

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzWireDecode decodes any answer body into every wire type the client reads, through
// lenient as getURL does: no panic; a JSON object decodes into each single-object type without
// error (unknown fields, scalars of another type and parts of another shape never fail a
// decode); a list decodes only from a JSON object; decoding is deterministic; an enum is a
// known name, "unknown", "" or an unknown name as sent, cut to maxEnumText bytes of valid
// UTF-8 without control characters.
func FuzzWireDecode(f *testing.F) {
	f.Add([]byte(`{"serverUrl":"https://dev.azure.com/fabrikam","collection":{"id":"e22d","name":"fabrikam"},"repository":{"id":"2f3d","name":"FabrikamCloud","project":{"id":"3b3a","name":"FabrikamCloud","state":1,"revision":411518573},"remoteUrl":"https://dev.azure.com/fabrikam/FabrikamCloud/_git/FabrikamCloud"}}`))
	f.Add([]byte(`{"count":1,"value":[{"id":"p","name":"n","state":"wellFormed","visibility":"private","revision":3}]}`))
	f.Add([]byte(`{"id":1,"name":true,"state":"WELLFORMED","visibility":-1,"size":"12","isDisabled":"TRUE","project":[]}`))
	f.Add([]byte(`{"authenticatedUser":{"id":"u","properties":{"Account":{"$value":"a@b"}}},"deploymentType":2,"locationServiceData":{"accessMappings":[{"moniker":"m","accessPoint":"http://x"}]}}`))
	f.Add([]byte(`{"state":"\u0000\ud800x","visibility":1e400,"size":-9.9e99}`))
	f.Add([]byte(`[1,"a",null]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		targets := []func([]byte) (any, error){
			decodeAnswer[wireProject],
			decodeAnswer[wireRepository],
			decodeAnswer[wireRef],
			decodeAnswer[wireConnectionData],
			decodeAnswer[wireVstsInfo],
		}
		object := json.Valid(body) && isObject(body)
		for _, decode := range targets {
			a, errA := decode(body)
			b, errB := decode(body)
			if object && errA != nil {
				t.Fatalf("%T: a JSON object failed to decode: %v", a, errA)
			}
			if (errA == nil) != (errB == nil) || (errA == nil && !reflect.DeepEqual(a, b)) {
				t.Fatalf("%T: two decodes differ: %+v / %+v", a, a, b)
			}
		}
		var l wireList[wireProject]
		if err := json.Unmarshal(body, lenient(&l)); err == nil {
			if !object {
				t.Fatalf("a list from something else than an object: %q", body)
			}
			for _, p := range l.Value {
				checkEnum(t, p.State, projectStates)
				checkEnum(t, p.Visibility, projectVisibilities)
			}
		}
		var p wireProject
		if json.Unmarshal(body, lenient(&p)) == nil {
			checkEnum(t, p.State, projectStates)
			checkEnum(t, p.Visibility, projectVisibilities)
		}
		var cd wireConnectionData
		if json.Unmarshal(body, lenient(&cd)) == nil {
			checkEnum(t, cd.DeploymentType, deploymentTypes)
		}
	})
}

// decodeAnswer decodes an answer body into a new T the way getURL does.
func decodeAnswer[T any](body []byte) (any, error) {
	v := new(T)
	return v, json.Unmarshal(body, lenient(v))
}

func checkEnum[E ~string](t *testing.T, e E, table map[int64]string) {
	t.Helper()
	v := string(e)
	if v == "" || v == enumUnknown {
		return
	}
	for _, name := range table {
		if v == name {
			return
		}
	}
	if len(v) > maxEnumText || !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		t.Fatalf("enum value %q is not a name, %q, or a bounded printable name", v, enumUnknown)
	}
}
