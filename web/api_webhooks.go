package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// webhookJSON is an endpoint as the API shows it. Its secret is shown when
// it is made or rolled, and on GET /api/v1/webhooks/{id}/secret.
type webhookJSON struct {
	ID             int64      `json:"id"`
	URL            string     `json:"url"`
	Description    string     `json:"description"`
	Events         []string   `json:"events"`
	Enabled        bool       `json:"enabled"`
	FailingSince   *time.Time `json:"failing_since"`
	DisabledReason string     `json:"disabled_reason"`
	OldSecretUntil *time.Time `json:"old_secret_until"`
	Secret         string     `json:"secret,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func toWebhookJSON(w store.Webhook) webhookJSON {
	return webhookJSON{ID: w.ID, URL: w.URL, Description: w.Description, Events: orEmpty(w.Events), Enabled: w.Enabled,
		FailingSince: optTime(w.FailingSince), DisabledReason: w.DisabledReason, OldSecretUntil: optTime(w.OldSecretUntil),
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

// endpointBody creates or changes an endpoint; absent fields keep their value.
type endpointBody struct {
	URL         *string   `json:"url"`
	Description *string   `json:"description"`
	Events      *[]string `json:"events"`
	Enabled     *bool     `json:"enabled"`
}

func (b endpointBody) input() store.WebhookInput {
	return store.WebhookInput{URL: b.URL, Description: b.Description, Events: b.Events, Enabled: b.Enabled}
}

// secretJSON is an endpoint's signing secret.
type secretJSON struct {
	Secret string `json:"secret"`
}

// deliveryJSON is one event on its way to an endpoint.
type deliveryJSON struct {
	ID            int64           `json:"id"`
	WebhookID     int64           `json:"webhook_id"`
	EventID       string          `json:"event_id"`
	EventType     string          `json:"event_type"`
	Status        string          `json:"status"`
	Attempts      int             `json:"attempts"`
	LastCode      int             `json:"last_code"`
	LastError     string          `json:"last_error"`
	NextAttemptAt *time.Time      `json:"next_attempt_at"`
	Payload       json.RawMessage `json:"payload"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	Log           []attemptJSON   `json:"attempts_log,omitempty"`
}

// attemptJSON is one try at a delivery.
type attemptJSON struct {
	At         time.Time `json:"at"`
	Request    string    `json:"request"`
	StatusCode int       `json:"status_code"`
	Response   string    `json:"response"`
	Error      string    `json:"error"`
	LatencyMS  int64     `json:"latency_ms"`
}

func toDeliveryJSON(d store.Delivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID, WebhookID: d.WebhookID, EventID: d.EventUID, EventType: d.EventType, Status: d.Status, Attempts: d.Attempts,
		LastCode: d.LastCode, LastError: d.LastError, Payload: json.RawMessage(d.Payload), CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if d.Status == store.DeliveryPending {
		out.NextAttemptAt = &d.NextAttemptAt
	}
	return out
}

// checkHookURL refuses an endpoint whose host is an address Herald may
// not reach; names are checked when dialled.
func (s *Server) checkHookURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return s.guard.CheckHost(p.Hostname())
}

func (s *Server) apiWebhookList(c *echo.Context) error {
	q, err := readList(c, namedList, s.location())
	if err != nil {
		return err
	}
	ws, err := s.store.Webhooks(c.Request().Context())
	if err != nil {
		return err
	}
	out := []webhookJSON{}
	for _, w := range ws {
		out = append(out, toWebhookJSON(w))
	}
	out, m := pageOf(out, q, func(w webhookJSON) listed { return named(w.ID, w.CreatedAt, w.URL+"\n"+w.Description) })
	return apiList(c, out, m)
}

func (s *Server) apiWebhookCreate(c *echo.Context) error {
	var b endpointBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	w, secret, err := s.store.CreateWebhook(c.Request().Context(), b.input(), s.checkHookURL)
	if err != nil {
		return err
	}
	out := toWebhookJSON(w)
	out.Secret = secret
	c.Response().Header().Set("Location", "/api/v1/webhooks/"+itoa(w.ID))
	c.Response().Header().Set("Cache-Control", "no-store")
	return apiData(c, http.StatusCreated, out)
}

func (s *Server) apiWebhookGet(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	w, err := s.store.Webhook(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toWebhookJSON(w))
}

func (s *Server) apiWebhookUpdate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var b endpointBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	w, err := s.store.UpdateWebhook(c.Request().Context(), id, b.input(), s.checkHookURL)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toWebhookJSON(w))
}

func (s *Server) apiWebhookSecret(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	secret, err := s.store.WebhookSecret(c.Request().Context(), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return apiData(c, http.StatusOK, secretJSON{secret})
}

func (s *Server) apiWebhookRoll(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	secret, err := s.store.RollWebhookSecret(c.Request().Context(), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return apiData(c, http.StatusOK, secretJSON{secret})
}

// sendTestEvent queues a test event to the path's endpoint and wakes the
// deliverer; it returns the endpoint and the delivery.
func (s *Server) sendTestEvent(c *echo.Context) (int64, int64, error) {
	id, err := pathID(c)
	if err != nil {
		return 0, 0, err
	}
	d, err := s.store.SendTestEvent(c.Request().Context(), id)
	if err != nil {
		return 0, 0, err
	}
	s.webhooks.Wake()
	return id, d, nil
}

// redeliver queues the path's delivery again and wakes the deliverer.
func (s *Server) redeliver(c *echo.Context) (int64, int64, error) {
	id, d, err := webhookDelivery(c)
	if err != nil {
		return 0, 0, err
	}
	if err := s.store.Redeliver(c.Request().Context(), id, d); err != nil {
		return 0, 0, err
	}
	s.webhooks.Wake()
	return id, d, nil
}

func (s *Server) apiWebhookTest(c *echo.Context) error {
	id, d, err := s.sendTestEvent(c)
	if err != nil {
		return err
	}
	return s.deliveryOut(c, id, d, http.StatusAccepted)
}

func (s *Server) deliveryOut(c *echo.Context, webhookID, id int64, status int) error {
	d, attempts, err := s.store.Delivery(c.Request().Context(), webhookID, id)
	if err != nil {
		return err
	}
	out := toDeliveryJSON(d)
	out.Log = []attemptJSON{}
	for _, a := range attempts {
		out.Log = append(out.Log, attemptJSON{At: a.At, Request: a.Request, StatusCode: a.StatusCode, Response: a.Response, Error: a.Error, LatencyMS: a.Latency.Milliseconds()})
	}
	return apiData(c, status, out)
}

func (s *Server) apiDeliveryList(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if _, err := s.store.Webhook(c.Request().Context(), id); err != nil {
		return err
	}
	q, err := readList(c, deliveryList, s.location())
	if err != nil {
		return err
	}
	f := store.DeliveryFilter{Status: c.QueryParam("status"), Type: c.QueryParam("type"), Order: q.Order}
	if f.Status != "" && f.Status != store.DeliveryPending && f.Status != store.DeliveryDelivered && f.Status != store.DeliveryFailed {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: "status is pending, delivered or failed.",
			Fields: map[string]string{"status": "Use pending, delivered or failed."}}
	}
	if f.Type != "" && f.Type != store.EventTest && !slices.Contains(store.EventTypes, f.Type) {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: "type is an event type, like contact.created.",
			Fields: map[string]string{"type": "Use an event type, like contact.created or webhook.test."}}
	}
	ds, total, err := s.store.Deliveries(c.Request().Context(), id, f, q.limit(), q.offset())
	if err != nil {
		return err
	}
	out := []deliveryJSON{}
	for _, d := range ds {
		out = append(out, toDeliveryJSON(d))
	}
	return apiPage(c, q, out, total, func(d deliveryJSON) int64 { return d.ID })
}

// webhookDelivery reads the path's webhook and delivery ids.
func webhookDelivery(c *echo.Context) (int64, int64, error) {
	id, err := pathID(c)
	if err != nil {
		return 0, 0, err
	}
	d, err := parseID(c.Param("delivery"))
	return id, d, err
}

func (s *Server) apiDeliveryGet(c *echo.Context) error {
	id, d, err := webhookDelivery(c)
	if err != nil {
		return err
	}
	return s.deliveryOut(c, id, d, http.StatusOK)
}

func (s *Server) apiDeliveryRedeliver(c *echo.Context) error {
	id, d, err := s.redeliver(c)
	if err != nil {
		return err
	}
	return s.deliveryOut(c, id, d, http.StatusAccepted)
}
