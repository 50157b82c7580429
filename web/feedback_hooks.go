package web

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/mailer/feedback"
	"herald/scheduler/outbound"
	"herald/store"
)

// The webhook receivers of feedback: providers post bounces, complaints,
// deliveries and the opens and clicks they track. Each URL carries an
// unguessable token; each answers 200 only after what it carried is
// committed, 400 to what is forged or damaged (the provider should not
// retry it), and 404 to an unknown token.

// webhookBody caps a provider's notification.
var webhookBody = bodyClass{feedback.MaxWebhookBody, "The notification is larger than 1 MB, the most Herald takes."}

// isHookPath says whether p is a feedback webhook.
func isHookPath(p string) bool { return strings.HasPrefix(p, "/hooks/") }

// hookURL is the full address of a provider's webhook, "" without a token.
func (s *Server) hookURL(provider, token string) string {
	if token == "" {
		return ""
	}
	return strings.TrimRight(s.general().BaseURL, "/") + "/hooks/" + provider + "/" + token
}

// hook reads a webhook's body, hands it to take, and answers.
func hook(take func(c *echo.Context, body []byte) error) echo.HandlerFunc {
	return func(c *echo.Context) error {
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		return hookAnswer(c, take(c, body))
	}
}

// hookSES takes an SES notification delivered by Amazon SNS.
func (s *Server) hookSES(c *echo.Context, body []byte) error {
	_, err := s.out.TakeSNS(c.Request().Context(), c.Param("token"), body)
	return err
}

// hookPostmark takes a Postmark webhook post.
func (s *Server) hookPostmark(c *echo.Context, body []byte) error {
	_, err := s.out.TakePostmark(c.Request().Context(), c.Param("token"), body)
	return err
}

// hookSendGrid takes a post of SendGrid's Signed Event Webhook.
func (s *Server) hookSendGrid(c *echo.Context, body []byte) error {
	h := c.Request().Header
	_, err := s.out.TakeSendGrid(c.Request().Context(), c.Param("token"),
		h.Get(feedback.SendGridSignatureHeader), h.Get(feedback.SendGridTimestampHeader), body)
	return err
}

// hookMailgun takes a Mailgun webhook post.
func (s *Server) hookMailgun(c *echo.Context, body []byte) error {
	_, err := s.out.TakeMailgun(c.Request().Context(), c.Param("token"), body)
	return err
}

// hookAnswer writes a webhook's answer: plain text a provider's log shows.
func hookAnswer(c *echo.Context, err error) error {
	var bad *outbound.BadNotificationError
	switch {
	case err == nil:
		return c.String(http.StatusOK, "ok\n")
	case errors.Is(err, store.ErrNotFound):
		return c.String(http.StatusNotFound, "no such notification address\n")
	case errors.As(err, &bad):
		return c.String(http.StatusBadRequest, "rejected: "+bad.Error()+"\n")
	}
	return err
}
