package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
)

// TestRunPartsStopIsNotFailure stops parts that end with the context's
// error (stopped in the middle of their work) and one that fails for a
// reason of its own: only that one is a failure.
func TestRunPartsStopIsNotFailure(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	broken := errors.New("disk on fire")
	stopped := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := runParts(ctx, log, part{"quiet", stopped}); err != nil {
		t.Errorf("a part that stopped when asked: got %v, want no failure", err)
	}
	err := runParts(ctx, log, part{"quiet", stopped}, part{"broken", func(ctx context.Context) error { <-ctx.Done(); return broken }})
	if !errors.Is(err, broken) {
		t.Errorf("a part that failed: got %v, want its error", err)
	}
}
