package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// contactJSON is a contact as the API shows it.
type contactJSON struct {
	ID         int64            `json:"id"`
	Email      string           `json:"email"`
	FirstName  string           `json:"first_name"`
	LastName   string           `json:"last_name"`
	Attributes map[string]any   `json:"attributes"`
	Status     string           `json:"status"`
	Source     string           `json:"source"`
	Tags       []string         `json:"tags"`
	Lists      []membershipJSON `json:"lists"`
	Consent    *consentJSON     `json:"consent"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
	ErasedAt   *time.Time       `json:"erased_at,omitempty"`
	// LastOpenAt and LastClickAt are the latest open and click, or null.
	LastOpenAt  *time.Time `json:"last_open_at"`
	LastClickAt *time.Time `json:"last_click_at"`
}

type membershipJSON struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type consentJSON struct {
	IP   string    `json:"ip"`
	At   time.Time `json:"at"`
	Form string    `json:"form"`
}

func toContactJSON(c store.Contact) contactJSON {
	out := contactJSON{ID: c.ID, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, Attributes: c.Attributes,
		Status: c.Status, Source: c.Source, Tags: c.Tags, Lists: []membershipJSON{}, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		LastOpenAt: optTime(c.LastOpen), LastClickAt: optTime(c.LastClick)}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	for _, m := range c.Memberships {
		out.Lists = append(out.Lists, membershipJSON{ID: m.ListID, Name: m.ListName, Status: m.Status, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt})
	}
	if !c.Consent.At.IsZero() {
		out.Consent = &consentJSON{IP: c.Consent.IP, At: c.Consent.At, Form: c.Consent.Form}
	}
	if !c.ErasedAt.IsZero() {
		out.ErasedAt = &c.ErasedAt
	}
	return out
}

// contactBody is a contact request body; absent fields keep their value.
type contactBody struct {
	Email      *string        `json:"email"`
	FirstName  *string        `json:"first_name"`
	LastName   *string        `json:"last_name"`
	Attributes map[string]any `json:"attributes"`
	Tags       *[]string      `json:"tags"`
	Lists      []int64        `json:"lists"`
	ListStatus string         `json:"list_status"`
	Status     *string        `json:"status"`
}

func (b contactBody) input(source string) store.ContactInput {
	return store.ContactInput{Email: b.Email, FirstName: b.FirstName, LastName: b.LastName, Attributes: b.Attributes,
		Tags: b.Tags, Lists: b.Lists, ListStatus: b.ListStatus, Status: b.Status, Source: source}
}

// contactFilter reads the filters shared by the contact list, export and bulk
// endpoints from the query string.
func contactFilter(c *echo.Context) (store.ContactFilter, error) {
	f := store.ContactFilter{Q: c.QueryParam("q"), Tag: c.QueryParam("tag"), Status: c.QueryParam("status")}
	for name, dst := range map[string]*int64{"list_id": &f.ListID, "segment_id": &f.SegmentID} {
		if v := c.QueryParam(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				return f, &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: name + " must be an id.",
					Fields: map[string]string{name: "Must be an id."}}
			}
			*dst = n
		}
	}
	return f, nil
}

func (s *Server) apiContactList(c *echo.Context) error {
	q, err := readList(c, contactList, s.location())
	if err != nil {
		return err
	}
	f, err := contactFilter(c)
	if err != nil {
		return err
	}
	f.Order, f.Q = q.Order, q.Q
	p, err := s.store.Contacts(c.Request().Context(), f, q.Page, q.limit())
	if err != nil {
		return err
	}
	out := make([]contactJSON, len(p.Contacts))
	for i, ct := range p.Contacts {
		out[i] = toContactJSON(ct)
	}
	return apiPage(c, q, out, p.Total, func(ct contactJSON) int64 { return ct.ID })
}

func (s *Server) apiContactCreate(c *echo.Context) error {
	var b contactBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	upsert := c.QueryParam("upsert") == "true"
	ct, created, err := s.store.CreateContact(c.Request().Context(), b.input("api"), upsert)
	if err != nil {
		return err
	}
	if !created {
		return apiData(c, http.StatusOK, toContactJSON(ct))
	}
	c.Response().Header().Set("Location", "/api/v1/contacts/"+itoa(ct.ID))
	return apiData(c, http.StatusCreated, toContactJSON(ct))
}

func (s *Server) apiContactGet(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ct, err := s.store.Contact(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toContactJSON(ct))
}

func (s *Server) apiContactUpdate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var b contactBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	ct, err := s.store.UpdateContact(c.Request().Context(), id, b.input(""))
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toContactJSON(ct))
}

func (s *Server) apiContactErase(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.store.EraseContact(c.Request().Context(), id); err != nil {
		return err
	}
	ct, err := s.store.Contact(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toContactJSON(ct))
}

// eventJSON is one entry of a contact's timeline.
type eventJSON struct {
	Kind      string    `json:"kind"`
	Detail    string    `json:"detail"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Server) contactEvents(c *echo.Context, id int64) ([]eventJSON, error) {
	evs, err := s.store.ContactEvents(c.Request().Context(), id, 1000)
	return toEventsJSON(evs), err
}

func toEventsJSON(evs []store.Event) []eventJSON {
	out := make([]eventJSON, len(evs))
	for i, e := range evs {
		out[i] = eventJSON{Kind: e.Kind, Detail: e.Detail, CreatedAt: e.CreatedAt}
	}
	return out
}

func (s *Server) apiContactEvents(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if _, err := s.store.Contact(c.Request().Context(), id); err != nil {
		return err
	}
	evs, err := s.contactEvents(c, id)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, evs)
}

// apiContactExport answers a GDPR access request: everything Herald holds
// on one contact, as a JSON download.
func (s *Server) apiContactExport(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	doc, err := s.contactDocument(c, id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="contact-`+itoa(id)+`.json"`)
	return c.JSONPretty(http.StatusOK, doc, "  ")
}

func (s *Server) contactDocument(c *echo.Context, id int64) (map[string]any, error) {
	ct, err := s.store.Contact(c.Request().Context(), id)
	if err != nil {
		return nil, err
	}
	evs, err := s.contactEvents(c, id)
	if err != nil {
		return nil, err
	}
	opens, err := s.store.ContactOpens(c.Request().Context(), id)
	if err != nil {
		return nil, err
	}
	// Every custom event reported of the contact, whole: the timeline
	// shows only the latest, shortened.
	custom, _, err := s.store.CustomEvents(c.Request().Context(), store.EventFilter{ContactID: id, Order: store.Order{Cursor: true}}, maxExportedEvents, 0)
	if err != nil {
		return nil, err
	}
	events := make([]customEventJSON, len(custom))
	for i, e := range custom {
		events[i] = toCustomEventJSON(e)
	}
	return map[string]any{"contact": toContactJSON(ct), "timeline": evs, "opens": toEventsJSON(opens), "custom_events": events,
		"exported_at": time.Now().UTC()}, nil
}

// bulkBody selects contacts, by ids or by the same filters as the list, and
// says what to do with them.
type bulkBody struct {
	Action string  `json:"action"`
	ListID int64   `json:"list_id"`
	Tag    string  `json:"tag"`
	IDs    []int64 `json:"ids"`
	All    bool    `json:"all"`
	Filter struct {
		Q         string `json:"q"`
		ListID    int64  `json:"list_id"`
		Tag       string `json:"tag"`
		Status    string `json:"status"`
		SegmentID int64  `json:"segment_id"`
	} `json:"filter"`
}

func (s *Server) apiContactBulk(c *echo.Context) error {
	var b bulkBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	if len(b.IDs) == 0 && !b.All {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "validation_failed",
			Message: `Choose contacts: send "ids", or "all": true with an optional "filter".`,
			Fields:  map[string]string{"ids": "Send ids, or all with a filter."}}
	}
	f := store.ContactFilter{Q: b.Filter.Q, ListID: b.Filter.ListID, Tag: b.Filter.Tag, Status: b.Filter.Status, SegmentID: b.Filter.SegmentID}
	if len(b.IDs) > 0 {
		f = store.ContactFilter{IDs: b.IDs}
	}
	n, err := s.store.BulkContacts(c.Request().Context(), f, store.BulkAction{Kind: b.Action, ListID: b.ListID, Tag: b.Tag})
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, bulkResultJSON{Action: b.Action, Changed: n})
}

func (s *Server) apiTagList(c *echo.Context) error {
	tags, err := s.store.Tags(c.Request().Context())
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, tags)
}

// contactSendJSON is one campaign message to a contact.
type contactSendJSON struct {
	sendJSON
	CampaignID   int64  `json:"campaign_id"`
	CampaignName string `json:"campaign_name"`
}

func (s *Server) apiContactSends(c *echo.Context) error {
	ctx := c.Request().Context()
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if _, err := s.store.Contact(ctx, id); err != nil {
		return err
	}
	q, err := readList(c, sendList, s.location())
	if err != nil {
		return err
	}
	sends, total, err := s.store.ContactSends(ctx, id, q.Order, q.limit(), q.offset())
	if err != nil {
		return err
	}
	out := []contactSendJSON{}
	for _, sd := range sends {
		out = append(out, contactSendJSON{sendJSON: toSendJSON(sd.Send), CampaignID: sd.CampaignID, CampaignName: sd.CampaignName})
	}
	return apiPage(c, q, out, total, func(cs contactSendJSON) int64 { return cs.ID })
}

func (s *Server) apiContactExportAll(c *echo.Context) error {
	f, err := contactFilter(c)
	if err != nil {
		return err
	}
	return s.exportContacts(c, f, c.QueryParam("format"))
}

// bulkResultJSON is what a bulk action changed.
type bulkResultJSON struct {
	Action  string `json:"action"`
	Changed int    `json:"changed"`
}

// maxExportedEvents bounds the custom events one contact's export carries.
const maxExportedEvents = 100_000
