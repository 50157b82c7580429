package feedback

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1" // SNS SignatureVersion 1 is SHA1withRSA
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// SNS message types.
const (
	SNSNotification             = "Notification"
	SNSSubscriptionConfirmation = "SubscriptionConfirmation"
	SNSUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

// SNSMessage is the JSON document Amazon SNS POSTs to an HTTPS subscriber.
// The field names are SNS's own, so it decodes as it comes.
type SNSMessage struct {
	Type             string
	MessageId        string // SNS spells it so
	Token            string
	TopicArn         string
	Subject          string
	Message          string
	Timestamp        string
	SignatureVersion string
	Signature        string
	SigningCertURL   string
	SubscribeURL     string
	UnsubscribeURL   string
}

// ParseSNS decodes an SNS HTTP(S) delivery. It does not verify it: call
// (*SNSVerifier).Verify before trusting anything in it.
func ParseSNS(body []byte) (SNSMessage, error) {
	var m SNSMessage
	if err := decodeWebhook("sns", body, &m); err != nil {
		return SNSMessage{}, err
	}
	switch m.Type {
	case SNSNotification, SNSSubscriptionConfirmation, SNSUnsubscribeConfirmation:
	default:
		return SNSMessage{}, fmt.Errorf("feedback: sns: unknown message type %q", reasonLine(m.Type))
	}
	if m.MessageId == "" {
		return SNSMessage{}, errors.New("feedback: sns: message without MessageId")
	}
	return m, nil
}

// stringToSign is the canonical text SNS signs: for each field in byte
// order, its name and value each followed by a newline. Notifications sign
// Subject only when they have one; confirmations sign SubscribeURL and Token.
func (m SNSMessage) stringToSign() (string, error) {
	var fields []string
	switch m.Type {
	case SNSNotification:
		fields = []string{"Message", m.Message, "MessageId", m.MessageId}
		if m.Subject != "" {
			fields = append(fields, "Subject", m.Subject)
		}
		fields = append(fields, "Timestamp", m.Timestamp, "TopicArn", m.TopicArn, "Type", m.Type)
	case SNSSubscriptionConfirmation, SNSUnsubscribeConfirmation:
		fields = []string{"Message", m.Message, "MessageId", m.MessageId,
			"SubscribeURL", m.SubscribeURL, "Timestamp", m.Timestamp, "Token", m.Token,
			"TopicArn", m.TopicArn, "Type", m.Type}
	default:
		return "", fmt.Errorf("feedback: sns: unknown message type %q", reasonLine(m.Type))
	}
	return strings.Join(fields, "\n") + "\n", nil
}

// snsHost is the host every SNS signing certificate and confirmation URL is
// served from: sns.<region>.amazonaws.com, or .amazonaws.com.cn in China.
var snsHost = regexp.MustCompile(`^sns\.[a-z]{2}(-[a-z]+)+-[0-9]+\.amazonaws\.com(\.cn)?$`)

// snsURLAllowed is the production rule for URLs taken from an SNS message:
// https on an SNS host, with no user info and no port to smuggle another
// host in. The query is free: a SubscribeURL carries its Action and Token.
func snsURLAllowed(u *url.URL) bool {
	return u.Scheme == "https" && u.User == nil && u.Opaque == "" && u.Fragment == "" &&
		u.Host == u.Hostname() && snsHost.MatchString(u.Host)
}

const (
	snsFetchTimeout = 10 * time.Second
	snsMaxFetch     = 64 << 10
	snsCacheSize    = 16
)

// SNSVerifier checks SNS message signatures and confirms subscriptions. It
// keeps the few signing certificates it has fetched; it is safe for
// concurrent use.
type SNSVerifier struct {
	// AllowURL replaces the rule that certificate and subscription URLs be
	// https on an sns.<region>.amazonaws.com host. Tests only, to serve a
	// certificate on loopback; nil means the SNS host rule.
	AllowURL func(*url.URL) bool

	client *http.Client
	certs  *certCache
}

// NewSNSVerifier returns a verifier that fetches over client (nil means a
// default client). Redirects are never followed: a certificate must come
// from the URL that was checked.
func NewSNSVerifier(client *http.Client) *SNSVerifier {
	c := &http.Client{}
	if client != nil {
		c2 := *client
		c = &c2
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &SNSVerifier{client: c, certs: newCertCache(snsCacheSize)}
}

// Verify checks m's signature against the certificate at its
// SigningCertURL. Versions 1 (SHA1withRSA) and 2 (SHA256withRSA) are
// accepted. It does not check TopicArn: the caller compares it with the
// topic it subscribed to.
func (v *SNSVerifier) Verify(ctx context.Context, m SNSMessage) error {
	canonical, err := m.stringToSign()
	if err != nil {
		return err
	}
	hash, digest, err := snsDigest(m.SignatureVersion, canonical)
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil || len(sig) == 0 {
		return errors.New("feedback: sns: signature is not base64")
	}
	u, err := v.checkURL(m.SigningCertURL, "SigningCertURL")
	if err != nil {
		return err
	}
	if !strings.HasSuffix(u.Path, ".pem") {
		return errors.New("feedback: sns: SigningCertURL is not a .pem file")
	}
	key, err := v.certs.get(ctx, u.String(), func(ctx context.Context) (*rsa.PublicKey, error) {
		return v.fetchKey(ctx, u)
	})
	if err != nil {
		return err
	}
	if err := rsa.VerifyPKCS1v15(key, hash, digest, sig); err != nil {
		return errors.New("feedback: sns: signature does not match")
	}
	return nil
}

// snsDigest hashes the canonical text as the signature version says.
func snsDigest(version, canonical string) (crypto.Hash, []byte, error) {
	switch version {
	case "1":
		d := sha1.Sum([]byte(canonical))
		return crypto.SHA1, d[:], nil
	case "2":
		d := sha256.Sum256([]byte(canonical))
		return crypto.SHA256, d[:], nil
	}
	return 0, nil, fmt.Errorf("feedback: sns: unsupported SignatureVersion %q", reasonLine(version))
}

// checkURL parses a URL taken from a message and applies the host rule.
func (v *SNSVerifier) checkURL(raw, field string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return nil, fmt.Errorf("feedback: sns: %s is not a URL", field)
	}
	allow := snsURLAllowed
	if v.AllowURL != nil {
		allow = v.AllowURL
	}
	if !allow(u) {
		return nil, fmt.Errorf("feedback: sns: %s %q is not an SNS URL", field, reasonLine(raw))
	}
	return u, nil
}

// Confirm visits m's SubscribeURL, which is how an HTTPS endpoint accepts
// an SNS subscription. Verify m first: Confirm only checks that the URL is
// SNS's.
func (v *SNSVerifier) Confirm(ctx context.Context, m SNSMessage) error {
	if m.Type != SNSSubscriptionConfirmation {
		return fmt.Errorf("feedback: sns: %q is not a subscription confirmation", reasonLine(m.Type))
	}
	u, err := v.checkURL(m.SubscribeURL, "SubscribeURL")
	if err != nil {
		return err
	}
	if _, err := v.get(ctx, u); err != nil {
		return fmt.Errorf("feedback: sns: confirming subscription: %w", err)
	}
	return nil
}

// get fetches u with a timeout and a size cap; anything but 200 fails.
func (v *SNSVerifier) get(ctx context.Context, u *url.URL) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, snsFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u.Host, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, snsMaxFetch+1))
	if err != nil {
		return nil, err
	}
	if len(b) > snsMaxFetch {
		return nil, fmt.Errorf("GET %s: response larger than %d bytes", u.Host, snsMaxFetch)
	}
	return b, nil
}
