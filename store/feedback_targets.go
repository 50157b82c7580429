package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// FeedbackTarget names what a report is about: a campaign's send, or a
// transactional message; Contact is the send's contact, 0 for a message.
type FeedbackTarget struct {
	CampaignID, SendID, MessageID, ContactID int64
}

// FindByProviderID returns the send or message the relay gave providerID.
// The provider_id != ” terms let SQLite use the partial indexes.
func (s *Store) FindByProviderID(ctx context.Context, providerID string) (FeedbackTarget, error) {
	if providerID == "" {
		return FeedbackTarget{}, ErrNotFound
	}
	var t FeedbackTarget
	err := s.r.QueryRowContext(ctx, `SELECT campaign_id, id, contact_id FROM sends WHERE provider_id = ? AND provider_id != '' ORDER BY id DESC LIMIT 1`,
		providerID).Scan(&t.CampaignID, &t.SendID, &t.ContactID)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.r.QueryRowContext(ctx, `SELECT id FROM messages WHERE provider_id = ? AND provider_id != '' ORDER BY id DESC LIMIT 1`,
			providerID).Scan(&t.MessageID)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return FeedbackTarget{}, ErrNotFound
	}
	if err != nil {
		return FeedbackTarget{}, fmt.Errorf("store: find provider id: %w", err)
	}
	return t, nil
}

// SendTarget returns the send of a campaign, with its contact.
func (s *Store) SendTarget(ctx context.Context, campaignID, sendID int64) (FeedbackTarget, error) {
	t := FeedbackTarget{CampaignID: campaignID, SendID: sendID}
	err := s.r.QueryRowContext(ctx, `SELECT contact_id FROM sends WHERE id = ? AND campaign_id = ?`, sendID, campaignID).Scan(&t.ContactID)
	if errors.Is(err, sql.ErrNoRows) {
		return FeedbackTarget{}, ErrNotFound
	}
	if err != nil {
		return FeedbackTarget{}, fmt.Errorf("store: send %d: %w", sendID, err)
	}
	return t, nil
}

// RelayByFeedbackToken returns the relay whose notification URL carries token.
func (s *Store) RelayByFeedbackToken(ctx context.Context, token string) (Relay, error) {
	if token == "" {
		return Relay{}, ErrNotFound
	}
	var id int64
	err := s.r.QueryRowContext(ctx, `SELECT id FROM relays WHERE feedback_token = ?`, token).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Relay{}, ErrNotFound
	}
	if err != nil {
		return Relay{}, fmt.Errorf("store: relay by feedback token: %w", err)
	}
	return s.Relay(ctx, id)
}

// RelayTopic returns the SNS topic a relay's notification address
// subscribed to; "" before any subscription was confirmed.
func (s *Store) RelayTopic(ctx context.Context, relayID int64) (string, error) {
	var topic string
	err := s.r.QueryRowContext(ctx, `SELECT feedback_topic FROM relays WHERE id = ?`, relayID).Scan(&topic)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: relay %d topic: %w", relayID, err)
	}
	return topic, nil
}

// SetRelayTopic records the SNS topic a relay's notification address
// subscribed to.
func (s *Store) SetRelayTopic(ctx context.Context, relayID int64, topic string) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE relays SET feedback_topic = ? WHERE id = ?`, topic, relayID); err != nil {
		return fmt.Errorf("store: relay %d topic: %w", relayID, err)
	}
	return nil
}
