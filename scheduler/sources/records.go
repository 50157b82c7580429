// Package sources pulls contacts from a shop's or a CRM's JSON API: it
// asks for each page the API's own paging gives, with the source's
// credentials, through the guard that keeps outbound HTTP off private
// networks, and finds the records in each answer.
package sources

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Record is one object of an answer, as decoded: numbers stay
// json.Number, so an id or a phone number keeps every digit.
type Record = map[string]any

// recordKeys are the keys under which APIs commonly hold their records,
// tried in turn when the owner names none.
var recordKeys = []string{"data", "results", "items", "contacts", "records"}

// Answer is one decoded answer: its records, and the whole body for
// paging by a cursor field.
type Answer struct {
	Records []Record
	Body    any
}

// ErrNoRecords says an answer holds nothing that reads as records.
var ErrNoRecords = errors.New("no records")

// Decode reads an answer: a list of objects, one object, or an object that
// holds the list (or one object, or null for none) under path (like
// "payload.customers") or, when path is "", under one of the usual keys or
// its only key that holds a list of objects. An entry of the list that is
// not an object is an error naming its position.
func Decode(body []byte, path string) (Answer, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Answer{}, fmt.Errorf("the answer is not JSON: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Answer{}, errors.New("the answer has more after its JSON value")
	}
	a := Answer{Body: v}
	list := v
	if path != "" {
		found, ok := Lookup(v, path)
		if !ok {
			return a, fmt.Errorf("the answer has nothing at %q", path)
		}
		list = found
		if found == nil {
			list = []any{} // null, as some APIs answer past the last page
		}
	} else if obj, ok := v.(map[string]any); ok {
		list = heldList(obj)
	}
	switch l := list.(type) {
	case []any:
		a.Records = make([]Record, 0, len(l))
		for i, e := range l {
			r, ok := e.(map[string]any)
			if !ok {
				return a, fmt.Errorf("record %d is %s, not an object", i+1, kindOf(e))
			}
			a.Records = append(a.Records, r)
		}
	case map[string]any:
		a.Records = []Record{l}
	default:
		return a, fmt.Errorf("%w: the answer is %s, not an object or a list of objects", ErrNoRecords, kindOf(list))
	}
	return a, nil
}

// heldList finds the records of an object answer without a path: under
// the first of the usual keys it has, or else under its one key (not
// starting with _, like _links) that holds a list of objects, like
// Shopify's {"customers": [...]}; or else the object is the record.
func heldList(obj map[string]any) any {
	for _, k := range recordKeys {
		held, present := obj[k]
		switch held.(type) {
		case []any, map[string]any:
			return held
		case nil:
			if present {
				return []any{} // {"data": null}, as some APIs answer past the last page
			}
		}
	}
	var only any
	found := 0
	for k, held := range obj {
		// An empty list counts only alone: {"customers": []} past the last
		// page, but not a record's empty field.
		if l, ok := held.([]any); ok && !strings.HasPrefix(k, "_") && allObjects(l) && (len(l) > 0 || len(obj) == 1) {
			only = l
			found++
		}
	}
	if found == 1 {
		return only
	}
	return obj
}

func allObjects(l []any) bool {
	for _, e := range l {
		if _, ok := e.(map[string]any); !ok {
			return false
		}
	}
	return true
}

// Lookup finds the value at a path of keys separated by dots, like
// "address.city"; a number steps into a list, like "emails.0".
func Lookup(v any, path string) (any, bool) {
	for key := range strings.SplitSeq(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			next, ok := node[key]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// Text is a value as a field of a contact holds it: text as it is, a
// number as written, true or false, "" for null, a list of plain values
// separated by commas (as tags read), and anything else as JSON.
func Text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	case []any:
		// A list of plain values, like tags, reads as they are listed.
		parts := make([]string, 0, len(x))
		for _, e := range x {
			switch e.(type) {
			case map[string]any, []any:
				return compactJSON(x)
			}
			parts = append(parts, Text(e))
		}
		return strings.Join(parts, ", ")
	}
	return compactJSON(v)
}

// compactJSON is v as JSON on one line, as an attributes_json target reads it.
func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// Fields lists the paths of a record's values, nested objects by dots, in
// key order, for proposing a mapping; lists are not walked.
func Fields(r Record) []string {
	var out []string
	var walk func(prefix string, m map[string]any, depth int)
	walk = func(prefix string, m map[string]any, depth int) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if sub, ok := m[k].(map[string]any); ok && depth < 4 {
				walk(prefix+k+".", sub, depth+1)
				continue
			}
			out = append(out, prefix+k)
		}
	}
	walk("", r, 0)
	return out
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "text"
	case json.Number:
		return "a number"
	case bool:
		return "true or false"
	case []any:
		return "a list"
	}
	return "an object"
}

// jsonProblem says where JSON went wrong, in words.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("it breaks at byte %d", syn.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "it ends too early"
	}
	return err.Error()
}
