package web

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

func (s *Server) dashboard(c *echo.Context) error {
	ctx := c.Request().Context()
	relays, err := s.store.Relays(ctx)
	if err != nil {
		return err
	}
	keys, err := s.store.APIKeys(ctx)
	if err != nil {
		return err
	}
	live := 0
	for _, k := range keys {
		if !k.Revoked() {
			live++
		}
	}
	contacts, err := s.store.CountContacts(ctx, store.ContactFilter{})
	if err != nil {
		return err
	}
	active, err := s.store.CountContacts(ctx, store.ContactFilter{Status: store.StatusActive})
	if err != nil {
		return err
	}
	lists, err := s.store.ListNames(ctx)
	if err != nil {
		return err
	}
	g := s.general()
	return s.render(c, http.StatusOK, templates.DashboardPage(templates.DashboardProps{
		Contacts: contacts, Active: active, Lists: len(lists),
		Shell:       s.shell(c, "dashboard", "Dashboard"),
		GeneralDone: g.OrgName != "" && g.PostalAddress != "",
		Relays:      len(relays),
		APIKeys:     live,
	}))
}

func (s *Server) notBuilt(sec templates.Section) echo.HandlerFunc {
	return func(c *echo.Context) error {
		return s.render(c, http.StatusOK, templates.NotBuiltPage(s.shell(c, sec.Key, sec.Label), sec))
	}
}

func (s *Server) jobList(c *echo.Context) error {
	var rows []templates.JobRow
	for _, j := range s.jobs() {
		rows = append(rows, templates.JobRow{
			Name: j.Name, Spec: j.Spec, LastRun: j.LastRun, NextRun: j.NextRun, LastError: j.LastError,
		})
	}
	return s.render(c, http.StatusOK, templates.JobsPage(templates.JobsProps{Shell: s.shell(c, "settings", "Jobs"), Jobs: rows}))
}

func (s *Server) health(c *echo.Context) error {
	body := map[string]string{"status": "ok", "version": s.version, "database": "ok"}
	status := http.StatusOK
	if err := s.store.Ping(c.Request().Context()); err != nil {
		s.log.Error("health check: database", "err", err)
		body["status"], body["database"] = "degraded", "unavailable"
		status = http.StatusServiceUnavailable
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, body)
}
