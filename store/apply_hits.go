package store

import (
	"database/sql"
	"errors"
	"fmt"
)

// hit applies one open or click.
func (a *applier) hit(h Hit) error {
	t, err := a.load(h.CampaignID, h.SendID, h.MessageID)
	if err != nil {
		return err
	}
	var lt *linkTally
	if h.Kind == ResultClick {
		if lt, err = a.link(h.LinkID, *t); err != nil {
			return err
		}
	} else if h.Kind != ResultOpen {
		return fmt.Errorf("store: a hit is an open or a click, not %q", h.Kind)
	}
	human := !h.Machine
	c := a.counts.at(t.campaign, h.At)
	at := unix(h.At)
	c.addOpenOrClick(h.Kind, human)
	if h.Private {
		// Counts only: no record of who, so nothing unique either.
		if lt != nil {
			lt.add(human, false, false)
		}
		a.event(h.Kind, h.At, h.Machine, target{campaign: t.campaign, message: t.message}, h.LinkID, h.Source, h.Detail)
		return nil
	}
	before := *t
	switch h.Kind {
	case ResultOpen:
		t.opens++
		if human {
			t.humanOpens++
		}
	case ResultClick:
		t.clicks++
		if human {
			t.humanClicks++
			a.lastClick[t.contact] = max(a.lastClick[t.contact], at)
		}
		// A click is an open too, when no open was seen (images blocked)
		// and the message tracks opens at all.
		if t.opens == 0 && !h.OpensOff {
			c.Opens++
			t.opens = 1
		}
		if human && t.humanOpens == 0 && !h.OpensOff {
			c.HumanOpens++
			t.humanOpens = 1
		}
		n, err := a.linkClicks(*t, h.LinkID)
		if err != nil {
			return err
		}
		lt.add(human, n.all == 0, human && n.human == 0)
		n.all++
		n.human += b2i(human)
	}
	c.UniqueOpens += b2i(before.opens == 0 && t.opens > 0)
	c.UniqueHumanOpens += b2i(before.humanOpens == 0 && t.humanOpens > 0)
	c.UniqueClicks += b2i(before.clicks == 0 && t.clicks > 0)
	c.UniqueHumanClicks += b2i(before.humanClicks == 0 && t.humanClicks > 0)
	if t.contact != 0 && human && (h.Kind == ResultOpen || !h.OpensOff) {
		// People's opens only, as the reports count them; a click is one
		// where the message tracks opens.
		a.lastOpen[t.contact] = max(a.lastOpen[t.contact], at)
	}
	t.touch(at)
	a.event(h.Kind, h.At, h.Machine, *t, h.LinkID, h.Source, h.Detail)
	return nil
}

func (c *Counts) addOpenOrClick(kind string, human bool) {
	if kind == ResultOpen {
		c.Opens++
		c.HumanOpens += b2i(human)
		return
	}
	c.Clicks++
	c.HumanClicks += b2i(human)
}

func (l *linkTally) add(human, unique, uniqueHuman bool) {
	l.clicks++
	l.human += b2i(human)
	l.unique += b2i(unique)
	l.uniqueHuman += b2i(uniqueHuman)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// link checks that a link belongs to the hit's campaign or message.
func (a *applier) link(id int64, t target) (*linkTally, error) {
	if lt, ok := a.links[id]; ok {
		if lt.owner.campaign != t.campaign || lt.owner.message != t.message {
			return nil, ErrUnknownSend
		}
		return lt, nil
	}
	var campaign, message sql.NullInt64
	err := a.queryRow(loadLink, id).Scan(&campaign, &message)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (campaign.Int64 != t.campaign || message.Int64 != t.message) {
		return nil, ErrUnknownSend
	}
	if err != nil {
		return nil, err
	}
	lt := &linkTally{owner: target{campaign: campaign.Int64, message: message.Int64}}
	a.links[id] = lt
	return lt, nil
}

// linkClicks returns the clicks of a send or message on a link so far:
// all, and people's; the caller adds the one it applies.
func (a *applier) linkClicks(t target, link int64) (*clickCount, error) {
	k := linkKey{t.key(), link}
	if n, ok := a.clicked[k]; ok {
		return n, nil
	}
	q, id := sendLinkClicks, t.send
	if t.message != 0 {
		q, id = messageLinkClicks, t.message
	}
	n := &clickCount{}
	if err := a.queryRow(q, id, link).Scan(&n.all, &n.human); err != nil {
		return nil, err
	}
	a.clicked[k] = n
	return n, nil
}
