package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// userJSON is a user as the API shows them: never their password.
type userJSON struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

func toUserJSON(u store.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, CreatedAt: u.CreatedAt}
}

// userBody adds a user who signs in with email and password.
type userBody struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

// userPatch changes a user; a new password signs them out everywhere.
type userPatch struct {
	Name     *string `json:"name"`
	Role     *string `json:"role"`
	Password *string `json:"password"`
}

func (s *Server) apiUserList(c *echo.Context) error {
	q, err := readList(c, namedList, s.location())
	if err != nil {
		return err
	}
	users, err := s.store.Users(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]userJSON, len(users))
	for i, u := range users {
		out[i] = toUserJSON(u)
	}
	out, m := pageOf(out, q, func(u userJSON) listed { return named(u.ID, u.CreatedAt, u.Name) })
	return apiList(c, out, m)
}

func (s *Server) apiUserCreate(c *echo.Context) error {
	var b userBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	u, err := s.store.CreateUser(c.Request().Context(), store.NewUser{Email: b.Email, Name: b.Name, Role: b.Role, Password: b.Password})
	if err != nil {
		return err
	}
	s.log.Info("user added", "email", u.Email, "role", u.Role, "by", actor(c))
	c.Response().Header().Set("Location", "/api/v1/users/"+itoa(u.ID))
	return apiData(c, http.StatusCreated, toUserJSON(u))
}

func (s *Server) apiUserGet(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	u, err := s.store.User(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toUserJSON(u))
}

func (s *Server) apiUserUpdate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var b userPatch
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	u, err := s.store.UpdateUser(c.Request().Context(), id, store.UserChange{Name: b.Name, Role: b.Role, Password: b.Password})
	if err != nil {
		return err
	}
	s.log.Info("user changed", "email", u.Email, "role", u.Role, "password", b.Password != nil, "by", actor(c))
	return apiData(c, http.StatusOK, toUserJSON(u))
}
