package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// specCheck checks answers against the OpenAPI description Herald serves:
// every API answer a test receives is held to its operation's schema, so
// the description cannot drift from what the handlers write.
type specCheck struct {
	paths   map[string]any
	schemas map[string]any
	resps   map[string]any
}

func newSpecCheck(doc map[string]any) *specCheck {
	comps := doc["components"].(map[string]any)
	return &specCheck{paths: doc["paths"].(map[string]any), schemas: comps["schemas"].(map[string]any), resps: comps["responses"].(map[string]any)}
}

// roundTrip turns doc into what a client reads: JSON, decoded.
func roundTrip(doc map[string]any) map[string]any {
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// operation finds the operation that serves method and a concrete path:
// the template whose segments match, fixed segments before parameters.
func (sc *specCheck) operation(method, path string) map[string]any {
	segs := strings.Split(path, "/")
	best, bestScore := map[string]any(nil), -1
	for tmpl, item := range sc.paths {
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		score := 0
		for i := range ts {
			switch {
			case ts[i] == segs[i]:
				score++
			case strings.HasPrefix(ts[i], "{"):
			default:
				score = -1
			}
			if score < 0 {
				break
			}
		}
		op, ok := item.(map[string]any)[strings.ToLower(method)].(map[string]any)
		if ok && score > bestScore {
			best, bestScore = op, score
		}
	}
	return best
}

// check holds one answer to the description.
func (sc *specCheck) check(method, path string, resp *http.Response, raw []byte) error {
	if resp.Header.Get("X-Request-Id") == "" {
		return fmt.Errorf("no X-Request-Id")
	}
	status := strconv.Itoa(resp.StatusCode)
	op := sc.operation(method, strings.SplitN(path, "?", 2)[0])
	var r map[string]any
	if op == nil {
		// No route: the router's own 404 or 405, in the error envelope.
		if resp.StatusCode < 400 {
			return fmt.Errorf("answered %d, but the description has no such operation", resp.StatusCode)
		}
		r, _ = sc.resps["E"+status].(map[string]any)
		if r == nil {
			r = sc.resps["E400"].(map[string]any)
		}
	} else {
		r, _ = op["responses"].(map[string]any)[status].(map[string]any)
		if r == nil {
			return fmt.Errorf("answered %d, which the description does not list for %s", resp.StatusCode, op["operationId"])
		}
	}
	if ref, ok := r["$ref"].(string); ok {
		r = sc.resps[strings.TrimPrefix(ref, "#/components/responses/")].(map[string]any)
	}
	content, _ := r["content"].(map[string]any)
	if content == nil {
		if len(raw) != 0 {
			return fmt.Errorf("answered %d with a body, which the description does not", resp.StatusCode)
		}
		return nil
	}
	ctype := resp.Header.Get("Content-Type")
	for media, c := range content {
		if !strings.HasPrefix(ctype, media) {
			continue
		}
		if media != "application/json" {
			return nil
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("the body is not JSON: %v", err)
		}
		return sc.validate(c.(map[string]any)["schema"], v, "body")
	}
	return fmt.Errorf("answered %s, which the description does not list", ctype)
}

// validate holds v to schema, for the keywords the description uses.
func (sc *specCheck) validate(schema any, v any, at string) error {
	s, _ := schema.(map[string]any)
	if ref, ok := s["$ref"].(string); ok {
		return sc.validate(sc.schemas[strings.TrimPrefix(ref, "#/components/schemas/")], v, at)
	}
	if any, ok := s["anyOf"].([]any); ok {
		var errs []string
		for _, alt := range any {
			err := sc.validate(alt, v, at)
			if err == nil {
				return nil
			}
			errs = append(errs, err.Error())
		}
		return fmt.Errorf("%s: matches none of: %s", at, strings.Join(errs, "; "))
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, enum)
	}
	typ, ok := s["type"].(string)
	if !ok {
		return nil // any value
	}
	if got := jsonType(v); got != typ && !(typ == "number" && got == "integer") {
		return fmt.Errorf("%s: got %s %.80v, want %s", at, got, v, typ)
	}
	switch typ {
	case "string":
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, v.(string)); err != nil {
				return fmt.Errorf("%s: %q is not a date-time", at, v)
			}
		}
	case "array":
		for i, item := range v.([]any) {
			if err := sc.validate(s["items"], item, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "object":
		obj := v.(map[string]any)
		props, _ := s["properties"].(map[string]any)
		required, _ := s["required"].([]any)
		for _, name := range required {
			if _, ok := obj[name.(string)]; !ok {
				return fmt.Errorf("%s: lacks %q", at, name)
			}
		}
		for name, val := range obj {
			p, known := props[name]
			if !known {
				if extra, ok := s["additionalProperties"]; ok && extra != false {
					p = extra
				} else if ok {
					return fmt.Errorf("%s: has %q, which the description does not", at, name)
				}
			}
			if err := sc.validate(p, val, at+"."+name); err != nil {
				return err
			}
		}
	}
	return nil
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case json.Number:
		if f, err := x.Float64(); err == nil && f == math.Trunc(f) && !strings.ContainsAny(x.String(), ".eE") {
			return "integer"
		}
		return "number"
	}
	return fmt.Sprintf("%T", v)
}
