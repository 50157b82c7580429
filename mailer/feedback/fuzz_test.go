package feedback

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzParseMail(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	for _, path := range seeds {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add(dsn("Final-Recipient: rfc822; kim@example.com\nAction: failed\nStatus: 5.1.1"))
	f.Add(arf("Feedback-Type: abuse\nOriginal-Rcpt-To: kim@example.com"))
	f.Add(textBounce("Remote host said: 550 5.1.1 User unknown"))
	f.Add([]byte("Content-Type: multipart/report; boundary=\"\"\n\n--\n--\n"))
	f.Add([]byte("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n!!!\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		reports, err := ParseMail(raw)
		if err != nil {
			return
		}
		if len(reports) == 0 || len(reports) > maxRecipients {
			t.Fatalf("got %d reports and no error", len(reports))
		}
		for _, r := range reports {
			if len(r.Reason) > MaxReason {
				t.Fatalf("got a reason of %d bytes", len(r.Reason))
			}
		}
	})
}
