package main

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"herald/scheduler"
	"herald/scheduler/imports"
	"herald/scheduler/outbound"
	"herald/web"
)

// TestHealthcheckFailsWhenTheDiskIsLow runs the healthcheck command against
// a server whose data directory has less free space than it asks for.
func TestHealthcheckFailsWhenTheDiskIsLow(t *testing.T) {
	t.Parallel()
	st := openData(t, t.TempDir())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	out, err := outbound.New(outbound.Config{Store: st, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{Store: st, Outbound: out, Logger: log, Version: "test", Static: staticFS(), MinFreeDisk: 1 << 62,
		Jobs: func() []scheduler.JobStatus { return nil }, Imports: imports.NewWorker(st, log)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	code, _, errOut := runCLI(t, "", "healthcheck", "--addr", strings.TrimPrefix(ts.URL, "http://"))
	if code != 1 || !strings.Contains(errOut, `"disk":"low"`) {
		t.Fatalf("healthcheck: got exit %d %q, want 1 saying the disk is low", code, errOut)
	}
}
