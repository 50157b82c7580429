package web

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/templates"
)

// apiReference shows the API reference, made on the server from the
// OpenAPI description, with curl examples for this install.
func (s *Server) apiReference(c *echo.Context) error {
	base := cmp.Or(s.general().BaseURL, c.Scheme()+"://"+c.Request().Host)
	doc, err := s.openAPIDoc(base)
	if err != nil {
		return err
	}
	p := apiRefOf(doc, base)
	p.Shell = s.shell(c, "settings", "API reference")
	return s.render(c, http.StatusOK, templates.APIRefPage(p))
}

// methodOrder is the order of a path's operations on the page.
var methodOrder = []string{"get", "post", "put", "patch", "delete"}

// apiRefOf turns the description into the page's groups and schemas.
func apiRefOf(doc map[string]any, base string) templates.APIRefProps {
	p := templates.APIRefProps{BaseURL: base}
	comps := doc["components"].(map[string]any)["schemas"].(map[string]any)
	groups := map[string]*templates.APIRefGroup{}
	paths := doc["paths"].(map[string]map[string]any)
	for _, path := range sortedKeys(paths) {
		for _, method := range methodOrder {
			op, ok := paths[path][method].(map[string]any)
			if !ok {
				continue
			}
			tag := op["tags"].([]string)[0]
			g := groups[tag]
			if g == nil {
				g = &templates.APIRefGroup{Name: tag, Anchor: "res-" + anchorOf(tag)}
				groups[tag] = g
			}
			g.Ops = append(g.Ops, apiRefOp(op, method, path, base, comps))
		}
	}
	for _, name := range sortedKeys(groups) {
		p.Groups = append(p.Groups, *groups[name])
	}
	for _, name := range sortedKeys(comps) {
		sc := templates.APIRefSchema{Name: name, Anchor: "schema-" + name}
		obj := comps[name].(map[string]any)
		props, _ := obj["properties"].(map[string]any)
		required, _ := obj["required"].([]string)
		for _, field := range sortedKeys(props) {
			typ, anchor := typeText(props[field])
			sc.Fields = append(sc.Fields, templates.APIRefField{Name: field, Type: typ, TypeAnchor: anchor, Required: slices.Contains(required, field)})
		}
		p.Schemas = append(p.Schemas, sc)
	}
	return p
}

func apiRefOp(op map[string]any, method, path, base string, comps map[string]any) templates.APIRefOp {
	out := templates.APIRefOp{Anchor: op["operationId"].(string), Method: strings.ToUpper(method), Path: path,
		Summary: op["summary"].(string)}
	out.Scope, _ = op["x-scope"].(string)
	if _, public := op["security"]; public {
		out.Scope = ""
	}
	out.Doc, _ = op["description"].(string)
	if i := strings.Index(out.Doc, "Scope: `"); i >= 0 {
		out.Doc = strings.TrimSpace(out.Doc[:i])
	}
	params, _ := op["parameters"].([]any)
	for _, raw := range params {
		prm := raw.(map[string]any)
		if _, ok := prm["$ref"]; ok {
			continue // Idempotency-Key, described at the top
		}
		typ, _ := typeText(prm["schema"])
		doc, _ := prm["description"].(string)
		req, _ := prm["required"].(bool)
		out.Params = append(out.Params, templates.APIRefField{Name: prm["name"].(string), In: prm["in"].(string), Type: typ, Doc: doc, Required: req})
	}
	var body any
	var form []string
	if rb, ok := op["requestBody"].(map[string]any); ok {
		for media, c := range rb["content"].(map[string]any) {
			schema := c.(map[string]any)["schema"]
			if media == "application/json" {
				out.Body, out.BodyAnchor = typeText(schema)
				body = c.(map[string]any)["example"]
				if body == nil {
					body = exampleOf(schema, comps, 0, "")
				}
			} else {
				form = sortedKeys(schema.(map[string]any)["properties"].(map[string]any))
				out.Body = "a multipart form: " + strings.Join(form, ", ")
			}
		}
	}
	var statuses, errs []string
	responses := op["responses"].(map[string]any)
	for _, st := range sortedKeys(responses) {
		r := responses[st].(map[string]any)
		if _, isErr := r["$ref"]; isErr {
			errs = append(errs, st)
			continue
		}
		statuses = append(statuses, st)
		if out.Answer == "" {
			out.Answer, out.AnswerAnchor = answerText(r)
		}
	}
	out.Status, out.Errors = strings.Join(statuses, " or "), strings.Join(errs, ", ")
	out.Curl = curlExample(out.Method, base+examplePath(path), out.Scope != "", body, form)
	return out
}

// answerText describes what a successful answer carries.
func answerText(r map[string]any) (string, string) {
	content, _ := r["content"].(map[string]any)
	for media, c := range content {
		if media != "application/json" || len(content) > 1 {
			return "a file (" + strings.Join(sortedKeys(content), " or ") + ")", ""
		}
		props, _ := c.(map[string]any)["schema"].(map[string]any)["properties"].(map[string]any)
		data, ok := props["data"]
		if !ok {
			return "a JSON file", ""
		}
		typ, anchor := typeText(data)
		if _, list := props["meta"]; list {
			return "a page of " + typ + " in data, with meta", anchor
		}
		return typ + " in data", anchor
	}
	return "", ""
}

// typeText names a schema's type for people, with the anchor of the named
// schema it refers to.
func typeText(schema any) (string, string) {
	s, _ := schema.(map[string]any)
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		return name, "schema-" + name
	}
	if alts, ok := s["anyOf"].([]any); ok {
		var names []string
		anchor := ""
		for _, alt := range alts {
			t, a := typeText(alt)
			names = append(names, t)
			anchor = cmp.Or(anchor, a)
		}
		return strings.Join(names, " or "), anchor
	}
	typ, _ := s["type"].(string)
	switch {
	case typ == "array":
		t, a := typeText(s["items"])
		return "array of " + t, a
	case typ == "object" && s["additionalProperties"] != nil && s["additionalProperties"] != false:
		t, a := typeText(s["additionalProperties"])
		return "object of " + t, a
	case s["format"] == "date-time":
		return "date-time", ""
	case typ == "":
		return "any JSON", ""
	}
	if enum, ok := s["enum"].([]string); ok {
		return typ + ": " + strings.Join(enum, ", "), ""
	}
	return typ, ""
}

// exampleStrings are example values of string fields, by name.
var exampleStrings = map[string]string{"email": "ann@example.com", "name": "Shop", "first_name": "Ann", "last_name": "Archer",
	"subject": "Hello", "from_email": "news@example.com", "from_name": "Acme", "to": "me@example.com", "domain": "example.com"}

// exampleOf makes a value of schema, the field name's, for an example body.
func exampleOf(schema any, comps map[string]any, depth int, name string) any {
	s, _ := schema.(map[string]any)
	if ref, ok := s["$ref"].(string); ok {
		if depth > 2 {
			return map[string]any{}
		}
		return exampleOf(comps[strings.TrimPrefix(ref, "#/components/schemas/")], comps, depth+1, name)
	}
	if alts, ok := s["anyOf"].([]any); ok {
		return exampleOf(alts[0], comps, depth, name)
	}
	switch s["type"] {
	case "string":
		if s["format"] == "date-time" {
			return "2026-06-01T09:00:00Z"
		}
		return exampleStrings[name]
	case "integer":
		return 1
	case "number":
		return 1.5
	case "boolean":
		return false
	case "array":
		return []any{}
	case "object":
		props, _ := s["properties"].(map[string]any)
		out := map[string]any{}
		for name, p := range props {
			out[name] = exampleOf(p, comps, depth+1, name)
		}
		return out
	}
	return nil
}

// examplePath fills a path's parameters.
func examplePath(p string) string {
	r := strings.NewReplacer("{id}", "1", "{version}", "1", "{delivery}", "1", "{domain}", "example.com")
	return r.Replace(p)
}

// curlExample writes a call with curl, with a JSON body or the fields of
// an upload's form.
func curlExample(method, url string, auth bool, body any, form []string) string {
	var b strings.Builder
	b.WriteString("curl")
	if method != http.MethodGet {
		b.WriteString(" -X " + method)
	}
	fmt.Fprintf(&b, " %s", shellQuote(url))
	if auth {
		b.WriteString(" \\\n  -H \"Authorization: Bearer $HERALD_KEY\"")
	}
	for _, name := range form {
		if name == "file" {
			b.WriteString(" \\\n  -F file=@file.csv")
		} else {
			fmt.Fprintf(&b, " \\\n  -F %s=", name)
		}
	}
	if body != nil {
		raw, _ := json.MarshalIndent(body, "  ", "  ")
		b.WriteString(" \\\n  -H \"Content-Type: application/json\" \\\n  -d " + shellQuote(string(raw)))
	}
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func anchorOf(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "-")) }
