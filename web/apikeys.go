package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

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
		p.Keys = append(p.Keys, templates.APIKeyRow{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: strings.Join(k.Scopes, ", "),
			Limits: limitsForm(k.Limits), CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt})
	}
	if p.Install == (templates.RateLimitsForm{}) {
		p.Install = limitsForm(s.general().APILimits)
	}
	p.Shell = s.shell(c, "settings", "API keys")
	if p.Flash.Text != "" {
		p.Shell.Flash = p.Flash
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, status, templates.APIKeysPage(p))
}

// limitsForm writes limits for a form: "" for a class left to the install.
func limitsForm(l store.RateLimits) templates.RateLimitsForm {
	str := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	return templates.RateLimitsForm{Read: str(l.Read), Write: str(l.Write), Send: str(l.Send)}
}

// formLimits reads the read, write and send fields: blank is 0, and what
// is not a whole number -1, which validation refuses with its message.
func formLimits(c *echo.Context) (store.RateLimits, templates.RateLimitsForm) {
	raw := templates.RateLimitsForm{Read: c.FormValue("read"), Write: c.FormValue("write"), Send: c.FormValue("send")}
	num := func(v string) int {
		if v = strings.TrimSpace(v); v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return -1
		}
		return n
	}
	return store.RateLimits{Read: num(raw.Read), Write: num(raw.Write), Send: num(raw.Send)}, raw
}

func (s *Server) apiKeyList(c *echo.Context) error {
	return s.apiKeysPage(c, http.StatusOK, templates.APIKeysProps{Scopes: []string{store.ScopeRead}})
}

// apiKeyCreate shows the new key in the response itself, never in a redirect
// or cookie, so it exists in exactly one place: this page.
func (s *Server) apiKeyCreate(c *echo.Context) error {
	form, err := formValues(c)
	if err != nil {
		return err
	}
	name, scopes := form.Get("name"), form["scopes"]
	limits, raw := formLimits(c)
	k, secret, err := s.store.CreateAPIKey(c.Request().Context(), store.NewAPIKey{Name: name, Scopes: scopes, Limits: limits})
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.apiKeysPage(c, http.StatusUnprocessableEntity, templates.APIKeysProps{Name: name, Scopes: scopes, Limits: raw, Errors: ve.Fields})
	}
	if err != nil {
		return err
	}
	s.log.Info("api key created", "name", k.Name, "prefix", k.Prefix, "scopes", strings.Join(k.Scopes, " "))
	return s.apiKeysPage(c, http.StatusCreated, templates.APIKeysProps{NewKey: secret, NewName: k.Name, Scopes: []string{store.ScopeRead}})
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

// apiKeySetLimits sets one key's own rate limits.
func (s *Server) apiKeySetLimits(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	limits, _ := formLimits(c)
	k, err := s.store.SetAPIKeyLimits(c.Request().Context(), id, limits)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.apiKeysPage(c, http.StatusUnprocessableEntity, templates.APIKeysProps{Scopes: []string{store.ScopeRead},
			Flash: templates.Flash{Kind: "error", Text: "The limits were not saved: " + strings.Join(ve.Messages(), " ")}})
	}
	if err != nil {
		return err
	}
	s.flash(c, "success", "Limits of the key "+k.Name+" saved.")
	return redirect(c, "/settings/api-keys")
}

// installLimitsSave sets the install's rate limits, every key's default.
func (s *Server) installLimitsSave(c *echo.Context) error {
	g, err := s.store.General(c.Request().Context())
	if err != nil {
		return err
	}
	limits, raw := formLimits(c)
	for _, n := range []*int{&limits.Read, &limits.Write, &limits.Send} {
		if *n == 0 {
			*n = -1 // refused: every class needs a limit
		}
	}
	g.APILimits = limits
	g, err = s.store.SaveGeneral(c.Request().Context(), g)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.apiKeysPage(c, http.StatusUnprocessableEntity, templates.APIKeysProps{Scopes: []string{store.ScopeRead}, Install: raw, Errors: ve.Fields})
	}
	if err != nil {
		return err
	}
	s.generalCache.Store(&g)
	s.flash(c, "success", "Rate limits saved. They apply to every key without limits of its own, from the next request.")
	return redirect(c, "/settings/api-keys")
}
