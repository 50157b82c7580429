package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
)

// TestIsDiskFull meets a full disk for real: SQLite refusing to grow the
// database past a page cap answers SQLITE_FULL, as a full disk does, and
// /dev/full answers every write with ENOSPC.
func TestIsDiskFull(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	if err := s.LimitGrowth(ctx, 0); err != nil {
		t.Fatal(err)
	}
	var full error
	for i := 0; i < 10000 && full == nil; i++ {
		email := fmt.Sprintf("person%d@example.com", i)
		_, _, full = s.CreateContact(ctx, ContactInput{Email: &email, Attributes: map[string]any{"notes": fmt.Sprintf("%0500d", i)}}, false)
	}
	if !IsDiskFull(full) {
		t.Fatalf("inserting into a database that cannot grow: got %v, want a full disk", full)
	}
	if err := s.LiftGrowthLimit(ctx); err != nil {
		t.Fatal(err)
	}
	email := "after@example.com"
	if _, _, err := s.CreateContact(ctx, ContactInput{Email: &email}, false); err != nil {
		t.Fatalf("after the limit is lifted: got %v, want the contact stored", err)
	}

	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full to write to: %v", err)
	}
	defer f.Close()
	_, werr := f.Write([]byte("x"))
	if !IsDiskFull(fmt.Errorf("saving the upload: %w", werr)) {
		t.Fatalf("a write to /dev/full: got %v, want a full disk", werr)
	}
	for _, err := range []error{nil, ErrNotFound, errors.New("database or disk is full"), fmt.Errorf("x: %v", werr)} {
		if IsDiskFull(err) {
			t.Errorf("%v: got a full disk, want not", err)
		}
	}
}
