package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// lineCases are names and subjects with what CheckLine says ("" for fine)
// and what CleanLine makes of them.
var lineCases = []struct {
	name, in, says, clean string
}{
	{"plain", "May newsletter", "", "May newsletter"},
	{"accents and scripts", "Café Müller · 東京 · Ελλάδα", "", "Café Müller · 東京 · Ελλάδα"},
	{"hebrew", "שלום עולם", "", "שלום עולם"},
	{"emoji", "Sale 🎉 today", "", "Sale 🎉 today"},
	{"emoji zwj sequence", "Our team 👩\u200d💻👨\u200d👩\u200d👧", "", "Our team 👩\u200d💻👨\u200d👩\u200d👧"},
	{"emoji zwj after variation selector", "Pride 🏳\ufe0f\u200d🌈", "", "Pride 🏳\ufe0f\u200d🌈"},
	{"emoji zwj with skin tone", "🧑🏽\u200d🚀 launch", "", "🧑🏽\u200d🚀 launch"},
	{"subdivision flag", "Hello 🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", "",
		"Hello 🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F"},
	{"persian non-joiner", "حسن\u200cزاده", "", "حسن\u200cزاده"},
	{"devanagari joiner", "क्\u200dष", "", "क्\u200dष"},
	{"right-to-left override", "invoice\u202efdp.exe", "U+202E", "invoicefdp.exe"},
	{"left-to-right embedding", "a\u202ab", "U+202A", "ab"},
	{"pop directional", "a\u202cb", "U+202C", "ab"},
	{"isolate", "a\u2066b\u2069", "U+2066", "ab"},
	{"left-to-right mark", "a\u200eb", "U+200E", "ab"},
	{"right-to-left mark", "a\u200fb", "U+200F", "ab"},
	{"arabic letter mark", "a\u061cb", "U+061C", "ab"},
	{"zero-width space", "Pay\u200bPal", "U+200B", "PayPal"},
	{"non-joiner between latin letters", "Pay\u200cPal", "U+200C", "PayPal"},
	{"joiner between latin letters", "Pay\u200dPal", "U+200D", "PayPal"},
	{"joiner after an emoji, before a letter", "🎉\u200dA", "U+200D", "🎉A"},
	{"joiner at the end", "👩\u200d", "U+200D", "👩"},
	{"byte-order mark", "\ufeffAnn", "U+FEFF", "Ann"},
	{"word joiner", "Ann\u2060Lee", "U+2060", "AnnLee"},
	{"soft hyphen", "Ann\u00adLee", "U+00AD", "AnnLee"},
	{"stray tags", "Hi\U000E0041\U000E0042", "U+E0041", "Hi"},
	{"flag tags without a cancel tag", "🏴\U000E0067\U000E0062", "U+E0067", "🏴"},
	{"hangul filler", "\u3164", "U+3164", ""},
	{"NUL", "Hello\x00", "control character U+0000", "Hello"},
	{"escape", "Hello\x1b[31m", "control character U+001B", "Hello[31m"},
	{"line break", "Hello\nworld", "Use one line", "Hello world"},
	{"carriage return", "Hello\r\nworld", "Use one line", "Hello world"},
	{"line separator", "Hello\u2028world", "Use one line", "Hello world"},
	{"tab", "Hello\tworld", "Use one line", "Hello world"},
	{"not UTF-8", "Caf\xe9", "UTF-8", "Caf"},
	{"too long", strings.Repeat("a", 101), "at most 100", strings.Repeat("a", 101)},
}

func TestCheckLine(t *testing.T) {
	t.Parallel()
	for _, tc := range lineCases {
		t.Run(tc.name, func(t *testing.T) {
			got := CheckLine(tc.in, 100)
			if tc.says == "" && got != "" || !strings.Contains(got, tc.says) {
				t.Errorf("got %q, want %q", got, tc.says)
			}
		})
	}
}

func TestCleanLine(t *testing.T) {
	t.Parallel()
	for _, tc := range lineCases {
		t.Run(tc.name, func(t *testing.T) {
			got := CleanLine(tc.in)
			if got != tc.clean {
				t.Errorf("got %q, want %q", got, tc.clean)
			}
			if msg := CheckLine(got, len(got)); msg != "" {
				t.Errorf("CheckLine(CleanLine(%q)): got %q, want \"\"", tc.in, msg)
			}
		})
	}
}

func FuzzCleanLine(f *testing.F) {
	for _, tc := range lineCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if text := CleanText(in); CheckText(text, len(text)) != "" || len(text) > len(in) {
			t.Fatalf("CleanText(%q): got %q, which CheckText refuses or is longer", in, text)
		}
		got := CleanLine(in)
		if msg := CheckLine(got, len(got)); msg != "" {
			t.Fatalf("CheckLine(CleanLine(%q)) = CheckLine(%q): got %q, want \"\"", in, got, msg)
		}
		if len(got) > len(in) {
			t.Fatalf("CleanLine(%q): got %q, longer than what it was given", in, got)
		}
		if CheckLine(in, len(in)) == "" && got != strings.TrimSpace(in) {
			t.Fatalf("CleanLine(%q): got %q, want a valid line only trimmed", in, got)
		}
	})
}

// TestNamesAndSubjectsRefuseHiddenCharacters saves each kind of name and
// subject with a right-to-left override and with an emoji sequence: the
// first is refused naming its field, the second kept.
func TestNamesAndSubjectsRefuseHiddenCharacters(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	saves := map[string]func(v string) error{
		"contact first_name": func(v string) error {
			email := "ann@example.com"
			_, _, err := s.CreateContact(ctx, ContactInput{Email: &email, FirstName: &v}, true)
			return err
		},
		"contact last_name": func(v string) error {
			email := "ann@example.com"
			_, _, err := s.CreateContact(ctx, ContactInput{Email: &email, LastName: &v}, true)
			return err
		},
		"contact tags": func(v string) error {
			email := "ann@example.com"
			_, _, err := s.CreateContact(ctx, ContactInput{Email: &email, Tags: &[]string{v}}, true)
			return err
		},
		"list name": func(v string) error {
			_, err := s.CreateList(ctx, ListInput{Name: &v})
			return err
		},
		"segment name": func(v string) error {
			_, err := s.CreateSegment(ctx, SegmentInput{Name: &v, Rules: &Rule{Match: "all", Conditions: []Rule{{Field: "email", Op: "is_set"}}}})
			return err
		},
		"campaign name": func(v string) error {
			_, err := s.CreateCampaign(ctx, CampaignInput{Name: &v})
			return err
		},
		"campaign subject": func(v string) error {
			_, err := s.CreateCampaign(ctx, CampaignInput{Name: ptr("C"), Subject: &v})
			return err
		},
		"campaign preheader": func(v string) error {
			_, err := s.CreateCampaign(ctx, CampaignInput{Name: ptr("C"), Preheader: &v})
			return err
		},
		"campaign from_name": func(v string) error {
			_, err := s.CreateCampaign(ctx, CampaignInput{Name: ptr("C"), FromName: &v})
			return err
		},
		"template name": func(v string) error {
			_, err := s.CreateTemplate(ctx, TemplateInput{Name: &v}, nil)
			return err
		},
		"template subject": func(v string) error {
			_, err := s.CreateTemplate(ctx, TemplateInput{Name: ptr("T"), Subject: &v}, nil)
			return err
		},
		"settings org_name": func(v string) error {
			_, err := s.SaveGeneral(ctx, General{OrgName: v})
			return err
		},
		"settings from_name": func(v string) error {
			_, err := s.SaveGeneral(ctx, General{FromName: v})
			return err
		},
		"relay name": func(v string) error {
			in := validRelay()
			in.Name = v
			_, err := s.CreateRelay(ctx, in)
			return err
		},
		"confirmation email subject": func(v string) error {
			e := DefaultConfirmEmail
			e.Subject = v
			return s.SaveConfirmEmail(ctx, e, func(ConfirmEmail) map[string]string { return nil })
		},
	}
	n := 0
	for what, save := range saves {
		field := what[strings.LastIndexByte(what, ' ')+1:]
		for _, bad := range []string{"Invoice\u202efdp.exe", "Hello\x00", "Hi\u200bthere"} {
			err := save(bad)
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(ve.Fields[field], "character U+") {
				t.Errorf("%s %q: got %v, want a validation error naming %s and the character", what, bad, err, field)
			}
		}
		n++
		if err := save("Team news 👩\u200d💻 " + strings.Repeat("🎉", n)); err != nil {
			t.Errorf("%s with an emoji sequence: got %v, want it saved", what, err)
		}
	}
}

// TestTextKeepsLinesRefusesHiddenCharacters saves each text that may run
// over several lines with line breaks and tabs, which are kept, and with a
// hidden character, which is refused naming its field.
func TestTextKeepsLinesRefusesHiddenCharacters(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	saves := map[string]struct {
		save func(v string) error
		read func() (string, error)
	}{
		"list description": {
			func(v string) error {
				_, err := s.CreateList(ctx, ListInput{Name: ptr("News"), Description: &v})
				return err
			},
			func() (string, error) {
				ls, err := s.Lists(ctx)
				if err != nil || len(ls) == 0 {
					return "", err
				}
				return ls[len(ls)-1].Description, nil
			},
		},
		"segment description": {
			func(v string) error {
				_, err := s.CreateSegment(ctx, SegmentInput{Name: ptr("Everyone"), Description: &v, Rules: &Rule{Match: "all", Conditions: []Rule{{Field: "email", Op: "is_set"}}}})
				return err
			},
			func() (string, error) {
				gs, err := s.Segments(ctx)
				if err != nil || len(gs) == 0 {
					return "", err
				}
				return gs[0].Description, nil
			},
		},
		"settings postal_address": {
			func(v string) error {
				_, err := s.SaveGeneral(ctx, General{PostalAddress: v})
				return err
			},
			func() (string, error) {
				g, err := s.General(ctx)
				return g.PostalAddress, err
			},
		},
	}
	for what, f := range saves {
		field := what[strings.LastIndexByte(what, ' ')+1:]
		for _, bad := range []string{"d\u202ex\u0000", "1 Main St\n\u200bSpringfield", "Bell\a", "a\u2028b"} {
			err := f.save(bad)
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(ve.Fields[field], "character U+") {
				t.Errorf("%s %q: got %v, want a validation error naming %s and the character", what, bad, err, field)
			}
		}
		const good = "Acme Ltd\r\n1 Main St\tUnit 2\nحسن\u200cزاده 👩\u200d💻"
		if err := f.save(good); err != nil {
			t.Errorf("%s on several lines: got %v, want it saved", what, err)
		}
		if got, err := f.read(); err != nil || got != good {
			t.Errorf("%s read back: got %q (%v), want %q", what, got, err, good)
		}
	}
}

// TestCheckAndCleanText: what CheckText says of text that may run over
// lines, and what CleanText makes of it.
func TestCheckAndCleanText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, says, clean string }{
		{"lines and tabs", "a\r\nb\tc", "", "a\r\nb\tc"},
		{"right-to-left override", "a\u202eb", "invisible character U+202E", "ab"},
		{"NUL", "a\x00", "control character U+0000", "a"},
		{"next line", "a\u0085b", "control character U+0085", "a b"},
		{"paragraph separator", "a\u2029b", "invisible character U+2029", "a b"},
		{"zero-width space after a line break", "a\n\u200bb", "invisible character U+200B", "a\nb"},
		{"not UTF-8", "Caf\xe9", "UTF-8", "Caf"},
		{"too long", strings.Repeat("a", 11), "at most 10", strings.Repeat("a", 11)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CheckText(tc.in, 10); tc.says == "" && got != "" || !strings.Contains(got, tc.says) {
				t.Errorf("CheckText: got %q, want %q", got, tc.says)
			}
			if got := CleanText(tc.in); got != tc.clean {
				t.Errorf("CleanText: got %q, want %q", got, tc.clean)
			}
		})
	}
}

// TestAttributeTextRefusesHiddenCharacters sets text attributes through
// the store, as the API and the contact form do: a right-to-left override
// or a NUL is refused naming the attribute, while line breaks and a joined
// emoji are kept.
func TestAttributeTextRefusesHiddenCharacters(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	for _, bad := range []string{"Co\u202eX", "a\x00b"} {
		_, _, err := s.CreateContact(ctx, ContactInput{Email: ptr("hidden@example.com"), Attributes: map[string]any{"company": bad}}, false)
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(validationText(ve), `"company"`) {
			t.Errorf("attribute %q: got %v, want a refusal naming the attribute", bad, err)
		}
	}
	c, _, err := s.CreateContact(ctx, ContactInput{Email: ptr("kept@example.com"), Attributes: map[string]any{"notes": "line one\nline two 👩\u200d💻"}}, false)
	if err != nil || c.Attributes["notes"] != "line one\nline two 👩\u200d💻" {
		t.Errorf("line breaks and a joined emoji: got %v, %v; want them kept", c.Attributes["notes"], err)
	}
}

func validationText(ve *ValidationError) string { return strings.Join(ve.Messages(), " ") }
