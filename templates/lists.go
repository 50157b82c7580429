package templates

func listAction(id int64) string {
	if id == 0 {
		return "/lists"
	}
	return "/lists/" + i64(id)
}

// ListRow is one list in the lists table.
type ListRow struct {
	ID           int64
	Name         string
	Description  string
	OptIn        string
	Visibility   string
	Confirmed    int
	Unconfirmed  int
	Unsubscribed int
}

// ListsProps fill the lists page.
type ListsProps struct {
	Shell Shell
	Lists []ListRow
}

// FormFieldRow is one custom field of a list's public form in the editor.
type FormFieldRow struct {
	Key      string
	Label    string
	Required bool
}

// ListForm is the state of the list editor.
type ListForm struct {
	Name        string
	Description string
	OptIn       string
	Visibility  string
	Challenge   bool
	Fields      []FormFieldRow
}

// ListProps fill the list editor; ID 0 adds a list.
type ListProps struct {
	Shell  Shell
	ID     int64
	Form   ListForm
	Errors FieldErrors
	Counts ListRow
	// FormURL is the public subscription page, for public lists.
	FormURL string
	// EmbedHTML is a form to paste into another website.
	EmbedHTML string
	// NoRelay warns that confirmation emails cannot go out yet.
	NoRelay bool
	// NoBaseURL warns that the form is closed until the public base URL
	// is set.
	NoBaseURL bool
}
