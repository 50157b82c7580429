package mailer

import (
	"strings"
	"sync"
	"testing"
	"text/template/parse"
)

// blockLayout defines, blocks and branches around the content, and calls
// a template with a dot that is not the root data.
const blockLayout = `{{define "footer"}}<p>{{.Org.Name}}<br>{{.Org.Address}}</p><a href="{{unsubscribe_url}}">Unsubscribe</a>{{end}}` +
	`{{define "sep"}}<li>&middot;</li>{{end}}<!DOCTYPE html><html><head><title>{{.Campaign.Subject}}</title></head><body>` +
	`{{block "header" .}}<h1>{{.Org.Name}}</h1><p>{{.Campaign.Name | upper}}</p>{{end}}{{$org := .Org.Name}}` +
	`{{if .Contact.FirstName}}<p>Dear {{.Contact.FirstName}} of {{$org}}</p>{{else}}<p>Dear reader</p>{{end}}` +
	`<ul>{{range $k, $v := .Contact.Attributes}}{{template "sep" $v}}{{$k}}{{end}}</ul>` +
	`{{with .Org.URL}}<a href="{{.}}">{{.}}</a>{{end}}<div>` + ContentSlot + `</div>{{template "footer" .}}` +
	`{{template "footer" $}}</body></html>`

// variantSources are templates of every kind the variant must render as
// the templates as written do.
var variantSources = []Source{
	{Subject: "Spring news for {{.Contact.FirstName}}", Format: FormatMarkdown, Body: newsletter, Layout: DefaultLayout},
	{Subject: "News for {{.Contact.FirstName}}", Format: FormatHTML, Body: twentyKB(false), Layout: DefaultLayout},
	{Subject: "News from {{.Org.Name}}", Format: FormatHTML, Body: twentyKB(true), Layout: DefaultLayout, Preheader: "Fresh bread {{.Org.Name}}"},
	{Subject: "{{.Contact.FirstName}}", Format: FormatHTML, Body: `<p title="{{.Contact.LastName}}">{{.Contact.FirstName}}</p><a href="{{.Contact.Attributes.site}}">site</a>`},
	{Subject: "[{{.Data.nope}}]", Format: FormatText, Body: "a[{{.Contact.Attributes.nope}}] b[{{.Data.nope | default \"x\"}}] c[{{upper .Contact.FirstName}}]"},
	{Subject: "s{{.Data.a.b}}", Format: FormatHTML, Body: `<p>a[{{.Data.a.b.c}}] b[{{$.Contact.Attributes.x.y}}] c[{{.Data.nope}}] d[{{.Contact.Attributes.city.z | default "none"}}]</p>`},
	{Subject: "s", Format: FormatText, Body: `{{date "iso" "2024-05-31T10:00:00Z"}} {{"ada lovelace" | title}} {{"a long sentence here" | truncate 8}} {{unsubscribe_url}} {{preferences_url}} {{web_view_url}} {{range .Data.items}}{{.name}};{{end}}`},
	{Subject: "Hello {{.Org.Name}}", Format: FormatHTML, Body: "<p>Hi {{.Contact.FirstName}}</p>", Layout: blockLayout},
	{Subject: "s", Format: FormatMarkdown, Body: "# {{.Org.Name}}\n\n{{.Contact.FirstName}} and {{.Contact.FirstName}} again, {{.Org.Name}}", Layout: blockLayout, Text: "{{.Org.Name}} {{.Contact.Email}}\n\n\n{{.Org.Name}}  \n{{.Contact.Email}}"},
	// Variables declared in one node and used in others, set in branches.
	{Subject: "s", Format: FormatHTML, Body: `{{$org := .Org.Name}}<p>{{$org}}</p>{{$n := .Contact.FirstName}}<p>{{$n}} {{.Org.Address}}</p>` +
		`{{$x := "a"}}{{if .Org.Name}}{{$x = .Org.Name}}{{end}}<b>{{$x}}</b>{{if .Contact.Email}}{{$x = .Contact.Email}}{{end}}<i>{{$x}}</i>`, Layout: DefaultLayout},
	// Conditionals and loops on the contact, and on shared data only.
	{Subject: "s", Format: FormatHTML, Body: `{{if .Contact.FirstName}}Hi {{.Contact.FirstName}}{{else}}Hello{{end}}` +
		`{{with .Contact.Attributes.city}}<p>in {{.}}</p>{{end}}{{range $k, $v := .Contact.Attributes}}<p>{{$k}}={{$v}}</p>{{end}}` +
		`{{if .Org.Name}}<p>{{.Org.Name}}</p>{{end}}{{with .Org}}<p>{{.Address}}</p>{{end}}{{range 3}}<i>{{.}}</i>{{end}}` +
		`{{range .Contact.Attributes.items}}x{{end}}{{if eq .Campaign.Name "Sample campaign"}}same{{end}}`},
	// Functions that spend from the budget, on shared and personal data.
	{Subject: "{{upper .Org.Name}}", Format: FormatHTML, Body: `<p>{{upper .Org.Name}} {{printf "%s-%s" .Org.Name .Campaign.Name}} {{truncate 5 .Org.Address}}</p>` +
		`<p>{{lower .Contact.FirstName}} {{.Contact.FirstName | title}} {{printf "%v" .Contact.Attributes}}</p>{{html .Org.Name}}{{urlquery .Org.URL}}` +
		`{{js .Org.Name}}{{len .Org.Name}}{{index .Contact.Attributes "city"}}{{slice .Org.Name 1}}{{print .Org}}`, Layout: DefaultLayout},
	// The whole data, and repeats in different contexts.
	{Subject: "s", Format: FormatHTML, Body: `<p>{{.}}</p><p>{{print $}}</p><a href="https://x.example/?n={{.Contact.FirstName}}">{{.Contact.FirstName}}</a>` +
		`<p>{{.Contact.FirstName}}</p><script>var n = {{.Contact.FirstName}};</script><p>{{.Contact.FirstName}}</p><p style="color:{{.Org.Name}}">{{.Org.Name}}</p>`},
	// The content in an attribute: html/template escapes a copy of it.
	{Subject: "s", Format: FormatHTML, Body: `{{.Contact.FirstName}} & {{.Org.Name}}`, Layout: `<p title="` + ContentSlot + `">{{.Org.Name}}</p>`},
	// The content called twice, once through $.
	{Subject: "s", Format: FormatHTML, Body: `<p>{{.Org.Name}} {{.Contact.FirstName}}</p>`, Layout: `<div>{{.Org.Name}}` + ContentSlot + `{{template "content" $}}</div>{{if .Contact.Email}}{{ template "content" . }}{{end}}`},
	{Subject: "s", Format: FormatHTML, Body: `<p>{{outlook_column_start}}{{.Org.Name}}{{outlook_column_end}}</p>`, Layout: DefaultLayout},
	{Subject: "s", Format: FormatText, Body: "Hello {{.Contact.FirstName}},\n\n\n   \n{{.Org.Name}}   \n\n\n{{.Data.order_id}}\n"},
	// $ set to personal data: what it reads later is personal, whatever
	// its path.
	{Subject: "s", Format: FormatHTML, Body: `<p>{{$.Org.Name}}</p>{{if true}}{{$ = .Contact.Attributes}}{{end}}<p>{{$.Org}}</p><p>{{$.Campaign}}</p>`, Layout: DefaultLayout},
	{Subject: "s", Format: FormatText, Body: `{{$.Org.Name}} {{$ = .Contact.Attributes}}{{$.Org}} {{$.Org}}`},
	// Reads a text part's plan writes, of values of every kind.
	{Subject: "s", Format: FormatText, Layout: DefaultLayout, Body: "{{.Data.order_id}} {{.Data.total | default \"none\"}} {{.Contact.Attributes.n}} {{.Contact.Attributes.tags}}" +
		" {{.Contact.Attributes.nested}} {{$.Contact.Email}} {{.Contact.LastName | default \"x\"}} {{.Data.a}} {{$.Data.items}} {{.Campaign.Subject}}"},
}

// recipients share their campaign and organisation, and differ in all else.
func recipients() []Data {
	var ds []Data
	for _, f := range []func(d *Data){
		func(d *Data) {},
		func(d *Data) { d.Contact.FirstName, d.Contact.Attributes = "", nil },
		func(d *Data) {
			d.Contact.FirstName, d.Contact.LastName = `<script>"'&+</script>`, "O'Brien"
			d.Contact.Attributes = map[string]any{"city": `a"b<c>`, "site": "javascript:alert(1)", "n": 3.5, "tags": []any{"x", "y"}, "nested": map[string]any{"k": "v"}}
		},
		func(d *Data) {
			d.Contact.Email, d.Contact.FirstName = "ünï@example.com", "Zoë\u00a0"
			d.Links = Links{Unsubscribe: "https://x.example/u?a=1&b=2", Preferences: "mailto:x@example.com", WebView: "javascript:bad()"}
		},
		func(d *Data) {
			d.Data = map[string]any{"order_id": 7, "items": []any{map[string]any{"name": "a"}}, "a": map[string]any{"b": "deep"}}
			d.Contact.Attributes = map[string]any{"city": strings.Repeat("long ", 2000)}
		},
		func(d *Data) { d.Contact.Attributes = map[string]any{"items": make([]any, MaxLoops+1)} },
		func(d *Data) { d.Contact = ContactData{} },
		func(d *Data) {
			d.Contact.Attributes = map[string]any{"Org": "theirs", "Campaign": map[string]any{"Name": "their own"}}
		},
	} {
		d := SampleData()
		f(&d)
		ds = append(ds, d)
	}
	return ds
}

// builtVariant builds the variant for d's shared data, as Render does on
// the second render with it.
func builtVariant(c *Compiled, d Data) *variant {
	var v *variant
	c.render(d, func(asPassed, d Data) *variant {
		v = c.buildVariant(asPassed, d, c.sharedOf(d))
		return nil
	})
	return v
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// compareRender renders d with the templates as written and with v: a
// render the variant serves gives the same message, spends the same and
// fails only where the templates as written fail. It reports whether v
// served the render.
func compareRender(t *testing.T, c *Compiled, v *variant, d Data) bool {
	t.Helper()
	plain := c.render(d, nil)
	fast := c.render(d, func(_, d Data) *variant {
		if v != nil && c.sharedOf(d) == v.key {
			return v
		}
		return nil
	})
	switch {
	case fast.err != nil && plain.err == nil:
		t.Errorf("the variant fails where the templates do not: %v", fast.err)
	case plain.err != nil && fast.err == nil:
		t.Errorf("the variant renders where the templates fail with %v", plain.err)
	case plain.err == nil && (fast.Rendered != plain.Rendered || fast.left != plain.left):
		t.Errorf("the variant renders\n%+v\nleaving %+v; the templates\n%+v\nleaving %+v", fast.Rendered, fast.left, plain.Rendered, plain.left)
	}
	got, err := c.Render(d)
	if got != plain.Rendered || errText(err) != errText(plain.err) {
		t.Errorf("Render gives %+v, %v; the templates %+v, %v", got, err, plain.Rendered, plain.err)
	}
	return fast.used != nil
}

func nodeCount(trees map[string]*parse.Tree) int {
	n := 0
	for _, t := range trees {
		n += len(t.Root.Nodes)
	}
	return n
}

func TestVariantRendersAsWritten(t *testing.T) {
	t.Parallel()
	for i, src := range variantSources {
		c, err := Compile(src)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		ds := recipients()
		v := builtVariant(c, ds[0])
		served := 0
		for _, d := range ds {
			if compareRender(t, c, v, d) {
				served++
			}
		}
		if v != nil && served == 0 {
			t.Errorf("%d: the variant served no render", i)
		}
		// Another organisation is not the variant's to serve.
		d := SampleData()
		d.Org.Name = "Another organisation"
		if compareRender(t, c, v, d) {
			t.Errorf("%d: the variant served another organisation's render", i)
		}
	}
}

// TestVariantFoldsWhatIsShared checks that the variants of typical
// templates leave out what every recipient shares, and run a repeated
// personal action once.
func TestVariantFoldsWhatIsShared(t *testing.T) {
	t.Parallel()
	for i, src := range variantSources[:3] {
		c, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		v := builtVariant(c, SampleData())
		if v == nil {
			t.Fatalf("%d: no variant", i)
		}
		if got, was := nodeCount(htmlTrees(v.html)), nodeCount(htmlTrees(c.html)); got >= was {
			t.Errorf("%d: the HTML has %d top-level nodes, was %d", i, got, was)
		}
		if got, was := nodeCount(textTrees(v.text)), nodeCount(textTrees(c.text)); got >= was {
			t.Errorf("%d: the text has %d top-level nodes, was %d", i, got, was)
		}
		if v.textPlan == nil {
			t.Errorf("%d: the text part has no plan", i)
		}
	}
	c, err := Compile(variantSources[1])
	if err != nil {
		t.Fatal(err)
	}
	if v := builtVariant(c, SampleData()); v.replay.spans != 2 {
		t.Errorf("got %d repeated actions, want 2, the name in each part", v.replay.spans)
	}

	// A text part with a condition runs through text/template.
	c, err = Compile(variantSources[10])
	if err != nil {
		t.Fatal(err)
	}
	if v := builtVariant(c, SampleData()); v == nil || v.textPlan != nil {
		t.Errorf("got a plan for a text part with conditions and loops")
	}

	// The content in an attribute is escaped as a copy, which the variant
	// cannot see into: the HTML has no variant, and renders as written.
	c, err = Compile(variantSources[13])
	if err != nil {
		t.Fatal(err)
	}
	if v := builtVariant(c, SampleData()); v != nil {
		t.Errorf("got a variant of content escaped in an attribute")
	}
}

// TestRenderBuildsAVariantOnTheSecondRender follows Render's policy: the
// first render with some shared data builds nothing, the second builds a
// variant, and renders with other shared data leave it be.
func TestRenderBuildsAVariantOnTheSecondRender(t *testing.T) {
	t.Parallel()
	c, err := Compile(variantSources[1])
	if err != nil {
		t.Fatal(err)
	}
	d := SampleData()
	want := c.render(d, nil)
	for i := range 3 {
		if got, err := c.Render(d); err != nil || got != want.Rendered {
			t.Fatalf("render %d: got %+v, %v", i, got, err)
		}
		if built := c.variants.current.Load() != nil; built != (i > 0) {
			t.Fatalf("after render %d: got a variant %v, want %v", i, built, i > 0)
		}
	}
	other := SampleData()
	other.Org.Name = "Another organisation"
	for range 2 {
		if got, err := c.Render(other); err != nil || got != c.render(other, nil).Rendered {
			t.Fatalf("another organisation: got %+v, %v", got, err)
		}
	}
	if v := c.variants.current.Load(); v == nil || v.key.Org.Name != "Another organisation" {
		t.Errorf("the variant was not built again for the other organisation")
	}
}

// FuzzVariant compares renders with a variant and with the templates as
// written, over template sources and the data of the recipients.
func FuzzVariant(f *testing.F) {
	for _, src := range variantSources {
		f.Add(src.Body, src.Format, uint8(0), "Ann", "Leeds", "Org & Co")
	}
	for _, body := range []string{"{{.Contact.Email}}", "{{range .Data.items}}{{.x}}{{end}}", "{{ $x := 1 }}{{$x}}{{.Org.Name}}",
		`{{range $i, $c := "abc"}}{{if eq $c 98}}{{upper (print $i)}}{{else}}{{lower "X"}}{{end}}{{end}}`, `{{with $x := .Org.Name}}{{$x}}{{end}}{{.Org.Name}}`,
		`<a href="{{printf "https://x.example/%s" .Contact.Email}}" style="color:{{.Data.order_id}}">{{or .Data.nope "y"}}</a>`,
		`{{$s := "ab"}}{{range 12}}{{$s = print $s $s}}{{end}}{{len $s}}`, `{{.Org.Name}}{{.Org.Name}}{{.Contact.FirstName}}{{.Contact.FirstName}}`,
		`{{if .Contact.FirstName}}{{$y := 1}}{{else}}{{.Org.Name}}{{end}}`, `<script>{{.Org.Name}}</script><style>{{.Org.Name}}</style>`} {
		for _, format := range []string{"html", "markdown", "text"} {
			f.Add(body, format, uint8(1), "<b>", "", "")
		}
	}
	layouts := []string{"", DefaultLayout, blockLayout}
	subjects := []string{"s", "News for {{.Contact.FirstName}}", "News from {{.Org.Name}}"}
	f.Fuzz(func(t *testing.T, body, format string, shape uint8, first, city, org string) {
		c, err := Compile(Source{Subject: subjects[int(shape)%len(subjects)], Format: format, Body: body, Layout: layouts[int(shape/4)%len(layouts)]})
		if err != nil {
			return
		}
		d := SampleData()
		d.Org.Name = org
		v := builtVariant(c, d)
		compareRender(t, c, v, d)
		d.Contact.FirstName, d.Contact.Attributes = first, map[string]any{"city": city}
		compareRender(t, c, v, d)
	})
}

// TestRenderConcurrently renders one template from many goroutines, as a
// campaign's senders do, while its variant is built and used.
func TestRenderConcurrently(t *testing.T) {
	t.Parallel()
	for _, src := range variantSources[:3] {
		c, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		ds := recipients()
		want := make([]rendering, len(ds))
		for i, d := range ds {
			want[i] = c.render(d, nil)
		}
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 40 {
					j := (g + i) % len(ds)
					if got, err := c.Render(ds[j]); got != want[j].Rendered || errText(err) != errText(want[j].err) {
						t.Errorf("recipient %d: got %+v, %v; want %+v, %v", j, got, err, want[j].Rendered, want[j].err)
						return
					}
				}
			})
		}
		wg.Wait()
		if c.variants.current.Load() == nil {
			t.Errorf("no variant was built")
		}
	}
}
