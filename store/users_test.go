package store

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
)

// fieldNames returns the sorted field names of a *ValidationError, or fails.
func fieldNames(t *testing.T, err error) []string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error: got %v, want a *ValidationError", err)
	}
	var names []string
	for k, msg := range ve.Fields {
		if msg == "" {
			t.Errorf("field %s: got an empty message, want one that says what to do", k)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func sameFields(t *testing.T, err error, want ...string) {
	t.Helper()
	got := fieldNames(t, err)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("invalid fields: got %v, want %v", got, want)
	}
}

func TestCreateUserValidation(t *testing.T) {
	t.Parallel()
	valid := NewUser{Email: "ann@example.com", Name: "Ann", Role: RoleAdmin, Password: "long enough pw"}
	cases := []struct {
		name   string
		change func(*NewUser)
		fields []string
	}{
		{"empty email", func(u *NewUser) { u.Email = "" }, []string{"email"}},
		{"email without at", func(u *NewUser) { u.Email = "ann.example.com" }, []string{"email"}},
		{"email without dot in domain", func(u *NewUser) { u.Email = "ann@example" }, []string{"email"}},
		{"email with display name", func(u *NewUser) { u.Email = "Ann <ann@example.com>" }, []string{"email"}},
		{"short password", func(u *NewUser) { u.Password = "short" }, []string{"password"}},
		{"nine characters", func(u *NewUser) { u.Password = "123456789" }, []string{"password"}},
		{"password over 72 bytes", func(u *NewUser) { u.Password = strings.Repeat("a", 73) }, []string{"password"}},
		{"bad role", func(u *NewUser) { u.Role = "root" }, []string{"role"}},
		{"empty role", func(u *NewUser) { u.Role = "" }, []string{"role"}},
		{"everything", func(u *NewUser) { u.Email, u.Password, u.Role = "x", "", "god" }, []string{"email", "password", "role"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTestStore(t)
			nu := valid
			tc.change(&nu)
			_, err := s.CreateUser(context.Background(), nu)
			sameFields(t, err, tc.fields...)
			if n, err := s.CountUsers(context.Background()); err != nil || n != 0 {
				t.Errorf("CountUsers: got %v (%v), want 0", n, err)
			}
		})
	}
}

func TestCreateUserAccepts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		nu   NewUser
	}{
		{"admin", NewUser{Email: "ann@example.com", Role: RoleAdmin, Password: "0123456789"}},
		{"owner", NewUser{Email: "bob@example.com", Role: RoleOwner, Password: "0123456789"}},
		{"ten runes", NewUser{Email: "eve@example.com", Role: RoleAdmin, Password: "ääääääääää"}},
		{"72 bytes", NewUser{Email: "max@example.com", Role: RoleAdmin, Password: strings.Repeat("p", 72)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTestStore(t)
			if _, err := s.CreateUser(context.Background(), tc.nu); err != nil {
				t.Errorf("CreateUser: got %v, want nil", err)
			}
		})
	}
}

func TestCreateUserStores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	u, err := s.CreateUser(ctx, NewUser{Email: "  Ann@Example.com ", Name: "  Ann  ", Role: RoleAdmin, Password: "correct horse battery"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.ID == 0 || u.Email != "ann@example.com" || u.Name != "Ann" || u.Role != RoleAdmin || !u.CreatedAt.Equal(testStart) {
		t.Errorf("created user: got %+v, want id set, the email normalised, the name trimmed, admin, created %v", u, testStart)
	}
	if u.PasswordHash == "" || strings.Contains(u.PasswordHash, "correct horse") {
		t.Errorf("PasswordHash: got %q, want a bcrypt hash", u.PasswordHash)
	}
	got, err := s.UserByEmail(ctx, "ann@EXAMPLE.com")
	if err != nil {
		t.Fatalf("UserByEmail in other case: %v", err)
	}
	if got != u {
		t.Errorf("UserByEmail: got %+v, want %+v", got, u)
	}
	if !CheckPassword(got.PasswordHash, "correct horse battery") {
		t.Errorf("CheckPassword with stored hash: got false, want true")
	}
	if _, err := s.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("UserByEmail missing: got %v, want %v", err, ErrNotFound)
	}
}

func TestCreateUserDuplicateEmail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	createTestUser(t, s, "ann@example.com")
	_, err := s.CreateUser(ctx, NewUser{Email: "ANN@Example.COM", Role: RoleOwner, Password: "another password"})
	if !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate email: got %v, want %v", err, ErrConflict)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 1 {
		t.Errorf("CountUsers: got %v (%v), want 1", n, err)
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	hash, err := HashPassword("right password")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, hash, password string
		want                 bool
	}{
		{"right", hash, "right password", true},
		{"wrong", hash, "wrong password", false},
		{"empty password", hash, "", false},
		{"prefix of right", hash, "right", false},
		{"empty hash", "", "right password", false},
		{"empty hash and password", "", "", false},
		{"dummy account password", "", "herald-no-such-user", false},
		{"garbage hash", "not-a-hash", "right password", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := CheckPassword(tc.hash, tc.password); got != tc.want {
				t.Errorf("CheckPassword: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSetupToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	owner := NewUser{Email: "owner@example.com", Name: "Owner", Password: "owner password"}

	token, err := s.NewSetupToken(ctx)
	if err != nil || token == "" {
		t.Fatalf("NewSetupToken: got %q (%v), want a token", token, err)
	}
	if !s.CheckSetupToken(ctx, token) {
		t.Errorf("CheckSetupToken(token): got false, want true")
	}
	for _, bad := range []string{"", "wrong", token + "x", strings.ToUpper(token)} {
		if s.CheckSetupToken(ctx, bad) {
			t.Errorf("CheckSetupToken(%q): got true, want false", bad)
		}
	}

	for _, bad := range []string{"", "wrong", token[:len(token)-1]} {
		if _, err := s.CreateOwner(ctx, bad, owner); !errors.Is(err, ErrBadSetupToken) {
			t.Errorf("CreateOwner(%q): got %v, want %v", bad, err, ErrBadSetupToken)
		}
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Errorf("CountUsers after bad tokens: got %v (%v), want 0", n, err)
	}

	// Invalid input leaves the token unspent.
	invalid := owner
	invalid.Password = "short"
	_, err = s.CreateOwner(ctx, token, invalid)
	sameFields(t, err, "password")
	if !s.CheckSetupToken(ctx, token) {
		t.Errorf("CheckSetupToken after invalid input: got false, want true")
	}

	// The role always becomes owner, whatever the input says.
	withRole := owner
	withRole.Role = RoleAdmin
	u, err := s.CreateOwner(ctx, token, withRole)
	if err != nil {
		t.Fatalf("CreateOwner with right token: %v", err)
	}
	if u.Role != RoleOwner || u.Email != owner.Email {
		t.Errorf("owner: got %+v, want role %v and email %v", u, RoleOwner, owner.Email)
	}
	if stored, err := s.UserByEmail(ctx, owner.Email); err != nil || stored.Role != RoleOwner {
		t.Errorf("stored owner: got %+v (%v), want role %v", stored, err, RoleOwner)
	}

	if s.CheckSetupToken(ctx, token) {
		t.Errorf("CheckSetupToken after use: got true, want false")
	}
	second := NewUser{Email: "second@example.com", Password: "second password"}
	if _, err := s.CreateOwner(ctx, token, second); !errors.Is(err, ErrBadSetupToken) {
		t.Errorf("CreateOwner with used token: got %v, want %v", err, ErrBadSetupToken)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 1 {
		t.Errorf("CountUsers: got %v (%v), want 1", n, err)
	}
	if again, err := s.NewSetupToken(ctx); err != nil || again != "" {
		t.Errorf("NewSetupToken with a user: got %q (%v), want empty", again, err)
	}
}

func TestNewSetupTokenReplacesEarlier(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	first, err := s.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first == second {
		t.Fatalf("two setup tokens: got equal %q, want different", first)
	}
	if s.CheckSetupToken(ctx, first) {
		t.Errorf("CheckSetupToken(first): got true, want false")
	}
	if !s.CheckSetupToken(ctx, second) {
		t.Errorf("CheckSetupToken(second): got false, want true")
	}
	if _, err := s.CreateOwner(ctx, first, NewUser{Email: "o@example.com", Password: "owner password"}); !errors.Is(err, ErrBadSetupToken) {
		t.Errorf("CreateOwner(first): got %v, want %v", err, ErrBadSetupToken)
	}
}

func TestCreateOwnerWhenUserExists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	token, err := s.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	createTestUser(t, s, "early@example.com")
	if _, err := s.CreateOwner(ctx, token, NewUser{Email: "o@example.com", Password: "owner password"}); !errors.Is(err, ErrBadSetupToken) {
		t.Errorf("CreateOwner with an existing user: got %v, want %v", err, ErrBadSetupToken)
	}
}

func TestCreateOwnerWithoutToken(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	if _, err := s.CreateOwner(context.Background(), "anything", NewUser{Email: "o@example.com", Password: "owner password"}); !errors.Is(err, ErrBadSetupToken) {
		t.Errorf("CreateOwner before any token: got %v, want %v", err, ErrBadSetupToken)
	}
	if s.CheckSetupToken(context.Background(), "anything") {
		t.Errorf("CheckSetupToken before any token: got true, want false")
	}
}

func TestSetPassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	ann := createTestUser(t, s, "ann@example.com")
	bob := createTestUser(t, s, "bob@example.com")
	var annTokens []string
	for range 2 {
		tok, _, err := s.CreateSession(ctx, ann.ID, "127.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		annTokens = append(annTokens, tok)
	}
	bobToken, _, err := s.CreateSession(ctx, bob.ID, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}

	if err := s.SetPassword(ctx, "ANN@example.com", "brand new password"); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	u, err := s.UserByEmail(ctx, ann.Email)
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(u.PasswordHash, "brand new password") {
		t.Errorf("new password: got rejected, want accepted")
	}
	if CheckPassword(u.PasswordHash, "correct horse battery") {
		t.Errorf("old password: got accepted, want rejected")
	}
	for _, tok := range annTokens {
		if _, err := s.SessionByToken(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("ann's session after SetPassword: got %v, want %v", err, ErrNotFound)
		}
	}
	if sess, err := s.SessionByToken(ctx, bobToken); err != nil || sess.User.ID != bob.ID {
		t.Errorf("bob's session: got %+v (%v), want bob's live session", sess, err)
	}
	if b, err := s.UserByEmail(ctx, bob.Email); err != nil || !CheckPassword(b.PasswordHash, "correct horse battery") {
		t.Errorf("bob's password: got changed (%v), want unchanged", err)
	}
}

func TestSetPasswordErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	createTestUser(t, s, "ann@example.com")
	sameFields(t, s.SetPassword(ctx, "ann@example.com", "short"), "password")
	if u, err := s.UserByEmail(ctx, "ann@example.com"); err != nil || !CheckPassword(u.PasswordHash, "correct horse battery") {
		t.Errorf("password after refused change: got changed (%v), want unchanged", err)
	}
	if err := s.SetPassword(ctx, "nobody@example.com", "long enough password"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPassword for missing user: got %v, want %v", err, ErrNotFound)
	}
}

// TestUsersKeepAnOwner changes and removes users: a new password signs the
// user out, and the only owner can neither stop being one nor be removed.
func TestUsersKeepAnOwner(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	owner, err := s.CreateUser(ctx, NewUser{Email: "owner@example.com", Name: "Olga", Role: RoleOwner, Password: "a long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := s.CreateUser(ctx, NewUser{Email: "admin@example.com", Name: "Adam", Role: RoleAdmin, Password: "a long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := s.CreateSession(ctx, admin.ID, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	name, pw := "Adam Smith", "another long password"
	u, err := s.UpdateUser(ctx, admin.ID, UserChange{Name: &name, Password: &pw})
	if err != nil || u.Name != "Adam Smith" || u.Role != RoleAdmin || !CheckPassword(u.PasswordHash, pw) {
		t.Fatalf("update: got %+v, %v", u, err)
	}
	if _, err := s.SessionByToken(ctx, token); err == nil {
		t.Error("a new password left the user's session signed in")
	}
	short, bad := "short", "root"
	var ve *ValidationError
	if _, err := s.UpdateUser(ctx, admin.ID, UserChange{Password: &short, Role: &bad}); !errors.As(err, &ve) || ve.Fields["password"] == "" || ve.Fields["role"] == "" {
		t.Errorf("bad change: got %v, want password and role named", err)
	}
	demote := RoleAdmin
	if _, err := s.UpdateUser(ctx, owner.ID, UserChange{Role: &demote}); !errors.Is(err, ErrConflict) {
		t.Errorf("the only owner made an admin: got %v, want a conflict", err)
	}
	if err := s.DeleteUser(ctx, owner.ID); !errors.Is(err, ErrConflict) {
		t.Errorf("the only owner removed: got %v, want a conflict", err)
	}
	promote := RoleOwner
	if _, err := s.UpdateUser(ctx, admin.ID, UserChange{Role: &promote}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, owner.ID); err != nil {
		t.Errorf("an owner removed while another remains: %v", err)
	}
	if users, _ := s.Users(ctx); len(users) != 1 || users[0].ID != admin.ID {
		t.Errorf("users: got %+v", users)
	}
	// One mailbox written two ways is one user; a name is one short line.
	if _, err := s.CreateUser(ctx, NewUser{Email: "x@bücher.example", Role: RoleAdmin, Password: "a long enough password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, NewUser{Email: "X@xn--bcher-kva.example", Role: RoleAdmin, Password: "a long enough password"}); !errors.Is(err, ErrConflict) {
		t.Errorf("the same mailbox in its ASCII form: got %v, want a conflict", err)
	}
	if u, err := s.UserByEmail(ctx, "x@BÜCHER.example"); err != nil || u.Email != "x@xn--bcher-kva.example" {
		t.Errorf("sign-in lookup: got %+v, %v", u, err)
	}
	if _, err := s.CreateUser(ctx, NewUser{Email: "n@example.com", Name: "line\u202e", Role: RoleAdmin, Password: "a long enough password"}); !errors.As(err, &ve) || ve.Fields["name"] == "" {
		t.Errorf("a name with a right-to-left override: got %v, want it refused", err)
	}
	if err := s.DeleteUser(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing user: got %v", err)
	}
}
