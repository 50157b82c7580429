package templates

// SetupProps fill the first-run page that creates the owner account.
type SetupProps struct {
	Shell  Shell
	Token  string
	Email  string
	Name   string
	Errors FieldErrors
}

// LoginProps fill the sign-in page.
type LoginProps struct {
	Shell Shell
	Email string
	Next  string
	Error string
}
