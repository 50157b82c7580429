package templates

import "github.com/a-h/templ"

// PublicShell is what every public page needs: the organisation's name and
// the assets. Public pages carry no session and no admin navigation.
type PublicShell struct {
	Title   string
	OrgName string
	Assets  Assets
	CSRF    string
	// Feed, when set, is announced as the page's Atom feed.
	Feed string
}

// PublicField is one input of a public subscription form.
type PublicField struct {
	Name     string
	Label    string
	Type     string
	Required bool
	Value    string
	Error    string
}

// SubscribeProps fill a list's hosted subscription form.
type SubscribeProps struct {
	Shell       PublicShell
	ListID      int64
	ListName    string
	Description string
	Fields      []PublicField
	Error       string
	// Challenge, when set, is a proof-of-work puzzle of ChallengeBits bits
	// that the browser solves before the form is sent.
	Challenge     string
	ChallengeBits int
	// Notice asks the visitor to send the form again, without blame.
	Notice string
}

// MessageProps fill a public page that only says something, with an
// optional button that posts to Action.
type MessageProps struct {
	Shell    PublicShell
	Heading  string
	Text     string
	Action   string
	Button   string
	Link     string
	LinkText string
}

// PrefList is one list on the preferences page.
type PrefList struct {
	ID          int64
	Name        string
	Description string
	On          bool
}

// PreferencesProps fill a contact's preferences page.
type PreferencesProps struct {
	Shell  PublicShell
	Email  string
	Token  string
	Lists  []PrefList
	Saved  bool
	Status string
}

// HoneypotField is the form field only bots fill in.
const HoneypotField = "website"

// ArchiveItem is one message in a list's public archive.
type ArchiveItem struct {
	ID          int64
	Title       string
	PublishedAt string
}

// ArchiveProps fill a public list's archive page.
type ArchiveProps struct {
	Shell    PublicShell
	ListID   int64
	ListName string
	Items    []ArchiveItem
	FeedURL  string
}

func powAttrs(p SubscribeProps) templ.Attributes {
	if p.Challenge == "" {
		return templ.Attributes{}
	}
	return templ.Attributes{"data-pow": p.Challenge, "data-pow-bits": itoa(p.ChallengeBits)}
}
