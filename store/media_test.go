package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMediaCreateListDelete(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	ctx := context.Background()
	in := Media{FileName: "logo.png", ContentType: "image/png", Size: 1234, Width: 3, Height: 2, SHA256: "abc123", Path: "/data/media/upload-1.png"}
	first, err := s.CreateMedia(ctx, in)
	if err != nil {
		t.Fatalf("CreateMedia: %v", err)
	}
	want := in
	want.ID, want.CreatedAt = first.ID, testStart
	if first != want || first.ID == 0 {
		t.Errorf("created: got %+v, want %+v", first, want)
	}
	got, err := s.Media(ctx, first.ID)
	if err != nil || got != want {
		t.Errorf("Media(%d): got %+v, %v, want %+v", first.ID, got, err, want)
	}

	clock.advance(time.Minute)
	second, err := s.CreateMedia(ctx, Media{FileName: "photo.jpg", ContentType: "image/jpeg", Size: 99, SHA256: "def", Path: "/tmp/upload-2.jpg"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetMediaPath(ctx, second.ID, "/data/media/2-def.jpg"); err != nil {
		t.Fatalf("SetMediaPath: %v", err)
	}
	if got, _ := s.Media(ctx, second.ID); got.Path != "/data/media/2-def.jpg" || !got.CreatedAt.Equal(testStart.Add(time.Minute)) {
		t.Errorf("after SetMediaPath: got path %q created %v, want the new path", got.Path, got.CreatedAt)
	}
	if got, _ := s.Media(ctx, first.ID); got.Path != in.Path {
		t.Errorf("other media's path: got %q, want %q unchanged", got.Path, in.Path)
	}

	list, err := s.MediaList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != second.ID || list[1].ID != first.ID {
		t.Errorf("MediaList: got %+v, want photo.jpg then logo.png", list)
	}

	deleted, err := s.DeleteMedia(ctx, first.ID)
	if err != nil {
		t.Fatalf("DeleteMedia: %v", err)
	}
	if deleted.Path != in.Path || deleted.FileName != "logo.png" {
		t.Errorf("DeleteMedia returned %+v, want the deleted file, for its path", deleted)
	}
	if _, err := s.Media(ctx, first.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Media after delete: got %v, want ErrNotFound", err)
	}
	if _, err := s.DeleteMedia(ctx, first.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteMedia: got %v, want ErrNotFound", err)
	}
	if list, _ := s.MediaList(ctx); len(list) != 1 || list[0].ID != second.ID {
		t.Errorf("MediaList after delete: got %+v, want only photo.jpg", list)
	}
}

func TestMediaListEmpty(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	list, err := s.MediaList(context.Background())
	if err != nil || len(list) != 0 {
		t.Errorf("MediaList of a new store: got %v, %v, want none", list, err)
	}
	if _, err := s.Media(context.Background(), 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Media(1): got %v, want ErrNotFound", err)
	}
}
