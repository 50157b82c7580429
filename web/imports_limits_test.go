package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"herald/scheduler/imports"
	"herald/store"
)

// audLongHeaderCSV is a file of 150 columns whose header is about 100 KB,
// and one contact.
func audLongHeaderCSV() string {
	var b strings.Builder
	b.WriteString("Email")
	for i := 1; i < 150; i++ {
		fmt.Fprintf(&b, ",Column %03d %s", i, strings.Repeat("with a long description ", 28))
	}
	b.WriteString("\nann@example.com")
	for i := 1; i < 150; i++ {
		fmt.Fprintf(&b, ",value %d", i)
	}
	b.WriteString("\n")
	return b.String()
}

func TestImportMappingStepShowsEveryColumnOfAHeaderPast64KB(t *testing.T) {
	t.Parallel()
	h, _ := audImportHarness(t)
	h.signIn()
	resp := h.audUploadUI("wide.csv", audLongHeaderCSV())
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !audImportLocation.MatchString(loc) {
		t.Fatalf("upload: got %d to %q, want 303 to the mapping step", resp.StatusCode, loc)
	}
	page := body(t, h.get(loc))
	for _, want := range []string{`name="target_149"`, "Column 149 with a long description", "value 149", "ann@example.com"} {
		if !strings.Contains(page, want) {
			t.Errorf("mapping page lacks %q", want)
		}
	}
	if strings.Contains(page, `name="target_150"`) {
		t.Error("mapping page shows a 151st column")
	}
}

func TestImportRefusesAHeaderPastTheLimitAtUpload(t *testing.T) {
	t.Parallel()
	h, _ := audImportHarness(t)
	h.signIn()
	key := h.apiKey(store.ScopeFull)
	huge := "email," + strings.Repeat("x", imports.MaxHeaderBytes) + "\nann@example.com,1\n"
	const says = "the first line is longer than 1 MB, the most Herald reads of it. The first line must be the column names"

	resp := h.audUploadUI("huge.csv", huge)
	if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, says) {
		t.Errorf("UI upload: got %d, want 422 saying %q", resp.StatusCode, says)
	}
	code, out, _ := h.audAPIImport(key, url.Values{}, "huge.csv", huge)
	_, fields := audError(out)
	if msg, _ := fields["file"].(string); code != http.StatusUnprocessableEntity || !strings.Contains(msg, says) {
		t.Errorf("API upload: got %d %.300v, want 422 saying %q", code, out, says)
	}
	wide := "email" + strings.Repeat(",c", 5000) + "\nann@example.com\n"
	code, out, _ = h.audAPIImport(key, url.Values{}, "wide.csv", wide)
	if _, fields := audError(out); code != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(fields["file"]), "5001 columns") {
		t.Errorf("API upload of 5001 columns: got %d %.300v, want 422 saying how many columns", code, out)
	}
	if left := audUploadsLeft(t, h); len(left) != 0 {
		t.Errorf("uploads left after refusals: %v", left)
	}
	if n, _ := h.st.CountContacts(t.Context(), store.ContactFilter{}); n != 0 {
		t.Errorf("contacts after refused uploads: got %d, want 0", n)
	}
}
