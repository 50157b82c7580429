package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Contact statuses: whether Herald may email the person at all.
const (
	StatusActive       = "active"
	StatusUnsubscribed = "unsubscribed"
	StatusBounced      = "bounced"
	StatusComplained   = "complained"
	StatusBlocked      = "blocked"
)

// ContactStatuses lists the global statuses a contact can have.
var ContactStatuses = []string{StatusActive, StatusUnsubscribed, StatusBounced, StatusComplained, StatusBlocked}

// List membership statuses.
const (
	MemberUnconfirmed  = "unconfirmed"
	MemberConfirmed    = "confirmed"
	MemberUnsubscribed = "unsubscribed"
)

// MemberStatuses lists the statuses of a list membership.
var MemberStatuses = []string{MemberUnconfirmed, MemberConfirmed, MemberUnsubscribed}

// MaxAttributes is how many attributes one contact may hold, counted after
// a change is merged into what it already has.
const MaxAttributes = 200

// Limits on what one contact may hold.
const (
	maxNameLen       = 200
	maxAttributeText = 10000
	maxTags          = 100
	maxTagLen        = 100
)

// Contact is a person Herald can email.
type Contact struct {
	ID          int64
	Email       string
	FirstName   string
	LastName    string
	Attributes  map[string]any
	Status      string
	Source      string
	Consent     Consent
	Tags        []string
	Memberships []Membership
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ErasedAt    time.Time
	// LastOpen and LastClick are the contact's latest open and (a
	// person's) click of any message; zero when none was seen.
	LastOpen  time.Time
	LastClick time.Time
}

// Name returns the contact's full name, or "".
func (c Contact) Name() string { return strings.TrimSpace(c.FirstName + " " + c.LastName) }

// Consent records how a contact agreed to receive mail.
type Consent struct {
	IP   string
	At   time.Time
	Form string
}

// Membership is a contact's place on one list.
type Membership struct {
	ListID    int64
	ListName  string
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ContactInput creates or changes a contact. Nil fields are left as they are
// (or take their default on create). Attributes are merged: a key set to nil
// is removed. Tags replace the contact's tags. Lists subscribes the contact to
// each list with ListStatus, confirmed by default: whoever adds people by
// hand, import or API vouches for their consent. Only public forms start
// double opt-in memberships unconfirmed.
type ContactInput struct {
	Email      *string
	FirstName  *string
	LastName   *string
	Attributes map[string]any
	Status     *string
	Tags       *[]string
	Lists      []int64
	ListStatus string
	Source     string
	Consent    *Consent
}

// Validate reports what is wrong with in, keyed by API field name.
func (in ContactInput) Validate() map[string]string {
	errs := map[string]string{}
	if in.Email != nil {
		if msg := CheckEmail(*in.Email); msg != "" {
			errs["email"] = msg
		}
	}
	for field, v := range map[string]*string{"first_name": in.FirstName, "last_name": in.LastName} {
		if v == nil {
			continue
		}
		if msg := CheckLine(*v, maxNameLen); msg != "" {
			errs[field] = msg
		}
	}
	if in.Status != nil && !contains(ContactStatuses, *in.Status) {
		errs["status"] = "Status must be one of " + strings.Join(ContactStatuses, ", ") + "."
	}
	if in.ListStatus != "" && !contains(MemberStatuses, in.ListStatus) {
		errs["list_status"] = "List status must be one of " + strings.Join(MemberStatuses, ", ") + "."
	}
	if msg := checkAttributes(in.Attributes); msg != "" {
		errs["attributes"] = msg
	}
	if in.Tags != nil {
		if msg := checkTags(*in.Tags); msg != "" {
			errs["tags"] = msg
		}
	}
	return errs
}

func checkAttributes(attrs map[string]any) string {
	if len(attrs) > MaxAttributes {
		return fmt.Sprintf("A contact has at most %d attributes.", MaxAttributes)
	}
	for k, v := range attrs {
		if msg := CheckAttribute(k, v); msg != "" {
			return msg
		}
	}
	return ""
}

// CheckAttribute says what is wrong with one attribute, or "": its name
// and its value, text of at most maxAttributeText characters, a number,
// true or false.
func CheckAttribute(k string, v any) string {
	if !AttributeKey.MatchString(k) {
		return fmt.Sprintf("Attribute name %q must be lower_snake_case: letters a-z, digits and _, at most 64.", k)
	}
	switch x := v.(type) {
	case nil, bool:
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprintf("Attribute %q must be a finite number.", k)
		}
	case json.Number:
	case int, int64:
	case string:
		if len(x) > maxAttributeText {
			return fmt.Sprintf("Attribute %q is longer than %d characters.", k, maxAttributeText)
		}
		if msg := CheckText(x, maxAttributeText); msg != "" {
			return fmt.Sprintf("Attribute %q: %s", k, msg)
		}
	default:
		return fmt.Sprintf("Attribute %q must be text, a number, true/false or a date, not a list or object.", k)
	}
	return ""
}

func checkTags(tags []string) string {
	if len(tags) > maxTags {
		return fmt.Sprintf("A contact has at most %d tags.", maxTags)
	}
	for _, t := range tags {
		if t = strings.TrimSpace(t); t == "" || len(t) > maxTagLen {
			return fmt.Sprintf("Each tag is one line of 1 to %d characters.", maxTagLen)
		}
		if msg := CheckLine(t, maxTagLen); msg != "" {
			return fmt.Sprintf("Tag %q: %s", t, msg)
		}
	}
	return ""
}

// normalizeTags trims tags and drops duplicates, ignoring case.
func normalizeTags(tags []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t != "" && !seen[strings.ToLower(t)] {
			seen[strings.ToLower(t)] = true
			out = append(out, t)
		}
	}
	return out
}

// CreateContact stores a new contact. With upsert, an existing contact with
// the same email is updated instead and created is false; without, an
// existing email is a conflict.
func (s *Store) CreateContact(ctx context.Context, in ContactInput, upsert bool) (c Contact, created bool, err error) {
	if in.Email == nil {
		return Contact{}, false, &ValidationError{Fields: map[string]string{"email": "Enter an email address."}}
	}
	email := NormalizeEmail(*in.Email)
	in.Email = &email
	if errs := in.Validate(); len(errs) > 0 {
		return Contact{}, false, &ValidationError{Fields: errs}
	}
	var id int64
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM contacts WHERE email = ?`, email).Scan(&id)
		switch {
		case err == nil && !upsert:
			return conflict("a contact with the email %s already exists", email)
		case err == nil:
			if err := s.applyContact(ctx, tx, id, in, "updated"); err != nil {
				return err
			}
			return s.emitContact(ctx, tx, EventContactUpdated, id)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		created = true
		if id, err = s.insertContact(ctx, tx, in); err != nil {
			return err
		}
		if err := s.applyContact(ctx, tx, id, in, ""); err != nil {
			return err
		}
		return s.emitContact(ctx, tx, EventContactCreated, id)
	})
	if err != nil {
		return Contact{}, false, err
	}
	c, err = s.Contact(ctx, id)
	return c, created, err
}

func (s *Store) insertContact(ctx context.Context, tx *sql.Tx, in ContactInput) (int64, error) {
	now := unix(s.now())
	status := StatusActive
	if in.Status != nil {
		status = *in.Status
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO contacts (email, status, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		*in.Email, status, in.Source, now, now)
	if isUniqueViolation(err) {
		return 0, conflict("a contact with the email %s already exists", *in.Email)
	}
	if err != nil {
		return 0, fmt.Errorf("store: create contact: %w", err)
	}
	id, _ := res.LastInsertId()
	return id, nil
}

// UpdateContact changes a contact.
func (s *Store) UpdateContact(ctx context.Context, id int64, in ContactInput) (Contact, error) {
	if in.Email != nil {
		email := NormalizeEmail(*in.Email)
		in.Email = &email
	}
	if errs := in.Validate(); len(errs) > 0 {
		return Contact{}, &ValidationError{Fields: errs}
	}
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var erased sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT erased_at FROM contacts WHERE id = ?`, id).Scan(&erased)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if erased.Valid {
			return &ValidationError{Fields: map[string]string{"id": "This contact was erased; its data cannot be changed."}}
		}
		if err := s.applyContact(ctx, tx, id, in, "updated"); err != nil {
			return err
		}
		return s.emitContact(ctx, tx, EventContactUpdated, id)
	})
	if err != nil {
		return Contact{}, err
	}
	return s.Contact(ctx, id)
}

// applyContact writes the fields in sets on contact id inside tx. verb, when
// set, names the change in the contact's timeline.
func (s *Store) applyContact(ctx context.Context, tx *sql.Tx, id int64, in ContactInput, verb string) (err error) {
	now := unix(s.now())
	var sets []string
	var args []any
	set := func(col string, v any) {
		sets = append(sets, col+" = ?")
		args = append(args, v)
	}
	if in.Email != nil {
		set("email", *in.Email)
	}
	if in.FirstName != nil {
		set("first_name", strings.TrimSpace(*in.FirstName))
	}
	if in.LastName != nil {
		set("last_name", strings.TrimSpace(*in.LastName))
	}
	if in.Status != nil {
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM contacts WHERE id = ?`, id).Scan(&old); err != nil {
			return err
		}
		if old != *in.Status {
			set("status", *in.Status)
			if *in.Status == StatusUnsubscribed {
				if err := offAllLists(ctx, tx, id, now); err != nil {
					return err
				}
			}
			if *in.Status == StatusComplained {
				if err := countComplaint(ctx, tx, id, now); err != nil {
					return err
				}
			}
			if err := recordEvent(ctx, tx, id, statusEvent(*in.Status), "Status changed from "+old+" to "+*in.Status, now); err != nil {
				return err
			}
			if *in.Status == StatusUnsubscribed {
				defer func() {
					if err == nil {
						err = s.emitContact(ctx, tx, EventContactUnsubscribed, id)
					}
				}()
			}
		}
	}
	if in.Consent != nil {
		set("consent_ip", in.Consent.IP)
		set("consent_at", unix(in.Consent.At))
		set("consent_form", in.Consent.Form)
	}
	if len(in.Attributes) > 0 {
		patch, err := json.Marshal(in.Attributes)
		if err != nil {
			return err
		}
		if err := checkMergedAttributes(ctx, tx, id, string(patch)); err != nil {
			return err
		}
		// json_patch removes keys whose value is null, as RFC 7396 says.
		sets = append(sets, "attributes = json_patch(attributes, ?)")
		args = append(args, string(patch))
	}
	if verb != "" && (in.Email != nil || in.FirstName != nil || in.LastName != nil || len(in.Attributes) > 0) {
		if err := recordEvent(ctx, tx, id, EventUpdated, "Details "+verb, now); err != nil {
			return err
		}
	}
	if len(sets) > 0 {
		set("updated_at", now)
		_, err := tx.ExecContext(ctx, `UPDATE contacts SET `+strings.Join(sets, ", ")+` WHERE id = ?`, append(args, id)...)
		if isUniqueViolation(err) {
			return conflict("a contact with the email %s already exists", *in.Email)
		}
		if err != nil {
			return fmt.Errorf("store: update contact %d: %w", id, err)
		}
	}
	if in.Tags != nil {
		if err := s.setTags(ctx, tx, id, normalizeTags(*in.Tags)); err != nil {
			return err
		}
	}
	for _, listID := range in.Lists {
		if err := s.subscribe(ctx, tx, id, listID, in.ListStatus, now); err != nil {
			return err
		}
	}
	return nil
}

// checkMergedAttributes refuses a patch that would leave contact id with
// more than MaxAttributes attributes once merged into those it has.
func checkMergedAttributes(ctx context.Context, tx *sql.Tx, id int64, patch string) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM contacts c, json_each(json_patch(c.attributes, ?)) WHERE c.id = ?`, patch, id).Scan(&n)
	if err != nil {
		return fmt.Errorf("store: contact %d attributes: %w", id, err)
	}
	if n > MaxAttributes {
		return &ValidationError{Fields: map[string]string{"attributes": fmt.Sprintf(
			"A contact has at most %d attributes; with these it would have %d. Remove some (set them to null) or send fewer.", MaxAttributes, n)}}
	}
	return nil
}

// subscribe puts a contact on a list; status "" means confirmed.
func (s *Store) subscribe(ctx context.Context, tx *sql.Tx, contactID, listID int64, status string, now int64) error {
	var name string
	err := tx.QueryRowContext(ctx, `SELECT name FROM lists WHERE id = ?`, listID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return &ValidationError{Fields: map[string]string{"lists": fmt.Sprintf("List %d does not exist.", listID)}}
	}
	if err != nil {
		return err
	}
	if status == "" {
		status = MemberConfirmed
	}
	var old string
	err = tx.QueryRowContext(ctx, `SELECT status FROM list_members WHERE list_id = ? AND contact_id = ?`, listID, contactID).Scan(&old)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if old == status {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO list_members (list_id, contact_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (list_id, contact_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
		listID, contactID, status, now, now); err != nil {
		return fmt.Errorf("store: subscribe contact %d to list %d: %w", contactID, listID, err)
	}
	if err := recordEvent(ctx, tx, contactID, memberEvent(status), memberDetail(status, name), now); err != nil {
		return err
	}
	if err := s.emitMembership(ctx, tx, contactID, listID, status); err != nil {
		return err
	}
	if status != MemberConfirmed {
		return nil
	}
	return s.triggered(ctx, tx, TriggerList, listID, "", contactID, "joined "+name)
}

// setTags gives a contact exactly tags; each tag it did not have may start
// automations.
func (s *Store) setTags(ctx context.Context, tx *sql.Tx, contactID int64, tags []string) error {
	had, err := queryIDs(ctx, tx, `DELETE FROM contact_tags WHERE contact_id = ? RETURNING tag_id`, contactID)
	if err != nil {
		return err
	}
	for _, t := range tags {
		tagID, err := s.tagID(ctx, tx, t)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO contact_tags (tag_id, contact_id) VALUES (?, ?)`, tagID, contactID); err != nil {
			return err
		}
		if slices.Contains(had, tagID) {
			continue
		}
		if err := s.triggered(ctx, tx, TriggerTag, 0, strings.ToLower(t), contactID, "tag "+t); err != nil {
			return err
		}
	}
	return nil
}

// tagID returns the id of the named tag, creating it if needed.
func (s *Store) tagID(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO tags (name) VALUES (?) ON CONFLICT (name) DO UPDATE SET name = name RETURNING id`, name).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: tag %q: %w", name, err)
	}
	return id, nil
}

const contactColumns = `c.id, c.email, c.first_name, c.last_name, c.attributes, c.status, c.source,
c.consent_ip, c.consent_at, c.consent_form, c.erased_at, c.created_at, c.updated_at, c.last_open_at, c.last_click_at`

func scanContact(row scanner) (Contact, error) {
	var c Contact
	var attrs string
	var consentAt, erased, lastOpen, lastClick sql.NullInt64
	var created, updated int64
	err := row.Scan(&c.ID, &c.Email, &c.FirstName, &c.LastName, &attrs, &c.Status, &c.Source,
		&c.Consent.IP, &consentAt, &c.Consent.Form, &erased, &created, &updated, &lastOpen, &lastClick)
	if err != nil {
		return c, err
	}
	c.Consent.At, c.ErasedAt = fromNullUnix(consentAt), fromNullUnix(erased)
	c.LastOpen, c.LastClick = fromNullUnix(lastOpen), fromNullUnix(lastClick)
	c.CreatedAt, c.UpdatedAt = fromUnix(created), fromUnix(updated)
	if err := json.Unmarshal([]byte(attrs), &c.Attributes); err != nil {
		return c, fmt.Errorf("contact %d attributes: %w", c.ID, err)
	}
	return c, nil
}

// Contact returns a contact with its tags and list memberships.
func (s *Store) Contact(ctx context.Context, id int64) (Contact, error) {
	c, err := scanContact(s.r.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts c WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, ErrNotFound
	}
	if err != nil {
		return Contact{}, fmt.Errorf("store: contact %d: %w", id, err)
	}
	if c.Tags, err = s.contactTags(ctx, id); err != nil {
		return Contact{}, err
	}
	if c.Memberships, err = s.memberships(ctx, id); err != nil {
		return Contact{}, err
	}
	return c, nil
}

// ContactByEmail returns the contact with the email, ignoring case.
func (s *Store) ContactByEmail(ctx context.Context, email string) (Contact, error) {
	var id int64
	err := s.r.QueryRowContext(ctx, `SELECT id FROM contacts WHERE email = ?`, NormalizeEmail(email)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, ErrNotFound
	}
	if err != nil {
		return Contact{}, fmt.Errorf("store: contact %s: %w", email, err)
	}
	return s.Contact(ctx, id)
}

func (s *Store) contactTags(ctx context.Context, id int64) ([]string, error) {
	return queryAll(ctx, s, "contact tags", scanString,
		`SELECT t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.contact_id = ? ORDER BY t.name`, id)
}

func (s *Store) memberships(ctx context.Context, id int64) ([]Membership, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT l.id, l.name, m.status, m.created_at, m.updated_at
FROM list_members m JOIN lists l ON l.id = m.list_id WHERE m.contact_id = ? ORDER BY l.name`, id)
	if err != nil {
		return nil, fmt.Errorf("store: contact %d lists: %w", id, err)
	}
	defer rows.Close()
	out := []Membership{}
	for rows.Next() {
		var m Membership
		var created, updated int64
		if err := rows.Scan(&m.ListID, &m.ListName, &m.Status, &created, &updated); err != nil {
			return nil, err
		}
		m.CreatedAt, m.UpdatedAt = fromUnix(created), fromUnix(updated)
		out = append(out, m)
	}
	return out, rows.Err()
}

// SetMembership changes a contact's status on one list, or removes the
// contact from it when status is "".
func (s *Store) SetMembership(ctx context.Context, contactID, listID int64, status string) error {
	if status != "" && !contains(MemberStatuses, status) {
		return &ValidationError{Fields: map[string]string{"status": "List status must be one of " + strings.Join(MemberStatuses, ", ") + "."}}
	}
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if err := contactExists(ctx, tx, contactID); err != nil {
			return err
		}
		if status != "" {
			return s.subscribe(ctx, tx, contactID, listID, status, unix(s.now()))
		}
		var name string
		err := tx.QueryRowContext(ctx, `DELETE FROM list_members WHERE contact_id = ? AND list_id = ?
RETURNING (SELECT name FROM lists WHERE id = ?)`, contactID, listID, listID).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return recordEvent(ctx, tx, contactID, EventRemoved, "Removed from "+name, unix(s.now()))
	})
}

func contactExists(ctx context.Context, tx *sql.Tx, id int64) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM contacts WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// DeleteContact removes a contact and everything attached to it.
func (s *Store) DeleteContact(ctx context.Context, id int64) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		var email string
		err := tx.QueryRowContext(ctx, `DELETE FROM contacts WHERE id = ? RETURNING email`, id).Scan(&email)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: delete contact %d: %w", id, err)
		}
		return s.emit(ctx, tx, EventContactDeleted, func() (any, error) { return ContactDeletedData{ID: id, Email: email}, nil })
	})
}

// ContactDeletedData is what contact.deleted carries: the email is empty
// for a contact erased on request, whose row stays, anonymous.
type ContactDeletedData struct {
	ID     int64  `json:"id"`
	Email  string `json:"email"`
	Erased bool   `json:"erased"`
}

// EraseContact wipes a contact's personal data for a GDPR erasure request.
// The row stays, anonymous and unsubscribed everywhere, so counts still add up.
func (s *Store) EraseContact(ctx context.Context, id int64) error {
	now := unix(s.now())
	return s.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE contacts SET email = ?, first_name = '', last_name = '', attributes = '{}',
status = 'unsubscribed', source = '', consent_ip = '', consent_at = NULL, consent_form = '', erased_at = ?, updated_at = ?
WHERE id = ?`, fmt.Sprintf("erased-%d-%s@erased.invalid", id, randomToken(5)), now, now, id)
		if err != nil {
			return fmt.Errorf("store: erase contact %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		for _, q := range []string{
			`DELETE FROM contact_tags WHERE contact_id = ?`,
			`DELETE FROM contact_events WHERE contact_id = ?`,
			`DELETE FROM custom_events WHERE contact_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("store: erase contact %d: %w", id, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE list_members SET status = 'unsubscribed', updated_at = ? WHERE contact_id = ?`, now, id); err != nil {
			return fmt.Errorf("store: erase contact %d: %w", id, err)
		}
		if err := recordEvent(ctx, tx, id, EventErased, "Personal data erased on request", now); err != nil {
			return err
		}
		return s.emit(ctx, tx, EventContactDeleted, func() (any, error) { return ContactDeletedData{ID: id, Erased: true}, nil })
	})
}
