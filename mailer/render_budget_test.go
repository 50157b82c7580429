package mailer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRenderRefusesHostileTemplates runs templates that make or work
// through far more than an email needs, inside the loop and size limits,
// and expects each to be refused when it is saved, saying what to change.
func TestRenderRefusesHostileTemplates(t *testing.T) {
	const (
		tooBig = "would work on more than 256 KB of text"
		work   = "the functions would work through more than 16 MB"
		steps  = "the loops would repeat more than 250000 actions"
	)
	big := `{{$s := printf "%0200000d:" 1}}{{$t := printf "%0200000d:" 2}}`
	for _, tc := range []struct {
		name, body, want string
	}{
		{"a huge width in a loop", `{{range 5000}}{{if eq (printf "%0999999d" 1) "x"}}{{end}}{{end}}`, "printf " + tooBig},
		{"a huge precision", `{{printf "%.999999f" 1.0}}`, "printf " + tooBig},
		{"a huge width from an argument", `{{printf "%*d" 999999 1}}`, "printf " + tooBig},
		{"many widths", `{{printf "` + strings.Repeat("%09999d", 30) + `" 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30}}`, "printf " + tooBig},
		{"an argument printed again and again", `{{printf "%[1]s%[1]s%[1]s" (printf "%0100000d" 1)}}`, "printf " + tooBig},
		{"nested printf in a loop", `{{range 5000}}{{if eq (printf "%s%s" (printf "%0100000d" 1) (printf "%0100000d" 2)) "x"}}{{end}}{{end}}`, work},
		{"print doubling a string", `{{$s := "x"}}{{range 100}}{{$s = print $s $s}}{{end}}`, "print " + tooBig},
		{"print building big strings", `{{range 1000}}{{$x := print (printf "%090000d" 1) "y"}}{{end}}`, work},
		{"println in a loop", big + `{{range 1000}}{{$x := println $s}}{{end}}`, work},
		{"slices of a big string compared", big + `{{range 1000}}{{if eq (slice $s 1) (slice $t 1)}}{{end}}{{end}}`, work},
		{"slices of a big string printed", big + `{{range 1000}}<a href="{{slice $s 1}}">x</a>{{end}}`, work},
		{"a big string indexed and compared", big + `{{$l := slice $s 0}}{{range 1000}}{{if eq (index (slice $l 0) 1) (index $t 1)}}{{end}}{{if eq $s $t}}{{end}}{{end}}`, work},
		{"a big value an escaper refuses", big + `{{range 1000}}<a href="{{$s}}">x</a>{{end}}`, work},
		{"the same, written out", big + strings.Repeat(`<a href="{{$s}}">x</a>`, 100), work},
		{"big comparisons written out", big + strings.Repeat(`{{if eq $s $t}}{{end}}`, 100), work},
		{"html of a big value", big + `{{range 1000}}<a href="{{html $s}}">x</a>{{end}}`, work},
		{"urlquery of a big value", big + `{{range 1000}}<a href="{{$s | urlquery}}">x</a>{{end}}`, work},
		{"truncate of a big value", big + `{{range 1000}}{{$x := truncate 1 $s}}{{end}}`, work},
		{"upper of a big value", big + `{{range 1000}}{{$x := upper $s}}{{end}}`, work},
		{"js of a big value", `{{$x := "<<<<<<<<"}}{{range 14}}{{$x = print $x $x}}{{end}}{{js $x}}`, "js " + tooBig},
		{"a short loop over a long body", `{{range 100000}}` + strings.Repeat(`{{if eq 1 1}}{{end}}`, 10) + `{{end}}`, steps},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(Source{Subject: "s", Format: FormatHTML, Body: tc.body, Text: "text"})
			var te *TemplateError
			if !errors.As(err, &te) || !strings.Contains(te.Message, tc.want) {
				t.Fatalf("got %v, want a TemplateError with %q", err, tc.want)
			}
			if te.Line != 1 || te.Col < 2 {
				t.Errorf("got line %d, column %d, want the place of the action", te.Line, te.Col)
			}
		})
	}
}

func TestRenderRefusesAtThePlace(t *testing.T) {
	_, err := Compile(Source{Subject: "s", Format: FormatHTML, Body: "<p>Hi</p>\n" + `{{range 5000}}{{if eq (printf "%0999999d" 1) "x"}}{{end}}{{end}}`})
	want := `body, line 2, column 24: printf would work on more than 256 KB of text; give it shorter values, or smaller widths and precisions`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestRenderRefusesTemplatesCallingTemplates(t *testing.T) {
	var doubling strings.Builder
	for i := range 20 {
		fmt.Fprintf(&doubling, `{{define "t%d"}}{{template "t%d" .}}{{template "t%d" .}}{{end}}`, i, i+1, i+1)
	}
	doubling.WriteString(`{{define "t20"}}x{{end}}{{template "t0" .}}` + ContentSlot)
	for _, tc := range []struct{ name, layout, want string }{
		{"calls doubling at each level", doubling.String(), `would run more than 250000 actions in one email; have templates call each other less`},
		{"a template calling itself", `{{define "a"}}{{if .Data}}{{template "a" .}}{{end}}{{end}}{{template "a" .}}` + ContentSlot, `template "a" calls itself`},
		{"a body calling itself", ContentSlot, `template "content" calls itself`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := "x"
			if tc.layout == ContentSlot {
				body = `{{if .Data.x}}` + ContentSlot + `{{end}}`
			}
			_, err := Compile(Source{Subject: "s", Format: FormatHTML, Body: body, Layout: tc.layout})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestRenderBudgetBoundaries pins the counted limits: a template right at
// one renders, and one a step past it does not, on any machine.
func TestRenderBudgetBoundaries(t *testing.T) {
	// A value of exactly MaxValue: the format's 9 bytes and the width.
	at := fmt.Sprintf(`{{$x := printf "%%0%dd" 1}}`, MaxValue-9)
	past := fmt.Sprintf(`{{$x := printf "%%0%dd" 1}}`, MaxValue-8)
	// Each call takes in its 9-byte format and gives out 100,000 bytes.
	calls := MaxWork / (9 + 100_000)
	loop := `{{range %d}}{{$x := printf "%%0100000d" 1}}{{end}}`
	for _, tc := range []struct {
		name, fits, over, want string
	}{
		{"one value", at, past, "printf would work on more than 256 KB"},
		{"the work of a render", fmt.Sprintf(loop, calls), fmt.Sprintf(loop, calls+1), "more than 16 MB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Compile(Source{Subject: "s", Format: FormatText, Body: tc.fits}); err != nil {
				t.Errorf("at the limit: got %v, want it to render", err)
			}
			if _, err := Compile(Source{Subject: "s", Format: FormatText, Body: tc.over}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("past the limit: got %v, want an error with %q", err, tc.want)
			}
		})
	}

	// A loop body of one action printing a quoted string weighs 3: the
	// action, its command and its argument.
	c, err := Compile(Source{Subject: "s", Format: FormatText, Body: `{{range .Data.items}}{{"x"}}{{end}}`})
	if err != nil {
		t.Fatal(err)
	}
	d := SampleData()
	d.Data = map[string]any{"items": make([]any, MaxSteps/3)}
	if _, err := c.Render(d); err != nil {
		t.Errorf("%d steps: got %v, want it to render", MaxSteps/3*3, err)
	}
	d.Data = map[string]any{"items": make([]any, MaxSteps/3+1)}
	if _, err := c.Render(d); err == nil || !strings.Contains(RenderError(err), "more than 250000 actions") {
		t.Errorf("%d steps: got %v, want the steps error", (MaxSteps/3+1)*3, err)
	}
}

func TestRenderBudgetCannotBeRaised(t *testing.T) {
	for _, body := range []string{
		`{{$x := loop $ -1000000000}}{{range 150000}}{{end}}`,
		`{{range 100000 | steps $ -100}}` + strings.Repeat(`{{if eq 1 1}}{{end}}`, 10) + `{{end}}`,
	} {
		if _, err := Compile(Source{Subject: "s", Format: FormatText, Body: body}); err == nil || !strings.Contains(err.Error(), "the loops would") {
			t.Errorf("%s: got %v, want a loop limit", body, err)
		}
	}
}

func TestRenderMessagesNameWhatWasWritten(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{{upper "a" "b"}}`, `line 1, column 3: upper cannot work here: wrong number of args for upper: want 1 got 2`},
		{`{{printf "%s" upper}}`, `wrong number of args for upper: want 1 got 0`},
		{`{{range 3}}{{if eq $.Data.order_id 3}}{{end}}{{end}}`, `eq $.Data.order_id 3 cannot work here: error calling eq: incompatible types for comparison`},
	} {
		_, err := Compile(Source{Subject: "s", Format: FormatHTML, Body: tc.body})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.body, err, tc.want)
		}
	}
}

// TestRenderFailsRecipientWithTheReason renders a template that is fine
// for the sample contact but not for one whose data makes it work too hard:
// that recipient fails with the reason.
func TestRenderFailsRecipientWithTheReason(t *testing.T) {
	body := `{{with .Contact.Attributes.site}}{{range 1000}}<a href="{{$.Contact.Attributes.site}}">site</a>{{end}}{{end}}`
	compiled, err := Compile(Source{Subject: "s", Format: FormatHTML, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	content := Content{Name: "News", FromEmail: "news@example.com"}
	r := Recipient{SendID: 1, Contact: ContactData{Email: "a@example.com", Attributes: map[string]any{"site": "https://example.com"}}, Date: time.Now()}
	if _, err := content.Build(nil, compiled, 1, r); err != nil {
		t.Fatalf("a short site: got %v", err)
	}
	r.Contact.Attributes["site"] = "javascript" + strings.Repeat("x", 100_000) + ":alert(1)"
	_, err = content.Build(nil, compiled, 1, r)
	want := "render: line 1, column 59: the functions would work through more than 16 MB"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// TestRenderKeepsBigNewsletters renders the largest emails people send,
// with personal touches and every function, well inside the limits.
func TestRenderKeepsBigNewsletters(t *testing.T) {
	body := `<p>Hello {{.Contact.FirstName | default "friend"}}, news for {{.Contact.Attributes.city | default "you"}} on {{date "long" .Data.date}}.</p>
{{range $i, $a := .Data.articles}}<h2>{{printf "%d. %s" $i $a.title | title}}</h2>
<p>{{truncate 200 $a.summary}} {{if eq $a.tag "sale"}}<b>{{upper $a.tag}}</b>{{end}}</p>
<p><a href="{{$a.url}}?ref={{$.Contact.Email | urlquery}}">Read on, {{$.Contact.FirstName | default "friend"}}</a> · {{printf "%.2f" $a.price}} {{lower $.Contact.Attributes.city}}</p>
{{end}}`
	c, err := Compile(Source{Subject: "News for {{.Contact.FirstName}}", Format: FormatHTML, Body: body, Layout: DefaultLayout})
	if err != nil {
		t.Fatal(err)
	}
	d := SampleData()
	articles := make([]any, 50)
	for i := range articles {
		articles[i] = map[string]any{"title": fmt.Sprintf("story %d", i), "summary": strings.Repeat("Flour, water, salt and time. ", 20),
			"tag": []string{"news", "sale"}[i%2], "url": fmt.Sprintf("https://bakery.example/%d", i), "price": 2.5 + float64(i)}
	}
	d.Data = map[string]any{"date": "2024-05-31", "articles": articles}
	r, err := c.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Hello Jane, news for Leeds on Friday, 31 May 2024.", "49. Story 49", "<b>SALE</b>", "ref=jane.doe%40example.com", "51.50 leeds"} {
		if !strings.Contains(r.HTML, want) {
			t.Errorf("html lacks %q", want)
		}
	}
	if len(r.HTML) < 15_000 {
		t.Errorf("html of %d bytes, want the whole newsletter", len(r.HTML))
	}

	for _, busy := range []bool{false, true} {
		c, err := Compile(Source{Subject: "s", Format: FormatHTML, Body: twentyKB(busy), Layout: DefaultLayout})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Render(SampleData()); err != nil {
			t.Errorf("20 KB newsletter: %v", err)
		}
	}
}
