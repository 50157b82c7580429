package feedback

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fixture reads a file under testdata.
func fixture(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtures reads every JSON file of a provider, for fuzz seeds.
func fixtures(t testing.TB, provider string) [][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", provider, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures for %s: %v", provider, err)
	}
	var out [][]byte
	for _, p := range paths {
		out = append(out, fixture(t, strings.TrimPrefix(p, "testdata/")))
	}
	return out
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// compareReports fails unless got and want are the same reports in order.
func compareReports(t *testing.T, got, want []Report) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d reports, want %d: %+v", len(got), len(want), got)
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("report %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// checkReports holds what every parser promises of every report, whatever
// it was given.
func checkReports(t *testing.T, rs []Report) {
	t.Helper()
	for _, r := range rs {
		if r.Kind == "" || r.Provider == "" {
			t.Errorf("report without kind or provider: %+v", r)
		}
		if r.Kind == Bounce && r.Severity == "" {
			t.Errorf("bounce without severity: %+v", r)
		}
		for _, s := range []string{r.Reason, r.EventID, r.UserAgent, r.IP, r.URL} {
			if len(s) > MaxReason || strings.ContainsAny(s, "\r\n") || !utf8.ValidString(s) {
				t.Errorf("field not one valid line of at most MaxReason: %q", s)
			}
		}
		if r.Recipient != strings.ToLower(r.Recipient) {
			t.Errorf("recipient not lower case: %q", r.Recipient)
		}
		if r.Code != 0 && (r.Code < 200 || r.Code > 599) {
			t.Errorf("code %d is not an SMTP reply code", r.Code)
		}
		if r.Status != "" && !enhancedStatus(r.Status) {
			t.Errorf("status %q is not an enhanced status code", r.Status)
		}
	}
}

// fuzzReports fuzzes a parser, seeded with a provider's fixtures.
func fuzzReports(f *testing.F, provider string, parse func([]byte) ([]Report, error)) {
	for _, b := range fixtures(f, provider) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rs, err := parse(body)
		if err != nil && rs != nil {
			t.Fatalf("reports with an error: %v", err)
		}
		checkReports(t, rs)
	})
}

// rejectsAll checks that a parser refuses every named body.
func rejectsAll(t *testing.T, bodies map[string]string, parse func([]byte) error) {
	t.Helper()
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			if err := parse([]byte(body)); err == nil {
				t.Fatal("got nil, want an error")
			}
		})
	}
}

func TestSMTPReply(t *testing.T) {
	cases := []struct {
		in, status, reason string
		code               int
	}{
		{"smtp; 550 5.1.1 <jane@example.com>... User", "5.1.1", "550 5.1.1 <jane@example.com>... User", 550},
		{"X-Postfix; unknown user", "", "unknown user", 0},
		{"550-5.1.1 The email account", "5.1.1", "550-5.1.1 The email account", 550},
		{"250 ok:  Message accepted", "", "250 ok: Message accepted", 250},
		{"4.2.2 over quota", "4.2.2", "4.2.2 over quota", 0},
		{"600 not smtp", "", "600 not smtp", 0},
		{"5500 too long", "", "5500 too long", 0},
		{"550 9.1.1 odd status", "", "550 9.1.1 odd status", 550},
		{"", "", "", 0},
	}
	for _, c := range cases {
		code, status, reason := smtpReply(c.in)
		if code != c.code || status != c.status || reason != c.reason {
			t.Errorf("smtpReply(%q): got %d %q %q, want %d %q %q", c.in, code, status, reason, c.code, c.status, c.reason)
		}
	}
}

func TestReasonLine(t *testing.T) {
	long := strings.Repeat("é", MaxReason) // two bytes each
	cases := map[string]string{
		"one\r\ntwo\tthree": "one two three",
		"  padded  ":        "padded",
		"bad \xff byte":     "bad \uFFFD byte",
		"nul\x00here":       "nul here",
	}
	for in, want := range cases {
		if got := reasonLine(in); got != want {
			t.Errorf("reasonLine(%q): got %q, want %q", in, got, want)
		}
	}
	got := reasonLine(long)
	if len(got) > MaxReason || !utf8.ValidString(got) || len(got) < MaxReason-1 {
		t.Errorf("reasonLine of a long text: got %d bytes (valid %v), want at most %d", len(got), utf8.ValidString(got), MaxReason)
	}
}

func TestStatusCategory(t *testing.T) {
	cases := map[string]string{
		"5.1.1": UserUnknown, "5.1.10": DomainNotFound, "4.2.2": MailboxFull, "5.2.2": MailboxFull,
		"5.3.4": TooLarge, "4.4.7": Expired, "4.4.1": Network, "5.7.1": Policy, "5.7.26": Policy,
		"5.0.0": "", "2.0.0": "", "": "", "x.y.z": "",
	}
	for in, want := range cases {
		if got := statusCategory(in); got != want {
			t.Errorf("statusCategory(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestTimes(t *testing.T) {
	if got, want := isoTime("2014-08-01T13:28:10.2735393-04:00"), time.Date(2014, 8, 1, 17, 28, 10, 273539300, time.UTC); !got.Equal(want) {
		t.Errorf("isoTime with zone: got %v, want %v", got, want)
	}
	if got, want := isoTime("2020-02-01T10:53:34.416071"), time.Date(2020, 2, 1, 10, 53, 34, 416071000, time.UTC); !got.Equal(want) {
		t.Errorf("isoTime without zone: got %v, want %v", got, want)
	}
	for _, bad := range []string{"", "yesterday", "NaN", "-1", "1e300", "Inf"} {
		if !isoTime(bad).IsZero() || !unixTime(looseString(bad)).IsZero() {
			t.Errorf("time of %q: got non-zero, want zero", bad)
		}
	}
	if got := unixTime("1513299569"); !got.Equal(time.Unix(1513299569, 0)) {
		t.Errorf("unixTime: got %v", got)
	}
}
