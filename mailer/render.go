package mailer

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"
	"text/template/parse"
	"time"
	"unicode"
)

// Formats a template body can be written in.
const (
	FormatHTML     = "html"
	FormatMarkdown = "markdown"
	FormatText     = "text"
)

// ContentSlot is how a layout places the message's content.
const ContentSlot = `{{template "content" .}}`

// Source is a template as its author wrote it.
type Source struct {
	Subject string
	// Format says whether Body is HTML, Markdown or plain text.
	Format string
	Body   string
	// Text is an optional hand-written text part; without it the text part
	// is made from the HTML, keeping link targets.
	Text string
	// Layout is the HTML frame, holding ContentSlot; empty for none.
	Layout string
	// Preheader is the hidden line inboxes show after the subject; it goes
	// first in the HTML body, as plain text.
	Preheader string
}

// preheaderStyle hides the preheader in the message itself, in every client.
const preheaderStyle = "display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden;mso-hide:all;"

// withPreheader puts the preheader right after the layout's <body> tag, or
// first when it has none. Braces become entities, so it stays plain text
// rather than a template.
func withPreheader(layout, preheader string) string {
	text := strings.NewReplacer("{", "&#123;", "}", "&#125;").Replace(htmltemplate.HTMLEscapeString(oneLine(preheader)))
	div := `<div style="` + preheaderStyle + `">` + text + `</div>`
	lower := strings.ToLower(layout)
	if i := strings.Index(lower, "<body"); i >= 0 {
		if j := strings.IndexByte(layout[i:], '>'); j >= 0 {
			at := i + j + 1
			return layout[:at] + div + layout[at:]
		}
	}
	return div + layout
}

// Data is everything a template can use when it renders for one recipient:
// the documented contract of Herald's template language.
type Data struct {
	Contact  ContactData
	Campaign CampaignData
	// Data is the payload of a transactional message.
	Data map[string]any
	Org  OrgData
	// Links are the recipient's own URLs, reached through unsubscribe_url,
	// preferences_url and web_view_url.
	Links Links

	// budget is what the render may still spend.
	budget *budget
}

// Format prints the data without the budget of the render under way, so a
// template that prints all of it, as {{$}} does, gives the same text each
// time, with any verb.
func (d Data) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), struct {
		Contact  ContactData
		Campaign CampaignData
		Data     map[string]any
		Org      OrgData
		Links    Links
	}{d.Contact, d.Campaign, d.Data, d.Org, d.Links})
}

// Limits on one render, so a template cannot tie up the sender. Loops,
// steps and output are counted per part; the rest hold for the whole render.
const (
	// MaxLoops caps the iterations of all the loops of a part.
	MaxLoops = 100_000
	// MaxSteps caps the actions those loops repeat: a loop takes its length
	// times the size of its body, so a short loop over a long body costs
	// what a long loop over a short one does.
	MaxSteps = 250_000
	// MaxPart caps the bytes of a part.
	MaxPart = 5 << 20
	// MaxValue caps what one function call makes or is given: more text
	// than any email shows (Gmail clips a message past 102 KB), far less
	// than a width in printf can ask for.
	MaxValue = 256 << 10
	// MaxWork caps the bytes a render's functions take in and give out,
	// with what builtins and html/template's escapers work through in
	// loops, so many calls on big values cost what one huge call does:
	// about a tenth of a second at most. An email of MaxPart whose every
	// value passes through a function in both its parts stays inside.
	MaxWork = 16 << 20
	// MaxRenderTime is a backstop behind the counted limits, for whatever
	// they miss. A 20 KB newsletter renders in 40-200 µs, and the slowest
	// render the counted limits let through (all the steps in both parts,
	// or all the work) in about 0.1 s on a 2-core machine. Five seconds is
	// fifty times that, room enough for a machine busy with a campaign and
	// everything else never to fail a render the counted limits accept.
	MaxRenderTime = 5 * time.Second
)

// budget is what one render may still spend. Render resets loops and
// steps for each part.
type budget struct {
	loops, steps, work int
	deadline           time.Time
	// ticks counts charges, so the clock is read only every 64th.
	ticks uint
}

// limitError is a limit a render went past, saying what to change.
type limitError string

func (e limitError) Error() string { return string(e) }

var (
	errLoops = limitError(fmt.Sprintf("the loops would run more than %d times in one email; shorten the data or the loop", MaxLoops))
	errSteps = limitError(fmt.Sprintf("the loops would repeat more than %d actions in one email; shorten the loops or what they repeat", MaxSteps))
	errWork  = limitError(fmt.Sprintf("the functions would work through more than %d MB for one email; call them less often in loops, or on shorter values", MaxWork>>20))
	errSlow  = limitError(fmt.Sprintf("the email took more than %s to render; simplify its loops and functions", MaxRenderTime))
	// errTooLarge stops a render whose part outgrows MaxPart.
	errTooLarge = limitError(fmt.Sprintf("the email is larger than %d MB once rendered; shorten it or its loops", MaxPart>>20))
)

// tooBig is the error of a function asked to make or take in more than MaxValue.
func tooBig(name string) error {
	msg := fmt.Sprintf("%s would work on more than %d KB of text; give it shorter values", name, MaxValue>>10)
	if name == "printf" {
		msg += ", or smaller widths and precisions"
	}
	return limitError(msg)
}

// part gives a new part its own loops and steps.
func (b *budget) part() {
	b.loops, b.steps = MaxLoops, MaxSteps
}

// spend takes n bytes of work, and now and then checks the deadline.
func (b *budget) spend(n int) error {
	if b == nil {
		return nil
	}
	if b.work -= n; b.work < 0 {
		return errWork
	}
	return b.tick()
}

func (b *budget) tick() error {
	if b.ticks++; b.ticks%64 == 0 && time.Now().After(b.deadline) {
		return errSlow
	}
	return nil
}

// length is how many times a range runs over v.
func length(v any) int {
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.String:
		return rv.Len()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(max(min(rv.Int(), MaxLoops+1), 0))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int(min(rv.Uint(), MaxLoops+1))
	}
	return 0
}

// loop passes a range's value through, after taking its length from the
// part's budget of iterations.
func loop(d Data, v any) (any, error) {
	if b := d.budget; b != nil {
		if b.loops -= length(v); b.loops < 0 {
			return nil, errLoops
		}
	}
	return v, nil
}

// steps passes a range's value through, after taking its length times the
// weight of the range's body from the part's budget of steps.
func steps(d Data, weight int, v any) (any, error) {
	if b := d.budget; b != nil {
		if b.steps -= length(v) * max(weight, 1); b.steps < 0 {
			return nil, errSteps
		}
		return v, b.tick()
	}
	return v, nil
}

// charge passes a value through, after taking its size from the budget:
// it weighs what builtins and html/template's escapers work through,
// which cannot be metered themselves.
func charge(d Data, v any) (any, error) {
	return v, d.budget.spend(sizeOf(v))
}

// sizeOf weighs values in bytes of text, or in elements for lists and maps.
func sizeOf(vs ...any) int {
	n := 0
	for _, v := range vs {
		switch x := v.(type) {
		case nil:
		case string:
			n += len(x)
		default:
			switch rv := reflect.ValueOf(v); rv.Kind() {
			case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
				n += rv.Len()
			}
		}
	}
	return n
}

// capped writes into a render's buffer up to MaxPart bytes. It holds the
// render's budget too, which saves an allocation a render.
type capped struct {
	b *bytes.Buffer
	budget
}

func (c *capped) Write(p []byte) (int, error) {
	if c.b.Len()+len(p) > MaxPart {
		return 0, errTooLarge
	}
	if err := c.budget.tick(); err != nil {
		return 0, err
	}
	return c.b.Write(p)
}

// ContactData is the recipient.
type ContactData struct {
	Email      string
	FirstName  string
	LastName   string
	Attributes map[string]any
}

// CampaignData is the campaign being sent.
type CampaignData struct {
	Name    string
	Subject string
}

// OrgData is the sending organisation, from Settings → General.
type OrgData struct {
	Name    string
	Address string
	URL     string
}

// Links are a recipient's signed URLs.
type Links struct {
	Unsubscribe string
	Preferences string
	WebView     string
}

// Rendered is one recipient's message.
type Rendered struct {
	Subject string
	HTML    string
	Text    string
}

// TemplateError says where a template is wrong: which part, and the line and
// column counted from 1 in what the author wrote.
type TemplateError struct {
	Part    string
	Line    int
	Col     int
	Message string
}

func (e *TemplateError) Error() string {
	return fmt.Sprintf("%s, line %d, column %d: %s", e.Part, e.Line, e.Col, e.Message)
}

// urlFuncs are written like functions but read the recipient's links.
var urlFuncs = map[string]string{"unsubscribe_url": "Unsubscribe", "preferences_url": "Preferences", "web_view_url": "WebView"}

// funcs are the template functions besides the URL ones.
func funcs() map[string]any {
	m := map[string]any{
		// default and textout pass values through or print small ones, and
		// make nothing big: what uses their results is metered.
		"default": defaultValue,
		"textout": textOut,
		"dig":     dig,
		"loop":    loop,
		"steps":   steps,
		"charge":  charge,
		// In text parts the Outlook column is nothing; parseHTML swaps in
		// the HTML.
		"outlook_column_start": func() string { return "" },
		"outlook_column_end":   func() string { return "" },
	}
	for name := range urlFuncs {
		m[name] = func() string { return "" }
	}
	for name, f := range meteredFuncs() {
		m[name] = f
	}
	return m
}

// meteredFuncs are the functions that can make or take in big values,
// Herald's and the builtins of the same names, which they replace. Each
// takes the render's data first, which meterTrees hands it as $, refuses
// more than MaxValue in or out, and takes what it handled from the budget.
func meteredFuncs() map[string]any {
	return map[string]any{
		"printf": func(d Data, format string, args ...any) (string, error) {
			if printfSize(format, args) > MaxValue {
				return "", tooBig("printf")
			}
			return d.made("printf", len(format)+sizeOf(args...), fmt.Sprintf(format, args...))
		},
		"print":   variadic("print", fmt.Sprint),
		"println": variadic("println", fmt.Sprintln),
		"js":      variadic("js", texttemplate.JSEscaper),
		"upper":   unary("upper", strings.ToUpper),
		"lower":   unary("lower", strings.ToLower),
		"title":   unary("title", titleCase),
		"truncate": func(d Data, n int, v any) (string, error) {
			s := textOut(v)
			if len(s) > MaxValue {
				return "", tooBig("truncate")
			}
			return d.made("truncate", len(s), truncate(n, s))
		},
		"date": func(d Data, layout string, v any) (string, error) {
			if len(layout) > MaxValue {
				return "", tooBig("date")
			}
			return d.made("date", len(layout)+sizeOf(v), formatDate(layout, v))
		},
	}
}

// textEscapers meter html and urlquery in text parts. In HTML parts they
// stay the builtins html/template knows, and meterTrees weighs what they
// are given instead.
func textEscapers() map[string]any {
	return map[string]any{
		"html":     variadic("html", texttemplate.HTMLEscaper),
		"urlquery": variadic("urlquery", texttemplate.URLQueryEscaper),
	}
}

// metered reports whether a function takes the render's data as $.
func metered(name string, html bool) bool {
	switch name {
	case "printf", "print", "println", "js", "upper", "lower", "title", "truncate", "date":
		return true
	case "html", "urlquery":
		return !html
	}
	return false
}

// made checks a function's result and takes in+len(out) bytes from the budget.
func (d Data) made(name string, in int, out string) (string, error) {
	if len(out) > MaxValue {
		return "", tooBig(name)
	}
	return out, d.budget.spend(in + len(out))
}

// variadic meters a function of any values that makes text at least as long.
func variadic(name string, f func(...any) string) func(Data, ...any) (string, error) {
	return func(d Data, args ...any) (string, error) {
		in := sizeOf(args...)
		if in > MaxValue {
			return "", tooBig(name)
		}
		return d.made(name, in, f(args...))
	}
}

// unary meters a function of one value's text.
func unary(name string, f func(string) string) func(Data, any) (string, error) {
	return func(d Data, v any) (string, error) {
		s := textOut(v)
		if len(s) > MaxValue {
			return "", tooBig(name)
		}
		return d.made(name, len(s), f(s))
	}
}

// printfSize bounds what fmt.Sprintf makes of format and args before it is
// asked to: the format, every width and precision in it (a * counting as
// the largest number among the arguments), and the arguments, once each,
// or once per verb when verbs choose them by index. fmt caps a width at a
// million, but a format can hold many.
func printfSize(format string, args []any) int {
	n, verbs, indexed := len(format), 0, false
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		verbs++
	verb:
		for i++; i < len(format); i++ {
			switch c := format[i]; {
			case c >= '0' && c <= '9':
				w := 0
				for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
					w = min(w*10+int(format[i]-'0'), 1e7)
				}
				n += w
				i--
			case c == '*':
				n += widest(args)
			case c == '[':
				indexed = true
			case strings.IndexByte("+-# .]", c) < 0:
				break verb
			}
		}
	}
	in := sizeOf(args...)
	if indexed {
		in *= verbs
	}
	return n + in
}

// widest is the largest width a * in a format can take from args.
func widest(args []any) int {
	w := 0
	for _, a := range args {
		switch rv := reflect.ValueOf(a); {
		case rv.CanInt():
			x := int(min(max(rv.Int(), -1e6), 1e6))
			w = max(w, x, -x)
		case rv.CanUint():
			w = max(w, int(min(rv.Uint(), 1e6)))
		}
	}
	return w
}

// Compiled is a validated template, parsed once and rendered for many recipients.
type Compiled struct {
	subject *texttemplate.Template
	html    *htmltemplate.Template
	text    *texttemplate.Template
}

// Compile checks a template and prepares it. Parse errors, unknown functions
// and fields outside the data contract come back as a *TemplateError.
func Compile(src Source) (*Compiled, error) {
	if strings.ContainsAny(src.Subject, "\r\n") {
		return nil, &TemplateError{Part: "subject", Line: 1, Col: strings.IndexAny(src.Subject, "\r\n") + 1, Message: "the subject must be one line"}
	}
	layout := src.Layout
	if layout == "" {
		layout = ContentSlot
	} else if strings.Count(layout, ContentSlot) != 1 {
		return nil, &TemplateError{Part: "layout", Line: 1, Col: 1, Message: "a layout places the content exactly once with " + ContentSlot}
	}
	if strings.Contains(src.Body, "{{define") || strings.Contains(src.Body, "{{block") || strings.Contains(src.Body, "{{- define") ||
		strings.Contains(src.Text, "{{define") || strings.Contains(src.Text, "{{block") {
		return nil, &TemplateError{Part: "body", Line: 1, Col: 1, Message: "a body cannot define templates with define or block"}
	}
	c := &Compiled{}
	var err error
	if c.subject, err = parseText("subject", src.Subject, "", ""); err != nil {
		return nil, err
	}
	bodyHTML, bodyText := "", src.Text
	switch src.Format {
	case FormatHTML:
		bodyHTML = src.Body
	case FormatMarkdown:
		if bodyHTML, err = markdownToHTML(src.Body); err != nil {
			return nil, &TemplateError{Part: "body", Line: 1, Col: 1, Message: err.Error()}
		}
	case FormatText:
		if bodyText == "" {
			bodyText = src.Body
		}
	default:
		return nil, &TemplateError{Part: "body", Line: 1, Col: 1, Message: "format must be html, markdown or text"}
	}
	if bodyHTML != "" {
		if src.Format == FormatMarkdown {
			// Check the Markdown as written, so errors point at its lines.
			if _, err := parseText("body", src.Body, "", ""); err != nil {
				return nil, err
			}
		}
		htmlLayout := layout
		if src.Preheader != "" {
			// Only in the HTML: the text part's layout is made from the
			// layout as written.
			htmlLayout = withPreheader(layout, src.Preheader)
		}
		if c.html, err = parseHTML(htmlLayout, bodyHTML); err != nil {
			return nil, err
		}
		if bodyText == "" {
			bodyText = HTMLToText(bodyHTML)
		}
	}
	// Trimmed, the content sits in the layout's text without extra blank lines.
	bodyText = strings.TrimSpace(bodyText)
	layoutText := HTMLToText(layout)
	if src.Format == FormatText && src.Layout == "" {
		layoutText = ContentSlot
	}
	textPart := "body"
	if src.Text != "" {
		textPart = "text"
	}
	if c.text, err = parseText("layout", layoutText, textPart, bodyText); err != nil {
		return nil, err
	}
	if _, err := c.Render(SampleData()); err != nil {
		return nil, execError(err)
	}
	if c.html != nil {
		// The render escaped the HTML; now the escapers show where
		// charges are needed.
		for _, ht := range c.html.Templates() {
			if ht.Tree != nil {
				visit(ht.Tree.Root, false, dropCharges)
			}
		}
	}
	return c, nil
}

// parseText parses a text template, part naming it in errors; when main is a
// layout, its ContentSlot is content, named contentPart.
func parseText(part, main, contentPart, content string) (*texttemplate.Template, error) {
	t := texttemplate.New(part).Funcs(funcs()).Funcs(textEscapers()).Option("missingkey=zero")
	if _, err := t.Parse(main); err != nil {
		return nil, parseError(part, main, err)
	}
	if contentPart != "" {
		if _, err := t.New("content").Parse(content); err != nil {
			return nil, parseError(contentPart, content, err)
		}
	}
	trees := map[string]*parse.Tree{}
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		p, src := part, main
		if tt.Name() == "content" {
			p, src = contentPart, content
		}
		if err := prepareTree(p, src, tt.Tree, true); err != nil {
			return nil, err
		}
		trees[tt.Name()] = tt.Tree
	}
	partOf := func(name string) string {
		if name == "content" {
			return contentPart
		}
		return part
	}
	if err := meterTrees(trees, part, partOf, false); err != nil {
		return nil, err
	}
	return t, nil
}

// outlookColumn holds a layout's column at 600 px in Outlook for Windows,
// which ignores max-width, with a table only it reads: conditional comments,
// which html/template would strip from the template text itself.
var outlookColumn = map[string]any{
	"outlook_column_start": func() htmltemplate.HTML {
		return `<!--[if mso]><table role="presentation" width="600" align="center" cellspacing="0" cellpadding="0" border="0"><tr><td><![endif]-->`
	},
	"outlook_column_end": func() htmltemplate.HTML { return `<!--[if mso]></td></tr></table><![endif]-->` },
}

func parseHTML(layout, content string) (*htmltemplate.Template, error) {
	t := htmltemplate.New("layout").Funcs(funcs()).Funcs(outlookColumn).Option("missingkey=zero")
	if _, err := t.Parse(layout); err != nil {
		return nil, parseError("layout", layout, err)
	}
	if _, err := t.New("content").Parse(content); err != nil {
		return nil, parseError("body", content, err)
	}
	trees := map[string]*parse.Tree{}
	for _, ht := range t.Templates() {
		if ht.Tree == nil {
			continue
		}
		part, src := "body", content
		if ht.Name() == "layout" {
			part, src = "layout", layout
		}
		if err := prepareTree(part, src, ht.Tree, false); err != nil {
			return nil, err
		}
		trees[ht.Name()] = ht.Tree
	}
	partOf := func(name string) string {
		if name == "content" {
			return "body"
		}
		return "layout"
	}
	if err := meterTrees(trees, "layout", partOf, true); err != nil {
		return nil, err
	}
	return t, nil
}

// meterTrees makes every render of a set of parsed templates keep to its
// budget. The functions that can make big values get the render's data as
// $. Every range takes its length times the weight of its body from the
// part's steps. What comparisons and html/template's escapers work through
// is charged first, unless it is plain (see plain). A template's weight
// counts its actions and those of the templates it calls, so a template
// that calls itself is refused, and so is one whose calls alone would go
// past MaxSteps.
func meterTrees(trees map[string]*parse.Tree, root string, part func(string) string, html bool) error {
	m := &meter{trees: trees, root: root, part: part, html: html, weights: map[string]int{}, callers: map[string][]caller{}}
	for name, t := range trees {
		visit(t.Root, false, func(n parse.Node, inLoop bool) {
			if x, ok := n.(*parse.TemplateNode); ok {
				m.callers[x.Name] = append(m.callers[x.Name], caller{name, !inLoop})
			}
		})
	}
	if m.template(root) > MaxSteps && m.err == nil {
		m.err = &TemplateError{Part: part(root), Line: 1, Col: 1, Message: fmt.Sprintf("the template would run more than %d actions in one email; shorten it", MaxSteps)}
	}
	for _, name := range slices.Sorted(maps.Keys(trees)) {
		m.template(name)
	}
	return m.err
}

// meter rewrites the trees of one template set; see meterTrees.
type meter struct {
	trees map[string]*parse.Tree
	root  string
	part  func(name string) string
	html  bool
	// weights holds the templates weighed so far, and weighing while one
	// is being weighed.
	weights map[string]int
	callers map[string][]caller
	err     error
}

// caller is a place that calls a template.
type caller struct {
	name string
	// once is whether the call runs once each time its template does.
	once bool
}

const weighing = -1

// visit calls f on every node of l and below, saying whether it is in a loop.
func visit(l *parse.ListNode, inLoop bool, f func(n parse.Node, inLoop bool)) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		f(n, inLoop)
		switch x := n.(type) {
		case *parse.IfNode:
			visit(x.List, inLoop, f)
			visit(x.ElseList, inLoop, f)
		case *parse.WithNode:
			visit(x.List, inLoop, f)
			visit(x.ElseList, inLoop, f)
		case *parse.RangeNode:
			visit(x.List, true, f)
			visit(x.ElseList, inLoop, f)
		}
	}
}

// once reports whether a template runs at most once in a render: the root
// does, and so does a template called from one place that runs once.
func (m *meter) once(name string, depth int) bool {
	if name == m.root {
		return true
	}
	c := m.callers[name]
	return len(c) == 1 && c[0].once && depth < len(m.trees) && m.once(c[0].name, depth+1)
}

// weight adds weights, stopping just past MaxSteps.
func weight(ws ...int) int {
	sum := 0
	for _, w := range ws {
		sum = min(sum+w, MaxSteps+1)
	}
	return sum
}

// template meters a template once and returns its weight.
func (m *meter) template(name string) int {
	if w, ok := m.weights[name]; ok {
		return w
	}
	t := m.trees[name]
	if t == nil {
		return 0
	}
	m.weights[name] = weighing
	w := m.list(t, t.Root, m.once(name, 0))
	m.weights[name] = w
	return w
}

func (m *meter) list(t *parse.Tree, l *parse.ListNode, once bool) int {
	if l == nil {
		return 0
	}
	w := 0
	for _, n := range l.Nodes {
		w = weight(w, m.node(t, n, once))
	}
	return w
}

func (m *meter) node(t *parse.Tree, n parse.Node, once bool) int {
	switch x := n.(type) {
	case *parse.ActionNode:
		w := m.pipe(t, x.Pipe, once)
		if m.html && len(x.Pipe.Decl) == 0 && !m.light(x.Pipe.Cmds, len(x.Pipe.Cmds)-1, once) {
			// html/template's escapers work through what the action prints.
			x.Pipe.Cmds = append(x.Pipe.Cmds, m.charge(t, x.Position()))
		}
		return weight(1, w)
	case *parse.IfNode:
		return weight(1, m.pipe(t, x.Pipe, once), m.list(t, x.List, once), m.list(t, x.ElseList, once))
	case *parse.WithNode:
		return weight(1, m.pipe(t, x.Pipe, once), m.list(t, x.List, once), m.list(t, x.ElseList, once))
	case *parse.RangeNode:
		body := max(m.list(t, x.List, false), 1)
		pos := x.Position()
		x.Pipe.Cmds = append(x.Pipe.Cmds, m.command(t, pos, "steps", dollar(pos),
			&parse.NumberNode{NodeType: parse.NodeNumber, Pos: pos, IsInt: true, Int64: int64(body), Text: strconv.Itoa(body)}))
		return weight(1, m.pipe(t, x.Pipe, once), m.list(t, x.ElseList, once))
	case *parse.TemplateNode:
		w := weight(1, m.pipe(t, x.Pipe, once))
		if m.weights[x.Name] == weighing {
			m.fail(t, x, fmt.Sprintf("template %q calls itself; a template cannot call itself, directly or through others", x.Name))
			return MaxSteps + 1
		}
		callee := m.template(x.Name)
		if callee > MaxSteps {
			m.fail(t, x, fmt.Sprintf("template %q would run more than %d actions in one email; have templates call each other less", x.Name, MaxSteps))
		}
		return weight(w, callee)
	}
	return 1
}

// pipe meters a pipeline's commands and returns their weight.
func (m *meter) pipe(t *parse.Tree, p *parse.PipeNode, once bool) int {
	if p == nil {
		return 0
	}
	w := 0
	cmds := make([]*parse.CommandNode, 0, len(p.Cmds))
	for _, c := range p.Cmds {
		w = weight(w, m.args(t, c, once))
		pos := c.Position()
		switch name := ident(c); {
		case metered(name, m.html):
			c.Args = slices.Insert(c.Args, 1, parse.Node(dollar(pos)))
		case m.consumes(name) && !m.cheap(name, c.Args[1:], len(cmds) > 0):
			for i := 1; i < len(c.Args); i++ {
				c.Args[i] = m.charged(t, c.Args[i], once)
			}
			// The command before passes its value as the last argument.
			if len(cmds) > 0 && !m.light(cmds, len(cmds)-1, once) {
				cmds = append(cmds, m.charge(t, pos))
			}
		}
		cmds = append(cmds, c)
	}
	p.Cmds = cmds
	return w
}

// args meters the arguments of a command and returns its weight. A metered
// function named as an argument becomes a call with $.
func (m *meter) args(t *parse.Tree, c *parse.CommandNode, once bool) int {
	w := 1
	for i, a := range c.Args {
		switch x := a.(type) {
		case *parse.PipeNode:
			w = weight(w, m.pipe(t, x, once))
		case *parse.ChainNode:
			if p, ok := x.Node.(*parse.PipeNode); ok {
				w = weight(w, m.pipe(t, p, once))
			}
		case *parse.IdentifierNode:
			if i > 0 && metered(x.Ident, m.html) {
				c.Args[i] = &parse.PipeNode{NodeType: parse.NodePipe, Pos: x.Pos, Cmds: []*parse.CommandNode{m.command(t, x.Pos, x.Ident, dollar(x.Pos))}}
			}
		}
		w = weight(w, 1)
	}
	return w
}

// consumes reports whether a builtin works through its arguments to give a
// small result, or hands them to html/template's escapers: the ones whose
// arguments must be charged first.
func (m *meter) consumes(name string) bool {
	switch name {
	case "eq", "ne", "lt", "le", "gt", "ge":
		return true
	case "html", "urlquery":
		return m.html
	}
	return false
}

// cheap reports whether a comparison costs little whatever its operands:
// one of two is a short literal, which a string is compared with no
// further than its length.
func (m *meter) cheap(name string, args []parse.Node, piped bool) bool {
	if m.html && (name == "html" || name == "urlquery") || len(args)+btoi(piped) != 2 {
		return false
	}
	for _, a := range args {
		switch x := a.(type) {
		case *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
			return true
		case *parse.StringNode:
			if len(x.Text) <= 64 {
				return true
			}
		}
	}
	return false
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// dropCharges takes out the charge before an escaped action's escapers
// when none of them is a filter: the others give out at least what they
// take in, and the part's size caps that. A filter can turn a long value
// into a few bytes, so its work shows only in the charge.
func dropCharges(n parse.Node, _ bool) {
	a, ok := n.(*parse.ActionNode)
	if !ok {
		return
	}
	cmds := a.Pipe.Cmds
	k := slices.IndexFunc(cmds, func(c *parse.CommandNode) bool { return ident(c) == "charge" })
	if k < 0 {
		return
	}
	for _, c := range cmds[k+1:] {
		switch name := ident(c); {
		case name == "html" || name == "urlquery":
		case strings.HasPrefix(name, "_html_template_") && !strings.HasSuffix(name, "filter") && name != "_html_template_srcsetescaper":
		default:
			return
		}
	}
	a.Pipe.Cmds = slices.Delete(cmds, k, k+1)
}

// weighed reports whether a function's result needs no charge: a metered
// call charged it, the arguments of a consuming one were, or it is small.
func (m *meter) weighed(name string) bool {
	switch name {
	case "charge", "len", "not", "outlook_column_start", "outlook_column_end":
		return true
	}
	return metered(name, m.html) || m.consumes(name)
}

// light reports whether the value of the i-th of cmds needs no charge: it
// is weighed, or made only of plain values.
func (m *meter) light(cmds []*parse.CommandNode, i int, once bool) bool {
	c := cmds[i]
	switch name := ident(c); name {
	case "":
		return len(c.Args) == 1 && m.plain(c.Args[0], once)
	case "default", "dig", "and", "or", "index", "slice":
		// These give back what they are given, or part of it.
		for _, a := range c.Args[1:] {
			if !m.plain(a, once) {
				return false
			}
		}
		return i == 0 || m.light(cmds, i-1, once)
	default:
		return m.weighed(name)
	}
}

// plain reports whether an argument needs no charge. Numbers and the like
// are small. A quoted string costs its length in the template each time
// its action runs, which matters only in a loop. A read of the recipient's
// data, where the template runs once, costs the data's size once for each
// such read written in the template, which the template's length bounds;
// in a loop it is charged. Any other value, like a variable that may hold
// what a function made, is charged wherever it is used.
func (m *meter) plain(n parse.Node, once bool) bool {
	switch x := n.(type) {
	case *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
		return true
	case *parse.StringNode:
		return once || len(x.Text) <= 64
	case *parse.FieldNode, *parse.ChainNode:
		return once
	case *parse.VariableNode:
		return once && (len(x.Ident) > 1 || x.Ident[0] == "$")
	case *parse.PipeNode:
		return len(x.Decl) == 0 && m.light(x.Cmds, len(x.Cmds)-1, once)
	}
	return false
}

// charged makes an argument pass through charge, unless it is plain.
func (m *meter) charged(t *parse.Tree, n parse.Node, once bool) parse.Node {
	if m.plain(n, once) {
		return n
	}
	pos := n.Position()
	if p, ok := n.(*parse.PipeNode); ok && len(p.Decl) == 0 {
		p.Cmds = append(p.Cmds, m.charge(t, pos))
		return p
	}
	return &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos,
		Cmds: []*parse.CommandNode{{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{n}}, m.charge(t, pos)}}
}

func (m *meter) charge(t *parse.Tree, pos parse.Pos) *parse.CommandNode {
	return m.command(t, pos, "charge", dollar(pos))
}

func (m *meter) command(t *parse.Tree, pos parse.Pos, name string, args ...parse.Node) *parse.CommandNode {
	return &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: append([]parse.Node{parse.NewIdentifier(name).SetTree(t).SetPos(pos)}, args...)}
}

func dollar(pos parse.Pos) *parse.VariableNode {
	return &parse.VariableNode{NodeType: parse.NodeVariable, Pos: pos, Ident: []string{"$"}}
}

// ident is the function a command calls, or "".
func ident(c *parse.CommandNode) string {
	if id, ok := c.Args[0].(*parse.IdentifierNode); ok {
		return id.Ident
	}
	return ""
}

// fail records a TemplateError at n, the first only.
func (m *meter) fail(t *parse.Tree, n parse.Node, msg string) {
	if m.err != nil {
		return
	}
	loc, _ := t.ErrorContext(n)
	f := strings.Split(loc, ":")
	line, _ := strconv.Atoi(f[len(f)-2])
	col, _ := strconv.Atoi(f[len(f)-1])
	m.err = &TemplateError{Part: m.part(t.Name), Line: line, Col: col + 1, Message: msg}
}

// buffers are reused across renders; a sender renders thousands a second.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Render renders the subject, HTML and text of one recipient's message.
func (c *Compiled) Render(d Data) (Rendered, error) {
	var r Rendered
	b := buffers.Get().(*bytes.Buffer)
	defer func() {
		if b.Cap() <= 1<<20 {
			buffers.Put(b)
		}
	}()
	b.Reset()
	// Each part has the whole budget of loops and steps; the work and the
	// time are the render's.
	w := &capped{b: b, budget: budget{work: MaxWork, deadline: time.Now().Add(MaxRenderTime)}}
	w.part()
	d.budget = &w.budget
	if err := c.subject.Execute(w, d); err != nil {
		return r, fmt.Errorf("subject: %w", err)
	}
	r.Subject = strings.TrimSpace(b.String())
	if d.Campaign.Subject == "" {
		// The layout's <title> and the like show the subject as rendered.
		d.Campaign.Subject = r.Subject
	}
	if c.html != nil {
		b.Reset()
		w.part()
		if err := c.html.Execute(w, d); err != nil {
			return r, fmt.Errorf("html: %w", err)
		}
		r.HTML = b.String()
	}
	b.Reset()
	w.part()
	if err := c.text.Execute(w, d); err != nil {
		return r, fmt.Errorf("text: %w", err)
	}
	// Loops and conditions can leave runs of blank lines; squeeze them. Most
	// texts have none, and take one copy.
	out := b.Bytes()
	if tidy(out) {
		r.Text = string(append(bytes.TrimSpace(out), '\n'))
	} else {
		r.Text = tidyText(string(out))
	}
	return r, nil
}

// HasHTML reports whether the message has an HTML part.
func (c *Compiled) HasHTML() bool { return c.html != nil }

// SampleData is the data previews use without a real contact, and that
// Compile renders once to catch errors only running can find.
func SampleData() Data {
	return Data{
		Contact:  ContactData{Email: "jane.doe@example.com", FirstName: "Jane", LastName: "Doe", Attributes: map[string]any{"city": "Leeds"}},
		Campaign: CampaignData{Name: "Sample campaign"},
		Data:     map[string]any{"order_id": "1001", "total": 42.5},
		Org:      OrgData{Name: "Your organisation", Address: "1 High Street, Leeds", URL: "https://example.com"},
		Links:    Links{Unsubscribe: "https://example.com/u/sample", Preferences: "https://example.com/p/sample", WebView: "https://example.com/view/sample"},
	}
}

var timeFormats = map[string]string{"short": "2 Jan 2006", "long": "Monday, 2 January 2006", "iso": "2006-01-02", "datetime": "2 Jan 2006 15:04"}

// formatDate formats a time, an RFC 3339 or YYYY-MM-DD string, or a Unix
// time, with a named format (short, long, iso, datetime) or a Go layout.
func formatDate(layout string, v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case string:
		var err error
		if t, err = time.Parse(time.RFC3339, x); err != nil {
			if t, err = time.Parse("2006-01-02", x); err != nil {
				return x
			}
		}
	case float64:
		t = time.Unix(int64(x), 0).UTC()
	case int64:
		t = time.Unix(x, 0).UTC()
	case int:
		t = time.Unix(int64(x), 0).UTC()
	default:
		return ""
	}
	if named, ok := timeFormats[layout]; ok {
		layout = named
	}
	return t.Format(layout)
}

// defaultValue returns v, or def when v is missing or empty.
func defaultValue(def, v any) any {
	switch x := v.(type) {
	case nil:
		return def
	case string:
		if strings.TrimSpace(x) == "" {
			return def
		}
	}
	return v
}

func titleCase(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		out := r
		if unicode.IsSpace(prev) || prev == '-' {
			out = unicode.ToUpper(r)
		}
		prev = r
		return out
	}, s)
}

// truncate shortens s to n characters, ending with an ellipsis. It reads
// no further than it keeps, however long s is.
func truncate(n int, s string) string {
	if n < 1 || len(s) <= n {
		return s
	}
	cut, runes := 0, 0
	for i := range s {
		if runes == n-1 {
			cut = i
		}
		if runes == n {
			return strings.TrimSpace(s[:cut]) + "…"
		}
		runes++
	}
	return s
}

// dig reads a path of keys below .Data or .Contact.Attributes, giving nil
// for any missing step instead of failing, so missing data renders empty.
func dig(d Data, path ...string) any {
	var cur any
	switch {
	case len(path) >= 1 && path[0] == "Data":
		cur, path = d.Data, path[1:]
	case len(path) >= 2 && path[0] == "Contact" && path[1] == "Attributes":
		cur, path = d.Contact.Attributes, path[2:]
	default:
		return nil
	}
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// textOut prints a value in a text part: nothing for a missing value, where
// Go's text templates would print "<no value>".
func textOut(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// tidy reports whether text needs no more than trimming at its ends.
// It hops from newline to newline, looking only at their neighbours.
func tidy(b []byte) bool {
	if bytes.IndexByte(b, '\r') >= 0 {
		return false
	}
	for i := bytes.IndexByte(b, '\n'); i >= 0; {
		if i > 0 && (b[i-1] == ' ' || b[i-1] == '\t') {
			return false
		}
		if i+2 < len(b) && b[i+1] == '\n' && b[i+2] == '\n' {
			return false
		}
		j := bytes.IndexByte(b[i+1:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return true
}

// tidyText trims trailing spaces and leading and trailing blank lines, and
// squeezes runs of blank lines into one, in a single pass.
func tidyText(s string) string {
	if tidy([]byte(s)) {
		return strings.TrimSpace(s) + "\n"
	}
	var b strings.Builder
	b.Grow(len(s) + 1)
	newlines := 0
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		line := s
		if i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		line = strings.TrimRight(line, " \t\r")
		if line == "" {
			if b.Len() > 0 {
				newlines++
			}
			continue
		}
		if b.Len() > 0 {
			if newlines > 1 {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		newlines = 1
		b.WriteString(line)
	}
	b.WriteByte('\n')
	return b.String()
}

var (
	execErr = regexp.MustCompile(`template: (\w+):(\d+):(\d+): executing "[^"]*" at <([^>]*)>: (.*)$`)
	// inserted matches what meterTrees and prepareTree add to what the
	// author wrote, to leave out of messages.
	inserted  = regexp.MustCompile(`\((\S+) \| charge \$\)| \| (charge \$|loop \$|steps \$ \d+|textout)|\b(printf|print|println|js|upper|lower|title|truncate|date|html|urlquery) \$( |$)`)
	wrongArgs = regexp.MustCompile(`^wrong number of args for (\w+): want (at least )?(\d+) got (\d+)$`)
)

// execError turns an error from running a template into a TemplateError
// that names the place and says what went wrong in words.
func execError(err error) error {
	msg := err.Error()
	var limit limitError
	isLimit := errors.As(err, &limit)
	if isLimit {
		// A limit says what to change in its own words.
		msg = string(limit)
	}
	m := execErr.FindStringSubmatch(err.Error())
	if m == nil {
		return &TemplateError{Part: "body", Line: 1, Col: 1, Message: msg}
	}
	part := map[string]string{"content": "body", "layout": "layout", "subject": "subject"}[m[1]]
	if part == "" {
		part = "body"
	}
	line, _ := strconv.Atoi(m[2])
	col, _ := strconv.Atoi(m[3])
	if !isLimit {
		msg = fmt.Sprintf("%s cannot work here: %s", authored(m[4]), authored(m[5]))
	}
	return &TemplateError{Part: part, Line: line, Col: col + 1, Message: msg}
}

// authored rewrites part of an error message as the author wrote it,
// without the commands and the $ meterTrees added, so that argument counts
// match what they wrote.
func authored(s string) string {
	if w := wrongArgs.FindStringSubmatch(s); w != nil && metered(w[1], false) {
		want, _ := strconv.Atoi(w[3])
		got, _ := strconv.Atoi(w[4])
		return fmt.Sprintf("wrong number of args for %s: want %s%d got %d", w[1], w[2], want-1, got-1)
	}
	return inserted.ReplaceAllString(s, "$1$3$4")
}

// RenderError explains a failed render in words, with its place.
func RenderError(err error) string {
	var te *TemplateError
	if errors.As(execError(err), &te) {
		return fmt.Sprintf("line %d, column %d: %s", te.Line, te.Col, te.Message)
	}
	return err.Error()
}
