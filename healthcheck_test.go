package main

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"herald/web"
)

// TestHealthcheckFailsWhenTheDiskIsLow runs the healthcheck command against
// a server whose data directory has less free space than it asks for.
func TestHealthcheckFailsWhenTheDiskIsLow(t *testing.T) {
	st := openData(t, t.TempDir())
	srv, err := web.New(web.Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test", Static: staticFS(),
		MinFreeDisk: 1 << 62})
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
