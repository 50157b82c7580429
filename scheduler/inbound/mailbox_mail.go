package inbound

import (
	"bytes"
	"net/mail"
	"strings"
)

// mailFromMailbox makes a Mail of a message fetched from a mailbox over
// via ("pop3" or "imap"): the envelope is gone, so its sender is the
// Return-Path the delivering server recorded and its recipients are the
// Delivered-To addresses, or else To.
func mailFromMailbox(raw []byte, via string) Mail {
	m := Mail{Raw: raw, Via: via}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m
	}
	m.From = strings.Trim(strings.TrimSpace(msg.Header.Get("Return-Path")), "<>")
	for _, to := range msg.Header["Delivered-To"] {
		m.To = append(m.To, strings.Trim(strings.TrimSpace(to), "<>"))
	}
	if len(m.To) > 0 {
		return m
	}
	if list, err := msg.Header.AddressList("To"); err == nil {
		for _, a := range list {
			m.To = append(m.To, a.Address)
		}
	}
	return m
}
