package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strings"

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
