package web

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
)

// apiOp documents one API route: its entry in apiOps is what the OpenAPI
// description and the API reference page say of it.
type apiOp struct {
	Summary string
	// Doc says more, in a sentence or two.
	Doc   string
	Query []apiParam
	// Body is a value of the JSON request body's type; Form names the
	// fields of a multipart upload instead.
	Body any
	Form []apiParam
	// Data is a value of the type the answer's data holds; List makes it
	// one item of a paged list.
	Data any
	List bool
	// Spec is what a list sorts, windows and searches by, and whether it
	// pages by cursor.
	Spec *listSpec
	// Status is the success status: 200 unless given, 204 without Data.
	// Also lists other success statuses, such as 200 for an upsert that
	// found the contact.
	Status int
	Also   []int
	// Raw is the media types, separated by commas, of an answer that is a
	// file rather than the API's envelope, such as an export.
	Raw string
	// Example is a JSON request body, for the description and the
	// reference page's curl; a test sends each to its route.
	Example string
}

// apiParam is a query parameter or a form field.
type apiParam struct {
	Name string
	// Type is string, integer, boolean, date-time or file.
	Type string
	Doc  string
	Enum []string
}

// Parameter helpers for the tables.
func qs(name, doc string, enum ...string) apiParam {
	return apiParam{Name: name, Type: "string", Doc: doc, Enum: enum}
}
func qi(name, doc string) apiParam { return apiParam{Name: name, Type: "integer", Doc: doc} }
func qb(name, doc string) apiParam { return apiParam{Name: name, Type: "boolean", Doc: doc} }

// pageParams are every paged list's.
var pageParams = []apiParam{
	qi("page", "The page, from 1; past the last page a list is empty."),
	qi("per_page", "Items a page, from 1 to 500; 50 when absent."),
}

// errorStatuses is what each error status means, for the description.
var errorStatuses = map[int]string{
	400: "The request is malformed: a parameter or the body cannot be read.",
	401: "No API key, or an unknown or revoked one.",
	403: "The key lacks the scope this call needs.",
	404: "Nothing exists at this address.",
	409: "The request conflicts with the thing's state, or the first request with this Idempotency-Key is still running.",
	413: "The body is larger than this call takes.",
	422: "Some fields are invalid, or the Idempotency-Key was used for another request; `fields` names them.",
	429: "Over the key's rate limit: wait for Retry-After seconds.",
	500: "Something went wrong on Herald's side; the log has the details under the request id.",
	507: "The server's disk is full.",
}

// errorsOf lists the error statuses a route can answer: 404 too where
// there is no id in the path, for what a filter names.
func errorsOf(method string) []int {
	out := []int{400, 401, 403, 404, 422, 429, 500}
	if method != http.MethodGet {
		out = append(out, 409, 413, 507)
	}
	slices.Sort(out)
	return out
}

// openAPI builds the OpenAPI 3.1 description of every API route from
// echo's route table, the scope each declares and its entry in apiOps.
func (s *Server) openAPI() (map[string]any, error) {
	sb := &schemas{comps: map[string]any{}, names: map[schemaKey]string{}}
	paths := map[string]map[string]any{}
	tags := map[string]bool{}
	for _, r := range s.Routes() {
		if !strings.HasPrefix(r.Path, "/api/") || strings.HasPrefix(r.Method, "echo_") {
			continue
		}
		key := r.Method + " " + r.Path
		op, ok := apiOps[key]
		if !ok {
			return nil, fmt.Errorf("openapi: %s has no entry in apiOps", key)
		}
		p := openAPIPath(r.Path)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		tag := tagOf(r.Path)
		tags[tag] = true
		paths[p][strings.ToLower(r.Method)] = s.operation(sb, r.Method, r.Path, tag, op)
	}
	for key := range apiOps {
		method, path, _ := strings.Cut(key, " ")
		if paths[openAPIPath(path)][strings.ToLower(method)] == nil {
			return nil, fmt.Errorf("openapi: apiOps documents %s, which is not a route", key)
		}
	}
	var tagList []map[string]any
	for _, t := range sortedKeys(tags) {
		tagList = append(tagList, map[string]any{"name": t})
	}
	sb.comps["Error"] = sb.object(reflect.TypeFor[apiError](), false)
	sb.comps["Meta"] = sb.object(reflect.TypeFor[meta](), false)
	sb.comps["CursorMeta"] = sb.object(reflect.TypeFor[cursorMeta](), false)
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Herald API",
			"version": s.version,
			"description": "Herald's REST API. Send an API key as `Authorization: Bearer <key>`; each call needs one scope " +
				"(read, write, send or admin, named in `x-scope`). Lists answer `{data, meta}`, one thing `{data}`, and errors " +
				"`{error: {code, message, fields, request_id}}`. Every answer carries X-Request-Id and the X-RateLimit headers; " +
				"a POST with an Idempotency-Key is done once, and its first answer is given again for 24 hours.",
		},
		"security":   []any{map[string]any{"bearer": []string{}}},
		"tags":       tagList,
		"paths":      paths,
		"components": s.components(sb),
	}, nil
}

// operation describes one route.
func (s *Server) operation(sb *schemas, method, path, tag string, op apiOp) map[string]any {
	scope := s.scopes[method+" "+path]
	out := map[string]any{
		"operationId": operationID(method, path),
		"summary":     op.Summary,
		"tags":        []string{tag},
		"x-scope":     scope,
	}
	desc := op.Doc
	if PublicRoutes[method+" "+path] {
		out["security"] = []any{}
	} else {
		desc = strings.TrimSpace(desc + "\n\nScope: `" + scope + "`. Rate class: " + rateClass(method, scope) + ".")
	}
	if desc != "" {
		out["description"] = desc
	}
	var params []any
	for _, name := range pathParams(path) {
		typ := "string"
		if name == "id" || name == "version" || name == "delivery" {
			typ = "integer"
		}
		params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": typ}})
	}
	query := op.Query
	if op.List {
		query = append(slices.Clone(query), pageParams...)
	}
	if sp := op.Spec; sp != nil {
		query = append(query, qs("sort", "The field to sort by; id when absent.", append([]string{"id"}, sp.Sorts...)...),
			qs("order", "Newest first (desc) unless the list says otherwise.", "asc", "desc"))
		if sp.Created {
			query = append(query, apiParam{Name: "created_from", Type: "string", Doc: "Only what was created from this date (in the organisation's timezone) or RFC 3339 time."},
				apiParam{Name: "created_to", Type: "string", Doc: "Only what was created up to this date, included, or before this RFC 3339 time."})
		}
		if sp.Search != "" {
			query = append(query, qs("q", "Search in "+sp.Search+"."))
		}
		if sp.Cursor {
			query = append(query, qi("after", "Walk the list by cursor, in id order: 0 to start, then the next_after of the page before. Not with sort or page."))
		}
	}
	for _, q := range query {
		params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Doc, "schema": paramSchema(q)})
	}
	if method == http.MethodPost {
		params = append(params, map[string]any{"$ref": "#/components/parameters/IdempotencyKey"})
	}
	if params != nil {
		out["parameters"] = params
	}
	switch {
	case op.Body != nil:
		media := map[string]any{"schema": sb.of(reflect.TypeOf(op.Body), true)}
		if op.Example != "" {
			var ex any
			if err := json.Unmarshal([]byte(op.Example), &ex); err != nil {
				panic(fmt.Sprintf("openapi: the example of %s %s is not JSON: %v", method, path, err))
			}
			media["example"] = ex
		}
		out["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": media}}
	case op.Form != nil:
		props := map[string]any{}
		for _, f := range op.Form {
			props[f.Name] = paramSchema(f)
		}
		out["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"multipart/form-data": map[string]any{"schema": map[string]any{"type": "object", "properties": props}}}}
	}
	responses := map[string]any{}
	status := op.Status
	if status == 0 {
		status = http.StatusOK
		if op.Data == nil && op.Raw == "" {
			status = http.StatusNoContent
		}
	}
	for _, st := range append([]int{status}, op.Also...) {
		responses[strconv.Itoa(st)] = successResponse(sb, op)
	}
	for _, st := range errorsOf(method) {
		responses[strconv.Itoa(st)] = map[string]any{"$ref": "#/components/responses/E" + strconv.Itoa(st)}
	}
	out["responses"] = responses
	return out
}

// successResponse is the answer of op when it works.
func successResponse(sb *schemas, op apiOp) map[string]any {
	r := map[string]any{"description": "Success.", "headers": standardHeaders()}
	switch {
	case op.Raw != "":
		content := map[string]any{}
		for _, media := range strings.Split(op.Raw, ",") {
			schema := map[string]any{"type": "string"}
			if media = strings.TrimSpace(media); media == "application/json" {
				schema = map[string]any{"description": "A JSON file."}
			}
			content[media] = map[string]any{"schema": schema}
		}
		r["content"] = content
	case op.List:
		var metaSchema any = map[string]any{"$ref": "#/components/schemas/Meta"}
		if op.Spec != nil && op.Spec.Cursor {
			metaSchema = map[string]any{"anyOf": []any{metaSchema, map[string]any{"$ref": "#/components/schemas/CursorMeta"}}}
		}
		r["content"] = jsonContent(map[string]any{"type": "object", "required": []string{"data", "meta"}, "additionalProperties": false,
			"properties": map[string]any{
				"data": map[string]any{"type": "array", "items": sb.of(reflect.TypeOf(op.Data), false)},
				"meta": metaSchema}})
	case op.Data != nil:
		r["content"] = jsonContent(map[string]any{"type": "object", "required": []string{"data"}, "additionalProperties": false,
			"properties": map[string]any{"data": sb.of(reflect.TypeOf(op.Data), false)}})
	}
	return r
}

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

func standardHeaders() map[string]any {
	h := map[string]any{}
	for _, name := range []string{"X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		h[name] = map[string]any{"$ref": "#/components/headers/" + name}
	}
	return h
}

// components holds the schemas, the error answers and the shared headers.
func (s *Server) components(sb *schemas) map[string]any {
	responses := map[string]any{}
	for st, desc := range errorStatuses {
		r := map[string]any{"description": desc, "headers": standardHeaders(),
			"content": jsonContent(map[string]any{"type": "object", "required": []string{"error"}, "additionalProperties": false,
				"properties": map[string]any{"error": map[string]any{"$ref": "#/components/schemas/Error"}}})}
		if st == http.StatusTooManyRequests {
			r["headers"].(map[string]any)["Retry-After"] = map[string]any{"description": "Seconds to wait.", "schema": map[string]any{"type": "integer"}}
		}
		responses["E"+strconv.Itoa(st)] = r
	}
	header := func(desc, typ string) map[string]any {
		return map[string]any{"description": desc, "schema": map[string]any{"type": typ}}
	}
	return map[string]any{
		"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer",
			"description": "An API key from Settings → API keys, or `herald apikey add`."}},
		"schemas":   sb.comps,
		"responses": responses,
		"parameters": map[string]any{"IdempotencyKey": map[string]any{"name": "Idempotency-Key", "in": "header",
			"description": "Any unique string up to 255 characters, such as a UUID: a retry with the same key and body gets the first answer again, for 24 hours.",
			"schema":      map[string]any{"type": "string", "maxLength": maxIdempotencyKey}}},
		"headers": map[string]any{
			"X-Request-Id":          header("Names this request in Herald's log and in an error's request_id.", "string"),
			"X-RateLimit-Limit":     header("Requests a second the key may make in this call's class.", "integer"),
			"X-RateLimit-Remaining": header("Requests left in the bucket now.", "integer"),
			"X-RateLimit-Reset":     header("Seconds until the bucket is full again.", "integer"),
		},
	}
}

func paramSchema(p apiParam) map[string]any {
	sc := map[string]any{"type": p.Type}
	switch p.Type {
	case "date-time":
		sc = map[string]any{"type": "string", "format": "date-time"}
	case "file":
		sc = map[string]any{"type": "string", "contentMediaType": "application/octet-stream"}
	}
	if p.Enum != nil {
		sc["enum"] = p.Enum
	}
	if p.Doc != "" && p.Type == "file" {
		sc["description"] = p.Doc
	}
	return sc
}

// openAPIPath writes echo's /a/:id as OpenAPI's /a/{id}.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func pathParams(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if strings.HasPrefix(s, ":") {
			out = append(out, s[1:])
		}
	}
	return out
}

// tagOf groups a route by its resource: /api/v1/contacts/… is Contacts.
func tagOf(path string) string {
	seg := strings.Split(strings.TrimPrefix(path, "/api/v1/"), "/")[0]
	seg = strings.TrimSuffix(seg, ".json")
	words := strings.Split(seg, "-")
	for i, w := range words {
		words[i] = upperFirst(w)
	}
	name := strings.Join(words, " ")
	switch name {
	case "Dkim Keys", "Domains":
		return "Domains"
	case "Api Keys":
		return "API keys"
	case "Me":
		return "API keys"
	case "Openapi":
		return "Reference"
	}
	return name
}

// operationID is a name for a route: getContactsIdEvents.
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, s := range strings.Split(strings.TrimPrefix(path, "/api/v1/"), "/") {
		s = strings.Trim(s, ":")
		for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '.' || r == '_' }) {
			b.WriteString(upperFirst(w))
		}
	}
	return b.String()
}

// schemas turns Go types into JSON Schemas, each named struct once under
// components; a type read from requests is kept apart from the same type
// written in answers, because an answer always has its fields and a
// request need not.
type schemas struct {
	comps map[string]any
	names map[schemaKey]string
}

type schemaKey struct {
	t       reflect.Type
	request bool
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// schemaDescriber is a type that takes JSON of more than one shape and
// describes it itself.
type schemaDescriber interface{ JSONSchema() map[string]any }

func (sb *schemas) of(t reflect.Type, request bool) map[string]any {
	if d, ok := reflect.Zero(t).Interface().(schemaDescriber); ok {
		return d.JSONSchema()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		inner := sb.of(t.Elem(), request)
		return map[string]any{"anyOf": []any{inner, map[string]any{"type": "null"}}}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": sb.of(t.Elem(), request)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": sb.of(t.Elem(), request)}
	case reflect.Struct:
		return sb.ref(t, request)
	}
	panic("openapi: no schema for " + t.String())
}

// ref names t's schema under components, building it the first time.
func (sb *schemas) ref(t reflect.Type, request bool) map[string]any {
	if t.Name() == "" {
		return sb.object(t, request) // a struct written inline stays inline
	}
	k := schemaKey{t, request}
	name, ok := sb.names[k]
	if !ok {
		name = schemaName(t, request)
		for other, n := range sb.names {
			if n == name && other != k {
				panic(fmt.Sprintf("openapi: %s and %s are both named %s", t, other.t, name))
			}
		}
		sb.names[k] = name
		sb.comps[name] = sb.object(t, request)
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

// object is the schema of struct t's fields.
func (sb *schemas) object(t reflect.Type, request bool) map[string]any {
	props, required := map[string]any{}, []string{}
	sb.fields(t, request, props, &required)
	obj := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if !request {
		obj["required"] = required
	}
	return obj
}

// fields adds t's JSON fields to props, with embedded structs' fields
// inline, as encoding/json writes them.
func (sb *schemas) fields(t reflect.Type, request bool, props map[string]any, required *[]string) {
	for f := range t.Fields() {
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			sb.fields(f.Type, request, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = sb.of(f.Type, request)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
	slices.Sort(*required)
}

// schemaName is contactJSON's Contact, contactBody's ContactBody, and a
// request's General's GeneralInput.
func schemaName(t reflect.Type, request bool) string {
	name := upperFirst(strings.TrimSuffix(t.Name(), "JSON"))
	if request && !strings.HasSuffix(name, "Body") && !strings.HasSuffix(name, "Patch") && !strings.HasSuffix(name, "Request") {
		name += "Input"
	}
	return name
}

// apiOpenAPI serves the OpenAPI description, with this install's base URL.
func (s *Server) apiOpenAPI(c *echo.Context) error {
	doc, err := s.openAPIDoc(c.Scheme() + "://" + c.Request().Host)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.JSON(http.StatusOK, doc)
}

// openAPIDoc returns the description, built once, with this install's
// base URL as its server, or the address it was reached at before one is set.
func (s *Server) openAPIDoc(reached string) (map[string]any, error) {
	s.openAPIOnce.Do(func() { s.openAPICache, s.openAPIErr = s.openAPI() })
	if s.openAPIErr != nil {
		return nil, s.openAPIErr
	}
	doc := maps.Clone(s.openAPICache)
	doc["servers"] = []any{map[string]any{"url": cmp.Or(s.general().BaseURL, reached), "description": "This Herald"}}
	return doc, nil
}
