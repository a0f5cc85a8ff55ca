package web

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
)

// OpenAPIDocument is the OpenAPI 3.1 document of /api/v1 (JSON), as GET /api/v1/openapi.json
// answers it: every operation with its parameters, request body, answers (status, media type,
// schema) and the problem bodies of its errors. The tests validate every request and answer
// of the API tests against it (web/openapivalidate_test.go), so it cannot drift from the code
// unnoticed.
//
//go:embed openapi.json
var OpenAPIDocument []byte

// OpenAPIPath is where the document is served; error messages point to it.
const OpenAPIPath = "/api/v1/openapi.json"

// apiDocsPath is the document as an HTML page.
const apiDocsPath = "/api/v1/docs"

// mountOpenAPI adds GET /api/v1/openapi.json (the document, application/json) and GET
// /api/v1/docs (the same as a page: every operation and schema, server-rendered, no script),
// both without an API key.
func mountOpenAPI(e *echo.Echo) {
	e.GET(OpenAPIPath, func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-cache")
		c.Response().Header().Set("X-Content-Type-Options", "nosniff")
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, OpenAPIDocument)
	})
	e.GET(apiDocsPath, func(c echo.Context) error {
		page, err := apiDocsPage()
		if err != nil {
			return err
		}
		c.Response().Header().Set("Cache-Control", "no-cache")
		return c.HTMLBlob(http.StatusOK, page)
	}, pageHeaders)
}

var (
	docsOnce sync.Once
	docsHTML []byte
	docsErr  error
)

// apiDocsPage renders the page once (the document is built in).
func apiDocsPage() ([]byte, error) {
	docsOnce.Do(func() {
		doc, err := LoadOpenAPI()
		if err != nil {
			docsErr = err
			return
		}
		var b bytes.Buffer
		if err := docsTemplate.Execute(&b, docsModel(doc)); err != nil {
			docsErr = err
			return
		}
		docsHTML = b.Bytes()
	})
	return docsHTML, docsErr
}

// LoadOpenAPI parses and validates OpenAPIDocument with kin-openapi (as an OpenAPI 3.1
// document, JSON Schema 2020-12 keywords included). Errors say what in the document is wrong.
func LoadOpenAPI() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(OpenAPIDocument)
	if err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	return doc, nil
}

// The page's model: plain strings, so the template stays simple.
type (
	docsPage struct {
		Title, Version, Description string
		Tags                        []docsTag
		Schemas                     []docsSchema
	}
	docsTag struct {
		Name, Description string
		Ops               []docsOp
	}
	docsOp struct {
		Anchor, Method, Path, Summary, Description, Auth string
		Params                                           []docsParam
		Body                                             []docsMedia
		BodyRequired                                     bool
		Answers                                          []docsAnswer
	}
	docsParam struct {
		Name, In, Type, Description string
		Required                    bool
	}
	docsMedia struct {
		Type   string
		Schema template.HTML
	}
	docsAnswer struct {
		Status, Description string
		Media               []docsMedia
	}
	docsSchema struct {
		Name, Description, Type string
		Props                   []docsProp
	}
	docsProp struct {
		Name, Description string
		Type              template.HTML
		Required          bool
	}
)

func docsModel(doc *openapi3.T) docsPage {
	p := docsPage{Title: doc.Info.Title, Version: doc.Info.Version, Description: doc.Info.Description}
	byTag := map[string]*docsTag{}
	for _, t := range doc.Tags {
		p.Tags = append(p.Tags, docsTag{Name: t.Name, Description: t.Description})
	}
	for i := range p.Tags {
		byTag[p.Tags[i].Name] = &p.Tags[i]
	}
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, path := range paths {
		item := doc.Paths.Value(path)
		methods := make([]string, 0, 4)
		for m := range item.Operations() {
			methods = append(methods, m)
		}
		slices.Sort(methods)
		for _, m := range methods {
			op := item.GetOperation(m)
			o := docsOp{Anchor: op.OperationID, Method: m, Path: path, Summary: op.Summary, Description: op.Description}
			o.Auth = "API key (Bearer)"
			if op.Security != nil {
				o.Auth = "none"
				for _, req := range *op.Security {
					for name := range req {
						o.Auth = name
					}
				}
			}
			for _, pr := range append(slices.Clone(item.Parameters), op.Parameters...) {
				v := pr.Value
				o.Params = append(o.Params, docsParam{Name: v.Name, In: v.In, Required: v.Required,
					Description: v.Description, Type: string(schemaText(v.Schema))})
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				o.BodyRequired = op.RequestBody.Value.Required
				o.Body = mediaOf(op.RequestBody.Value.Content)
			}
			codes := slices.Sorted(func(yield func(string) bool) {
				for code := range op.Responses.Map() {
					if !yield(code) {
						return
					}
				}
			})
			for _, code := range codes {
				r := op.Responses.Value(code).Value
				a := docsAnswer{Status: code}
				if r.Description != nil {
					a.Description = *r.Description
				}
				a.Media = mediaOf(r.Content)
				o.Answers = append(o.Answers, a)
			}
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			t := byTag[tag]
			if t == nil {
				p.Tags = append(p.Tags, docsTag{Name: tag})
				for i := range p.Tags { // the slice may have moved
					byTag[p.Tags[i].Name] = &p.Tags[i]
				}
				t = byTag[tag]
			}
			t.Ops = append(t.Ops, o)
		}
	}
	names := make([]string, 0, len(doc.Components.Schemas))
	for n := range doc.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := doc.Components.Schemas[n].Value
		ds := docsSchema{Name: n, Description: s.Description, Type: string(schemaText(&openapi3.SchemaRef{Value: s}))}
		props := map[string]*openapi3.SchemaRef{}
		collectProps(s, props)
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		req := requiredOf(s)
		for _, k := range keys {
			pr := props[k]
			desc := ""
			if pr.Value != nil && pr.Ref == "" { // a named schema's description is under its own heading
				desc = pr.Value.Description
			}
			ds.Props = append(ds.Props, docsProp{Name: k, Type: schemaText(pr), Required: slices.Contains(req, k), Description: desc})
		}
		p.Schemas = append(p.Schemas, ds)
	}
	return p
}

// collectProps gathers s's properties and those of its allOf parts (a $ref with sibling
// keywords resolves to one).
func collectProps(s *openapi3.Schema, into map[string]*openapi3.SchemaRef) {
	for _, a := range s.AllOf {
		if a.Value != nil {
			collectProps(a.Value, into)
		}
	}
	for k, v := range s.Properties {
		into[k] = v
	}
}

func requiredOf(s *openapi3.Schema) []string {
	r := slices.Clone(s.Required)
	for _, a := range s.AllOf {
		if a.Value != nil {
			r = append(r, requiredOf(a.Value)...)
		}
	}
	return r
}

func mediaOf(c openapi3.Content) []docsMedia {
	types := make([]string, 0, len(c))
	for t := range c {
		types = append(types, t)
	}
	sort.Strings(types)
	out := make([]docsMedia, 0, len(types))
	for _, t := range types {
		out = append(out, docsMedia{Type: t, Schema: schemaText(c[t].Schema)})
	}
	return out
}

// schemaText is a one-line description of a schema: a link to a named component, the type
// (with "| null"), enums, formats, array items, unions.
func schemaText(r *openapi3.SchemaRef) template.HTML {
	if r == nil {
		return ""
	}
	if name, ok := strings.CutPrefix(r.Ref, "#/components/schemas/"); ok {
		return template.HTML(fmt.Sprintf(`<a href="#schema-%s">%s</a>`, template.HTMLEscapeString(name), template.HTMLEscapeString(name)))
	}
	s := r.Value
	if s == nil {
		return ""
	}
	var parts []string
	union := func(rs openapi3.SchemaRefs) string {
		alts := make([]string, 0, len(rs))
		for _, a := range rs {
			alts = append(alts, string(schemaText(a)))
		}
		return strings.Join(alts, " | ")
	}
	switch {
	case len(s.AnyOf) > 0:
		parts = append(parts, union(s.AnyOf))
	case len(s.OneOf) > 0:
		parts = append(parts, union(s.OneOf))
	case len(s.AllOf) > 0 && s.Type == nil:
		parts = append(parts, union(s.AllOf))
	}
	if s.Const != nil {
		parts = append(parts, template.HTMLEscapeString(fmt.Sprintf("%q", s.Const)))
	}
	if s.Type != nil {
		for _, t := range s.Type.Slice() {
			switch t {
			case "array":
				if s.Items != nil {
					parts = append(parts, "array of "+string(schemaText(s.Items)))
					continue
				}
			case "string", "integer", "number":
				if s.Format != "" {
					t += " (" + s.Format + ")"
				}
			}
			parts = append(parts, template.HTMLEscapeString(t))
		}
	}
	out := strings.Join(parts, " | ")
	if s.Type.Is("object") && len(s.Properties) > 0 { // an inline object: its fields, in brief
		names := make([]string, 0, len(s.Properties))
		for n := range s.Properties {
			names = append(names, n)
		}
		sort.Strings(names)
		fields := make([]string, 0, len(names))
		for _, n := range names {
			f := "<code>" + template.HTMLEscapeString(n) + "</code>: " + string(schemaText(s.Properties[n]))
			if slices.Contains(s.Required, n) {
				f += " (required)"
			}
			fields = append(fields, f)
		}
		out += " {" + strings.Join(fields, "; ") + "}"
	}
	if len(s.Enum) > 0 {
		vals := make([]string, 0, len(s.Enum))
		for _, v := range s.Enum {
			vals = append(vals, fmt.Sprintf("%q", v))
		}
		out += template.HTMLEscapeString(": one of " + strings.Join(vals, ", "))
	}
	if s.Pattern != "" {
		out += template.HTMLEscapeString(" matching " + s.Pattern)
	}
	return template.HTML(out)
}

// inlineCode renders a description: HTML-escaped, with `code` spans as <code>.
func inlineCode(s string) template.HTML {
	parts := strings.Split(s, "`")
	var b strings.Builder
	for i, p := range parts {
		switch {
		case i%2 == 1 && i < len(parts)-1:
			b.WriteString("<code>" + template.HTMLEscapeString(p) + "</code>")
		case i%2 == 1: // an unpaired backtick
			b.WriteString(template.HTMLEscapeString("`" + p))
		default:
			b.WriteString(template.HTMLEscapeString(p))
		}
	}
	return template.HTML(b.String())
}

var docsTemplate = template.Must(template.New("docs").Funcs(template.FuncMap{"md": inlineCode}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/css/app.css">
<title>{{.Title}} {{.Version}} · repoconnect</title></head>
<body><a class="skip" href="#main">Skip to content</a>
<main id="main" class="api-docs">
<h1>{{.Title}} (version {{.Version}})</h1>
<p>{{md .Description}}</p>
<p>The machine-readable document: <a href="/api/v1/openapi.json"><code>/api/v1/openapi.json</code></a> (OpenAPI 3.1).</p>
<nav aria-label="Operations"><h2>Operations</h2><ul>
{{range .Tags}}{{if .Ops}}<li><a href="#tag-{{.Name}}">{{.Name}}</a><ul>
{{range .Ops}}<li><a href="#{{.Anchor}}"><code>{{.Method}} {{.Path}}</code></a> {{md .Summary}}</li>
{{end}}</ul></li>{{end}}
{{end}}<li><a href="#schemas">Schemas</a></li></ul></nav>
{{range .Tags}}{{if .Ops}}<section aria-labelledby="tag-{{.Name}}"><h2 id="tag-{{.Name}}">{{.Name}}</h2>
{{with .Description}}<p>{{md .}}</p>{{end}}
{{range .Ops}}<article class="op" aria-labelledby="{{.Anchor}}">
<h3 id="{{.Anchor}}"><code>{{.Method}} {{.Path}}</code></h3>
<p><strong>{{md .Summary}}</strong></p>
{{with .Description}}<p>{{md .}}</p>{{end}}
<p class="small">Authentication: {{.Auth}}. Operation id <code>{{.Anchor}}</code>.</p>
{{if .Params}}<table><caption>Parameters</caption><thead><tr><th scope="col">Name</th><th scope="col">In</th><th scope="col">Type</th><th scope="col">Required</th><th scope="col">Description</th></tr></thead><tbody>
{{range .Params}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Type}}</td><td>{{if .Required}}yes{{else}}no{{end}}</td><td>{{md .Description}}</td></tr>
{{end}}</tbody></table>{{end}}
{{if .Body}}<p>Request body ({{if .BodyRequired}}required{{else}}optional{{end}}): {{range .Body}}<code>{{.Type}}</code> {{.Schema}} {{end}}</p>{{end}}
<table><caption>Answers</caption><thead><tr><th scope="col">Status</th><th scope="col">Description</th><th scope="col">Body</th></tr></thead><tbody>
{{range .Answers}}<tr><td>{{.Status}}</td><td>{{md .Description}}</td><td>{{range .Media}}<code>{{.Type}}</code> {{.Schema}}<br>{{end}}</td></tr>
{{end}}</tbody></table>
</article>
{{end}}</section>{{end}}{{end}}
<section aria-labelledby="schemas"><h2 id="schemas">Schemas</h2>
{{range .Schemas}}<article class="schema" aria-labelledby="schema-{{.Name}}">
<h3 id="schema-{{.Name}}">{{.Name}}</h3>
{{with .Description}}<p>{{md .}}</p>{{end}}
{{with .Type}}<p>Type: {{.}}</p>{{end}}
{{if .Props}}<table><thead><tr><th scope="col">Field</th><th scope="col">Type</th><th scope="col">Required</th><th scope="col">Description</th></tr></thead><tbody>
{{range .Props}}<tr><td><code>{{.Name}}</code></td><td>{{.Type}}</td><td>{{if .Required}}yes{{else}}no{{end}}</td><td>{{md .Description}}</td></tr>
{{end}}</tbody></table>{{end}}
</article>
{{end}}</section>
</main></body></html>
`))
