package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bounds of the engagement conditions' values.
const (
	maxEngagedDays  = 3650
	maxLinkText     = 200
	maxSoftInARow   = 1000
	engagedDaysHint = "a whole number of days from 1 to 3650, like 30"
)

// engagement names the columns that record one kind of engagement: on the
// contact, its last time; on a send, its count and first time. Both are
// people's only, as last_open_at and last_click_at are, and as the reports
// count by default: an image proxy's open or a scanner's click is not
// interest, and "did not open" means the same here as on the report.
type engagement struct {
	verb, last, count, first string
}

var (
	openedColumns  = engagement{"opened", "c.last_open_at", "s.human_opens", "s.opened_at"}
	clickedColumns = engagement{"clicked", "c.last_click_at", "s.human_clicks", "s.clicked_at"}
)

// engagedCondition compiles opened and clicked conditions. Without a
// campaign they read the contact's last open or click, so "never" also
// matches contacts who were never sent anything; with one they read that
// campaign's send, so "never" means it was sent and not opened (clicked).
func engagedCondition(e engagement) func(cc *ruleCompiler, r Rule, path string) (string, error) {
	return func(cc *ruleCompiler, r Rule, path string) (string, error) {
		if r.Campaign < 0 {
			return "", &RuleError{Path: path + ".campaign", Message: "campaign needs a campaign id, like 3"}
		}
		if r.Op == "never" {
			if len(r.Value) > 0 && string(r.Value) != "null" {
				return "", &RuleError{Path: path + ".value", Message: "never takes no value"}
			}
			if r.Campaign == 0 {
				return e.last + " IS NULL", nil
			}
			return "EXISTS (SELECT 1 FROM sends s WHERE s.campaign_id = " + cc.arg(r.Campaign) +
				" AND s.contact_id = c.id AND s.status = 'sent' AND " + e.count + " = 0)", nil
		}
		n, err := engagedDays(r, path)
		if err != nil {
			return "", err
		}
		since := cc.now.AddDate(0, 0, -n).Unix()
		if r.Campaign == 0 {
			return e.last + " >= " + cc.arg(since), nil
		}
		return "EXISTS (SELECT 1 FROM sends s WHERE s.campaign_id = " + cc.arg(r.Campaign) +
			" AND s.contact_id = c.id AND " + e.count + " > 0 AND " + e.first + " >= " + cc.arg(since) + ")", nil
	}
}

func engagedDays(r Rule, path string) (int, error) {
	var n int
	if err := json.Unmarshal(r.Value, &n); err != nil || n < 1 || n > maxEngagedDays {
		return 0, &RuleError{Path: path + ".value", Message: r.Op + " needs " + engagedDaysHint}
	}
	return n, nil
}

// clickedLinkCondition matches contacts who clicked a link whose address
// contains a text, in any campaign or message; scanners' clicks do not count.
func clickedLinkCondition(cc *ruleCompiler, r Rule, path string) (string, error) {
	var s string
	if err := json.Unmarshal(r.Value, &s); err != nil || s == "" || len([]rune(s)) > maxLinkText {
		return "", &RuleError{Path: path + ".value", Message: fmt.Sprintf("contains needs a text of 1 to %d characters, like \"/pricing\"", maxLinkText)}
	}
	return "EXISTS (SELECT 1 FROM events e JOIN links l ON l.id = e.link_id WHERE e.contact_id = c.id AND " + indexedByContact + " AND e.kind = 'click' AND e.machine = 0 AND l.url LIKE " +
		cc.arg("%"+likeEscape(s)+"%") + ` ESCAPE '\')`, nil
}

// softBouncedCondition matches contacts whose last N messages bounced
// softly (in_a_row), or who had a soft bounce in the last N days.
func softBouncedCondition(cc *ruleCompiler, r Rule, path string) (string, error) {
	if r.Op == "within_days" {
		n, err := engagedDays(r, path)
		if err != nil {
			return "", err
		}
		return "EXISTS (SELECT 1 FROM events e WHERE e.contact_id = c.id AND " + indexedByContact + " AND e.kind = 'soft_bounce' AND e.at >= " +
			cc.arg(cc.now.AddDate(0, 0, -n).Unix()) + ")", nil
	}
	var n int
	if err := json.Unmarshal(r.Value, &n); err != nil || n < 1 || n > maxSoftInARow {
		return "", &RuleError{Path: path + ".value", Message: fmt.Sprintf("in_a_row needs a whole number of bounces from 1 to %d, like 2", maxSoftInARow)}
	}
	return "c.soft_bounces >= " + cc.arg(n), nil
}

// checkRuleCampaigns makes sure every campaign a rule names exists and
// tracked what the rule asks about, so a mistyped id is refused rather than
// quietly matching no one (or everyone).
func (s *Store) checkRuleCampaigns(ctx context.Context, r Rule) error {
	return walkRule(r, "rules", func(c Rule, path string) error {
		if c.Campaign <= 0 {
			return nil
		}
		// A campaign that went out without tracking what the rule asks
		// about would make everyone look as if they did not open or click.
		var n, opens, clicks int
		err := s.r.QueryRowContext(ctx, `SELECT count(*), coalesce(max(frozen IS NULL OR json_extract(frozen, '$.tracking.opens')), 0),
	coalesce(max(frozen IS NULL OR json_extract(frozen, '$.tracking.clicks')), 0) FROM campaigns WHERE id = ?`, c.Campaign).Scan(&n, &opens, &clicks)
		if err != nil {
			return fmt.Errorf("store: rule campaign %d: %w", c.Campaign, err)
		}
		switch {
		case n == 0:
			return &RuleError{Path: path + ".campaign", Message: fmt.Sprintf("there is no campaign %d", c.Campaign)}
		case c.Field == openedColumns.verb && opens == 0:
			return &RuleError{Path: path + ".campaign", Message: fmt.Sprintf("campaign %d did not track opens, so nobody's opens of it are known", c.Campaign)}
		case c.Field == clickedColumns.verb && clicks == 0:
			return &RuleError{Path: path + ".campaign", Message: fmt.Sprintf("campaign %d did not track clicks, so nobody's clicks in it are known", c.Campaign)}
		}
		return nil
	})
}

// walkRule calls fn on every condition of r with its path, stopping at the
// first error.
func walkRule(r Rule, path string, fn func(c Rule, path string) error) error {
	if !r.isGroup() {
		return fn(r, path)
	}
	for i, sub := range r.Conditions {
		if err := walkRule(sub, fmt.Sprintf("%s.conditions[%d]", path, i), fn); err != nil {
			return err
		}
	}
	return nil
}

// ruleCampaignError turns a rule error from checkRuleCampaigns into a
// validation error naming the field.
func ruleCampaignError(err error) error {
	if re, ok := err.(*RuleError); ok {
		return &ValidationError{Fields: map[string]string{re.Path: re.Message}}
	}
	return err
}

// maxEventCount bounds an event condition's at_least.
const maxEventCount = 1_000_000

// eventCondition matches contacts by the custom events reported of them:
// at_least N of an event (with properties equal to where, in the last days
// when given), or none of it since a date or for value days.
func eventCondition(cc *ruleCompiler, r Rule, path string) (string, error) {
	if r.Event == "" || len([]rune(r.Event)) > maxEventName {
		return "", &RuleError{Path: path + ".event", Message: fmt.Sprintf("name the event, in 1 to %d characters, like \"order_placed\"", maxEventName)}
	}
	conds := "ev.name = " + cc.arg(r.Event)
	keys := make([]string, 0, len(r.Where))
	for k := range r.Where {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !AttributeKey.MatchString(k) {
			return "", &RuleError{Path: path + ".where", Message: fmt.Sprintf("property names are lower_snake_case letters, digits and _, not %q", k)}
		}
		switch v := r.Where[k].(type) {
		case string, float64:
			conds += " AND json_extract(ev.properties, " + cc.arg("$."+k) + ") = " + cc.arg(v)
		case bool:
			conds += " AND json_extract(ev.properties, " + cc.arg("$."+k) + ") = " + cc.arg(b2i(v))
		default:
			return "", &RuleError{Path: path + ".where." + k, Message: "a property's value is text, a number or true/false"}
		}
	}
	if r.Op == "not_since" {
		if r.Days != 0 {
			return "", &RuleError{Path: path + ".days", Message: "not_since takes its time as its value: days, like 30, or a date"}
		}
		var since time.Time
		var days int
		var text string
		if json.Unmarshal(r.Value, &text) == nil {
			if n, err := strconv.Atoi(strings.TrimSpace(text)); err == nil {
				days = n // days typed in the editor, as text
			}
		}
		if days != 0 || json.Unmarshal(r.Value, &days) == nil && days >= 1 {
			if days < 1 || days > maxEngagedDays {
				return "", &RuleError{Path: path + ".value", Message: "not_since needs " + engagedDaysHint + ", or a date like \"2026-01-31\""}
			}
			since = cc.now.AddDate(0, 0, -days)
		} else if t, err := valueTime(r, path); err == nil {
			since = t
		} else {
			return "", &RuleError{Path: path + ".value", Message: "not_since needs " + engagedDaysHint + ", or a date like \"2026-01-31\""}
		}
		return "c.id NOT IN (SELECT ev.contact_id FROM custom_events ev WHERE " + conds + " AND ev.occurred_at >= " + cc.arg(since.Unix()) + ")", nil
	}
	var n int
	if err := json.Unmarshal(r.Value, &n); err != nil || n < 1 || n > maxEventCount {
		return "", &RuleError{Path: path + ".value", Message: "at_least needs a whole number of times, like 2"}
	}
	if r.Days < 0 || r.Days > maxEngagedDays {
		return "", &RuleError{Path: path + ".days", Message: "days is " + engagedDaysHint + ", or 0 for ever"}
	}
	if r.Days > 0 {
		conds += " AND ev.occurred_at >= " + cc.arg(cc.now.AddDate(0, 0, -r.Days).Unix())
	}
	if n == 1 {
		return "c.id IN (SELECT ev.contact_id FROM custom_events ev WHERE " + conds + ")", nil
	}
	return "c.id IN (SELECT ev.contact_id FROM custom_events ev WHERE " + conds + " GROUP BY ev.contact_id HAVING count(*) >= " + cc.arg(n) + ")", nil
}
