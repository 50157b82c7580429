package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// TestSourcesKeepCredentialsSealed creates, reveals, changes and deletes a
// source: its credentials are sealed at rest, shown only through
// SourceSecrets, and each reveal and change is in its audit trail.
func TestSourcesKeepCredentialsSealed(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	name, u, kind, token := " Shop customers ", "https://shop.example/api/customers", "bearer", "tok-SECRET-123"
	headers := []SourceHeader{{Name: "X-Shop", Value: "bakery-KEY-9"}}
	src, err := s.CreateSource(ctx, SourceInput{Name: &name, URL: &u, AuthKind: &kind, Secret: &token, Headers: &headers,
		Paging: &SourcePaging{Kind: "page", Size: 500}, Mapping: &SourceMapping{Mode: ImportUpsert, Fields: []SourceField{{Path: "email", Target: "email"}}}}, "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if src.Name != "Shop customers" || !src.SecretSet || len(src.HeaderNames) != 1 || src.HeaderNames[0] != "X-Shop" || src.Schedule != "daily" ||
		src.AtMinute != 360 || !src.Enabled || src.Paging.Size != 500 || src.Mapping.Mode != "upsert" {
		t.Fatalf("created: %+v", src)
	}
	var secret, values []byte
	if err := s.r.QueryRowContext(ctx, `SELECT auth_secret, header_values FROM sources WHERE id = ?`, src.ID).Scan(&secret, &values); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(secret, []byte("SECRET")) || bytes.Contains(values, []byte("KEY")) {
		t.Fatal("credentials stored in the clear")
	}
	sec, err := s.SourceSecrets(ctx, src.ID, "admin@example.com", "revealed")
	if err != nil || sec.Secret != token || len(sec.Headers) != 1 || sec.Headers[0].Value != "bakery-KEY-9" {
		t.Fatalf("revealed: %+v, %v", sec, err)
	}
	if _, err := s.SourceSecrets(ctx, src.ID, "", ""); err != nil {
		t.Fatal(err)
	}
	newToken := "tok-2"
	if _, err := s.UpdateSource(ctx, src.ID, SourceInput{Secret: &newToken}, "owner@example.com"); err != nil {
		t.Fatal(err)
	}
	newName := "Shop"
	if _, err := s.UpdateSource(ctx, src.ID, SourceInput{Name: &newName}, "owner@example.com"); err != nil {
		t.Fatal(err)
	}
	audit, err := s.SourceAudit(ctx, src.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range audit {
		got = append(got, e.Actor+" "+e.Action+" "+e.Detail)
	}
	want := []string{"owner@example.com changed the secret", "admin@example.com revealed ", "owner@example.com created "}
	if len(got) != len(want) {
		t.Fatalf("audit: got %q, want %q (a run's reading and a rename are not in it)", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("audit %d: got %q, want %q", i, got[i], want[i])
		}
	}
	if err := s.DeleteSource(ctx, src.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Source(ctx, src.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}

func TestSourceValidation(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	str := func(v string) *string { return &v }
	ok := func(edit func(*SourceInput)) SourceInput {
		in := SourceInput{Name: str("Shop"), URL: str("https://shop.example/api"), Mapping: &SourceMapping{Mode: ImportUpsert, Fields: []SourceField{{Path: "email", Target: "email"}}}}
		edit(&in)
		return in
	}
	for _, c := range []struct {
		name  string
		in    SourceInput
		field string
	}{
		{"no name", ok(func(in *SourceInput) { in.Name = str(" ") }), "name"},
		{"plain http", ok(func(in *SourceInput) { in.URL = str("http://shop.example/api") }), "url"},
		{"a login in the URL", ok(func(in *SourceInput) { in.URL = str("https://u:p@shop.example/api") }), "url"},
		{"an unknown auth", ok(func(in *SourceInput) { in.AuthKind = str("oauth") }), "auth_kind"},
		{"bearer without a token", ok(func(in *SourceInput) { in.AuthKind = str("bearer") }), "secret"},
		{"a header key without its name", ok(func(in *SourceInput) { in.AuthKind, in.Secret = str("header"), str("k") }), "auth_name"},
		{"Authorization as an extra header", ok(func(in *SourceInput) { in.Headers = &[]SourceHeader{{Name: "Authorization", Value: "x"}} }), "headers[0].name"},
		{"a header value on two lines", ok(func(in *SourceInput) { in.Headers = &[]SourceHeader{{Name: "X-A", Value: "a\r\nB: c"}} }), "headers[0].value"},
		{"an unknown paging", ok(func(in *SourceInput) { in.Paging = &SourcePaging{Kind: "scroll"} }), "paging.kind"},
		{"a cursor without its field", ok(func(in *SourceInput) { in.Paging = &SourcePaging{Kind: "cursor"} }), "paging.cursor_field"},
		{"an unknown schedule", ok(func(in *SourceInput) { in.Schedule = str("yearly") }), "schedule"},
		{"hourly at minute 90", ok(func(in *SourceInput) { in.Schedule, in.AtMinute = str("hourly"), new(90) }), "at_minute"},
		{"a since parameter with spaces", ok(func(in *SourceInput) { in.SinceParam = str("updated since") }), "since_param"},
		{"no field for the email", ok(func(in *SourceInput) { in.Mapping = &SourceMapping{Mode: ImportUpsert} }), "mapping.fields"},
		{"an unknown mode", ok(func(in *SourceInput) { in.Mapping.Mode = "merge" }), "mapping.mode"},
		{"a list that does not exist", ok(func(in *SourceInput) { in.Mapping.ListIDs = []int64{99} }), "mapping.list_ids"},
		{"a field without a path", ok(func(in *SourceInput) {
			in.Mapping.Fields = append(in.Mapping.Fields, SourceField{Target: "first_name"})
		}), "mapping.fields[1].path"},
	} {
		_, err := s.CreateSource(ctx, c.in, "t")
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Fields[c.field] == "" {
			t.Errorf("%s: got %v, want %s named", c.name, err, c.field)
		}
	}
	if srcs, _ := s.Sources(ctx); len(srcs) != 0 {
		t.Errorf("sources after refusals: %d", len(srcs))
	}
}
