package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Rule is a segment rule: either a group, with Match and Conditions, or a
// condition on one Field with an Op and a Value. A list condition may also
// name the membership Status it wants; an opened or clicked condition, the
// Campaign it is about.
type Rule struct {
	Match      string          `json:"match,omitempty"`
	Conditions []Rule          `json:"conditions,omitempty"`
	Field      string          `json:"field,omitempty"`
	Op         string          `json:"op,omitempty"`
	Value      json.RawMessage `json:"value,omitempty"`
	Status     string          `json:"status,omitempty"`
	Campaign   int64           `json:"campaign,omitempty"`
	// Event names the custom event an event condition is about; Where
	// narrows it to those with these properties, and Days to the last days.
	Event string         `json:"event,omitempty"`
	Where map[string]any `json:"where,omitempty"`
	Days  int            `json:"days,omitempty"`
}

func (r Rule) isGroup() bool { return r.Match != "" || r.Conditions != nil }

// RuleError says which part of a rule is wrong and why.
type RuleError struct {
	// Path locates the part, like "conditions[1].op".
	Path    string
	Message string
}

func (e *RuleError) Error() string { return e.Path + ": " + e.Message }

// Limits that keep a rule's SQL small.
const (
	maxRuleDepth      = 6
	maxRuleConditions = 200
	maxInValues       = 1000
	// maxRuleArgs keeps a rule well under SQLite's 32766 bound variables.
	maxRuleArgs = 10000
	// maxRuleText keeps a LIKE pattern, escaped, under SQLite's 50000 bytes.
	maxRuleText = 10000
)

// AttributeKey is the form of a custom attribute's name: lower snake case.
var AttributeKey = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// fieldDef knows which ops a field takes and how to turn one condition on it
// into SQL over the contacts table, aliased c.
type fieldDef struct {
	ops     []string
	compile func(cc *ruleCompiler, r Rule, path string) (string, error)
}

// ruleFields is the registry of fields. A new kind of condition, such as
// engagement, is one more entry here.
func ruleFields() map[string]fieldDef {
	textOps := []string{"eq", "neq", "contains", "starts_with", "in", "not_in", "is_set", "not_set"}
	return map[string]fieldDef{
		"email":        {textOps, columnCondition("c.email")},
		"first_name":   {textOps, columnCondition("c.first_name")},
		"last_name":    {textOps, columnCondition("c.last_name")},
		"status":       {[]string{"eq", "neq", "in", "not_in"}, statusCondition},
		"created_at":   {[]string{"before", "after", "within_days"}, createdCondition},
		"list":         {[]string{"eq", "neq", "in", "not_in"}, listCondition},
		"tag":          {[]string{"eq", "neq", "in", "not_in"}, tagCondition},
		"opened":       {[]string{"within_days", "never"}, engagedCondition(openedColumns)},
		"clicked":      {[]string{"within_days", "never"}, engagedCondition(clickedColumns)},
		"clicked_link": {[]string{"contains"}, clickedLinkCondition},
		"soft_bounced": {[]string{"in_a_row", "within_days"}, softBouncedCondition},
		"event":        {[]string{"at_least", "not_since"}, eventCondition},
	}
}

var attributeOps = []string{"eq", "neq", "contains", "starts_with", "gt", "lt", "before", "after", "within_days", "is_set", "not_set", "in", "not_in"}

// CompiledRule is a rule turned into a SQL boolean expression over contacts c.
type CompiledRule struct {
	Where string
	Args  []any
	// Indexes are the attribute indexes its conditions can search (see
	// AttributeIndexes).
	Indexes []AttributeIndex
}

// CompileRule validates r and compiles it to parameterised SQL. Values only
// ever travel as arguments; field names and ops come from fixed tables.
func CompileRule(r Rule, now time.Time) (CompiledRule, error) {
	cc := &ruleCompiler{now: now, fields: ruleFields()}
	if !r.isGroup() {
		return CompiledRule{}, &RuleError{Path: "rules", Message: `the top level must be a group: {"match": "all", "conditions": [...]}`}
	}
	where, err := cc.node(r, "rules", 0)
	if err != nil {
		return CompiledRule{}, err
	}
	return CompiledRule{Where: where, Args: cc.args, Indexes: cc.indexes}, nil
}

// ParseRule decodes a rule from JSON, refusing unknown keys.
func ParseRule(b []byte) (Rule, error) {
	var r Rule
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Rule{}, &RuleError{Path: "rules", Message: "not a valid rule: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if dec.More() {
		return Rule{}, &RuleError{Path: "rules", Message: "not a valid rule: there is more after the rule"}
	}
	return r, nil
}

type ruleCompiler struct {
	now     time.Time
	fields  map[string]fieldDef
	args    []any
	conds   int
	indexes []AttributeIndex
	// searched is the attribute column the last condition compiled can
	// search, and whether for equality; group pairs them.
	searched   *AttributeColumn
	searchedEq bool
}

// search notes that a condition's SQL can search an index of kind on
// attribute key; eq says it compares for equality, so that a second
// column can follow it in the same index.
func (cc *ruleCompiler) search(key, kind string, eq bool) {
	cc.searched, cc.searchedEq = &AttributeColumn{Key: key, Kind: kind}, eq
	cc.index(AttributeIndex{*cc.searched})
}

func (cc *ruleCompiler) index(ai AttributeIndex) {
	if !slices.ContainsFunc(cc.indexes, func(o AttributeIndex) bool { return o.Name() == ai.Name() }) {
		cc.indexes = append(cc.indexes, ai)
	}
}

func (cc *ruleCompiler) arg(v any) string {
	cc.args = append(cc.args, v)
	return "?"
}

func (cc *ruleCompiler) node(r Rule, path string, depth int) (string, error) {
	if depth > maxRuleDepth {
		return "", &RuleError{Path: path, Message: fmt.Sprintf("groups nest at most %d deep", maxRuleDepth)}
	}
	if r.isGroup() {
		return cc.group(r, path, depth)
	}
	cc.conds++
	if cc.conds > maxRuleConditions {
		return "", &RuleError{Path: path, Message: fmt.Sprintf("a segment has at most %d conditions", maxRuleConditions)}
	}
	where, err := cc.condition(r, path)
	if err == nil && len(cc.args) > maxRuleArgs {
		return "", &RuleError{Path: path + ".value", Message: fmt.Sprintf("a segment compares at most %d values in all", maxRuleArgs)}
	}
	return where, err
}

func (cc *ruleCompiler) group(r Rule, path string, depth int) (string, error) {
	if r.Field != "" || r.Op != "" || len(r.Value) > 0 {
		return "", &RuleError{Path: path, Message: "a group has match and conditions, not field, op or value"}
	}
	joiner := " AND "
	switch r.Match {
	case "all":
	case "any":
		joiner = " OR "
	default:
		return "", &RuleError{Path: path + ".match", Message: fmt.Sprintf("match must be \"all\" or \"any\", not %q", r.Match)}
	}
	if len(r.Conditions) == 0 {
		// An empty "all" matches everyone; an empty "any" matches no one.
		if r.Match == "all" {
			return "1", nil
		}
		return "0", nil
	}
	parts := make([]string, len(r.Conditions))
	// In an "all" group, an attribute compared for equality and a second
	// attribute condition get an index on both, searched in one range.
	var eq *AttributeColumn
	var cols []*AttributeColumn
	for i, sub := range r.Conditions {
		cc.searched = nil
		s, err := cc.node(sub, fmt.Sprintf("%s.conditions[%d]", path, i), depth+1)
		if err != nil {
			return "", err
		}
		parts[i] = "(" + s + ")"
		if col := cc.searched; col != nil && !sub.isGroup() {
			if cc.searchedEq && eq == nil {
				eq = col
			}
			cols = append(cols, col)
		}
	}
	cc.searched = nil
	if r.Match == "all" && eq != nil {
		// The second is another attribute: two on the same one serve
		// nothing one would not.
		if i := slices.IndexFunc(cols, func(c *AttributeColumn) bool { return c.Key != eq.Key }); i >= 0 {
			cc.index(AttributeIndex{*eq, *cols[i]})
		}
	}
	return strings.Join(parts, joiner), nil
}

func (cc *ruleCompiler) condition(r Rule, path string) (string, error) {
	if r.Field == "" {
		return "", &RuleError{Path: path + ".field", Message: "a condition needs a field"}
	}
	def, ok := cc.fields[r.Field]
	if key, isAttr := strings.CutPrefix(r.Field, "attributes."); isAttr {
		if !AttributeKey.MatchString(key) {
			return "", &RuleError{Path: path + ".field", Message: fmt.Sprintf("attribute names are lower_snake_case letters, digits and _, not %q", key)}
		}
		def, ok = fieldDef{attributeOps, attributeCondition(key)}, true
	}
	if !ok {
		return "", &RuleError{Path: path + ".field", Message: fmt.Sprintf("unknown field %q; use email, first_name, last_name, status, created_at, attributes.<key>, list, tag, opened, clicked, clicked_link, soft_bounced or event", r.Field)}
	}
	if !contains(def.ops, r.Op) {
		return "", &RuleError{Path: path + ".op", Message: fmt.Sprintf("field %s takes the ops %s, not %q", r.Field, strings.Join(def.ops, ", "), r.Op)}
	}
	if r.Status != "" && r.Field != "list" {
		return "", &RuleError{Path: path + ".status", Message: "only list conditions take a status"}
	}
	if r.Campaign != 0 && r.Field != "opened" && r.Field != "clicked" {
		return "", &RuleError{Path: path + ".campaign", Message: "only opened and clicked conditions take a campaign"}
	}
	if (r.Event != "" || r.Where != nil || r.Days != 0) && r.Field != "event" {
		return "", &RuleError{Path: path + ".event", Message: "only event conditions take an event, where and days"}
	}
	if (r.Op == "is_set" || r.Op == "not_set") && len(r.Value) > 0 && string(r.Value) != "null" {
		return "", &RuleError{Path: path + ".value", Message: r.Op + " takes no value"}
	}
	return def.compile(cc, r, path)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Value readers: each says what it wanted when the value does not fit.

func valueString(r Rule, path string) (string, error) {
	var s string
	if err := json.Unmarshal(r.Value, &s); err != nil || s == "" || len(s) > maxRuleText {
		return "", &RuleError{Path: path + ".value", Message: fmt.Sprintf("%s needs a non-empty text value of at most %d characters", r.Op, maxRuleText)}
	}
	return s, nil
}

func valueScalar(r Rule, path string) (any, error) {
	var v any
	if err := json.Unmarshal(r.Value, &v); err != nil {
		return nil, &RuleError{Path: path + ".value", Message: r.Op + " needs a value"}
	}
	switch x := v.(type) {
	case string, float64, bool:
		return x, nil
	}
	return nil, &RuleError{Path: path + ".value", Message: r.Op + " needs a text, number or true/false value"}
}

func valueList(r Rule, path string) ([]any, error) {
	var vs []any
	if err := json.Unmarshal(r.Value, &vs); err != nil || len(vs) == 0 {
		return nil, &RuleError{Path: path + ".value", Message: r.Op + " needs a non-empty list of values, like [\"a\", \"b\"]"}
	}
	if len(vs) > maxInValues {
		return nil, &RuleError{Path: path + ".value", Message: fmt.Sprintf("%s takes at most %d values", r.Op, maxInValues)}
	}
	for i, v := range vs {
		switch v.(type) {
		case string, float64, bool:
		default:
			return nil, &RuleError{Path: fmt.Sprintf("%s.value[%d]", path, i), Message: "each value must be text, a number or true/false"}
		}
	}
	return vs, nil
}

func valueNumber(r Rule, path string) (float64, error) {
	var f float64
	if err := json.Unmarshal(r.Value, &f); err != nil {
		return 0, &RuleError{Path: path + ".value", Message: r.Op + " needs a number"}
	}
	return f, nil
}

func valueDays(r Rule, path string) (int, error) {
	var n int
	if err := json.Unmarshal(r.Value, &n); err != nil || n < 0 || n > 36500 {
		return 0, &RuleError{Path: path + ".value", Message: "within_days needs a whole number of days, like 30"}
	}
	return n, nil
}

// valueTime reads a date (2024-05-31) or a date and time (RFC 3339).
func valueTime(r Rule, path string) (time.Time, error) {
	var s string
	if err := json.Unmarshal(r.Value, &s); err == nil {
		if t, err := ParseDate(s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &RuleError{Path: path + ".value", Message: r.Op + " needs a date like \"2024-05-31\" or \"2024-05-31T09:00:00Z\""}
}

// ParseDate reads a date (2024-05-31, taken as UTC midnight) or an RFC 3339 time.
func ParseDate(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

// likeEscape escapes LIKE's wildcards so a value matches literally.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func placeholders(cc *ruleCompiler, vs []any) string {
	ps := make([]string, len(vs))
	for i, v := range vs {
		ps[i] = cc.arg(v)
	}
	return strings.Join(ps, ", ")
}

// columnCondition compiles text ops on a NOCASE column of contacts.
func columnCondition(col string) func(cc *ruleCompiler, r Rule, path string) (string, error) {
	return func(cc *ruleCompiler, r Rule, path string) (string, error) {
		switch r.Op {
		case "is_set":
			return col + " <> ''", nil
		case "not_set":
			return col + " = ''", nil
		case "in", "not_in":
			vs, err := valueList(r, path)
			if err != nil {
				return "", err
			}
			not := map[bool]string{true: "NOT ", false: ""}[r.Op == "not_in"]
			return col + " " + not + "IN (" + placeholders(cc, vs) + ")", nil
		}
		s, err := valueString(r, path)
		if err != nil {
			return "", err
		}
		switch r.Op {
		case "eq":
			return col + " = " + cc.arg(s), nil
		case "neq":
			return col + " <> " + cc.arg(s), nil
		case "contains":
			return col + " LIKE " + cc.arg("%"+likeEscape(s)+"%") + ` ESCAPE '\'`, nil
		default: // starts_with
			return col + " LIKE " + cc.arg(likeEscape(s)+"%") + ` ESCAPE '\'`, nil
		}
	}
}

func statusCondition(cc *ruleCompiler, r Rule, path string) (string, error) {
	var vs []any
	if r.Op == "in" || r.Op == "not_in" {
		var err error
		if vs, err = valueList(r, path); err != nil {
			return "", err
		}
	} else {
		s, err := valueString(r, path)
		if err != nil {
			return "", err
		}
		vs = []any{s}
	}
	for _, v := range vs {
		if s, _ := v.(string); !contains(ContactStatuses, s) {
			return "", &RuleError{Path: path + ".value", Message: fmt.Sprintf("status is one of %s, not %v", strings.Join(ContactStatuses, ", "), v)}
		}
	}
	if r.Op == "eq" || r.Op == "in" {
		return "c.status IN (" + placeholders(cc, vs) + ")", nil
	}
	return "c.status NOT IN (" + placeholders(cc, vs) + ")", nil
}

func createdCondition(cc *ruleCompiler, r Rule, path string) (string, error) {
	if r.Op == "within_days" {
		n, err := valueDays(r, path)
		if err != nil {
			return "", err
		}
		return "c.created_at >= " + cc.arg(cc.now.AddDate(0, 0, -n).Unix()), nil
	}
	t, err := valueTime(r, path)
	if err != nil {
		return "", err
	}
	if r.Op == "before" {
		return "c.created_at < " + cc.arg(t.Unix()), nil
	}
	return "c.created_at > " + cc.arg(t.Unix()), nil
}

// attributeCondition compiles ops on one custom attribute, read with
// json_extract. Missing attributes match neq, not_in and not_set only.
func attributeCondition(key string) func(cc *ruleCompiler, r Rule, path string) (string, error) {
	return func(cc *ruleCompiler, r Rule, path string) (string, error) {
		val := func() string { return attributeExpr("c.", key) }
		switch r.Op {
		case "is_set":
			return "COALESCE(" + val() + ", '') <> ''", nil
		case "not_set":
			return "COALESCE(" + val() + ", '') = ''", nil
		case "eq", "neq":
			v, err := valueScalar(r, path)
			if err != nil {
				return "", err
			}
			// Numbers compare as numbers, text in any case.
			var cmp, kind string
			switch v.(type) {
			case float64:
				cmp, kind = attributeNumber("c.", key)+" = "+cc.arg(v), "number"
			case string:
				cmp, kind = attributeText("c.", key)+" = lower("+cc.arg(v)+")", "text"
			default:
				cmp = val() + " = " + cc.arg(v)
			}
			if r.Op == "neq" {
				return "NOT COALESCE(" + cmp + ", 0)", nil
			}
			if kind != "" {
				cc.search(key, kind, true)
			}
			return cmp, nil
		case "in", "not_in":
			vs, err := valueList(r, path)
			if err != nil {
				return "", err
			}
			in := make([]string, len(vs))
			for i, v := range vs {
				if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
					v = int64(f) // as a whole number in a JSON attribute reads
				}
				in[i] = "lower(" + cc.arg(v) + ")"
			}
			sql := attributeText("c.", key) + " IN (" + strings.Join(in, ", ") + ")"
			if r.Op == "not_in" {
				return "NOT COALESCE(" + sql + ", 0)", nil
			}
			cc.search(key, "text", true)
			return sql, nil
		case "contains", "starts_with":
			s, err := valueString(r, path)
			if err != nil {
				return "", err
			}
			pattern := likeEscape(s) + "%"
			if r.Op == "contains" {
				pattern = "%" + pattern
			}
			return val() + " LIKE " + cc.arg(pattern) + ` ESCAPE '\'`, nil
		case "gt", "lt":
			f, err := valueNumber(r, path)
			if err != nil {
				return "", err
			}
			op := map[string]string{"gt": " > ", "lt": " < "}[r.Op]
			cc.search(key, "number", false)
			return attributeNumber("c.", key) + op + cc.arg(f), nil
		case "within_days":
			n, err := valueDays(r, path)
			if err != nil {
				return "", err
			}
			cc.search(key, "date", false)
			return attributeDate("c.", key) + " BETWEEN " + cc.arg(cc.now.AddDate(0, 0, -n).Unix()) + " AND " + cc.arg(cc.now.Unix()), nil
		default: // before, after
			t, err := valueTime(r, path)
			if err != nil {
				return "", err
			}
			op := map[string]string{"before": " < ", "after": " > "}[r.Op]
			cc.search(key, "date", false)
			return attributeDate("c.", key) + op + cc.arg(t.Unix()), nil
		}
	}
}

// attributeExpr is the SQL of an attribute's value, for a contacts table
// aliased by prefix ("c." or ""); key must match AttributeKey. Conditions
// and the indexes that serve them (see AttributeIndexes) write the path
// into the SQL, not as a bound parameter, as an index serves only the
// same expression.
func attributeExpr(prefix, key string) string {
	return "json_extract(" + prefix + "attributes, '$." + key + "')"
}

// attributeText is an attribute's value as lower-case text (ASCII
// letters, as SQLite's lower and NOCASE fold them), for comparing text in
// any case; a number reads as its digits.
func attributeText(prefix, key string) string {
	return "lower(" + attributeExpr(prefix, key) + ")"
}

// attributeNumber is an attribute's value as a number: a JSON number, or
// text that is all a number, like "42" (CAST alone would read "old" as 0);
// NULL otherwise.
func attributeNumber(prefix, key string) string {
	v := attributeExpr(prefix, key)
	return "CASE json_type(" + prefix + "attributes, '$." + key + "') WHEN 'integer' THEN " + v + " WHEN 'real' THEN " + v +
		" WHEN 'text' THEN CASE WHEN CAST(" + v + " AS NUMERIC) = " + v + " THEN CAST(" + v + " AS REAL) END END"
}

// attributeDate is an attribute's value as a Unix time: text that starts
// with a date (2024-05-31, or a date and time), NULL otherwise. The
// pattern keeps "now", which would read the clock, out of unixepoch, so
// the expression can be indexed.
func attributeDate(prefix, key string) string {
	v := attributeExpr(prefix, key)
	return "unixepoch(CASE WHEN json_type(" + prefix + "attributes, '$." + key + "') = 'text' AND " + v +
		" GLOB '" + datePattern + "' THEN " + v + " END)"
}

// datePattern is what text starts with to be read as a date.
const datePattern = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*"

// listCondition matches membership of a list by id. Without a status it
// means subscribed: unconfirmed or confirmed, not unsubscribed.
func listCondition(cc *ruleCompiler, r Rule, path string) (string, error) {
	var ids []int64
	if r.Op == "in" || r.Op == "not_in" {
		if err := json.Unmarshal(r.Value, &ids); err != nil || len(ids) == 0 || len(ids) > maxInValues {
			return "", &RuleError{Path: path + ".value", Message: r.Op + " needs a list of list ids, like [1, 2]"}
		}
	} else {
		var id int64
		if err := json.Unmarshal(r.Value, &id); err != nil || id < 1 {
			return "", &RuleError{Path: path + ".value", Message: "a list condition needs a list id, like 3"}
		}
		ids = []int64{id}
	}
	if r.Status != "" && !contains(MemberStatuses, r.Status) {
		return "", &RuleError{Path: path + ".status", Message: fmt.Sprintf("list status is one of %s, not %q", strings.Join(MemberStatuses, ", "), r.Status)}
	}
	vs := make([]any, len(ids))
	for i, id := range ids {
		vs[i] = id
	}
	// The list ids' placeholders come first in the SQL, so their arguments must too.
	in := "c.id IN (SELECT lm.contact_id FROM list_members lm WHERE lm.list_id IN (" + placeholders(cc, vs) + ") AND "
	if r.Status != "" {
		in += "lm.status = " + cc.arg(r.Status) + ")"
	} else {
		in += "lm.status <> 'unsubscribed')"
	}
	if r.Op == "neq" || r.Op == "not_in" {
		return "NOT " + in, nil
	}
	return in, nil
}

func tagCondition(cc *ruleCompiler, r Rule, path string) (string, error) {
	var vs []any
	if r.Op == "in" || r.Op == "not_in" {
		var err error
		if vs, err = valueList(r, path); err != nil {
			return "", err
		}
	} else {
		s, err := valueString(r, path)
		if err != nil {
			return "", err
		}
		vs = []any{s}
	}
	in := "c.id IN (SELECT ct.contact_id FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id WHERE t.name IN (" + placeholders(cc, vs) + "))"
	if r.Op == "neq" || r.Op == "not_in" {
		return "NOT " + in, nil
	}
	return in, nil
}

// RuleFieldOps returns the ops a field accepts, or nil for an unknown field.
// Any attributes.<key> field takes the attribute ops.
func RuleFieldOps(field string) []string {
	if key, ok := strings.CutPrefix(field, "attributes."); ok {
		if !AttributeKey.MatchString(key) {
			return nil
		}
		return attributeOps
	}
	return ruleFields()[field].ops
}
