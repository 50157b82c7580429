package feedback

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// corpusDir returns the folder of real bounce messages: under
// $HERALD_TESTDATA when set, else ../shared/testdata beside the module
// root. It skips the test when the folder is absent.
func corpusDir(t testing.TB) string {
	t.Helper()
	root := os.Getenv("HERALD_TESTDATA")
	if root == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for dir != filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			dir = filepath.Dir(dir)
		}
		root = filepath.Join(dir, "..", "shared", "testdata")
	}
	dir := filepath.Join(root, "bounces")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no bounce corpus at %s", dir)
	}
	return dir
}

// corpusFiles returns the names of the corpus's messages, sorted.
func corpusFiles(t testing.TB, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no messages in %s: %v", dir, err)
	}
	sort.Strings(names)
	return names
}

// corpusExceptions are the corpus files that cannot meet the rule for
// their kind, each with why.
var corpusExceptions = map[string]string{
	// An Apple Mail RFC 8058 mailto unsubscribe request, filed with the
	// complaints: it is handled as an unsubscribe, not as feedback.
	"arf-26.eml": "unsubscribe request",
	// Amazon SES events in JSON, sent by SNS's email protocol and wrapped
	// by it mid-token: Herald takes SES events from SNS over HTTPS, so
	// ParseMail answers ErrNotReport. Two are deliveries, one a complaint.
	"lhost-amazonses-09.eml": "SES event by SNS email",
	"lhost-amazonses-10.eml": "SES event by SNS email",
	"lhost-amazonses-11.eml": "SES event by SNS email",
	"lhost-amazonses-12.eml": "SES event by SNS email",
	"lhost-amazonses-13.eml": "SES event by SNS email",
	// Notices from the fml list manager to a poster ("you are not a
	// member", "duplicated Message-ID"): a list's answer, not a failed
	// delivery, and nothing in them says they are automatic.
	"lhost-fml-02.eml": "list manager notice",
	"lhost-fml-03.eml": "list manager notice",
	// A Postfix address-verification report (Action: deliverable, 2.1.5):
	// a Delivery, not a bounce.
	"rfc3464-28.eml": "verification report",
}

var statusLine = regexp.MustCompile(`(?mi)^Status:\s*[245]\.\d{1,3}\.\d{1,3}`)

// corpusShares counts how bounce files were classified.
type corpusShares struct {
	bounces, classified, undetermined, categorised, withStatus int
	undeterminedFiles                                          []string
}

func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	var s corpusShares
	for _, path := range corpusFiles(t, dir) {
		name := filepath.Base(path)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		reports, err := ParseMail(raw)
		if why, ok := corpusExceptions[name]; ok {
			t.Logf("%s: exception (%s): %d reports, %v", name, why, len(reports), err)
			continue
		}
		if err != nil {
			t.Errorf("%s: got error %v, want none", name, err)
			continue
		}
		switch {
		case strings.HasPrefix(name, "arf-"):
			if !hasKind(reports, Complaint) {
				t.Errorf("%s: got %+v, want a complaint", name, reports)
			}
		case strings.HasPrefix(name, "rfc3834-"):
			if !hasKind(reports, AutoReply) || hasKind(reports, Bounce) {
				t.Errorf("%s: got %+v, want an auto-reply and no bounce", name, reports)
			}
		default:
			checkBounce(t, name, raw, reports, &s)
		}
	}
	logShares(t, s)
}

// checkBounce checks one bounce file's reports and counts them in s.
func checkBounce(t *testing.T, name string, raw []byte, reports []Report, s *corpusShares) {
	s.bounces++
	r, ok := firstBounce(reports)
	if !ok {
		t.Errorf("%s: got %+v, want a bounce or delay", name, reports)
		return
	}
	switch r.Severity {
	case Hard, Soft:
		s.classified++
	case Undetermined:
		s.undetermined++
		s.undeterminedFiles = append(s.undeterminedFiles, name)
	default:
		t.Errorf("%s: got severity %q", name, r.Severity)
	}
	if r.Category != Other {
		s.categorised++
	}
	if r.Status != "" {
		s.withStatus++
	}
	if statusLine.Match(raw) && r.Status == "" {
		t.Errorf("%s: got no status, want the one in its Status line (%+v)", name, r)
	}
	// HERALD_CORPUS_DUMP=1 with -v lists every file's verdict, to review
	// the phrase table against the corpus after a change.
	if testing.Verbose() && os.Getenv("HERALD_CORPUS_DUMP") != "" {
		t.Logf("%s: %s %s %s %d %q rcpt=%q id=%q", name, r.Severity, r.Category, r.Status, r.Code, r.Reason, r.Recipient, r.MessageID)
	}
}

// firstBounce returns the first Bounce or Delay in reports.
func firstBounce(reports []Report) (Report, bool) {
	for _, r := range reports {
		if r.Kind == Bounce || r.Kind == Delay {
			return r, true
		}
	}
	return Report{}, false
}

func hasKind(reports []Report, k Kind) bool {
	for _, r := range reports {
		if r.Kind == k {
			return true
		}
	}
	return false
}

// logShares prints the shares of the bounce files and fails below 95%
// classified hard or soft.
func logShares(t *testing.T, s corpusShares) {
	if s.bounces == 0 {
		return
	}
	pct := func(n int) float64 { return 100 * float64(n) / float64(s.bounces) }
	t.Logf("%d bounce files: %.1f%% hard or soft, %.1f%% undetermined %v, %.1f%% with a category other than %q, %.1f%% with a status",
		s.bounces, pct(s.classified), pct(s.undetermined), s.undeterminedFiles, pct(s.categorised), Other, pct(s.withStatus))
	if pct(s.classified) < 95 {
		t.Errorf("got %.1f%% of bounces classified hard or soft, want at least 95%%", pct(s.classified))
	}
}

func BenchmarkParseMail(b *testing.B) {
	dir := corpusDir(b)
	var mails [][]byte
	for _, path := range corpusFiles(b, dir) {
		raw, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		mails = append(mails, raw)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, raw := range mails {
			_, _ = ParseMail(raw)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(mails)), "µs/msg")
}
