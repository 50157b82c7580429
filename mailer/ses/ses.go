// Package ses delivers Herald's messages through Amazon SES's v2 API, as an
// alternative to an SMTP relay.
package ses

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"herald/mailer"
)

// callTimeout bounds each call to SES, as SMTPRelay.Timeout bounds an SMTP
// exchange, so a hung connection cannot hold a worker.
const callTimeout = 30 * time.Second

// Config says which SES account and region to send through.
type Config struct {
	// Region is the AWS region of the SES account, like "eu-west-1".
	Region string
	// AccessKeyID and SecretAccessKey are an IAM user's keys. With both
	// empty, credentials come from the environment, the shared AWS files or
	// the instance's IAM role.
	AccessKeyID     string
	SecretAccessKey string
	// ConfigurationSet, when set, names the SES configuration set that
	// publishes each message's events.
	ConfigurationSet string
	// Endpoint, when set, replaces SES's own URL, for SES-compatible services
	// and local emulators.
	Endpoint string
}

var regionName = regexp.MustCompile(`^[a-z]{2,}(-[a-z]+)+-[0-9]+$`)

// Validate says what is wrong with c, each problem with how to fix it.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.Region == "":
		errs = append(errs, errors.New("the region is required: give the AWS region of the SES account, like us-east-1"))
	case !regionName.MatchString(c.Region):
		errs = append(errs, fmt.Errorf("%q is not an AWS region: give a region name like us-east-1 or eu-west-2", c.Region))
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		errs = append(errs, errors.New("the access key ID and the secret access key go together: give both, or neither to use the default AWS credentials (environment, shared config or IAM role)"))
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("the endpoint %q is not a URL: give one like https://email.us-east-1.amazonaws.com, or leave it empty", c.Endpoint))
		}
	}
	return errors.Join(errs...)
}

// Client sends messages through one SES account. It is safe for concurrent
// use and, like mailer.Pool, offers Deliver and Close.
type Client struct {
	api       *sesv2.Client
	configSet string
}

// New checks cfg and returns a client for it. It does not call SES: bad
// credentials show on the first Deliver or Quota.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ses: %w", err)
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(cfg.Region)}
	if cfg.AccessKeyID != "" {
		creds := credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")
		opts = append(opts, config.WithCredentialsProvider(creds))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("ses: loading the AWS configuration: %w", err)
	}
	api := sesv2.NewFromConfig(awsCfg, func(o *sesv2.Options) {
		// Herald schedules its own retries; the SDK's would hold a
		// throttled worker in backoff instead of returning the message.
		o.Retryer = aws.NopRetryer{}
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return &Client{api: api, configSet: cfg.ConfigurationSet}, nil
}

// Deliver sends one MIME message from from to to. Its Result carries SES's
// message id as ProviderID, which SES's bounce and complaint notifications
// refer to. Errors are *mailer.SendError at stage "ses"; none is a hard
// bounce, as SES reports bounces later, by notification.
func (c *Client) Deliver(ctx context.Context, from, to string, msg []byte) (mailer.Result, error) {
	return c.DeliverTo(ctx, from, []string{to}, msg)
}

// maxDestinations is how many recipients SES takes in one call.
const maxDestinations = 50

// DeliverTo sends one message to several recipients; the raw message's
// headers say who is To and Cc, and the destinations list every envelope
// recipient, Bcc included. SES takes 50 a call, so more go out in further
// calls of the same message. Once the first call has gone, a later one
// that fails leaves its recipients in Deferred (to be sent alone later)
// or Refused; ProviderID is the first call's, and SES reports on the
// others are matched by the Message-ID.
func (c *Client) DeliverTo(ctx context.Context, from string, to []string, msg []byte) (mailer.Result, error) {
	var res mailer.Result
	for part := range slices.Chunk(to, maxDestinations) {
		id, err := c.send(ctx, from, part, msg)
		switch {
		case err != nil && res.ProviderID == "":
			return mailer.Result{}, err
		case err != nil:
			for _, a := range part {
				res.Note(a, err)
			}
		case res.ProviderID == "":
			res.Reply, res.ProviderID = "SES message id "+id, id
		}
	}
	return res, nil
}

// send makes one SendEmail call.
func (c *Client) send(ctx context.Context, from string, to []string, msg []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(from),
		Destination:      &types.Destination{ToAddresses: to},
		Content:          &types.EmailContent{Raw: &types.RawMessage{Data: msg}},
	}
	if c.configSet != "" {
		in.ConfigurationSetName = aws.String(c.configSet)
	}
	if err := ctx.Err(); err != nil {
		// Stopped before the message left: it was never offered to SES.
		return "", &mailer.SendError{Stage: stage, Temporary: true, Err: err}
	}
	// Not cut short when Herald stops: SES may have taken a message whose
	// answer was still on its way, and it must be recorded as sent.
	sendCtx, cancelSend := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
	defer cancelSend()
	out, err := c.api.SendEmail(sendCtx, in)
	if err != nil {
		return "", classify(err)
	}
	return aws.ToString(out.MessageId), nil
}

// Close releases nothing: SES calls share the SDK's HTTP connections. It is
// here so a Client can stand where a connection pool does.
func (c *Client) Close() {}

// Quota is the account's sending allowance in the client's region.
type Quota struct {
	// Max24Hour is how many messages may go in 24 hours; -1 means no limit.
	Max24Hour float64
	// MaxPerSecond is the highest sending rate SES accepts.
	MaxPerSecond float64
	// SentLast24Hours is how many messages went in the past 24 hours.
	SentLast24Hours float64
	// SendingEnabled is false when SES has paused the account's sending.
	SendingEnabled bool
	// ProductionAccess is false while the account is in the SES sandbox,
	// where it may only send to verified addresses.
	ProductionAccess bool
}

// Quota asks SES for the account's sending allowance.
func (c *Client) Quota(ctx context.Context) (Quota, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := c.api.GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil {
		return Quota{}, fmt.Errorf("ses: reading the account's quota: %w", err)
	}
	q := Quota{SendingEnabled: out.SendingEnabled, ProductionAccess: out.ProductionAccessEnabled}
	if s := out.SendQuota; s != nil {
		q.Max24Hour, q.MaxPerSecond, q.SentLast24Hours = s.Max24HourSend, s.MaxSendRate, s.SentLast24Hours
	}
	return q, nil
}
