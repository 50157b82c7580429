package mailer

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"
	"text/template/parse"
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

// Compiled is a validated template, parsed once and rendered for many recipients.
type Compiled struct {
	subject *texttemplate.Template
	html    *htmltemplate.Template
	text    *texttemplate.Template
	// src is what html and text were parsed from, to parse again for a
	// variant.
	src parsed
	// fold tells the nodes a variant renders once.
	fold classifier
	// variants holds the templates with what every recipient shares
	// rendered once.
	variants variants
}

// parsed is what a Compiled's HTML and text templates are parsed from.
type parsed struct {
	htmlLayout, htmlBody           string
	textLayout, textPart, textBody string
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
			return nil, err
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
		c.src.htmlLayout, c.src.htmlBody = htmlLayout, bodyHTML
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
	c.src.textLayout, c.src.textPart, c.src.textBody = layoutText, textPart, bodyText
	if res := c.render(SampleData(), nil); res.err != nil {
		return nil, execError(res.err)
	}
	if c.html != nil {
		// The render escaped the HTML; now the escapers show where
		// charges are needed.
		dropEscapedCharges(c.html)
	}
	c.fold = classifier{subjectShared: sharedOnly(c.subject.Tree, classifier{subjectShared: true})}
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

// buffers are reused across renders; a sender renders thousands a second.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Render renders the subject, HTML and text of one recipient's message.
func (c *Compiled) Render(d Data) (Rendered, error) {
	res := c.render(d, c.variantFor)
	if res.err != nil && res.used != nil {
		// A variant leaves out only work that cannot fail or spend: a
		// failure is reported as the templates as written report it.
		res = c.render(d, nil)
	}
	return res.Rendered, res.err
}

// chooser picks the variant a render uses, given its data as passed and
// once the subject is in .Campaign.Subject; nil renders with the templates
// as written.
type chooser func(asPassed, d Data) *variant

// rendering is one render's message, the variant it used and what its
// budget had left at the end.
type rendering struct {
	Rendered
	used *variant
	left counts
	err  error
}

// render renders one message with the templates as written, or with the
// variant choose picks. The parts go one after the other into a reused
// buffer, and the HTML and text from there into one string.
func (c *Compiled) render(d Data, choose chooser) (res rendering) {
	b := buffers.Get().(*bytes.Buffer)
	defer func() {
		if b.Cap() <= 1<<20 {
			buffers.Put(b)
		}
	}()
	b.Reset()
	// Each part has the whole budget of loops and steps; the work and the
	// time are the render's.
	w := &capped{b: b, budget: fullBudget()}
	w.newPart()
	asPassed := d
	d.budget = &w.budget
	defer func() { res.left = w.counts() }()
	if err := c.subject.Execute(w, d); err != nil {
		res.err = fmt.Errorf("subject: %w", err)
		return res
	}
	res.Subject = string(bytes.TrimSpace(b.Bytes()))
	if d.Campaign.Subject == "" {
		// The layout's <title> and the like show the subject as rendered.
		d.Campaign.Subject = res.Subject
	}
	html, text := c.html, c.text
	var textPlan plan
	if choose != nil {
		if v := choose(asPassed, d); v != nil {
			res.used, html, text, textPlan = v, v.html, v.text, v.textPlan
			if v.replay.spans > 0 {
				w.replay, w.spans = &v.replay, make([]span, v.replay.spans)
			}
		}
	}
	// Boxed once for both parts.
	data := any(d)
	w.newPart()
	if html != nil {
		if err := html.Execute(w, data); err != nil {
			res.err = fmt.Errorf("html: %w", err)
			return res
		}
	}
	htmlPart := b.Bytes()[w.start:]
	w.newPart()
	var err error
	if textPlan != nil {
		err = textPlan.run(w, &d)
	} else {
		err = text.Execute(w, data)
	}
	if err != nil {
		res.err = fmt.Errorf("text: %w", err)
		return res
	}
	var out strings.Builder
	out.Grow(len(htmlPart) + b.Len() - w.start + 1)
	out.Write(htmlPart)
	res.HTML = out.String()
	// Loops and conditions can leave runs of blank lines; squeeze them on
	// the way out.
	res.Text = tidyInto(&out, b.Bytes()[w.start:])
	return res
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
// squeezes runs of blank lines into one.
func tidyText(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 1)
	return tidyInto(&b, []byte(s))
}

// tidyInto writes text, tidied as tidyText does, at the end of b, and
// returns it. Text that needs no more than trimming at its ends, as tidy
// finds, is trimmed like strings.TrimSpace does; squeezing such text only
// trims white space off its ends, so the squeezed text trims to the same.
func tidyInto(b *strings.Builder, text []byte) string {
	from := b.Len()
	wasTidy := squeeze(b, text)
	out := b.String()[from:]
	if !wasTidy {
		return out
	}
	content := out[:len(out)-1]
	trimmed := strings.TrimSpace(content)
	start := len(content) - len(strings.TrimLeftFunc(content, unicode.IsSpace))
	if end := start + len(trimmed); end <= len(content) && content[start:end] == trimmed && out[end] == '\n' {
		// Its newline follows it already.
		return out[start : end+1]
	}
	return trimmed + "\n"
}

// squeeze writes text to b with each line's trailing spaces trimmed,
// leading and trailing blank lines dropped and runs of them squeezed into
// one, and a newline at the end. It reports whether text was tidy, as
// tidy finds. What it keeps as it was, most of a text, it writes in runs.
func squeeze(b *strings.Builder, text []byte) (wasTidy bool) {
	wasTidy = bytes.IndexByte(text, '\r') < 0
	// run is text to write as it is, once something else must be written.
	run := [2]int{-1, -1}
	newlines := 0
	for r := 0; r < len(text); {
		end := len(text)
		if i := bytes.IndexByte(text[r:], '\n'); i >= 0 {
			end = r + i
			if end > 0 && (text[end-1] == ' ' || text[end-1] == '\t') || end+2 < len(text) && text[end+1] == '\n' && text[end+2] == '\n' {
				wasTidy = false
			}
		}
		next := end + 1
		for end > r && (text[end-1] == ' ' || text[end-1] == '\t' || text[end-1] == '\r') {
			end--
		}
		switch {
		case end == r:
			if run[0] >= 0 {
				newlines++
			}
		case run[0] < 0:
			run = [2]int{r, end}
		case r-run[1] == min(newlines, 2) && text[r-1] == '\n' && text[run[1]] == '\n':
			// Between the last line kept and this one stand exactly the
			// newlines that go between them.
			run[1] = end
		default:
			b.Write(text[run[0]:run[1]])
			b.WriteString("\n\n"[:min(newlines, 2)])
			run = [2]int{r, end}
		}
		if end > r {
			newlines = 1
		}
		r = next
	}
	if run[0] >= 0 {
		b.Write(text[run[0]:run[1]])
	}
	b.WriteByte('\n')
	return wasTidy
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
