package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/connections"
)

// decodeJSON reads the request body into dst strictly: the media type must be JSON, unknown
// fields are refused, one value only. Errors are field errors (ErrInvalidInput) that say where
// the body is wrong; they never echo the body (it may hold a PAT).
func decodeJSON(c echo.Context, dst any) error {
	if ct := c.Request().Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return bodyError("", "send the body as JSON with Content-Type: application/json")
		}
	}
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return bodyError("", "the request body could not be read (larger than 1 MiB?)")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var (
			syn *json.SyntaxError
			typ *json.UnmarshalTypeError
		)
		switch {
		case errors.As(err, &syn):
			return bodyError("", fmt.Sprintf("the body is not valid JSON (error at byte %d)", syn.Offset))
		case errors.As(err, &typ) && typ.Field != "":
			return bodyError(typ.Field, fmt.Sprintf("the field %q must be a JSON %s", typ.Field, jsonKind(typ.Type.Kind())))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return bodyError(f, fmt.Sprintf("unknown field %q; check its spelling against the API reference at /api/v1/openapi.json", f))
		case errors.Is(err, io.ErrUnexpectedEOF):
			return bodyError("", "the body is truncated JSON")
		}
		return bodyError("", "the body must be a JSON object")
	}
	if dec.More() {
		return bodyError("", "the body must hold exactly one JSON object")
	}
	if f := caseMismatch(raw, reflect.TypeOf(dst)); f != "" {
		return bodyError(f, fmt.Sprintf("unknown field %q: member names are case-sensitive; check its spelling against the API reference at /api/v1/openapi.json", f))
	}
	return nil
}

// jsonKind names a Go kind the way JSON does.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "number"
}

func bodyError(field, msg string) error {
	e := connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput, "%s", msg)
	e.Field = field
	return e
}

// caseMismatch returns the path of the first member name in the JSON object raw that matches
// a field of t (a struct, or a pointer to one) only when case is ignored, e.g. "remoteURL" for
// the field remoteUrl: encoding/json accepts it, the API reference does not, so the service
// refuses it too rather than accept a spelling that another client or the document rejects.
// Nested objects and arrays of objects are followed; a type with its own UnmarshalJSON, a map
// or a body that is not an object ends the walk. "" when every name is exact.
func caseMismatch(raw []byte, t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return ""
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return ""
		}
		for i, item := range items {
			if p := caseMismatch(item, t.Elem()); p != "" {
				return fmt.Sprintf("[%d].%s", i, p)
			}
		}
		return ""
	case reflect.Struct:
	default:
		return ""
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(raw, &members) != nil {
		return ""
	}
	fields := fieldsOf(t)
	for _, name := range slices.Sorted(maps.Keys(members)) { // sorted: the same answer every time
		if f, ok := fields.exact[name]; ok {
			if p := caseMismatch(members[name], f.Type); p != "" {
				if strings.HasPrefix(p, "[") {
					return name + p
				}
				return name + "." + p
			}
			continue
		}
		if _, ok := fields.folded[strings.ToLower(name)]; ok {
			return name
		}
	}
	return ""
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// structFields are a struct type's JSON member names: exact, and folded to lower case.
type structFields struct {
	exact  map[string]reflect.StructField
	folded map[string]bool
}

// fieldCache holds the structFields of each struct type decoded so far (reflect.Type →
// structFields): request types are few and fixed, so it stays small.
var fieldCache sync.Map

// fieldsOf is jsonFields(t) with its folded names, computed once per type.
func fieldsOf(t reflect.Type) structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(structFields)
	}
	f := structFields{exact: jsonFields(t), folded: map[string]bool{}}
	for name := range f.exact {
		f.folded[strings.ToLower(name)] = true
	}
	fieldCache.Store(t, f)
	return f
}

// jsonFields maps the JSON member names of struct t (tags, else field names; embedded
// structs' fields promoted) to their fields.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			for n, sf := range jsonFields(ft) {
				if _, shadowed := out[n]; !shadowed {
					out[n] = sf
				}
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f
	}
	return out
}
