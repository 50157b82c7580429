package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// tplPtr returns a pointer to v, for the optional fields of TemplateInput.
func tplPtr[T any](v T) *T { return &v }

// tplInput is a valid campaign in HTML, saved by ann.
func tplInput(name, body string) TemplateInput {
	return TemplateInput{Name: tplPtr(name), Kind: tplPtr(KindCampaign), Format: tplPtr("html"), Subject: tplPtr("Hello"),
		Body: tplPtr(body), Author: "ann@example.com"}
}

func createTemplate(t *testing.T, s *Store, in TemplateInput) Template {
	t.Helper()
	tpl, err := s.CreateTemplate(context.Background(), in, nil)
	if err != nil {
		t.Fatalf("CreateTemplate(%s): %v", *in.Name, err)
	}
	return tpl
}

func TestCreateTemplateDefaults(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	got, err := s.CreateTemplate(ctx, TemplateInput{Name: tplPtr("  Welcome  "), Author: "ann@example.com"}, nil)
	if err != nil {
		t.Fatalf("CreateTemplate: %v", err)
	}
	want := Template{ID: got.ID, Name: "Welcome", Kind: KindCampaign, Format: "html", Version: 1, CreatedAt: testStart, UpdatedAt: testStart}
	if got != want {
		t.Errorf("created: got %+v, want %+v", got, want)
	}
	if got.ID == 0 {
		t.Errorf("id: got 0, want an id")
	}
	vs, err := s.TemplateVersions(ctx, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Version != 1 || vs[0].Author != "ann@example.com" || vs[0].Name != "Welcome" {
		t.Errorf("versions: got %+v, want version 1 by ann@example.com", vs)
	}
}

func TestCreateTemplateValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(in *TemplateInput, campaignID int64)
		field  string
	}{
		{"empty name", func(in *TemplateInput, _ int64) { in.Name = tplPtr("   ") }, "name"},
		{"long name", func(in *TemplateInput, _ int64) { in.Name = tplPtr(strings.Repeat("n", 101)) }, "name"},
		{"two-line name", func(in *TemplateInput, _ int64) { in.Name = tplPtr("Welcome\nmail") }, "name"},
		{"unknown kind", func(in *TemplateInput, _ int64) { in.Kind = tplPtr("newsletter") }, "kind"},
		{"empty kind", func(in *TemplateInput, _ int64) { in.Kind = tplPtr("") }, "kind"},
		{"unknown format", func(in *TemplateInput, _ int64) { in.Format = tplPtr("mjml") }, "format"},
		{"markdown layout", func(in *TemplateInput, _ int64) { in.Kind, in.Format = tplPtr(KindLayout), tplPtr("markdown") }, "format"},
		{"text layout", func(in *TemplateInput, _ int64) { in.Kind, in.Format = tplPtr(KindLayout), tplPtr("text") }, "format"},
		{"essential campaign", func(in *TemplateInput, _ int64) { in.Essential = tplPtr(true) }, "essential"},
		{"essential layout", func(in *TemplateInput, _ int64) { in.Kind, in.Essential = tplPtr(KindLayout), tplPtr(true) }, "essential"},
		{"huge body", func(in *TemplateInput, _ int64) { in.Body = tplPtr(strings.Repeat("x", 1<<20+1)) }, "body"},
		{"huge text body", func(in *TemplateInput, _ int64) { in.TextBody = tplPtr(strings.Repeat("x", 1<<20+1)) }, "body"},
		{"layout is a campaign", func(in *TemplateInput, id int64) { in.LayoutID = tplPtr(id) }, "layout_id"},
		{"layout does not exist", func(in *TemplateInput, id int64) { in.LayoutID = tplPtr(id + 100) }, "layout_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTestStore(t)
			other := createTemplate(t, s, tplInput("Other", "<p>Hi</p>"))
			in := tplInput("New", "<p>Hello</p>")
			tc.change(&in, other.ID)
			_, err := s.CreateTemplate(context.Background(), in, nil)
			sameFields(t, err, tc.field)
			if n := countRows(t, s, `SELECT COUNT(*) FROM templates`); n != 1 {
				t.Errorf("templates after a refused create: got %d, want 1", n)
			}
			if n := countRows(t, s, `SELECT COUNT(*) FROM template_versions`); n != 1 {
				t.Errorf("versions after a refused create: got %d, want 1", n)
			}
		})
	}
}

func TestCreateTemplateAcceptsKinds(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	layout := createTemplate(t, s, TemplateInput{Name: tplPtr("Frame"), Kind: tplPtr(KindLayout), Body: tplPtr(`<div>{{template "content" .}}</div>`)})
	if layout.Kind != KindLayout || layout.Format != "html" {
		t.Errorf("layout: got kind %q format %q, want layout html", layout.Kind, layout.Format)
	}
	tx, err := s.CreateTemplate(ctx, TemplateInput{Name: tplPtr("Reset"), Kind: tplPtr(KindTransactional), Format: tplPtr("text"),
		Body: tplPtr("Reset: {{.Data.link}}"), LayoutID: tplPtr(layout.ID), Essential: tplPtr(true)}, nil)
	if err != nil {
		t.Fatalf("essential transactional: %v", err)
	}
	if !tx.Essential || tx.LayoutID != layout.ID || tx.Format != "text" {
		t.Errorf("transactional: got %+v, want essential, text, in layout %d", tx, layout.ID)
	}
	all, err := s.Templates(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Name != "Frame" || all[1].Name != "Reset" {
		t.Errorf("Templates(\"\"): got %+v, want Frame and Reset by name", all)
	}
	layouts, err := s.Templates(ctx, KindLayout)
	if err != nil {
		t.Fatal(err)
	}
	if len(layouts) != 1 || layouts[0].ID != layout.ID {
		t.Errorf("Templates(layout): got %+v, want only Frame", layouts)
	}
}

func TestCreateTemplateCheckErrors(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	var seen []Template
	check := func(t Template) map[string]string {
		seen = append(seen, t)
		return map[string]string{"body": "Line 2, column 5: unknown field .Contact.Nickname."}
	}
	in := TemplateInput{Name: tplPtr("Broken"), Format: tplPtr("markdown"), Body: tplPtr("Hi\n    {{.Contact.Nickname}}")}
	_, err := s.CreateTemplate(context.Background(), in, check)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error: got %v, want a *ValidationError", err)
	}
	if got, want := ve.Fields["body"], "Line 2, column 5: unknown field .Contact.Nickname."; got != want || len(ve.Fields) != 1 {
		t.Errorf("fields: got %v, want only body %q", ve.Fields, want)
	}
	if len(seen) != 1 || seen[0].Kind != KindCampaign || seen[0].Format != "markdown" || seen[0].Body != *in.Body {
		t.Errorf("check saw: got %+v, want the template with its defaults applied", seen)
	}
	for _, table := range []string{"templates", "template_versions"} {
		if n := countRows(t, s, `SELECT COUNT(*) FROM `+table); n != 0 {
			t.Errorf("%s after a failed check: got %d rows, want 0", table, n)
		}
	}

	// What the store itself refuses never reaches check.
	seen = nil
	_, err = s.CreateTemplate(context.Background(), TemplateInput{Name: tplPtr("")}, check)
	sameFields(t, err, "name")
	if len(seen) != 0 {
		t.Errorf("check calls for an unnamed template: got %d, want 0", len(seen))
	}
}

func TestCreateTemplateDuplicateName(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	createTemplate(t, s, tplInput("Welcome", "<p>One</p>"))
	_, err := s.CreateTemplate(ctx, tplInput("WELCOME", "<p>Two</p>"), nil)
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate name: got %v, want ErrConflict", err)
	}
	other := createTemplate(t, s, tplInput("Goodbye", "<p>Bye</p>"))
	_, err = s.UpdateTemplate(ctx, other.ID, TemplateInput{Name: tplPtr("welcome")}, nil)
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("rename onto another's name: got %v, want ErrConflict", err)
	}
	if got, _ := s.Template(ctx, other.ID); got.Name != "Goodbye" || got.Version != 1 {
		t.Errorf("after the refused rename: got %q version %d, want Goodbye version 1", got.Name, got.Version)
	}
	if n := countRows(t, s, `SELECT COUNT(*) FROM template_versions WHERE template_id = ?`, other.ID); n != 1 {
		t.Errorf("versions after the refused rename: got %d, want 1", n)
	}
}

func TestUpdateTemplateVersions(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	ctx := context.Background()
	tpl := createTemplate(t, s, tplInput("News", "<p>One</p>"))

	clock.advance(time.Hour)
	same, err := s.UpdateTemplate(ctx, tpl.ID, TemplateInput{Name: tplPtr(" News "), Body: tplPtr("<p>One</p>"), Author: "bob@example.com"}, nil)
	if err != nil {
		t.Fatalf("save without changes: %v", err)
	}
	if same.Version != 1 || !same.UpdatedAt.Equal(testStart) {
		t.Errorf("save without changes: got version %d updated %v, want version 1 updated %v", same.Version, same.UpdatedAt, testStart)
	}
	if n := countRows(t, s, `SELECT COUNT(*) FROM template_versions WHERE template_id = ?`, tpl.ID); n != 1 {
		t.Errorf("versions after a save without changes: got %d, want 1", n)
	}

	changes := []struct {
		name string
		in   TemplateInput
	}{
		{"body", TemplateInput{Body: tplPtr("<p>Two</p>")}},
		{"subject", TemplateInput{Subject: tplPtr("Hello again")}},
		{"text body", TemplateInput{TextBody: tplPtr("Two")}},
		{"format", TemplateInput{Format: tplPtr("markdown")}},
		{"name", TemplateInput{Name: tplPtr("Newsletter")}},
	}
	for i, c := range changes {
		c.in.Author = "bob@example.com"
		got, err := s.UpdateTemplate(ctx, tpl.ID, c.in, nil)
		if err != nil {
			t.Fatalf("change %s: %v", c.name, err)
		}
		if want := i + 2; got.Version != want {
			t.Errorf("change %s: got version %d, want %d", c.name, got.Version, want)
		}
	}
	got, _ := s.Template(ctx, tpl.ID)
	if !got.UpdatedAt.Equal(testStart.Add(time.Hour)) || !got.CreatedAt.Equal(testStart) {
		t.Errorf("times: got created %v updated %v, want %v and %v", got.CreatedAt, got.UpdatedAt, testStart, testStart.Add(time.Hour))
	}

	vs, err := s.TemplateVersions(ctx, tpl.ID)
	if err != nil {
		t.Fatal(err)
	}
	var order []int
	for _, v := range vs {
		order = append(order, v.Version)
	}
	if len(vs) != 6 || vs[0].Version != 6 || vs[5].Version != 1 {
		t.Fatalf("versions: got %v, want 6 down to 1", order)
	}
	if vs[0].Author != "bob@example.com" || vs[5].Author != "ann@example.com" {
		t.Errorf("authors: got %q and %q, want bob@example.com and ann@example.com", vs[0].Author, vs[5].Author)
	}
	if vs[0].Name != "Newsletter" || vs[0].Format != "markdown" || vs[0].Kind != KindCampaign || vs[0].TextBody != "Two" {
		t.Errorf("newest version: got %+v, want the last saved state", vs[0].Template)
	}
	if vs[5].Body != "<p>One</p>" || vs[5].Subject != "Hello" || vs[5].Name != "News" {
		t.Errorf("first version: got %+v, want the created state", vs[5].Template)
	}
}

func TestUpdateTemplateRefuses(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	layout := createTemplate(t, s, TemplateInput{Name: tplPtr("Frame"), Kind: tplPtr(KindLayout), Body: tplPtr(`{{template "content" .}}`)})
	tpl := createTemplate(t, s, tplInput("News", "<p>One</p>"))

	if _, err := s.UpdateTemplate(ctx, tpl.ID+100, TemplateInput{Body: tplPtr("x")}, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing template: got %v, want ErrNotFound", err)
	}
	cases := []struct {
		name  string
		id    int64
		in    TemplateInput
		check func(Template) map[string]string
		field string
	}{
		{"kind change", tpl.ID, TemplateInput{Kind: tplPtr(KindTransactional)}, nil, "kind"},
		{"layout is a campaign", layout.ID, TemplateInput{LayoutID: tplPtr(tpl.ID)}, nil, "layout_id"},
		{"layout is itself", layout.ID, TemplateInput{LayoutID: tplPtr(layout.ID)}, nil, "layout_id"},
		{"empty name", tpl.ID, TemplateInput{Name: tplPtr("")}, nil, "name"},
		{"check fails", tpl.ID, TemplateInput{Body: tplPtr("{{.Nope}}")},
			func(Template) map[string]string { return map[string]string{"body": "unknown field .Nope"} }, "body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UpdateTemplate(ctx, tc.id, tc.in, tc.check)
			sameFields(t, err, tc.field)
		})
	}
	if got, _ := s.Template(ctx, tpl.ID); got.Version != 1 || got.Kind != KindCampaign || got.Body != "<p>One</p>" {
		t.Errorf("after refused saves: got %+v, want version 1 unchanged", got)
	}
	if n := countRows(t, s, `SELECT COUNT(*) FROM template_versions`); n != 2 {
		t.Errorf("versions after refused saves: got %d, want 2", n)
	}
	// Naming the kind it already has is not a change.
	if _, err := s.UpdateTemplate(ctx, tpl.ID, TemplateInput{Kind: tplPtr(KindCampaign), LayoutID: tplPtr(layout.ID)}, nil); err != nil {
		t.Errorf("same kind, real layout: got %v, want success", err)
	}
}

func TestTemplateVersion(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	tpl := createTemplate(t, s, tplInput("News", "<p>One</p>"))
	if _, err := s.UpdateTemplate(ctx, tpl.ID, TemplateInput{Body: tplPtr("<p>Two</p>"), Author: "bob@example.com"}, nil); err != nil {
		t.Fatal(err)
	}
	v1, err := s.TemplateVersion(ctx, tpl.ID, 1)
	if err != nil {
		t.Fatalf("TemplateVersion(1): %v", err)
	}
	if v1.Version != 1 || v1.Body != "<p>One</p>" || v1.Author != "ann@example.com" || v1.ID != tpl.ID || v1.Kind != KindCampaign {
		t.Errorf("version 1: got %+v, want the first body by ann@example.com", v1)
	}
	v2, err := s.TemplateVersion(ctx, tpl.ID, 2)
	if err != nil || v2.Body != "<p>Two</p>" || v2.Author != "bob@example.com" {
		t.Errorf("version 2: got %+v, %v, want the second body by bob@example.com", v2, err)
	}
	for _, c := range []struct {
		id      int64
		version int
	}{{tpl.ID, 3}, {tpl.ID, 0}, {tpl.ID + 100, 1}} {
		if _, err := s.TemplateVersion(ctx, c.id, c.version); !errors.Is(err, ErrNotFound) {
			t.Errorf("TemplateVersion(%d, %d): got %v, want ErrNotFound", c.id, c.version, err)
		}
	}
	if _, err := s.TemplateVersions(ctx, tpl.ID+100); !errors.Is(err, ErrNotFound) {
		t.Errorf("TemplateVersions of a missing template: got %v, want ErrNotFound", err)
	}
}

func TestRestoreTemplateVersion(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	tpl := createTemplate(t, s, tplInput("News", "<p>One</p>"))
	if _, err := s.UpdateTemplate(ctx, tpl.ID, TemplateInput{Name: tplPtr("Newsletter"), Subject: tplPtr("Changed"), Body: tplPtr("<p>Two</p>"),
		Author: "bob@example.com"}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.RestoreTemplateVersion(ctx, tpl.ID, 1, "carol@example.com", nil)
	if err != nil {
		t.Fatalf("restore version 1: %v", err)
	}
	if got.Version != 3 || got.Body != "<p>One</p>" || got.Name != "News" || got.Subject != "Hello" {
		t.Errorf("restored: got %+v, want version 3 with version 1's name, subject and body", got)
	}
	vs, _ := s.TemplateVersions(ctx, tpl.ID)
	if len(vs) != 3 || vs[0].Version != 3 || vs[0].Author != "carol@example.com" || vs[0].Body != "<p>One</p>" {
		t.Errorf("versions after restore: got %+v, want 3 by carol@example.com first", vs)
	}
	// Version 2 is still there to go back to.
	if v2, err := s.TemplateVersion(ctx, tpl.ID, 2); err != nil || v2.Body != "<p>Two</p>" {
		t.Errorf("version 2 after restore: got %+v, %v", v2, err)
	}

	// Restoring what is already current saves nothing.
	again, err := s.RestoreTemplateVersion(ctx, tpl.ID, 1, "carol@example.com", nil)
	if err != nil || again.Version != 3 {
		t.Errorf("restore of the current content: got version %d, %v, want 3", again.Version, err)
	}
	if _, err := s.RestoreTemplateVersion(ctx, tpl.ID, 9, "", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("restore of a missing version: got %v, want ErrNotFound", err)
	}
	// The check runs on restore too.
	_, err = s.RestoreTemplateVersion(ctx, tpl.ID, 2, "", func(Template) map[string]string { return map[string]string{"body": "broken"} })
	sameFields(t, err, "body")
}

func TestDeleteTemplate(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	layout := createTemplate(t, s, TemplateInput{Name: tplPtr("Frame"), Kind: tplPtr(KindLayout), Body: tplPtr(`{{template "content" .}}`)})
	s.UpdateTemplate(ctx, layout.ID, TemplateInput{Body: tplPtr(`<div>{{template "content" .}}</div>`)}, nil)
	campaign := tplInput("News", "<p>One</p>")
	campaign.LayoutID = tplPtr(layout.ID)
	c := createTemplate(t, s, campaign)
	tx := createTemplate(t, s, TemplateInput{Name: tplPtr("Receipt"), Kind: tplPtr(KindTransactional), Body: tplPtr("<p>Paid</p>"), LayoutID: tplPtr(layout.ID)})

	if err := s.DeleteTemplate(ctx, layout.ID); err != nil {
		t.Fatalf("DeleteTemplate: %v", err)
	}
	if _, err := s.Template(ctx, layout.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted layout: got %v, want ErrNotFound", err)
	}
	if n := countRows(t, s, `SELECT COUNT(*) FROM template_versions WHERE template_id = ?`, layout.ID); n != 0 {
		t.Errorf("versions of the deleted layout: got %d, want 0", n)
	}
	for _, id := range []int64{c.ID, tx.ID} {
		got, err := s.Template(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.LayoutID != 0 {
			t.Errorf("template %d layout after delete: got %d, want 0", id, got.LayoutID)
		}
		if got.Version != 1 {
			t.Errorf("template %d version after delete: got %d, want 1", id, got.Version)
		}
		if n := countRows(t, s, `SELECT COUNT(*) FROM template_versions WHERE template_id = ?`, id); n != 1 {
			t.Errorf("versions of template %d: got %d, want 1", id, n)
		}
	}
	if err := s.DeleteTemplate(ctx, layout.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: got %v, want ErrNotFound", err)
	}
}

func TestRestoreTemplateVersionOfADeletedLayout(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	layout := createTemplate(t, s, TemplateInput{Name: tplPtr("Frame"), Kind: tplPtr(KindLayout), Body: tplPtr(`{{template "content" .}}`)})
	in := tplInput("News", "<p>One</p>")
	in.LayoutID = tplPtr(layout.ID)
	tpl := createTemplate(t, s, in)
	if _, err := s.UpdateTemplate(ctx, tpl.ID, TemplateInput{Body: tplPtr("<p>Two</p>")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTemplate(ctx, layout.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.RestoreTemplateVersion(ctx, tpl.ID, 1, "carol@example.com", nil)
	if err != nil {
		t.Fatalf("restore of a version whose layout was deleted: got %v, want it restored in the default layout", err)
	}
	if got.Version != 3 || got.Body != "<p>One</p>" || got.LayoutID != 0 {
		t.Errorf("restored: got version %d body %q layout %d, want version 3, <p>One</p>, layout 0", got.Version, got.Body, got.LayoutID)
	}
}
