package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// usersPage shows Settings → Users.
func (s *Server) usersPage(c *echo.Context, status int, p templates.UsersProps) error {
	users, err := s.store.Users(c.Request().Context())
	if err != nil {
		return err
	}
	for _, u := range users {
		p.Users = append(p.Users, templates.UserRow{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, CreatedAt: u.CreatedAt})
	}
	if me, ok := currentUser(c); ok {
		p.Me = me.ID
	}
	if p.Form.Role == "" {
		p.Form.Role = store.RoleAdmin
	}
	p.Shell = s.shell(c, "settings", "Users")
	if p.Flash.Text != "" {
		p.Shell.Flash = p.Flash
	}
	return s.render(c, status, templates.UsersPage(p))
}

func (s *Server) userList(c *echo.Context) error {
	return s.usersPage(c, http.StatusOK, templates.UsersProps{})
}

// userCreate adds a user; what is wrong comes back beside its field.
func (s *Server) userCreate(c *echo.Context) error {
	f := templates.UserForm{Email: c.FormValue("email"), Name: c.FormValue("name"), Role: c.FormValue("role")}
	u, err := s.store.CreateUser(c.Request().Context(), store.NewUser{Email: f.Email, Name: f.Name, Role: f.Role, Password: c.FormValue("password")})
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		return s.usersPage(c, http.StatusUnprocessableEntity, templates.UsersProps{Form: f, Errors: ve.Fields})
	case errors.Is(err, store.ErrConflict):
		return s.usersPage(c, http.StatusConflict, templates.UsersProps{Form: f, Errors: templates.FieldErrors{"email": "A user with this email already exists."}})
	case err != nil:
		return err
	}
	s.log.Info("user added", "email", u.Email, "role", u.Role, "by", actor(c))
	s.flash(c, "success", u.Email+" can sign in now.")
	return redirect(c, "/settings/users")
}

// userRole changes a user's role.
func (s *Server) userRole(c *echo.Context) error {
	role := c.FormValue("role")
	return s.userChange(c, store.UserChange{Role: &role}, "Role saved.")
}

// userPassword gives a user a new password, which signs them out
// everywhere; a user who sets their own stays signed in here.
func (s *Server) userPassword(c *echo.Context) error {
	pw := c.FormValue("password")
	if me, ok := currentUser(c); ok && c.Param("id") == itoa(me.ID) {
		if _, err := s.store.UpdateUser(c.Request().Context(), me.ID, store.UserChange{Password: &pw}); err != nil {
			return s.userChangeFailed(c, err)
		}
		token, expires, err := s.store.CreateSession(c.Request().Context(), me.ID, c.RealIP(), c.Request().UserAgent())
		if err != nil {
			return err
		}
		s.setCookie(c, sessionCookie, token, expires)
		s.log.Info("user changed", "email", me.Email, "password", true, "by", actor(c))
		s.flash(c, "success", "Your password is set; you are signed out everywhere else.")
		return redirect(c, "/settings/users")
	}
	return s.userChange(c, store.UserChange{Password: &pw}, "Password set; they are signed out everywhere.")
}

// userChange makes a change to the user the path names and says done.
func (s *Server) userChange(c *echo.Context, ch store.UserChange, done string) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	u, err := s.store.UpdateUser(c.Request().Context(), id, ch)
	if err != nil {
		return s.userChangeFailed(c, err)
	}
	s.log.Info("user changed", "email", u.Email, "role", u.Role, "password", ch.Password != nil, "by", actor(c))
	s.flash(c, "success", done)
	return redirect(c, "/settings/users")
}

// userChangeFailed answers a change the store refused.
func (s *Server) userChangeFailed(c *echo.Context, err error) error {
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		return s.usersPage(c, http.StatusUnprocessableEntity, templates.UsersProps{Flash: templates.Flash{Kind: "error", Text: "Not saved: " + strings.Join(ve.Messages(), " ")}})
	case errors.Is(err, store.ErrConflict):
		return s.usersPage(c, http.StatusConflict, templates.UsersProps{Flash: templates.Flash{Kind: "error", Text: "Not saved: " + upperFirst(err.Error()) + "."}})
	}
	return err
}

// userDelete removes a user, never the one signed in.
func (s *Server) userDelete(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if me, ok := currentUser(c); ok && me.ID == id {
		return s.usersPage(c, http.StatusConflict, templates.UsersProps{Flash: templates.Flash{Kind: "error", Text: "You cannot remove yourself: another owner or admin can."}})
	}
	u, err := s.store.User(c.Request().Context(), id)
	if err != nil {
		return err
	}
	err = s.store.DeleteUser(c.Request().Context(), id)
	if errors.Is(err, store.ErrConflict) {
		return s.usersPage(c, http.StatusConflict, templates.UsersProps{Flash: templates.Flash{Kind: "error", Text: "Not removed: " + upperFirst(err.Error()) + "."}})
	}
	if err != nil {
		return err
	}
	s.log.Info("user removed", "email", u.Email, "by", actor(c))
	s.flash(c, "success", u.Email+" was removed and signed out.")
	return redirect(c, "/settings/users")
}

// actor names who made a change, for the log: the signed-in user, or the
// API key's prefix.
func actor(c *echo.Context) string {
	if u, ok := currentUser(c); ok {
		return u.Email
	}
	if k, ok := c.Get(ctxAPIKey).(store.APIKey); ok {
		return "key " + k.Prefix
	}
	return ""
}
