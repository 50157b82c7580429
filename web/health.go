package web

import (
	"net/http"
	"path/filepath"
	"syscall"

	"github.com/labstack/echo/v5"
)

// health answers 503 when the database does not answer or the data
// directory's disk has less free space than minFreeDisk.
func (s *Server) health(c *echo.Context) error {
	body := map[string]any{"status": "ok", "version": s.version, "database": "ok", "disk": "ok"}
	status := http.StatusOK
	if err := s.store.Ping(c.Request().Context()); err != nil {
		s.log.Error("health check: database", "err", err)
		body["status"], body["database"] = "degraded", "unavailable"
		status = http.StatusServiceUnavailable
	}
	dir := filepath.Dir(s.store.Path())
	free, err := diskFree(dir)
	switch {
	case err != nil:
		s.log.Error("health check: free disk space", "dir", dir, "err", err)
		body["status"], body["disk"] = "degraded", "unavailable"
		status = http.StatusServiceUnavailable
	case free < s.minFreeDisk:
		s.log.Error("health check: the disk is nearly full", "dir", dir, "free_bytes", free, "min_free_bytes", s.minFreeDisk)
		body["status"], body["disk"] = "degraded", "low"
		status = http.StatusServiceUnavailable
	}
	body["disk_free_bytes"], body["disk_min_free_bytes"] = free, s.minFreeDisk
	// Opens and clicks logged and not yet counted: a few thousand at most
	// while the writer keeps up.
	if n, err := s.store.PendingHits(c.Request().Context()); err == nil {
		body["tracking_backlog"] = n
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, body)
}

// diskFree returns the bytes free to an unprivileged user on dir's filesystem.
func diskFree(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
