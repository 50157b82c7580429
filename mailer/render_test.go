package mailer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newsletter is a typical body: Markdown with the contact's name, an
// attribute with a default, transactional-style data and a link.
const newsletter = `# Spring news, {{.Contact.FirstName | default "friend"}}

Our **{{.Campaign.Name}}** is here. Fresh bread from {{.Contact.Attributes.city | default "your town"}}.

- Sourdough
- Rye

[Order online](https://shop.example/order?ref={{.Contact.Attributes.ref}})
`

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	c, err := Compile(Source{Subject: "Spring news for {{.Contact.FirstName}}", Format: FormatMarkdown, Body: newsletter, Layout: DefaultLayout})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Render(SampleData())
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Spring news for Jane" {
		t.Errorf("subject: got %q", r.Subject)
	}
	golden(t, "newsletter.html.golden", r.HTML)
	golden(t, "newsletter.txt.golden", r.Text)
}

func TestRenderEscapesHostileContactData(t *testing.T) {
	t.Parallel()
	c, err := Compile(Source{Subject: "{{.Contact.FirstName}}", Format: FormatHTML,
		Body: `<p title="{{.Contact.LastName}}">{{.Contact.FirstName}}</p><a href="{{.Contact.Attributes.site}}">site</a>`})
	if err != nil {
		t.Fatal(err)
	}
	d := SampleData()
	d.Contact.FirstName = `<script>alert(1)</script>`
	d.Contact.LastName = `" onmouseover="alert(1)`
	d.Contact.Attributes = map[string]any{"site": "javascript:alert(1)"}
	r, err := c.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", `" onmouseover`, `href="javascript:`} {
		if strings.Contains(r.HTML, bad) {
			t.Errorf("HTML carries %q unescaped:\n%s", bad, r.HTML)
		}
	}
	if r.Subject != d.Contact.FirstName {
		t.Errorf("subject is text and keeps the characters: got %q", r.Subject)
	}
}

func TestMissingValuesRenderEmptyOrTheDefault(t *testing.T) {
	t.Parallel()
	c, err := Compile(Source{Subject: "[{{.Data.nope}}]", Format: FormatText,
		Body: "a[{{.Contact.Attributes.nope}}] b[{{.Data.nope | default \"x\"}}] c[{{upper .Contact.FirstName}}]"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Render(SampleData())
	if err != nil || r.Subject != "[]" || strings.TrimSpace(r.Text) != "a[] b[x] c[JANE]" || r.HTML != "" {
		t.Fatalf("got %+v, %v", r, err)
	}

	// Deeper reads, through $, and with no data passed at all.
	c, err = Compile(Source{Subject: "s{{.Data.a.b}}", Format: FormatHTML,
		Body: `<p>a[{{.Data.a.b.c}}] b[{{$.Contact.Attributes.x.y}}] c[{{.Data.nope}}] d[{{.Contact.Attributes.city.z | default "none"}}]</p>`})
	if err != nil {
		t.Fatal(err)
	}
	d := SampleData()
	d.Data = nil
	r, err = c.Render(d)
	if err != nil || r.Subject != "s" || !strings.Contains(r.HTML, "a[] b[] c[] d[none]") || strings.TrimSpace(r.Text) != "a[] b[] c[] d[none]" {
		t.Fatalf("got %+v, %v", r, err)
	}
}

func TestFunctions(t *testing.T) {
	t.Parallel()
	cases := []struct{ src, want string }{
		{`{{date "iso" "2024-05-31T10:00:00Z"}}`, "2024-05-31"},
		{`{{date "short" "2024-05-31"}}`, "31 May 2024"},
		{`{{date "2006" .Data.when}}`, "2023"},
		{`{{"ada lovelace" | title}}`, "Ada Lovelace"},
		{`{{lower "ABC"}}`, "abc"},
		{`{{"a long sentence here" | truncate 8}}`, "a long…"},
		{`{{"short" | truncate 8}}`, "short"},
		{`{{.Contact.LastName | default "friend"}}`, "friend"},
		{`{{unsubscribe_url}} {{preferences_url}} {{web_view_url}}`, "U P W"},
		{`{{printf "[%s]" unsubscribe_url}} {{print preferences_url}} {{web_view_url | printf "<%s>"}}`, "[U] P <W>"},
		{`{{range .Data.items}}{{.name}};{{end}}`, "a;b;"},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			c, err := Compile(Source{Subject: "s", Format: FormatText, Body: tc.src})
			if err != nil {
				t.Fatal(err)
			}
			d := SampleData()
			d.Contact.LastName = ""
			d.Data = map[string]any{"when": 1700000000.0, "items": []any{map[string]any{"name": "a"}, map[string]any{"name": "b"}}}
			d.Links = Links{Unsubscribe: "U", Preferences: "P", WebView: "W"}
			r, err := c.Render(d)
			if got := strings.TrimSpace(r.Text); err != nil || got != tc.want {
				t.Fatalf("got %q, %v, want %q", got, err, tc.want)
			}
		})
	}
}

func TestCompileRefusesWithLineAndColumn(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		src       Source
		part      string
		line, col int
		msg       string
	}{
		{"unknown field", Source{Subject: "s", Format: FormatHTML, Body: "<p>ok</p>\n<p>Hi {{.Contact.Nickname}}</p>"}, "body", 2, 9, "unknown field .Contact.Nickname"},
		{"unknown root", Source{Subject: "s", Format: FormatHTML, Body: "{{.User}}"}, "body", 1, 3, "unknown field .User"},
		{"unknown function", Source{Subject: "s", Format: FormatHTML, Body: "<p>\n  {{ shout .Contact.Email }}</p>"}, "body", 2, 6, `function "shout" not defined`},
		{"parse error", Source{Subject: "s", Format: FormatMarkdown, Body: "# Title\n\nHello {{if .Contact.Email}}"}, "body", 3, 7, "unexpected EOF"},
		{"bad subject", Source{Subject: "Hi {{.Contact.Age}}", Format: FormatText, Body: "x"}, "subject", 1, 6, "unknown field .Contact.Age"},
		{"two-line subject", Source{Subject: "a\nb", Format: FormatText, Body: "x"}, "subject", 1, 2, "one line"},
		{"layout without slot", Source{Subject: "s", Format: FormatHTML, Body: "x", Layout: "<p>no slot</p>"}, "layout", 1, 1, "exactly once"},
		{"root field in range", Source{Subject: "s", Format: FormatText, Body: "{{range .Data.items}}{{$.Org.Phone}}{{end}}"}, "body", 1, 24, "unknown field .Org.Phone"},
		{"bad format", Source{Subject: "s", Format: "docx", Body: "x"}, "body", 1, 1, "format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.src)
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("got %v, want a *TemplateError", err)
			}
			if te.Part != tc.part || te.Line != tc.line || te.Col != tc.col || !strings.Contains(te.Message, tc.msg) {
				t.Fatalf("got %s %d:%d %q, want %s %d:%d containing %q", te.Part, te.Line, te.Col, te.Message, tc.part, tc.line, tc.col, tc.msg)
			}
		})
	}
}

func TestHTMLToTextKeepsLinks(t *testing.T) {
	t.Parallel()
	got := HTMLToText(`<h1>Title</h1><p>Read <a href="https://a.example/x">the post</a> or <a href="https://b.example">https://b.example</a>.</p><ul><li>one</li><li>two</li></ul><p>Bye<br>Team</p><style>p{}</style>`)
	want := "Title\n\nRead the post (https://a.example/x) or https://b.example.\n\n- one\n- two\n\nBye\nTeam\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// FuzzCompile feeds arbitrary bodies to the template validator: it must not
// panic, whatever it accepts must render for the sample contact, and the
// same again, since the limits on a render are counted, not timed. The
// seeds call every function, so the fuzzer explores them and their limits.
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{newsletter, "{{.Contact.Email}}", "{{range .Data.items}}{{.x}}{{end}}", "{{if}}", "{{template \"content\" .}}",
		"<a href=\"{{unsubscribe_url}}\">x</a>", "{{define \"x\"}}{{end}}", "{{.Contact.Attributes.a.b}}", "{{ $x := 1 }}{{$x}}",
		`{{printf "%05.2f|%-8s|%x|%[1]v|%*d" 3.14159 "ab" 255 4 7}}`, `{{print 1 "a" .Data.total}}{{println .Contact.FirstName}}`,
		`{{html "<b>"}}{{js "'x'"}}{{urlquery "a b&c"}}`, `{{$s := "hello world"}}{{slice $s 1 4}}{{index $s 0}}{{len $s}}`,
		`{{range $i, $c := "abc"}}{{if eq $c 98}}{{upper (print $i)}}{{else}}{{lower "X"}}{{end}}{{end}}`,
		`{{.Contact.FirstName | title | truncate 3}} {{date "iso" "2024-05-31"}} {{default "x" .Data.nope}}`,
		`{{range 3}}{{if and (ne . 1) (lt . 5) (not (ge . 7))}}{{printf "%d" .}}{{end}}{{end}}`,
		`<a href="{{printf "https://x.example/%s" .Contact.Email}}" style="color:{{.Data.order_id}}">{{or .Data.nope "y"}}</a>`,
		`{{$s := "ab"}}{{range 12}}{{$s = print $s $s}}{{end}}{{len $s}}`,
		// Markdown goldmark once took seconds on, near and past its limits.
		strings.Repeat(">", 33) + "a", strings.Repeat("- ", 33) + "a", strings.Repeat("> - ", 8) + "a\n" + strings.Repeat("  ", 20) + "- a",
		strings.Repeat("[a](", 1500), strings.Repeat("![a](", 500), strings.Repeat("[", 1000) + "a" + strings.Repeat("](x)", 1000),
		strings.Repeat("*a_a~a", 1000), strings.Repeat("*a ", 500) + strings.Repeat("a_ ", 500), "a" + strings.Repeat("~", 4100),
		strings.Repeat("\\``\n", 260), strings.Repeat("`a``b", 300), strings.Repeat("|a", 200) + "|\n" + strings.Repeat("|-", 200) + "|\n" + strings.Repeat("a\n", 60),
		strings.Repeat("~www.", 300), "[a]: " + strings.Repeat("x", 1000) + "\n\n" + strings.Repeat("[a]\n", 300), strings.Repeat(">\n", 3000),
		strings.Repeat("<a b='", 500), strings.Repeat("&amp;&#x", 500), strings.Repeat("[a]: b\n", 1000)} {
		for _, format := range []string{"html", "markdown", "text"} {
			f.Add(seed, format)
		}
	}
	f.Fuzz(func(t *testing.T, body, format string) {
		c, err := Compile(Source{Subject: "s", Format: format, Body: body, Layout: DefaultLayout})
		if err != nil {
			var te *TemplateError
			if !errors.As(err, &te) || te.Line < 1 || te.Col < 1 {
				t.Fatalf("error %v is not a TemplateError with a place", err)
			}
			return
		}
		first, err := c.Render(SampleData())
		if err != nil {
			t.Fatalf("accepted a template that does not render: %v", err)
		}
		if again, err := c.Render(SampleData()); err != nil || again != first {
			t.Fatalf("a second render differs: %v", err)
		}
	})
}

func TestRenderLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, want string
	}{
		{"a loop too long", "<p>a</p>\n{{range 200000}}x{{end}}", "line 2, column 9: the loops would run more than 100000 times"},
		{"nested loops", "{{range 1000}}{{range 1000}}{{end}}{{end}}", "the loops would run more than 100000 times"},
		{"a body too large", "{{range 90000}}" + strings.Repeat("x", 100) + "{{end}}", "larger than 5 MB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(Source{Subject: "s", Format: FormatHTML, Body: tc.body})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}

	// Loops within the budget render in full, and data decides at send time.
	c, err := Compile(Source{Subject: "s", Format: FormatText, Body: "{{range 3}}a{{end}}{{range .Data.items}}b{{end}}"})
	if err != nil {
		t.Fatal(err)
	}
	d := SampleData()
	d.Data = map[string]any{"items": []any{1, 2}}
	if r, err := c.Render(d); err != nil || r.Text != "aaabb\n" {
		t.Fatalf("got %q, %v; want aaabb", r.Text, err)
	}
	d.Data = map[string]any{"items": make([]any, MaxLoops+1)}
	if _, err := c.Render(d); err == nil || !strings.Contains(RenderError(err), "more than 100000 times") {
		t.Fatalf("render over budget: got %v, want the loop budget error", err)
	}
}

func TestPreheader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, layout string }{{"default layout", DefaultLayout}, {"no layout", ""}} {
		c, err := Compile(Source{Subject: "s", Format: FormatMarkdown, Body: "Hello", Layout: tc.layout, Preheader: "Fresh <bread> {{.Contact.Email}}\nto"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Render(SampleData())
		if err != nil {
			t.Fatal(err)
		}
		want := `<div style="` + preheaderStyle + `">Fresh &lt;bread&gt; &#123;&#123;.Contact.Email&#125;&#125; to</div>`
		i := strings.Index(r.HTML, want)
		if i < 0 {
			t.Fatalf("%s: preheader missing or not plain text in %q", tc.name, r.HTML)
		}
		if body := strings.Index(r.HTML, "<body"); body >= 0 && strings.Contains(r.HTML[body:i], "View in your browser") {
			t.Errorf("%s: the preheader must come before any visible text", tc.name)
		}
		if strings.Contains(r.Text, "Fresh") {
			t.Errorf("%s: the preheader leaked into the text part: %q", tc.name, r.Text)
		}
	}
}

// TestManyActionsComeBackInOnePass converts bodies with many template
// actions to text and from Markdown: every action comes back, in order,
// and an action that spells a marker stays as written. A Markdown body
// holds fewer, as many as fit in MaxMarkdown once they are markers.
func TestManyActionsComeBackInOnePass(t *testing.T) {
	t.Parallel()
	var html, md, want, wantMD strings.Builder
	for i := range 20_000 {
		fmt.Fprintf(&html, "<p>{{.Data.a%d}}</p>", i)
		fmt.Fprintf(&want, "{{.Data.a%d}}", i)
		if i < 3_000 {
			fmt.Fprintf(&md, "{{.Data.a%d}}\n\n", i)
			fmt.Fprintf(&wantMD, "{{.Data.a%d}}", i)
		}
	}
	html.WriteString(`<p>{{"<!--HERALDACT0-->"}}</p>`)
	md.WriteString(`{{"HERALDACTION0X"}}`)
	text := HTMLToText(html.String())
	if got := strings.Join(anyAction.FindAllString(text, -1), ""); got != want.String()+`{{"<!--HERALDACT0-->"}}` {
		t.Errorf("HTMLToText: the actions came back as %.200q…", got)
	}
	out, err := markdownToHTML(md.String())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(anyAction.FindAllString(out, -1), ""); got != wantMD.String()+`{{"HERALDACTION0X"}}` {
		t.Errorf("markdownToHTML: the actions came back as %.200q…", got)
	}
}
