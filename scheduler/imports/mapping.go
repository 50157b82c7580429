package imports

import (
	"fmt"
	"strings"
	"unicode"
)

// Targets a column can be imported as, besides "attribute:<key>".
const (
	TargetEmail      = "email"
	TargetFirstName  = "first_name"
	TargetLastName   = "last_name"
	TargetFullName   = "full_name"
	TargetTags       = "tags"
	TargetAttributes = "attributes_json"
	TargetIgnore     = "ignore"
)

// knownHeaders maps the column names that Mailchimp, listmonk, Sendy, Google
// Contacts and spreadsheets commonly use, squeezed to letters and digits, to
// what they hold.
var knownHeaders = map[string]string{
	"email": TargetEmail, "emailaddress": TargetEmail, "mail": TargetEmail, "e-mail": TargetEmail,
	"email1value": TargetEmail, "emailaddress1": TargetEmail, "subscriberemail": TargetEmail, "useremail": TargetEmail,
	"firstname": TargetFirstName, "fname": TargetFirstName, "givenname": TargetFirstName, "first": TargetFirstName, "forename": TargetFirstName,
	"lastname": TargetLastName, "lname": TargetLastName, "surname": TargetLastName, "familyname": TargetLastName, "last": TargetLastName,
	"name": TargetFullName, "fullname": TargetFullName, "displayname": TargetFullName, "subscribername": TargetFullName, "contactname": TargetFullName,
	"courriel": TargetEmail, "correo": TargetEmail, "correoelectronico": TargetEmail, "emailadres": TargetEmail,
	"prénom": TargetFirstName, "prenom": TargetFirstName, "vorname": TargetFirstName, "voornaam": TargetFirstName, "nombre": TargetFirstName,
	"nom": TargetLastName, "nachname": TargetLastName, "achternaam": TargetLastName, "apellido": TargetLastName, "apellidos": TargetLastName,
	"tags": TargetTags, "tag": TargetTags, "labels": TargetTags,
	"attributes": TargetAttributes, "attribs": TargetAttributes,
}

func squeeze(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// AutoMap proposes a target for each column: well-known names map to the
// contact's fields, and the rest become attributes named in lower snake case.
// When no column is named like an email, the first column whose sample value
// looks like an address is used.
func AutoMap(columns []string, sample []string) []string {
	out := make([]string, len(columns))
	used := map[string]bool{}
	for i, c := range columns {
		t, ok := knownHeaders[squeeze(c)]
		if ok && !used[t] {
			out[i] = t
			used[t] = true
			continue
		}
		key := AttributeKeyFor(c, i)
		if used["attribute:"+key] {
			key = fmt.Sprintf("%s_%d", key, i+1)
		}
		out[i] = "attribute:" + key
		used[out[i]] = true
	}
	if !used[TargetEmail] {
		for i, v := range sample {
			if i < len(out) && strings.Count(v, "@") == 1 && strings.Contains(v[strings.IndexByte(v, '@'):], ".") {
				out[i] = TargetEmail
				break
			}
		}
	}
	return out
}

// AttributeKeyFor turns a column name into an attribute name: "Favourite
// Colour" becomes favourite_colour. Names with no letters or digits become
// column_N.
func AttributeKeyFor(column string, index int) string {
	var b strings.Builder
	underscore := false
	for _, r := range strings.ToLower(column) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if underscore && b.Len() > 0 {
				b.WriteByte('_')
			}
			underscore = false
			b.WriteRune(r)
		default:
			underscore = true
		}
	}
	key := b.String()
	if len(key) > 64 {
		key = strings.TrimRight(key[:64], "_")
	}
	if key == "" {
		key = fmt.Sprintf("column_%d", index+1)
	}
	return key
}
