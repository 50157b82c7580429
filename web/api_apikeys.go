package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// apiKeyJSON is an API key as the API shows it: never its secret, which
// only the answer that creates it carries.
type apiKeyJSON struct {
	ID     int64            `json:"id"`
	Name   string           `json:"name"`
	Prefix string           `json:"prefix"`
	Scopes []string         `json:"scopes"`
	Limits store.RateLimits `json:"limits"`
	// Secret is the whole key, given once, when it is created.
	Secret     string     `json:"secret,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func toAPIKeyJSON(k store.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: orEmpty(k.Scopes), Limits: k.Limits, CreatedAt: k.CreatedAt,
		LastUsedAt: optTime(k.LastUsedAt), RevokedAt: optTime(k.RevokedAt)}
}

// apiKeyBody creates a key; limits of 0 take the install's.
type apiKeyBody struct {
	Name   string           `json:"name"`
	Scopes []string         `json:"scopes"`
	Limits store.RateLimits `json:"limits"`
}

// apiKeyPatch changes a key's limits.
type apiKeyPatch struct {
	Limits *store.RateLimits `json:"limits"`
}

func (s *Server) apiAPIKeyList(c *echo.Context) error {
	q, err := readList(c, namedList, s.location())
	if err != nil {
		return err
	}
	keys, err := s.store.APIKeys(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]apiKeyJSON, len(keys))
	for i, k := range keys {
		out[i] = toAPIKeyJSON(k)
	}
	out, m := pageOf(out, q, func(k apiKeyJSON) listed { return named(k.ID, k.CreatedAt, k.Name) })
	return apiList(c, out, m)
}

func (s *Server) apiAPIKeyCreate(c *echo.Context) error {
	var b apiKeyBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	k, secret, err := s.store.CreateAPIKey(c.Request().Context(), store.NewAPIKey{Name: b.Name, Scopes: b.Scopes, Limits: b.Limits})
	if err != nil {
		return err
	}
	s.log.Info("api key created", "name", k.Name, "prefix", k.Prefix, "by_key", c.Get(ctxAPIKey).(store.APIKey).Prefix)
	out := toAPIKeyJSON(k)
	out.Secret = secret
	c.Response().Header().Set("Location", "/api/v1/api-keys/"+itoa(k.ID))
	c.Response().Header().Set("Cache-Control", "no-store")
	return apiData(c, http.StatusCreated, out)
}

func (s *Server) apiAPIKeyGet(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	k, err := s.store.APIKey(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toAPIKeyJSON(k))
}

func (s *Server) apiAPIKeyUpdate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var b apiKeyPatch
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	k, err := s.store.APIKey(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if b.Limits != nil {
		if k, err = s.store.SetAPIKeyLimits(c.Request().Context(), id, *b.Limits); err != nil {
			return err
		}
	}
	return apiData(c, http.StatusOK, toAPIKeyJSON(k))
}
