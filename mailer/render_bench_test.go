package mailer

import (
	"fmt"
	"strings"
	"testing"
)

// twentyKB builds a 20 KB HTML newsletter body: articles with links, and
// personal touches either a few times (typical) or in every article.
func twentyKB(personalEveryStory bool) string {
	var b strings.Builder
	b.WriteString(`<p>Hello {{.Contact.FirstName | default "friend"}},</p><p>Here is what's new near {{.Contact.Attributes.city | default "you"}}.</p>`)
	place := "Leeds"
	if personalEveryStory {
		place = `{{.Contact.Attributes.city | default "town"}}`
	}
	for i := 0; b.Len() < 20<<10; i++ {
		fmt.Fprintf(&b, `<h2 style="font-size:18px;margin:24px 0 8px">Story %d: news from the bakery</h2>
<p style="margin:0 0 12px">We baked something new this week in %s. Flour, water, salt and time: the
same four things as ever, and still the loaf comes out different each morning. Come and try it.</p>
<p style="margin:0 0 12px"><a href="https://bakery.example/stories/%d?utm_source=news" style="color:#2563eb">Read the whole story</a></p>
`, i, place, i)
	}
	b.WriteString(`<p>See you soon, {{.Contact.FirstName | default "friend"}}.</p>`)
	return b.String()
}

// BenchmarkRender renders subject, HTML and text of a 20 KB newsletter in the
// default layout for one recipient, the work done per message sent: typical
// has a few personal fields, busy has one in each of its 50 articles. From
// the second render on, the Compiled renders with its variant for the
// campaign, as a campaign's sends do.
func BenchmarkRender(b *testing.B) {
	for _, tc := range []struct {
		name string
		busy bool
	}{{"typical", false}, {"busy", true}} {
		b.Run(tc.name, func(b *testing.B) {
			c, err := Compile(Source{Subject: "News for {{.Contact.FirstName}}", Format: FormatHTML, Body: twentyKB(tc.busy), Layout: DefaultLayout})
			if err != nil {
				b.Fatal(err)
			}
			d := SampleData()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Render(d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
