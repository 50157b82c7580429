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

// hookSES takes an SES notification delivered by Amazon SNS.
func (s *Server) hookSES(c *echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	_, err = s.out.TakeSNS(c.Request().Context(), c.Param("token"), body)
	return hookAnswer(c, err)
}

// hookAnswer writes a webhook's answer: plain text a provider's log shows.
func hookAnswer(c *echo.Context, err error) error {
	var bad *outbound.ErrBadNotification
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
