package web

import (
	"net/http"

	"herald/templates"

	"github.com/labstack/echo/v5"
)

func (s *Server) jobList(c *echo.Context) error {
	var rows []templates.JobRow
	for _, j := range s.jobs() {
		rows = append(rows, templates.JobRow{
			Name: j.Name, Spec: j.Spec, LastRun: j.LastRun, NextRun: j.NextRun, LastError: j.LastError,
		})
	}
	return s.render(c, http.StatusOK, templates.JobsPage(templates.JobsProps{Shell: s.shell(c, "settings", "Jobs"), Jobs: rows}))
}
