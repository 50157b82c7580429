package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Roles a user can have. Owners and admins have the same rights today.
const (
	RoleOwner = "owner"
	RoleAdmin = "admin"
)

// maxUserName bounds a user's name.
const maxUserName = 200

// MinPasswordLength is the shortest password Herald accepts.
const MinPasswordLength = 10

// User is a person who can sign in to the admin UI.
type User struct {
	ID           int64
	Email        string
	Name         string
	Role         string
	PasswordHash string
	CreatedAt    time.Time
}

// NewUser is what it takes to create a user.
type NewUser struct {
	Email    string
	Name     string
	Role     string
	Password string
}

// Validate reports what is wrong with u, keyed by field name.
func (u NewUser) Validate() map[string]string {
	errs := map[string]string{}
	if msg := CheckEmail(u.Email); msg != "" {
		errs["email"] = msg
	}
	if msg := CheckLine(u.Name, maxUserName); msg != "" {
		errs["name"] = msg
	}
	if msg := checkPassword(u.Password); msg != "" {
		errs["password"] = msg
	}
	if u.Role != RoleOwner && u.Role != RoleAdmin {
		errs["role"] = "Role must be owner or admin."
	}
	return errs
}

// checkPassword returns what is wrong with a new password, or "". bcrypt reads
// at most 72 bytes, so longer passwords are refused rather than cut.
func checkPassword(pw string) string {
	switch {
	case strings.TrimSpace(pw) == "":
		return "Enter a password that is more than spaces."
	case len([]rune(pw)) < MinPasswordLength:
		return fmt.Sprintf("Use at least %d characters.", MinPasswordLength)
	case len(pw) > 72:
		return "Use at most 72 bytes."
	}
	return ""
}

// HashPassword hashes a password with bcrypt.
func HashPassword(password string) (string, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(b), nil
}

// dummyHash is compared against when an account does not exist, so a wrong email
// costs as much time as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("herald-no-such-user"), bcrypt.DefaultCost)

// CheckPassword reports whether password matches hash; with an empty hash it
// still spends the time of a bcrypt comparison and reports false.
func CheckPassword(hash, password string) bool {
	if hash == "" {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

const insertUser = `INSERT INTO users (email, name, role, password_hash, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?)`

// CreateUser validates and stores a new user.
func (s *Store) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	var u User
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = s.createUserTx(ctx, tx, nu)
		return err
	})
	return u, err
}

func (s *Store) createUserTx(ctx context.Context, tx *sql.Tx, nu NewUser) (User, error) {
	nu.Email = strings.TrimSpace(nu.Email)
	nu.Name = strings.TrimSpace(nu.Name)
	if errs := nu.Validate(); len(errs) > 0 {
		return User{}, &ValidationError{Fields: errs}
	}
	// Stored as contacts are, so that one mailbox written two ways is one
	// user.
	nu.Email = NormalizeEmail(nu.Email)
	hash, err := HashPassword(nu.Password)
	if err != nil {
		return User{}, err
	}
	now := s.now()
	res, err := tx.ExecContext(ctx, insertUser, nu.Email, nu.Name, nu.Role, hash, unix(now), unix(now))
	if isUniqueViolation(err) {
		return User{}, conflict("a user with the email %s already exists", nu.Email)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: create user: %w", err)
	}
	id, _ := res.LastInsertId()
	return User{ID: id, Email: nu.Email, Name: nu.Name, Role: nu.Role, PasswordHash: hash, CreatedAt: now.UTC()}, nil
}

const userColumns = `id, email, name, role, password_hash, created_at`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created int64
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &created)
	u.CreatedAt = fromUnix(created)
	return u, err
}

// UserByEmail returns the user with the given email, ignoring case.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	email = strings.TrimSpace(email)
	// Users made before addresses were normalised are stored as typed.
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ? OR email = ? ORDER BY email = ? DESC LIMIT 1`,
		NormalizeEmail(email), email, NormalizeEmail(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %s: %w", email, err)
	}
	return u, nil
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return n, nil
}

const setupTokenKey = "setup_token_sha256"

// NewSetupToken replaces any earlier setup token with a fresh one and returns it.
// It returns "" when the instance already has a user, since setup is then over.
func (s *Store) NewSetupToken(ctx context.Context) (string, error) {
	token := randomToken(24)
	created := false
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		created = true
		return putSetting(ctx, tx, setupTokenKey, hashToken(token))
	})
	if err != nil {
		return "", fmt.Errorf("store: setup token: %w", err)
	}
	if !created {
		return "", nil
	}
	return token, nil
}

// ErrBadSetupToken is returned when a setup token is missing, wrong or used.
var ErrBadSetupToken = errors.New("setup link is invalid or has already been used")

// CheckSetupToken reports whether token is the current, unused setup token.
func (s *Store) CheckSetupToken(ctx context.Context, token string) bool {
	want, err := s.setting(ctx, s.r, setupTokenKey)
	return err == nil && token != "" && constantTimeEqual(want, hashToken(token))
}

// CreateOwner creates the first account with the setup token, which is spent in
// the same transaction so it works exactly once.
func (s *Store) CreateOwner(ctx context.Context, token string, nu NewUser) (User, error) {
	nu.Role = RoleOwner
	var u User
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		want, err := s.setting(ctx, tx, setupTokenKey)
		if errors.Is(err, ErrNotFound) || (err == nil && !constantTimeEqual(want, hashToken(token))) || token == "" {
			return ErrBadSetupToken
		}
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrBadSetupToken
		}
		if u, err = s.createUserTx(ctx, tx, nu); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, setupTokenKey)
		return err
	})
	return u, err
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return fmt.Sprintf("%x", sum)
}

// SetPassword gives a user a new password and signs out all their sessions.
func (s *Store) SetPassword(ctx context.Context, email, password string) error {
	if msg := checkPassword(password); msg != "" {
		return &ValidationError{Fields: map[string]string{"password": msg}}
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return s.Tx(ctx, func(tx *sql.Tx) error {
		var id int64
		email = strings.TrimSpace(email)
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE email = ? OR email = ? ORDER BY email = ? DESC LIMIT 1`,
			NormalizeEmail(email), email, NormalizeEmail(email)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: user %s: %w", email, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, unix(s.now()), id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id)
		return err
	})
}

// UserEmails returns every user's address, for telling them what needs
// their attention.
func (s *Store) UserEmails(ctx context.Context) ([]string, error) {
	return queryAll(ctx, s, "user emails", func(row scanner) (string, error) {
		var e string
		err := row.Scan(&e)
		return e, err
	}, `SELECT email FROM users ORDER BY id`)
}

// Users lists every user, oldest first.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	return queryAll(ctx, s, "users", func(row scanner) (User, error) { return scanUser(row) }, `SELECT `+userColumns+` FROM users ORDER BY id`)
}

// User returns the user with the given id.
func (s *Store) User(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %d: %w", id, err)
	}
	return u, nil
}

// UserChange changes a user; a nil field stays as it is.
type UserChange struct {
	Name, Role, Password *string
}

// UpdateUser changes a user's name, role or password. A new password signs
// the user out everywhere. Herald keeps at least one owner.
func (s *Store) UpdateUser(ctx context.Context, id int64, ch UserChange) (User, error) {
	errs := map[string]string{}
	if ch.Name != nil {
		*ch.Name = strings.TrimSpace(*ch.Name)
		if msg := CheckLine(*ch.Name, maxUserName); msg != "" {
			errs["name"] = msg
		}
	}
	if ch.Role != nil && *ch.Role != RoleOwner && *ch.Role != RoleAdmin {
		errs["role"] = "Role must be owner or admin."
	}
	var hash string
	if ch.Password != nil {
		if msg := checkPassword(*ch.Password); msg != "" {
			errs["password"] = msg
		} else if h, err := HashPassword(*ch.Password); err != nil {
			return User{}, err
		} else {
			hash = h
		}
	}
	if len(errs) > 0 {
		return User{}, &ValidationError{Fields: errs}
	}
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		u, err := userIn(ctx, tx, id)
		if err != nil {
			return err
		}
		if ch.Role != nil && *ch.Role != RoleOwner {
			if err := keepAnOwner(ctx, tx, u, "make another user an owner before this one stops being one"); err != nil {
				return err
			}
		}
		now := unix(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE users SET name = coalesce(?, name), role = coalesce(?, role),
	password_hash = coalesce(nullif(?, ''), password_hash), updated_at = ? WHERE id = ?`, ch.Name, ch.Role, hash, now, id); err != nil {
			return err
		}
		if hash != "" {
			_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id)
		}
		return err
	})
	if err != nil && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("store: update user %d: %w", id, err)
	}
	if err != nil {
		return User{}, err
	}
	return s.User(ctx, id)
}

// DeleteUser removes a user and signs them out; Herald keeps at least one
// owner.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		u, err := userIn(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := keepAnOwner(ctx, tx, u, "make another user an owner before removing this one"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		return err
	})
	if err != nil && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("store: delete user %d: %w", id, err)
	}
	return err
}

// userIn reads a user inside a transaction.
func userIn(ctx context.Context, tx *sql.Tx, id int64) (User, error) {
	u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	return u, err
}

// keepAnOwner refuses to take away u, when u is the only owner.
func keepAnOwner(ctx context.Context, tx *sql.Tx, u User, what string) error {
	if u.Role != RoleOwner {
		return nil
	}
	var owners int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'owner'`).Scan(&owners); err != nil {
		return err
	}
	if owners <= 1 {
		return conflict("Herald needs an owner, and %s is the only one: %s", u.Email, what)
	}
	return nil
}
