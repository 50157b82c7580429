package store

import (
	"fmt"
	"iter"
	"strings"
	"unicode"
	"unicode/utf8"

	"herald/mailer/addr"
)

// Names (of contacts, lists, segments, campaigns, templates, tags) and
// subjects are one line of visible text. Typed in a form or sent to the API
// they are refused when they hold a hidden character, with a message naming
// it: the person is there to fix it, and quietly changing a subject they
// approved is worse than asking. A right-to-left override in a subject or a
// name is how "invoice‮fdp.exe" comes to read as "invoiceexe.pdf", and
// zero-width characters let two names that look the same differ. A CSV
// import instead cleans them out with CleanLine, since a whole row refused
// over a byte-order mark or a stray zero-width space pasted from a
// spreadsheet helps nobody. Text that may run over several lines (a list's
// description, the postal address) follows the same rule with CheckText,
// which keeps its line breaks and tabs.
//
// Two invisible characters have a job in ordinary text and stay where they
// do it: the zero-width non-joiner and joiner between letters of the
// scripts that join or form conjuncts (Persian حسن‌زاده, Malayalam,
// Devanagari), and the joiner inside an emoji sequence (👩‍💻), with the tag
// characters that spell a subdivision flag (🏴󠁧󠁢󠁳󠁣󠁴󠁿).

// CheckLine returns what is wrong with s as a one-line name or subject of
// at most max bytes, or "".
func CheckLine(s string, max int) string {
	oneLine := fmt.Sprintf("Use one line of at most %d characters.", max)
	if len(s) > max {
		return oneLine
	}
	if !utf8.ValidString(s) {
		return "Use text encoded as UTF-8."
	}
	for _, r := range hiddenRunes(s) {
		if r == '\n' || r == '\r' || r == '\t' || r == '\u0085' || r == '\u2028' || r == '\u2029' {
			return oneLine
		}
		return hiddenMessage(r)
	}
	return ""
}

// CheckText returns what is wrong with s as text of at most max bytes that
// may run over several lines, such as an address or a description, or "".
// Line breaks and tabs are its own; every other character CheckLine
// refuses is refused here too.
func CheckText(s string, max int) string {
	if len(s) > max {
		return fmt.Sprintf("Use at most %d characters.", max)
	}
	if !utf8.ValidString(s) {
		return "Use text encoded as UTF-8."
	}
	for _, r := range hiddenRunes(s) {
		if r != '\n' && r != '\r' && r != '\t' {
			return hiddenMessage(r)
		}
	}
	return ""
}

// hiddenMessage asks for a hidden character to be taken out, naming it.
func hiddenMessage(r rune) string {
	if unicode.IsControl(r) {
		return fmt.Sprintf("Remove the control character %U.", r)
	}
	return fmt.Sprintf("Remove the invisible character %U; it often comes with pasted text.", r)
}

// CleanLine returns s with what CheckLine refuses taken out: line breaks
// and tabs become a space, other controls and hidden characters are dropped,
// bytes that are not UTF-8 too, and spaces at the ends are trimmed. It does
// not shorten s.
func CleanLine(s string) string { return clean(s, false) }

// CleanText returns s with what CheckText refuses taken out, as CleanLine
// does but keeping line breaks and tabs.
func CleanText(s string) string { return clean(s, true) }

func clean(s string, lines bool) string {
	s = strings.ToValidUTF8(s, "")
	var b strings.Builder
	last := 0
	for i, r := range hiddenRunes(s) {
		if lines && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		b.WriteString(s[last:i])
		if unicode.IsSpace(r) && !strings.HasSuffix(b.String(), " ") {
			b.WriteByte(' ')
		}
		last = i + utf8.RuneLen(r)
	}
	if last == 0 {
		return strings.TrimSpace(s)
	}
	b.WriteString(s[last:])
	return strings.TrimSpace(b.String())
}

// hiddenRunes yields the index and value of each character of s that a
// one-line name or subject may not hold: addr.Invisible ones, less the
// joiners and tags in the places described above.
func hiddenRunes(s string) iter.Seq2[int, rune] {
	return func(yield func(int, rune) bool) {
		prev := rune(-1)
		flagEnd := -1 // tags before this index spell a flag
		for i, r := range s {
			next, _ := utf8.DecodeRuneInString(s[i+utf8.RuneLen(r):])
			hidden := addr.Invisible(r)
			switch {
			case !hidden:
			case r == '\u200c':
				hidden = !joinsLetters(prev, next)
			case r == '\u200d':
				hidden = !joinsLetters(prev, next) && !joinsEmoji(prev, next)
			case isTag(r) && i < flagEnd:
				hidden = false
			case isTag(r) && prev == '\U0001F3F4':
				if end := flagTags(s[i:]); end > 0 {
					flagEnd, hidden = i+end, false
				}
			}
			if hidden && !yield(i, r) {
				return
			}
			prev = r
		}
	}
}

// joiningScripts are the scripts whose words use the zero-width joiner and
// non-joiner: cursive scripts that join letters and Brahmic scripts that
// form conjuncts.
var joiningScripts = []*unicode.RangeTable{unicode.Arabic, unicode.Syriac, unicode.Nko, unicode.Mandaic, unicode.Mongolian,
	unicode.Devanagari, unicode.Bengali, unicode.Gurmukhi, unicode.Gujarati, unicode.Oriya, unicode.Tamil, unicode.Telugu,
	unicode.Kannada, unicode.Malayalam, unicode.Sinhala, unicode.Tibetan, unicode.Myanmar, unicode.Khmer}

// joinsLetters reports whether a joiner between prev and next sits inside a
// word of a joining script.
func joinsLetters(prev, next rune) bool {
	letter := func(r rune) bool {
		return unicode.In(r, unicode.L, unicode.M) && unicode.In(r, joiningScripts...)
	}
	return letter(prev) && letter(next)
}

// joinsEmoji reports whether a zero-width joiner between prev and next
// builds one emoji from two, as in 👩‍💻 or 🏳️‍🌈.
func joinsEmoji(prev, next rune) bool {
	return (isPictograph(prev) || prev == '\uFE0F') && isPictograph(next)
}

// isPictograph reports whether r is in the blocks emoji sequences are built
// from: symbols, dingbats, arrows and the supplementary emoji planes.
func isPictograph(r rune) bool {
	return r >= 0x1F000 && r <= 0x1FFFF || r >= 0x2190 && r <= 0x2BFF || r == 0x00A9 || r == 0x00AE ||
		r == 0x203C || r == 0x2049 || r == 0x2122 || r == 0x2139 || r == 0x3030 || r == 0x303D || r == 0x3297 || r == 0x3299
}

func isTag(r rune) bool { return r >= 0xE0020 && r <= 0xE007F }

// flagTags returns the length of the tag sequence that opens s when it
// spells a subdivision flag after 🏴 (two to six tag letters or digits and a
// cancel tag), or 0.
func flagTags(s string) int {
	n := 0
	for i, r := range s {
		switch {
		case r == 0xE007F && n >= 2:
			return i + utf8.RuneLen(r)
		case n < 6 && (r >= 0xE0030 && r <= 0xE0039 || r >= 0xE0061 && r <= 0xE007A):
			n++
		default:
			return 0
		}
	}
	return 0
}
