package outbound

import (
	"context"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"herald/mailer"
	"herald/mailer/track"
	"herald/store"
)

// buildMessage encodes a stored message, with its tracking when it asked
// for it. Its Message-ID comes from its id, so a message sent twice after
// a crash is recognisably the same one.
func (s *Service) buildMessage(ctx context.Context, m store.Message, atts []store.Attachment, now time.Time) []byte {
	domain := "herald.local"
	if i := strings.LastIndexByte(m.FromEmail, '@'); i >= 0 && i < len(m.FromEmail)-1 {
		domain = m.FromEmail[i+1:]
	}
	msg := mailer.Message{
		From:      mail.Address{Name: m.FromName, Address: m.FromEmail},
		To:        mail.Address{Name: m.ToName, Address: m.ToEmail},
		Subject:   m.Subject,
		Text:      m.Text,
		HTML:      m.HTML,
		Date:      now,
		MessageID: fmt.Sprintf("m%d.%d.%s@%s", m.ID, m.CreatedAt.Unix(), s.tracker.MessageTag(m.ID, m.CreatedAt.Unix()), domain),
	}
	if m.TrackOpens || m.TrackClicks {
		g := s.general(ctx)
		t := s.tracking(mailer.Tracking{Opens: m.TrackOpens, Clicks: m.TrackClicks, Private: g.TrackingPrivacy}, strings.TrimRight(g.BaseURL, "/"),
			track.Ref{Message: m.ID, Sent: now, Private: g.TrackingPrivacy}, newLinkCache(s.st, 0, m.ID, track.UTM{}))
		// The HTML first: links it keeps out of tracking stay out in the text.
		msg.HTML = t.HTML(msg.HTML)
		msg.Text = t.Text(msg.Text)
	}
	if as, err := mail.ParseAddressList(m.ReplyTo); err == nil {
		for _, a := range as {
			msg.ReplyTo = append(msg.ReplyTo, *a)
		}
	}
	msg.MoreTo, msg.Cc = mailAddresses(m.Recipients.To), mailAddresses(m.Recipients.Cc)
	for _, h := range m.Headers {
		msg.Headers = append(msg.Headers, mailer.Header{Name: h.Name, Value: h.Value})
	}
	for _, a := range atts {
		msg.Attachments = append(msg.Attachments, mailer.Attachment{Filename: a.Filename, ContentType: a.ContentType, Data: a.Content})
	}
	return msg.Bytes()
}

// mailAddresses makes stored addresses ready for a header.
func mailAddresses(as []store.Address) []mail.Address {
	out := make([]mail.Address, len(as))
	for i, a := range as {
		out[i] = mail.Address{Name: a.Name, Address: a.Email}
	}
	return out
}

// deliver sends a message to the addresses to through its relay (or the
// first enabled one) and,
// when that relay is down, through each other enabled relay in turn; a
// relay known not to answer is tried after the others.
func (l *Lane) deliver(ctx context.Context, m store.Message, to []string, msg []byte) (mailer.Result, store.Relay, error) {
	route, err := l.s.relays(ctx, m.RelayID)
	if err != nil {
		return mailer.Result{}, store.Relay{}, err
	}
	l.closeRelays(route...)
	route = l.s.answeringFirst(route)
	for i, r := range route {
		var res mailer.Result
		var t mailer.Transport
		if t, err = l.transport(ctx, r); err != nil {
			err = &mailer.SendError{Stage: "connect", Temporary: true, Err: err}
		} else {
			res, err = t.DeliverTo(ctx, m.FromEmail, to, msg)
		}
		if ctx.Err() != nil {
			return res, r, err
		}
		l.s.noteRelay(ctx, r, err)
		if err == nil || !mailer.Down(err) {
			return res, r, err
		}
		if i+1 < len(route) {
			l.s.log.Warn("relay down; sending a transactional message through the next enabled relay", "relay", r.Name, "next", route[i+1].Name, "err", err)
		}
	}
	return mailer.Result{}, store.Relay{}, err
}

// transport returns the lane's own connection to a relay, opening it the
// first time and again after the relay's settings change.
func (l *Lane) transport(ctx context.Context, r store.Relay) (mailer.Transport, error) {
	l.relayMu.Lock()
	defer l.relayMu.Unlock()
	if lr, ok := l.relays[r.ID]; ok {
		if lr.updated.Equal(r.UpdatedAt) {
			return lr.t, nil
		}
		lr.t.Close()
		delete(l.relays, r.ID)
	}
	t, err := l.s.open(ctx, r)
	if err != nil {
		return nil, err
	}
	l.relays[r.ID] = laneRelay{updated: r.UpdatedAt, t: t}
	return t, nil
}

// closeRelays closes the relays the lane opened, except those in keep.
func (l *Lane) closeRelays(keep ...store.Relay) {
	l.relayMu.Lock()
	defer l.relayMu.Unlock()
	for id, lr := range l.relays {
		if !slices.ContainsFunc(keep, func(r store.Relay) bool { return r.ID == id }) {
			lr.t.Close()
			delete(l.relays, id)
		}
	}
}
