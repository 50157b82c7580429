package imports

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"herald/store"
)

// csvFile writes records as a CSV file and returns its path.
func csvFile(t testing.TB, records [][]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "upload.csv")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(records); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// numbered returns n names or values: prefix0, prefix1, …
func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// attrsJSON is a JSON object with the keys prefix0… prefixN-1.
func attrsJSON(prefix string, n int) string {
	m := map[string]int{}
	for i, k := range numbered(prefix, n) {
		m[k] = i
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// TestImportRefusesLinesPastTheAttributeCap checks that no line takes a
// contact past store.MaxAttributes, whether on its own, merged into the
// contact as stored, or merged with an earlier line, in one batch or two.
func TestImportRefusesLinesPastTheAttributeCap(t *testing.T) {
	t.Parallel()
	header := append([]string{"email", "attributes"}, numbered("x", 60)...)
	line := func(email, js string, xs bool) []string {
		rec := append([]string{email, js}, make([]string, 60)...)
		if xs {
			copy(rec[2:], numbered("v", 60))
		}
		return rec
	}
	records := [][]string{header,
		line("full@example.com", "", true),                   // 2: 150 stored + 60 new
		line("wide@example.com", attrsJSON("j", 150), true),  // 3: 210 on one line
		line("rep@example.com", attrsJSON("j", 120), false),  // 4: 120
		line("rep@example.com", attrsJSON("k", 100), false),  // 5: 120 + 100 new
		line("rep@example.com", attrsJSON("j", 10), false),   // 6: 120 known
		line("full@example.com", `{"a0": "changed"}`, false), // 7: 150 known
		line("fits@example.com", attrsJSON("a", 140), true),  // 8: 200
	}
	for _, batch := range []int{1, 100} {
		t.Run(fmt.Sprintf("batch %d", batch), func(t *testing.T) {
			st := openStore(t)
			ctx := context.Background()
			stored := map[string]any{}
			for _, k := range numbered("a", 150) {
				stored[k] = 1.0
			}
			if _, _, err := st.CreateContact(ctx, store.ContactInput{Email: ptr("full@example.com"), Attributes: stored}, false); err != nil {
				t.Fatal(err)
			}
			j := runImport(t, st, csvFile(t, records), autoSetup(store.ImportUpsert, nil, nil), batch)
			if j.Status != store.ImportDone || j.Total != 7 || j.Invalid != 3 || j.Created != 2 || j.Updated != 2 {
				t.Fatalf("job: got %s (%s) total %d invalid %d created %d updated %d, want done 7 3 2 2", j.Status, j.Error, j.Total, j.Invalid, j.Created, j.Updated)
			}
			errs, _ := st.ImportErrors(ctx, j.ID, 10)
			want := map[int]string{
				2: "With this line, full@example.com would have 210 attributes; a contact has at most 200.",
				3: "This line has 210 attributes; a contact has at most 200.",
				5: "With this line, rep@example.com would have 220 attributes; a contact has at most 200.",
			}
			for _, e := range errs {
				if !strings.HasPrefix(e.Reason, want[e.Line]) || want[e.Line] == "" {
					t.Errorf("line %d: got %q, want it to start %q", e.Line, e.Reason, want[e.Line])
				}
			}
			if len(errs) != len(want) {
				t.Errorf("bad lines: got %+v, want lines 2, 3 and 5", errs)
			}
			for email, n := range map[string]int{"full@example.com": 150, "rep@example.com": 120, "fits@example.com": 200} {
				c, err := st.ContactByEmail(ctx, email)
				if err != nil || len(c.Attributes) != n {
					t.Errorf("%s: got %d attributes (%v), want %d", email, len(c.Attributes), err, n)
				}
			}
			if _, err := st.ContactByEmail(ctx, "wide@example.com"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("wide@example.com: got %v, want not imported", err)
			}
		})
	}
}

// TestImportRefusesHeadersWiderThanFit checks that a file whose columns can
// never fit is refused before any line is read: past MaxColumns at
// upload, past store.MaxAttributes attribute columns when it is set up.
func TestImportRefusesHeadersWiderThanFit(t *testing.T) {
	t.Parallel()
	_, err := Inspect(csvFile(t, [][]string{append([]string{"email"}, numbered("c", 5000)...)}))
	if err == nil || !strings.Contains(err.Error(), "the first line has 5001 columns, and Herald reads at most 1000") {
		t.Fatalf("5001 columns: got %v, want them refused", err)
	}

	st := openStore(t)
	path := csvFile(t, [][]string{append([]string{"email"}, numbered("c", 201)...)})
	h, err := Inspect(path)
	if err != nil {
		t.Fatal(err)
	}
	setup := store.ImportSetup{Mode: store.ImportCreate, Mapping: AutoMap(h.Columns, nil)}
	_, err = st.CreateImport(context.Background(), store.ImportJob{FileName: "wide.csv", FilePath: path, Headers: h.Columns, Delimiter: ",",
		Offset: h.DataOffset, Line: h.DataLine}, &setup)
	var ve *store.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Fields["mapping"], "201 columns are imported as attributes, and a contact has at most 200") {
		t.Fatalf("201 attribute columns: got %v, want the mapping refused", err)
	}
	setup.Mapping[201] = TargetIgnore
	if _, err := st.CreateImport(context.Background(), store.ImportJob{FileName: "wide.csv", FilePath: path, Headers: h.Columns, Delimiter: ",",
		Offset: h.DataOffset, Line: h.DataLine}, &setup); err != nil {
		t.Fatalf("200 attribute columns: got %v, want the import queued", err)
	}
}

// TestBatchMemoryIsBoundedByBytes reads a batch of files with many long
// columns and measures the heap it holds: the batch stops at its byte
// budget, long before its line count, whether the columns are kept as
// attributes or ignored.
func TestBatchMemoryIsBoundedByBytes(t *testing.T) {
	// Not in parallel: it weighs the heap, which other tests would add to.
	const lines, budget = 600, 1 << 20
	cases := []struct {
		name    string
		columns int
		mapping func(cols []string) []string
	}{
		{"199 attributes", 199, func(cols []string) []string { return AutoMap(cols, nil) }},
		{"900 columns, one kept", 900, func(cols []string) []string {
			m := AutoMap(cols, nil)
			for i := 2; i < len(m); i++ {
				m[i] = TargetIgnore
			}
			return m
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			records := [][]string{append([]string{"email"}, numbered("column", tc.columns)...)}
			value := strings.Repeat("v", 40)
			for i := 0; i < lines; i++ {
				rec := []string{fmt.Sprintf("p%d@example.com", i)}
				for range tc.columns {
					rec = append(rec, value)
				}
				records = append(records, rec)
			}
			path := csvFile(t, records)
			records = nil
			h, err := Inspect(path)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Open(path, h.Delimiter, h.DataOffset, h.DataLine)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			m := newMapper(tc.mapping(h.Columns))

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b, eof, err := readBatch(r, m, DefaultBatchSize, budget, 0)
			runtime.GC()
			runtime.ReadMemStats(&after)
			if err != nil || eof {
				t.Fatalf("readBatch: got eof %v, %v, want a batch cut short", eof, err)
			}
			held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("%d lines held %d bytes of heap", len(b.Rows), held)
			if len(b.Rows) == 0 || len(b.Rows) >= lines || held > 3*budget {
				t.Fatalf("batch: got %d lines holding %d bytes, want fewer than %d lines holding at most %d", len(b.Rows), held, lines, 3*budget)
			}
			runtime.KeepAlive(b)

			st := openStore(t)
			if w := NewWorker(st, quiet()); w.BatchBytes != DefaultBatchBytes {
				t.Fatalf("worker batch budget: got %d, want %d", w.BatchBytes, DefaultBatchBytes)
			}
			j := runImport(t, st, path, func(Header) store.ImportSetup {
				return store.ImportSetup{Mode: store.ImportCreate, Mapping: tc.mapping(h.Columns)}
			}, DefaultBatchSize)
			if j.Status != store.ImportDone || j.Created != lines {
				t.Fatalf("import: got %s (%s) with %d created, want done with %d", j.Status, j.Error, j.Created, lines)
			}
		})
	}
}

// longHeader is a header of n columns whose names are long enough to take
// it past 64 KB, with email first.
func longHeader(n int) []string {
	cols := []string{"Email"}
	for i := 1; i < n; i++ {
		cols = append(cols, fmt.Sprintf("Column %03d %s", i, strings.Repeat("with a long description ", 28)))
	}
	return cols
}

// TestImportReadsAHeaderPast64KBWhole imports a file whose header is 100 KB:
// every column is a column, and the first line after it is the first
// contact.
func TestImportReadsAHeaderPast64KBWhole(t *testing.T) {
	t.Parallel()
	const cols = 150
	records := [][]string{longHeader(cols)}
	for i := 0; i < 3; i++ {
		rec := []string{fmt.Sprintf("p%d@example.com", i)}
		for c := 1; c < cols; c++ {
			rec = append(rec, fmt.Sprintf("v%d.%d", i, c))
		}
		records = append(records, rec)
	}
	path := csvFile(t, records)
	h, err := Inspect(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Columns) != cols || h.DataLine != 2 || h.DataOffset < 64<<10 || h.Columns[cols-1] != strings.TrimSpace(records[0][cols-1]) {
		t.Fatalf("header: got %d columns, data from line %d at byte %d, want %d columns and line 2 past 64 KB", len(h.Columns), h.DataLine, h.DataOffset, cols)
	}
	st := openStore(t)
	j := runImport(t, st, path, autoSetup(store.ImportCreate, nil, nil), DefaultBatchSize)
	if j.Status != store.ImportDone || j.Total != 3 || j.Created != 3 || j.Invalid != 0 {
		t.Fatalf("import: got %s (%s) total %d created %d invalid %d, want done with 3 contacts", j.Status, j.Error, j.Total, j.Created, j.Invalid)
	}
	last := AttributeKeyFor(records[0][cols-1], cols-1)
	c, err := st.ContactByEmail(context.Background(), "p2@example.com")
	if err != nil || len(c.Attributes) != cols-1 || c.Attributes[last] != "v2.149" {
		t.Fatalf("p2: got %v (%v), want %d attributes with %s = v2.149", c.Attributes[last], err, cols-1, last)
	}
}

func TestInspectRefusesAHeaderPastTheLimit(t *testing.T) {
	t.Parallel()
	for name, content := range map[string]string{
		"no line break":     "email," + strings.Repeat("x", MaxHeaderBytes),
		"quote never shut":  "email,\"notes\n" + strings.Repeat("a@example.com,x\n", MaxHeaderBytes/15),
		"long, then a line": "email," + strings.Repeat("x", MaxHeaderBytes) + "\na@example.com,1\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Inspect(writeFile(t, content))
			if err == nil || !strings.Contains(err.Error(), "the first line is longer than 1 MB") || !strings.Contains(err.Error(), "must be the column names") {
				t.Fatalf("got %v, want the header refused, saying the limit", err)
			}
		})
	}
	fits := "email," + strings.Repeat("x", MaxHeaderBytes-len("email,\n")) + "\na@example.com,1\n"
	if h, err := Inspect(writeFile(t, fits)); err != nil || h.DataOffset != MaxHeaderBytes {
		t.Fatalf("a header of exactly the limit: got %v at %d, want it read", err, h.DataOffset)
	}
}

// TestImportRefusesOverlongAttributeText: an attribute's text longer than
// a contact takes makes its line a bad line that says so, as the API does.
func TestImportRefusesOverlongAttributeText(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	records := [][]string{{"email", "notes"}, {"long@example.com", strings.Repeat("x", 10_001)}, {"short@example.com", "fine"}}
	j := runImport(t, st, csvFile(t, records), autoSetup(store.ImportCreate, nil, nil), DefaultBatchSize)
	if j.Status != store.ImportDone || j.Created != 1 || j.Invalid != 1 {
		t.Fatalf("job: %s created %d invalid %d, want done with 1 created and 1 bad line", j.Status, j.Created, j.Invalid)
	}
	errs, _ := st.ImportErrors(context.Background(), j.ID, 10)
	if len(errs) != 1 || errs[0].Line != 2 || !strings.Contains(errs[0].Reason, "longer than") {
		t.Errorf("bad lines: %+v, want line 2, too long", errs)
	}
}

// TestImportResumesInsideABatchWithOtherBatchSizes: an import stopped
// inside a batch, with some of its parts written, goes on with a worker
// whose batches are of another size: the batch is read again to the same
// end, the rows already written are not written again, and the counts add
// up to the lines, as they do at every moment on the way.
func TestImportResumesInsideABatchWithOtherBatchSizes(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ctx := context.Background()
	records := [][]string{{"email", "first_name"}}
	for i := range 30_000 {
		email := fmt.Sprintf("p%05d@example.com", (i*7919)%30_000)
		if i%100 == 0 {
			email = "not an address"
		}
		records = append(records, []string{email, "P"})
	}
	path := csvFile(t, records)
	h, err := Inspect(path)
	if err != nil {
		t.Fatal(err)
	}
	setup := autoSetup(store.ImportCreate, nil, nil)(h)
	job, err := st.CreateImport(ctx, store.ImportJob{FileName: "upload.csv", FilePath: path, FileSize: fileSize(t, path), Headers: h.Columns,
		Delimiter: string(h.Delimiter), Offset: h.DataOffset, Line: h.DataLine}, &setup)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWorker(st, quiet())
	w.BatchSize, w.Idle = 10_000, 10*time.Millisecond
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	deadline := time.Now().Add(time.Minute)
	var at store.ImportJob
	for {
		if at, err = st.Import(ctx, job.ID); err != nil {
			t.Fatal(err)
		}
		if at.Total < at.Created+at.Skipped+at.Invalid {
			t.Fatalf("counts on the way: total %d < created %d + skipped %d + invalid %d", at.Total, at.Created, at.Skipped, at.Invalid)
		}
		if at.WindowDone >= 4_000 || at.Status == store.ImportDone || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	<-done
	if at, _ = st.Import(ctx, job.ID); at.WindowDone == 0 || at.Status != store.ImportRunning {
		t.Fatalf("stopped at %+v: not inside a batch; the test proves nothing", at)
	}
	if p := at.Progress(); p <= 0 || p >= 1 {
		t.Errorf("progress inside the first batch: %v, want some", p)
	}
	j := runUntilEnded(t, st, job.ID, 20_000)
	if j.Status != store.ImportDone || j.Total != 30_000 || j.Created != 29_700 || j.Skipped != 0 || j.Invalid != 300 {
		t.Errorf("job: %s total %d created %d skipped %d invalid %d, want done 30000 = 29700 created + 300 bad lines",
			j.Status, j.Total, j.Created, j.Skipped, j.Invalid)
	}
	if n, err := st.CountContacts(ctx, store.ContactFilter{}); err != nil || n != 29_700 {
		t.Errorf("contacts: %d (%v), want 29700", n, err)
	}
}
