package imports

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"herald/store"
)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	box, _ := store.NewSecretBox([]byte("0123456789abcdef0123456789abcdef"))
	st, err := store.Open(context.Background(), t.TempDir(), box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func writeFile(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "upload.csv")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// runImport queues a job for the file and runs a worker until it ends.
func runImport(t testing.TB, st *store.Store, path string, setup func(h Header) store.ImportSetup, batch int) store.ImportJob {
	t.Helper()
	ctx := context.Background()
	h, err := Inspect(path)
	if err != nil {
		t.Fatal(err)
	}
	s := setup(h)
	j, err := st.CreateImport(ctx, store.ImportJob{FileName: "upload.csv", FilePath: path, FileSize: fileSize(t, path), Headers: h.Columns,
		Delimiter: string(h.Delimiter), Offset: h.DataOffset, Line: h.DataLine}, &s)
	if err != nil {
		t.Fatal(err)
	}
	return runUntilEnded(t, st, j.ID, batch)
}

func runUntilEnded(t testing.TB, st *store.Store, id int64, batch int) store.ImportJob {
	t.Helper()
	w := NewWorker(st, quiet())
	w.BatchSize, w.Idle = batch, 10*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		j, err := st.Import(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == store.ImportDone || j.Status == store.ImportFailed || j.Status == store.ImportCancelled {
			return j
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("import did not end")
	return store.ImportJob{}
}

func fileSize(t testing.TB, p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func autoSetup(mode string, lists []int64, tags []string) func(Header) store.ImportSetup {
	return func(h Header) store.ImportSetup {
		return store.ImportSetup{Mode: mode, ListIDs: lists, Tags: tags, Mapping: AutoMap(h.Columns, nil)}
	}
}

func TestInspectAwkwardHeaders(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, content string
		delim         rune
		cols          []string
		line          int
	}{
		{"BOM and semicolons with CRLF", "\ufeffEmail Address;First Name;\"Notes; long\"\r\na@example.com;A;x\r\n", ';', []string{"Email Address", "First Name", "Notes; long"}, 2},
		{"tabs", "email\tname\nb@example.com\tB\n", '\t', []string{"email", "name"}, 2},
		{"quoted header with comma and newline", "\"e,mail\",\"two\nlines\"\nx,y\n", ',', []string{"e,mail", "two\nlines"}, 3},
		{"empty header cell", "email,,city\n", ',', []string{"email", "Column 2", "city"}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Inspect(writeFile(t, tc.content))
			if err != nil {
				t.Fatal(err)
			}
			if h.Delimiter != tc.delim || !reflect.DeepEqual(h.Columns, tc.cols) || h.DataLine != tc.line {
				t.Fatalf("got %q %q line %d, want %q %q line %d", h.Delimiter, h.Columns, h.DataLine, tc.delim, tc.cols, tc.line)
			}
		})
	}
	if _, err := Inspect(writeFile(t, "\ufeff  \n")); err == nil {
		t.Fatal("empty file: got nil error")
	}
}

func TestAutoMapKnownExports(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		columns []string
		want    []string
	}{
		{"Mailchimp", []string{"Email Address", "First Name", "Last Name", "MEMBER_RATING", "TAGS"},
			[]string{"email", "first_name", "last_name", "attribute:member_rating", "tags"}},
		{"listmonk", []string{"email", "name", "attributes"}, []string{"email", "full_name", "attributes_json"}},
		{"Sendy", []string{"Name", "Email", "Favourite Colour"}, []string{"full_name", "email", "attribute:favourite_colour"}},
		{"Google Contacts", []string{"Given Name", "Family Name", "E-mail 1 - Value", "Organization 1 - Name"},
			[]string{"first_name", "last_name", "email", "attribute:organization_1_name"}},
		{"two of the same", []string{"email", "Email", "Café", "!!!"}, []string{"email", "attribute:email", "attribute:caf", "attribute:column_4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := AutoMap(tc.columns, nil); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if got := AutoMap([]string{"a", "b"}, []string{"x", "jo@example.com"}); got[1] != "email" {
		t.Fatalf("email found by sample: got %q", got)
	}
}

// awkward has a BOM, semicolons, CRLF, quoted fields with the delimiter and
// a line break, the same address twice and bad lines, with the line each
// record starts on in the comments of the test below.
const awkward = "\ufeffEmail Address;First Name;Last Name;City;TAGS\r\n" + // 1
	"ada@example.com;Ada;Lovelace;\"Leeds; West Yorkshire\";vip\r\n" + // 2
	"not-an-address;Bad;Row;;\r\n" + // 3
	"grace@example.com;Grace;Hopper;\"New\r\nYork, NY\";\r\n" + // 4-5
	";;;;\r\n" + // 6 (blank, skipped)
	"ADA@example.com;;Byron;London;\"a,b\"\r\n" + // 7 (same as line 2)
	";No;Email;;\r\n" + // 8
	"linus@example.com;Linus\r\n" // 9 (short row)

func TestImportAwkwardCSV(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ctx := context.Background()
	l, _ := st.CreateList(ctx, store.ListInput{Name: ptr("News")})
	j := runImport(t, st, writeFile(t, awkward), autoSetup(store.ImportCreate, []int64{l.ID}, []string{"imported"}), 2)
	if j.Status != store.ImportDone {
		t.Fatalf("status: got %s (%s), want done", j.Status, j.Error)
	}
	if j.Created != 3 || j.Invalid != 2 || j.Skipped != 1 || j.Total != 6 {
		t.Fatalf("counts: got created %d invalid %d skipped %d total %d, want 3 2 1 6", j.Created, j.Invalid, j.Skipped, j.Total)
	}
	errs, _ := st.ImportErrors(ctx, j.ID, 10)
	if len(errs) != 2 || errs[0].Line != 3 || !strings.Contains(errs[0].Reason, "not-an-address") || errs[1].Line != 8 || !strings.Contains(errs[1].Reason, "no email") {
		t.Fatalf("errors: got %+v, want lines 3 and 8 with reasons", errs)
	}
	ada, err := st.ContactByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if ada.LastName != "Lovelace" || ada.Attributes["city"] != "Leeds; West Yorkshire" || !reflect.DeepEqual(ada.Tags, []string{"imported", "vip"}) {
		t.Fatalf("ada from line 2, line 7 skipped as a repeat: got %+v", ada)
	}
	grace, _ := st.ContactByEmail(ctx, "grace@example.com")
	if grace.Attributes["city"] != "New\nYork, NY" || grace.LastName != "Hopper" {
		t.Fatalf("grace, with a quoted line break: got %+v", grace)
	}
	linus, _ := st.ContactByEmail(ctx, "linus@example.com")
	if linus.FirstName != "Linus" || len(linus.Memberships) != 1 || linus.Memberships[0].Status != store.MemberConfirmed {
		t.Fatalf("linus, on a short line: got %+v", linus)
	}
}

func ptr[T any](v T) *T { return &v }

// TestUpsertMergesRepeatsWhateverTheBatches checks that a repeated address
// ends the same whether both lines fall in one batch or in two.
func TestUpsertMergesRepeatsWhateverTheBatches(t *testing.T) {
	t.Parallel()
	for _, batch := range []int{2, 100} {
		t.Run(fmt.Sprintf("batch %d", batch), func(t *testing.T) {
			st := openStore(t)
			j := runImport(t, st, writeFile(t, awkward), autoSetup(store.ImportUpsert, nil, nil), batch)
			ada, _ := st.ContactByEmail(context.Background(), "ada@example.com")
			if j.Status != store.ImportDone || ada.FirstName != "Ada" || ada.LastName != "Byron" || ada.Attributes["city"] != "London" ||
				!reflect.DeepEqual(ada.Tags, []string{"a", "b", "vip"}) {
				t.Fatalf("got job %s, ada %+v", j.Status, ada)
			}
		})
	}
}
