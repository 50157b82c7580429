package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// FormSubscription is what someone typed into a list's public form.
type FormSubscription struct {
	Email      string
	FirstName  string
	LastName   string
	Attributes map[string]any
	IP         string
}

// SubscribeOutcome says what a form subscription did, for the server's eyes
// only: the person always sees the same page, so the form reveals nothing.
type SubscribeOutcome struct {
	ContactID int64
	// Confirm is true when a confirmation email should go out.
	Confirm bool
	// Refused is true when the address may not be mailed (blocked, bounced,
	// complained or suppressed), so nothing was sent or changed.
	Refused bool
}

// Validate reports what is wrong with what was typed.
func (f FormSubscription) Validate() map[string]string {
	in := ContactInput{Email: &f.Email, FirstName: &f.FirstName, LastName: &f.LastName, Attributes: f.Attributes}
	return in.Validate()
}

// SubscribeByForm records a subscription to a public list. A known address
// keeps its details; only empty names and unset attributes are filled in, so
// a stranger cannot change someone else's data through the form.
func (s *Store) SubscribeByForm(ctx context.Context, listID int64, f FormSubscription) (SubscribeOutcome, error) {
	f.Email = NormalizeEmail(f.Email)
	if errs := f.Validate(); len(errs) > 0 {
		return SubscribeOutcome{}, &ValidationError{Fields: errs}
	}
	l, err := s.List(ctx, listID)
	if err != nil {
		return SubscribeOutcome{}, err
	}
	if l.Visibility != VisibilityPublic {
		return SubscribeOutcome{}, ErrNotFound
	}
	if _, suppressed, err := s.Suppressed(ctx, f.Email); err != nil || suppressed {
		return SubscribeOutcome{Refused: suppressed}, err
	}
	var out SubscribeOutcome
	now := s.now()
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, `SELECT id, status FROM contacts WHERE email = ?`, f.Email).Scan(&out.ContactID, &status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			status = StatusActive
			err = tx.QueryRowContext(ctx, `INSERT INTO contacts (email, first_name, last_name, attributes, status, source, created_at, updated_at)
VALUES (?, ?, ?, json(?), 'active', ?, ?, ?) RETURNING id`, f.Email, strings.TrimSpace(f.FirstName), strings.TrimSpace(f.LastName),
				jsonText(orEmptyMap(f.Attributes)), "form: "+l.Name, unix(now), unix(now)).Scan(&out.ContactID)
			if err != nil {
				return fmt.Errorf("store: form contact: %w", err)
			}
		case err != nil:
			return err
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE contacts SET
first_name = CASE WHEN first_name = '' THEN ? ELSE first_name END,
last_name = CASE WHEN last_name = '' THEN ? ELSE last_name END,
attributes = json_patch(json(?), attributes), updated_at = ? WHERE id = ?`,
				strings.TrimSpace(f.FirstName), strings.TrimSpace(f.LastName), jsonText(orEmptyMap(f.Attributes)), unix(now), out.ContactID); err != nil {
				return err
			}
		}
		if status != StatusActive && status != StatusUnsubscribed {
			out.Refused = true
			return nil
		}
		var member string
		err = tx.QueryRowContext(ctx, `SELECT status FROM list_members WHERE list_id = ? AND contact_id = ?`, listID, out.ContactID).Scan(&member)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if member == MemberConfirmed && status == StatusActive {
			return nil
		}
		if l.OptIn == OptInDouble {
			// Consent is recorded when the link is followed, not now.
			out.Confirm = true
			if member == MemberConfirmed {
				return nil
			}
			return s.subscribe(ctx, tx, out.ContactID, listID, MemberUnconfirmed, unix(now))
		}
		if err := recordConsent(ctx, tx, out.ContactID, f.IP, "Form of "+l.Name, unix(now)); err != nil {
			return err
		}
		if err := s.reactivate(ctx, tx, out.ContactID, status, "Subscribed again through the form of "+l.Name, unix(now)); err != nil {
			return err
		}
		return s.subscribe(ctx, tx, out.ContactID, listID, MemberConfirmed, unix(now))
	})
	return out, err
}

func orEmptyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// reactivate makes an unsubscribed contact active again after they asked to
// be subscribed.
func (s *Store) reactivate(ctx context.Context, tx *sql.Tx, id int64, status, why string, now int64) error {
	if status != StatusUnsubscribed {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE contacts SET status = 'active', updated_at = ? WHERE id = ?`, now, id); err != nil {
		return err
	}
	return recordEvent(ctx, tx, id, EventStatus, why, now)
}

func recordConsent(ctx context.Context, tx *sql.Tx, contactID int64, ip, form string, now int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE contacts SET consent_ip = ?, consent_at = ?, consent_form = ? WHERE id = ?`, ip, now, form, contactID)
	return err
}

// ConfirmSubscription confirms a double opt-in subscription from its link,
// and records the consent with the address that confirmed.
func (s *Store) ConfirmSubscription(ctx context.Context, contactID, listID int64, ip string) (List, error) {
	l, err := s.List(ctx, listID)
	if err != nil {
		return List{}, err
	}
	now := unix(s.now())
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		var status string
		var erased sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT status, erased_at FROM contacts WHERE id = ?`, contactID).Scan(&status, &erased)
		if errors.Is(err, sql.ErrNoRows) || erased.Valid {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if status != StatusActive && status != StatusUnsubscribed {
			return nil
		}
		if err := recordConsent(ctx, tx, contactID, ip, "Confirmation link for "+l.Name, now); err != nil {
			return err
		}
		if err := s.reactivate(ctx, tx, contactID, status, "Confirmed a subscription to "+l.Name, now); err != nil {
			return err
		}
		return s.subscribe(ctx, tx, contactID, listID, MemberConfirmed, now)
	})
	return l, err
}

// Preferences is what a contact's preferences page shows: their lists and
// the public lists they could join.
type Preferences struct {
	Contact Contact
	Lists   []List
	// On maps a list id to true when the contact is subscribed to it.
	On map[int64]bool
}

// ContactPreferences loads a contact's preferences page.
func (s *Store) ContactPreferences(ctx context.Context, contactID int64) (Preferences, error) {
	c, err := s.Contact(ctx, contactID)
	if err != nil {
		return Preferences{}, err
	}
	if !c.ErasedAt.IsZero() {
		return Preferences{}, ErrNotFound
	}
	p := Preferences{Contact: c, On: map[int64]bool{}}
	member := map[int64]bool{}
	for _, m := range c.Memberships {
		member[m.ListID] = true
		p.On[m.ListID] = m.Status != MemberUnsubscribed && c.Status == StatusActive
	}
	lists, err := s.Lists(ctx)
	if err != nil {
		return p, err
	}
	for _, l := range lists {
		if l.Visibility == VisibilityPublic || member[l.ID] {
			p.Lists = append(p.Lists, l)
		}
	}
	return p, nil
}

// SetPreferences saves a preferences page: the contact stays on, or joins,
// the lists in want among those the page offers and leaves the others; with
// all, they unsubscribe from all mail. The signed link proves the address,
// so joining needs no further confirmation.
func (s *Store) SetPreferences(ctx context.Context, contactID int64, want []int64, all bool) error {
	p, err := s.ContactPreferences(ctx, contactID)
	if err != nil {
		return err
	}
	wanted := map[int64]bool{}
	for _, id := range want {
		wanted[id] = true
	}
	now := unix(s.now())
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if all {
			return s.unsubscribeAll(ctx, tx, contactID, "Unsubscribed from all mail on the preferences page", now)
		}
		if len(wanted) > 0 {
			if err := s.reactivate(ctx, tx, contactID, p.Contact.Status, "Subscribed again on the preferences page", now); err != nil {
				return err
			}
		}
		for _, l := range p.Lists {
			switch {
			case wanted[l.ID] && !p.On[l.ID]:
				if err := s.subscribe(ctx, tx, contactID, l.ID, MemberConfirmed, now); err != nil {
					return err
				}
			case !wanted[l.ID] && p.On[l.ID]:
				if err := s.subscribe(ctx, tx, contactID, l.ID, MemberUnsubscribed, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// unsubscribeAll takes a contact off all mail: the global status and every
// list, so subscribing again later starts from the lists they choose then.
func (s *Store) unsubscribeAll(ctx context.Context, tx *sql.Tx, contactID int64, why string, now int64) error {
	if err := offAllLists(ctx, tx, contactID, now); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE contacts SET status = 'unsubscribed', updated_at = ? WHERE id = ? AND status = 'active'`, now, contactID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	if err := recordEvent(ctx, tx, contactID, EventUnsubscribed, why, now); err != nil {
		return err
	}
	return s.emitContact(ctx, tx, EventContactUnsubscribed, contactID)
}

func offAllLists(ctx context.Context, tx *sql.Tx, contactID, now int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE list_members SET status = 'unsubscribed', updated_at = ? WHERE contact_id = ? AND status <> 'unsubscribed'`, now, contactID)
	return err
}

// Unsubscribe takes a contact off one list, or off all mail when listID is 0,
// at once; how says which way they asked, for the timeline.
func (s *Store) Unsubscribe(ctx context.Context, contactID, listID int64, how string) error {
	now := unix(s.now())
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if err := contactExists(ctx, tx, contactID); err != nil {
			return err
		}
		if listID == 0 {
			return s.unsubscribeAll(ctx, tx, contactID, "Unsubscribed from all mail "+how, now)
		}
		var name string
		err := tx.QueryRowContext(ctx, `UPDATE list_members SET status = 'unsubscribed', updated_at = ? WHERE list_id = ? AND contact_id = ? AND status <> 'unsubscribed'
RETURNING (SELECT name FROM lists WHERE id = list_id)`, now, listID, contactID).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := recordEvent(ctx, tx, contactID, EventUnsubscribed, "Unsubscribed from "+name+" "+how, now); err != nil {
			return err
		}
		return s.emitMembership(ctx, tx, contactID, listID, MemberUnsubscribed)
	})
}

// ConfirmTokenTTL is how long a confirmation link works.
const ConfirmTokenTTL = 7 * 24 * time.Hour
