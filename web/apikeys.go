package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

func (s *Server) apiKeysPage(c *echo.Context, status int, p templates.APIKeysProps) error {
	keys, err := s.store.APIKeys(c.Request().Context())
	if err != nil {
		return err
	}
	for _, k := range keys {
		access := "Read only"
		if k.HasScope(store.ScopeFull) {
			access = "Full"
		}
		p.Keys = append(p.Keys, templates.APIKeyRow{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Access: access,
			CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt})
	}
	p.Shell = s.shell(c, "settings", "API keys")
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, status, templates.APIKeysPage(p))
}

func (s *Server) apiKeyList(c *echo.Context) error {
	return s.apiKeysPage(c, http.StatusOK, templates.APIKeysProps{})
}

// apiKeyCreate shows the new key in the response itself, never in a redirect
// or cookie, so it exists in exactly one place: this page.
func (s *Server) apiKeyCreate(c *echo.Context) error {
	name, scope := c.FormValue("name"), c.FormValue("scope")
	k, secret, err := s.store.CreateAPIKey(c.Request().Context(), store.NewAPIKey{Name: name, Scopes: []string{scope}})
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.apiKeysPage(c, http.StatusUnprocessableEntity, templates.APIKeysProps{Name: name, Scope: scope, Errors: ve.Fields})
	}
	if err != nil {
		return err
	}
	s.log.Info("api key created", "name", k.Name, "prefix", k.Prefix)
	return s.apiKeysPage(c, http.StatusCreated, templates.APIKeysProps{NewKey: secret, NewName: k.Name})
}

func (s *Server) apiKeyRevoke(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.store.RevokeAPIKey(c.Request().Context(), id); err != nil {
		return err
	}
	s.flash(c, "success", "Key revoked. Requests using it are refused from now on.")
	return redirect(c, "/settings/api-keys")
}
