package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// The segment editor posts its rule tree as flat fields: "node" lists each
// row's path ("0", "1", "1.0"…) in document order, and each row's parts are
// named after it ("field.1.0", "op.1.0"…). The root group's match is "match.".

// readRuleForm rebuilds the editor's tree from a posted form.
func readRuleForm(v url.Values) templates.RuleNode {
	// Rows are gathered by pointer and put together at the end: a pointer
	// into a parent's Children would go stale as its later siblings grow
	// the slice, and that row's own rows would be lost.
	type row struct {
		node templates.RuleNode
		kids []*row
	}
	root := &row{node: templates.RuleNode{Group: true, Match: v.Get("match.")}}
	byPath := map[string]*row{"": root}
	for _, path := range v["node"] {
		parent := ""
		if i := strings.LastIndexByte(path, '.'); i >= 0 {
			parent = path[:i]
		}
		p := byPath[parent]
		if p == nil || byPath[path] != nil {
			continue
		}
		n := templates.RuleNode{Path: path}
		if v.Get("kind."+path) == "group" {
			n.Group, n.Match = true, v.Get("match."+path)
		} else {
			n.Field, n.AttrKey, n.Op, n.Status = v.Get("field."+path), strings.TrimSpace(v.Get("attr."+path)), v.Get("op."+path), v.Get("status."+path)
			n.Campaign = strings.TrimSpace(v.Get("campaign." + path))
			n.Event, n.Days = strings.TrimSpace(v.Get("event."+path)), strings.TrimSpace(v.Get("days."+path))
			n.WhereKey, n.WhereValue = strings.TrimSpace(v.Get("where_key."+path)), strings.TrimSpace(v.Get("where_value."+path))
			n.WhereRest = v.Get("where_rest." + path)
			n.Values = v["value."+path]
			n.Value = v.Get("value." + path)
		}
		r := &row{node: n}
		p.kids = append(p.kids, r)
		byPath[path] = r
	}
	var build func(r *row) templates.RuleNode
	build = func(r *row) templates.RuleNode {
		n := r.node
		for _, k := range r.kids {
			n.Children = append(n.Children, build(k))
		}
		return n
	}
	return build(root)
}

// applyEdit adds or removes a row, as the editor's buttons ask.
func applyEdit(root *templates.RuleNode, edit string) {
	action, path, _ := strings.Cut(edit, ":")
	switch action {
	case "add-condition", "add-group":
		g := findNode(root, path)
		if g == nil || !g.Group {
			return
		}
		n := templates.RuleNode{Field: "email", Op: "eq"}
		if action == "add-group" {
			n = templates.RuleNode{Group: true, Match: "any", Children: []templates.RuleNode{n}}
		}
		g.Children = append(g.Children, n)
	case "remove":
		parentPath := ""
		if i := strings.LastIndexByte(path, '.'); i >= 0 {
			parentPath = path[:i]
		}
		if p := findNode(root, parentPath); p != nil {
			for i := range p.Children {
				if p.Children[i].Path == path {
					p.Children = append(p.Children[:i], p.Children[i+1:]...)
					break
				}
			}
		}
	}
}

func findNode(n *templates.RuleNode, path string) *templates.RuleNode {
	if n.Path == path {
		return n
	}
	for i := range n.Children {
		if c := &n.Children[i]; c.Path == path || strings.HasPrefix(path, c.Path+".") {
			return findNode(c, path)
		}
	}
	return nil
}

// settle renumbers the rows and fills in each condition's allowed ops,
// choosing the first when the current op does not fit the field.
func settle(n *templates.RuleNode, path string) {
	n.Path = path
	if n.Group {
		if n.Match != "any" {
			n.Match = "all"
		}
		for i := range n.Children {
			child := strconv.Itoa(i)
			if path != "" {
				child = path + "." + child
			}
			settle(&n.Children[i], child)
		}
		return
	}
	n.Ops = store.RuleFieldOps(ruleField(*n))
	if n.Field == "attribute" && n.Ops == nil {
		n.Ops = store.RuleFieldOps("attributes.x")
	}
	if n.Ops == nil {
		n.Field, n.Ops = "email", store.RuleFieldOps("email")
	}
	if !containsString(n.Ops, n.Op) {
		n.Op = n.Ops[0]
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func ruleField(n templates.RuleNode) string {
	if n.Field == "attribute" {
		return "attributes." + n.AttrKey
	}
	return n.Field
}

// toRule turns the editor's tree into a rule, and records which rule path
// each row became so compile errors can be shown beside the row.
func toRule(n templates.RuleNode, rulePath string, paths map[string]string) store.Rule {
	paths[rulePath] = n.Path
	if n.Group {
		r := store.Rule{Match: n.Match, Conditions: []store.Rule{}}
		for i, c := range n.Children {
			r.Conditions = append(r.Conditions, toRule(c, rulePath+".conditions["+strconv.Itoa(i)+"]", paths))
		}
		return r
	}
	r := store.Rule{Field: ruleField(n), Op: n.Op, Value: ruleValue(n), Status: n.Status, Campaign: ruleCampaign(n)}
	if n.Field == "event" {
		r.Event = n.Event
		r.Where = whereOf(n)
		if n.Days != "" && n.Op == "at_least" {
			d, err := strconv.Atoi(n.Days)
			if err != nil {
				d = -1 // refused by the compiler with its message
			}
			r.Days = d
		}
	}
	return r
}

// whereOf is an event row's properties: the one shown, and those the
// editor keeps aside (WhereRest, as JSON) for a rule made through the API
// with more than one.
func whereOf(n templates.RuleNode) map[string]any {
	w := map[string]any{}
	if n.WhereRest != "" {
		json.Unmarshal([]byte(n.WhereRest), &w)
	}
	if n.WhereKey != "" {
		w[n.WhereKey] = scalar(n.WhereValue)
	}
	if len(w) == 0 {
		return nil
	}
	return w
}

// ruleCampaign reads a row's chosen campaign: 0 for any email, and -1 for
// anything but an id, so the compiler explains it rather than the choice
// quietly widening to any email.
func ruleCampaign(n templates.RuleNode) int64 {
	if n.Campaign == "" || !templates.TakesCampaign(n) {
		return 0
	}
	id, err := strconv.ParseInt(n.Campaign, 10, 64)
	if err != nil || id < 1 {
		return -1
	}
	return id
}

// ruleValue encodes what was typed or chosen as the JSON value the op wants.
// Text that does not fit, such as letters for a number, stays text so the
// compiler explains the problem.
func ruleValue(n templates.RuleNode) json.RawMessage {
	var v any
	switch templates.ValueKind(n) {
	case "none":
		return nil
	case "list":
		v = numberOrText(first(n.Values))
	case "lists":
		ids := []any{}
		for _, s := range n.Values {
			ids = append(ids, numberOrText(s))
		}
		v = ids
	case "statuses":
		v = n.Values
	case "number":
		v = numberOrText(strings.TrimSpace(n.Value))
	case "text":
		switch {
		case n.Op == "in" || n.Op == "not_in":
			items := []string{}
			for _, s := range strings.Split(n.Value, ",") {
				if s = strings.TrimSpace(s); s != "" {
					items = append(items, s)
				}
			}
			v = items
		case n.Field == "attribute" && (n.Op == "eq" || n.Op == "neq"):
			v = scalar(n.Value)
		default:
			v = n.Value
		}
	default: // status, date
		v = n.Value
	}
	b, _ := json.Marshal(v)
	return b
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

func numberOrText(s string) any {
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return f
	}
	return s
}

// scalar reads typed text as the value it most plainly is: true and false,
// numbers written the way Go would write them (so 00123 stays text), or text.
func scalar(s string) any {
	switch s {
	case "true":
		return true
	case "false":
		return false
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && strconv.FormatFloat(f, 'f', -1, 64) == s && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return f
	}
	return s
}

// fromRule turns a saved rule into editor rows.
func fromRule(r store.Rule) templates.RuleNode {
	if r.Match != "" || r.Conditions != nil {
		n := templates.RuleNode{Group: true, Match: r.Match}
		for _, c := range r.Conditions {
			n.Children = append(n.Children, fromRule(c))
		}
		return n
	}
	n := templates.RuleNode{Field: r.Field, Op: r.Op, Status: r.Status, Event: r.Event}
	if r.Campaign != 0 {
		n.Campaign = strconv.FormatInt(r.Campaign, 10)
	}
	if r.Days != 0 {
		n.Days = strconv.Itoa(r.Days)
	}
	if len(r.Where) > 0 {
		// The editor shows the first property; the rest ride along unseen.
		keys := slices.Sorted(maps.Keys(r.Where))
		n.WhereKey, n.WhereValue = keys[0], attributeText(r.Where[keys[0]])
		if len(keys) > 1 {
			rest := maps.Clone(r.Where)
			delete(rest, keys[0])
			b, _ := json.Marshal(rest)
			n.WhereRest = string(b)
		}
	}
	if key, ok := strings.CutPrefix(r.Field, "attributes."); ok {
		n.Field, n.AttrKey = "attribute", key
	}
	var v any
	json.Unmarshal(r.Value, &v)
	if list, ok := v.([]any); ok {
		var parts []string
		for _, x := range list {
			parts = append(parts, attributeText(x))
		}
		n.Values, n.Value = parts, strings.Join(parts, ", ")
	} else if v != nil {
		n.Value = attributeText(v)
		n.Values = []string{n.Value}
	}
	return n
}

// placeErrors shows rule errors beside the rows they concern.
func placeErrors(root *templates.RuleNode, fields map[string]string, paths map[string]string) {
	for key, msg := range fields {
		if strings.HasPrefix(key, "rules") {
			if n := findNode(root, rowOf(key, paths)); n != nil {
				n.Error = msg
			}
		}
	}
}

// rowOf finds the editor row a rule path such as
// "rules.conditions[1].conditions[0].op" points into.
func rowOf(rulePath string, paths map[string]string) string {
	best := ""
	for rp := range paths {
		if (rulePath == rp || strings.HasPrefix(rulePath, rp+".")) && len(rp) > len(best) {
			best = rp
		}
	}
	return paths[best]
}

// describeRow names an editor row for people: "condition 2", or
// "condition 1 of group 3".
func describeRow(path string) string {
	if path == "" {
		return "the rules"
	}
	parts := strings.Split(path, ".")
	out := ""
	for i := len(parts) - 1; i >= 0; i-- {
		n, _ := strconv.Atoi(parts[i])
		word := "group"
		if i == len(parts)-1 {
			word = "row"
		}
		if out != "" {
			out += " of "
		}
		out += word + " " + strconv.Itoa(n+1)
	}
	return out
}

// segmentEditor holds the editor state of one request.
type segmentEditor struct {
	props templates.SegmentProps
	rule  store.Rule
	paths map[string]string
}

func (s *Server) newSegmentEditor(c *echo.Context, id int64, name, description string, root templates.RuleNode) (*segmentEditor, error) {
	settle(&root, "")
	ed := &segmentEditor{paths: map[string]string{}}
	ed.rule = toRule(root, "rules", ed.paths)
	lists, _, tags, err := s.audienceOptions(c)
	if err != nil {
		return nil, err
	}
	campaigns, err := s.campaignChoices(c)
	if err != nil {
		return nil, err
	}
	js, _ := json.MarshalIndent(ed.rule, "", "  ")
	title := name
	if id == 0 {
		title = "New segment"
	}
	ed.props = templates.SegmentProps{Shell: s.shell(c, "segments", title), ID: id, Name: name, Description: description, Root: root,
		JSON: string(js), Lists: lists, Statuses: store.ContactStatuses, Tags: tags, Campaigns: campaigns}
	return ed, nil
}

// campaignChoices are the campaigns an opened or clicked row may name: the
// newest that began sending.
func (s *Server) campaignChoices(c *echo.Context) ([]templates.Option, error) {
	cs, err := s.store.StartedCampaigns(c.Request().Context(), 200)
	if err != nil {
		return nil, err
	}
	opts := make([]templates.Option, len(cs))
	for i, x := range cs {
		opts[i] = templates.Option{Value: strconv.FormatInt(x.ID, 10), Label: x.Name}
	}
	return opts, nil
}

// count fills in the live count, or why the rules cannot run yet.
func (s *Server) count(c *echo.Context, ed *segmentEditor) error {
	n, err := s.store.CountRule(c.Request().Context(), ed.rule)
	var re *store.RuleError
	if errors.As(err, &re) {
		ed.props.Count.Error = "Not counted yet: in " + describeRow(rowOf(re.Path, ed.paths)) + ", " + re.Message + "."
		return nil
	}
	ed.props.Count.N = n
	return err
}

// formEditor reads the posted editor, applying an edit button if one was
// pressed. Rows whose field, op or match is not one the editor offers are
// quietly set right while editing; strict, for saving, marks them instead.
func (s *Server) formEditor(c *echo.Context, strict bool) (*segmentEditor, bool, error) {
	values, err := formValues(c)
	if err != nil {
		return nil, false, err
	}
	root := readRuleForm(values)
	applyEdit(&root, values.Get("edit"))
	id, _ := strconv.ParseInt(values.Get("id"), 10, 64)
	raw := cloneNode(root)
	ed, err := s.newSegmentEditor(c, id, values.Get("name"), values.Get("description"), root)
	if err != nil || !strict {
		return ed, false, err
	}
	return ed, markUnknown(raw, &ed.props.Root), nil
}

func cloneNode(n templates.RuleNode) templates.RuleNode {
	c := n
	c.Children = make([]templates.RuleNode, len(n.Children))
	for i, ch := range n.Children {
		c.Children[i] = cloneNode(ch)
	}
	return c
}

// markUnknown compares the rows as posted with the rows as settled, and
// marks any whose field, op or match had to be changed. It reports whether
// it marked one.
func markUnknown(raw templates.RuleNode, settled *templates.RuleNode) bool {
	bad := false
	switch {
	case raw.Group && raw.Match != "all" && raw.Match != "any":
		settled.Error = fmt.Sprintf("Match must be all or any, not %q.", raw.Match)
		bad = true
	case !raw.Group && (raw.Field != settled.Field || raw.Op != settled.Op):
		settled.Error = fmt.Sprintf("%q with %q is not a condition Herald knows; choose from the menus.", raw.Field, raw.Op)
		bad = true
	}
	for i := range raw.Children {
		if markUnknown(raw.Children[i], &settled.Children[i]) {
			bad = true
		}
	}
	return bad
}
