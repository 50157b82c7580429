package inbound

import (
	"bufio"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func bodies(box []imapStored) []string {
	var out []string
	for _, m := range box {
		out = append(out, m.body)
	}
	return out
}

func TestIMAPPollerListsAWindowAtATime(t *testing.T) {
	defer func(n int) { listWindow = n }(listWindow)
	listWindow = 2
	srv := newIMAPServer(t, TLSNone, mailbox...)
	var rec recorder
	if err := newTestPoller(t, rec.handle).poll(context.Background(), srv.config()); err != nil {
		t.Fatalf("poll: got %v, want nil", err)
	}
	if box, _ := srv.state(); len(rec.mails()) != 3 || len(box) != 0 || !slices.Equal(srv.listed, []string{"1:2", "3:3"}) {
		t.Fatalf("got %d handled, %d left, FETCH %q, want 3, 0, [1:2 3:3]", len(rec.mails()), len(box), srv.listed)
	}
}

func TestIMAPPollerMissingFolder(t *testing.T) {
	srv := newIMAPServer(t, TLSNone, mailbox...)
	var rec recorder
	cfg := srv.config()
	cfg.Folder = "Bounces"
	err := newTestPoller(t, rec.handle).poll(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "SELECT Bounces") || !strings.Contains(err.Error(), "no such mailbox") {
		t.Fatalf("poll of a missing folder: got %v, want SELECT refused with the server's words", err)
	}
	if n := len(rec.mails()); n != 0 {
		t.Fatalf("handled: got %d, want 0", n)
	}
}

func TestIMAPPollerReadsTheFolderGiven(t *testing.T) {
	srv := newIMAPServer(t, TLSNone, mailbox...)
	srv.folder = `Bounces "old"`
	srv.pass = "pässwörd" // not ASCII: sent as a literal
	var rec recorder
	p := newTestPoller(t, rec.handle)
	if err := p.poll(context.Background(), srv.config()); err != nil {
		t.Fatalf("poll: got %v, want nil", err)
	}
	if n := len(rec.mails()); n != 3 || !slices.Equal(srv.logins, []string{"pässwörd"}) {
		t.Fatalf("handled %d, logins %q, want 3 and the password as sent", n, srv.logins)
	}
}

// A poll cut off before its expunge leaves the messages it took flagged
// \Deleted on the server. A poller that starts afresh (a restart: it
// remembers nothing) reads them again, which the intake counts once, as
// every report, and expunges them; a poller that remembers them does not
// read them again.
func TestIMAPPollerAfterACutOff(t *testing.T) {
	srv := newIMAPServer(t, TLSNone, mailbox...)
	srv.dropExpunge = 1
	var rec recorder
	p := newTestPoller(t, rec.handle)
	if err := p.poll(context.Background(), srv.config()); err == nil || !strings.Contains(err.Error(), "EXPUNGE") {
		t.Fatalf("first poll: got %v, want an EXPUNGE error", err)
	}
	if box, _ := srv.state(); len(box) != 3 {
		t.Fatalf("folder after a failed expunge: got %d messages, want 3", len(box))
	}
	srv.dropExpunge = 1
	if err := p.poll(context.Background(), srv.config()); err == nil {
		t.Fatal("second poll: got nil, want an EXPUNGE error")
	}
	if _, fetched := srv.state(); len(fetched) != 3 {
		t.Fatalf("the same poller fetched %v, want the three of the first poll only", fetched)
	}
	if err := newTestPoller(t, rec.handle).poll(context.Background(), srv.config()); err != nil {
		t.Fatalf("poll after a restart: got %v, want nil", err)
	}
	box, fetched := srv.state()
	if got := raws(rec.mails()); len(box) != 0 || len(fetched) != 6 || !slices.Equal(got[3:], mailbox) {
		t.Fatalf("after the restart: %d left, fetched %v, handled %d, want 0, six, the three again", len(box), fetched, len(got))
	}
}

// A message another client flagged \Deleted is read like any other before
// it is expunged.
func TestIMAPPollerReadsWhatOthersFlagged(t *testing.T) {
	srv := newIMAPServer(t, TLSNone, mailbox...)
	srv.box[1].deleted = true
	var rec recorder
	if err := newTestPoller(t, rec.handle).poll(context.Background(), srv.config()); err != nil {
		t.Fatalf("poll: got %v, want nil", err)
	}
	if got := raws(rec.mails()); !slices.Equal(got, mailbox) {
		t.Fatalf("handled %q, want all three", got)
	}
}

// A message the server cannot give is left, and the poll goes on.
func TestIMAPPollerGoesPastAMessageWithNoBody(t *testing.T) {
	srv := newIMAPServer(t, TLSNone, mailbox...)
	srv.nilBody = map[int]bool{12: true}
	var rec recorder
	if err := newTestPoller(t, rec.handle).poll(context.Background(), srv.config()); err != nil {
		t.Fatalf("poll: got %v, want nil", err)
	}
	box, _ := srv.state()
	if got := raws(rec.mails()); !slices.Equal(got, []string{mailbox[0], mailbox[2]}) || !slices.Equal(bodies(box), mailbox[1:2]) {
		t.Fatalf("handled %d, left %q, want the first and third handled and the second left", len(got), bodies(box))
	}
}

// Without UIDPLUS, EXPUNGE would take every message flagged \Deleted,
// taken or not: a poll that leaves one expunges nothing.
func TestIMAPPollerWithoutUIDPlusExpungesOnlyWhenAllAreTaken(t *testing.T) {
	srv := newIMAPServer(t, TLSNone, mailbox...)
	srv.uidplus = false
	srv.box[2].deleted = true // by another client
	var rec recorder
	p := newTestPoller(t, func(ctx context.Context, m Mail) error {
		if strings.Contains(string(m.Raw), "second") {
			return errors.New("database is locked")
		}
		return rec.handle(ctx, m)
	})
	if err := p.poll(context.Background(), srv.config()); err == nil {
		t.Fatal("poll: got nil, want message 12 left")
	}
	if box, _ := srv.state(); len(box) != 3 || len(srv.expunges) != 0 {
		t.Fatalf("after a poll that left one: %d in the folder, expunges %q, want 3 and none", len(box), srv.expunges)
	}
}

func TestIMAPPollerRefusesAReadOnlyFolder(t *testing.T) {
	srv := newIMAPServer(t, TLSNone, mailbox...)
	srv.readOnly = true
	var rec recorder
	err := newTestPoller(t, rec.handle).poll(context.Background(), srv.config())
	if err == nil || !strings.Contains(err.Error(), "read-only") || len(rec.mails()) != 0 {
		t.Fatalf("poll: got %v and %d handled, want a read-only error and none", err, len(rec.mails()))
	}
}

func TestReadIMAP(t *testing.T) {
	for _, tc := range []struct {
		wire, want string
	}{
		{"* OK [CAPABILITY IMAP4rev1] ready\r\n", `* OK "[CAPABILITY IMAP4rev1] ready" []`},
		{"h1 NO [AUTHENTICATIONFAILED] no\r\n", `h1 NO "[AUTHENTICATIONFAILED] no" []`},
		{"+ go\r\n", `+  "go" []`},
		{"* 3 EXISTS\r\n", `*  "" [3 EXISTS]`},
		{"* 1 FETCH (UID 7 FLAGS (\\Seen) BODY[HEADER.FIELDS (TO)] {4}\r\nab\r\n RFC822.SIZE 4)\r\n",
			`*  "" [1 FETCH [UID 7 FLAGS [\Seen] BODY[HEADER.FIELDS (TO)] ab` + "\r\n" + ` RFC822.SIZE 4]]`},
		{"* LIST () \"/\" \"a \\\"b\\\"\"\n", `*  "" [LIST [] / a "b"]`},
		{"* 2 FETCH (FLAGS ($Label[1 \\Seen) UID 4)\r\n", `*  "" [2 FETCH [FLAGS [$Label[1 \Seen] UID 4]]`},
	} {
		r, err := readIMAP(bufio.NewReader(strings.NewReader(tc.wire)), 1000, 100)
		if err != nil {
			t.Fatalf("%q: got %v", tc.wire, err)
		}
		if got := fmtResp(r); got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.wire, got, tc.want)
		}
	}
	for _, tc := range []struct{ wire, want string }{
		{"* 1 FETCH (BODY[] {200}\r\n", "longer than allowed"},
		{"* 1 FETCH (UID 1\r\n", "does not end on its line"},
		{"* 1 FETCH UID 1)\r\n", "not open"},
		{"* 1 FETCH (" + strings.Repeat("(", 20) + "\r\n", "nested too deep"},
		{"* 1 FETCH (" + strings.Repeat("() ", 40) + ")\r\n", "longer than allowed"},
		{"h1 1 FETCH\r\n", "not a status"},
		{"* " + strings.Repeat("x", 2000) + "\r\n", "longer than allowed"},
		{"* 1 FETCH (BODY[] {3}\r\nab", "unexpected EOF"},
	} {
		_, err := readIMAP(bufio.NewReader(strings.NewReader(tc.wire)), 1000, 100)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40q: got %v, want %q", tc.wire, err, tc.want)
		}
	}
}

func TestUIDSets(t *testing.T) {
	if got := uidSets([]int{9, 3, 4, 5, 7, 3, 8}, 100); !slices.Equal(got, []string{"3:5,7:9"}) {
		t.Fatalf("got %q, want [3:5,7:9]", got)
	}
	if got := uidSets([]int{1, 3, 5, 7}, 3); !slices.Equal(got, []string{"1,3", "5,7"}) {
		t.Fatalf("split: got %q, want [1,3 5,7]", got)
	}
}

// fmtResp writes a response for comparison: tag, status, text, fields.
func fmtResp(r imapResp) string {
	return r.tag + " " + r.status + " " + strconv.Quote(r.text) + " " + fmtFields(r.fields)
}

func fmtFields(fs []any) string {
	var parts []string
	for _, f := range fs {
		if l, ok := f.([]any); ok {
			parts = append(parts, fmtFields(l))
			continue
		}
		parts = append(parts, atom(f))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
