package mailer

import (
	"strings"
	"testing"
)

// tidyTextLines is tidyText as it was first written, a line at a time: the
// reference the in-place pass must match.
func tidyTextLines(s string) string {
	if tidy([]byte(s)) {
		return strings.TrimSpace(s) + "\n"
	}
	var b strings.Builder
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

func FuzzTidyText(f *testing.F) {
	for _, seed := range []string{"", "\n", "a", "a\n", "\n\n\na\n\n\n", " a \n\tb\t\n\n\nc", "a\r\nb\r\n", "\u00a0a\u00a0\n", "\f\n a", "a \n \n \nb",
		"x\n\n\n\ny\n \n\t\nz  ", strings.Repeat("line  \n\n\n", 50), "\v a \v"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := tidyText(s), tidyTextLines(s); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
		var b strings.Builder
		b.WriteString("subject and html before ")
		if got, want := tidyInto(&b, []byte(s)), tidyTextLines(s); got != want {
			t.Fatalf("after other text: got %q, want %q", got, want)
		}
	})
}
