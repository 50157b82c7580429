package templates

import "time"

// UsersProps fill Settings → Users.
type UsersProps struct {
	Shell Shell
	Users []UserRow
	// Me is the signed-in user's id, who cannot remove themselves here.
	Me int64
	// Form is the add form as typed.
	Form   UserForm
	Errors FieldErrors
	// Flash is an error to show at the top, for a row's form.
	Flash Flash
}

// UserRow is one user in the list.
type UserRow struct {
	ID                int64
	Email, Name, Role string
	CreatedAt         time.Time
}

// UserForm is the add form's values; the password is never written back.
type UserForm struct {
	Email, Name, Role string
}

// RoleChoices are the roles a user can have.
var RoleChoices = []Option{{Value: "owner", Label: "Owner"}, {Value: "admin", Label: "Admin"}}
