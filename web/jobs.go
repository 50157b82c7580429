package web

import (
	"net/http"
	"time"

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

// jobJSON is one scheduled job as the API shows it.
type jobJSON struct {
	Name      string     `json:"name"`
	Spec      string     `json:"spec"`
	LastRun   *time.Time `json:"last_run"`
	NextRun   *time.Time `json:"next_run"`
	LastError string     `json:"last_error"`
}

func (s *Server) apiJobList(c *echo.Context) error {
	out := []jobJSON{}
	for _, j := range s.jobs() {
		out = append(out, jobJSON{Name: j.Name, Spec: j.Spec, LastRun: optTime(j.LastRun), NextRun: optTime(j.NextRun), LastError: j.LastError})
	}
	return apiData(c, http.StatusOK, out)
}
