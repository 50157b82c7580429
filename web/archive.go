package web

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// archiveSize is how many past messages an archive page and feed show.
const archiveSize = 50

func (s *Server) archivePage(c *echo.Context) error {
	l, err := s.publicList(c)
	if err != nil {
		return err
	}
	entries, err := s.store.ArchiveEntries(c.Request().Context(), l.ID, archiveSize)
	if err != nil {
		return err
	}
	p := templates.ArchiveProps{Shell: s.publicShell(c, l.Name+" archive"), ListID: l.ID, ListName: l.Name,
		FeedURL: "/archive/" + itoa(l.ID) + "/feed.atom"}
	p.Shell.Feed = p.FeedURL
	for _, e := range entries {
		p.Items = append(p.Items, templates.ArchiveItem{ID: e.ID, Title: e.Title, PublishedAt: e.PublishedAt.Format("2 Jan 2006")})
	}
	return s.render(c, http.StatusOK, templates.ArchivePage(p))
}

// archiveEntry shows one archived message as it was sent, with no script.
func (s *Server) archiveEntry(c *echo.Context) error {
	l, err := s.publicList(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("entry"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	e, err := s.store.ArchiveEntryOf(c.Request().Context(), l.ID, id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Security-Policy", "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'; font-src * data:; frame-ancestors 'none'")
	return c.HTML(http.StatusOK, e.HTML)
}

type atomFeed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string   `xml:"title"`
	ID      string   `xml:"id"`
	Updated string   `xml:"updated"`
	Author  struct {
		Name string `xml:"name"`
	} `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	Title   string   `xml:"title"`
	ID      string   `xml:"id"`
	Updated string   `xml:"updated"`
	Link    atomLink `xml:"link"`
	Content struct {
		Type string `xml:"type,attr"`
		Body string `xml:",chardata"`
	} `xml:"content"`
}

// errNotPublished answers for the feed while Herald does not know its
// public address.
var errNotPublished = apiErr(http.StatusServiceUnavailable, "not_published",
	"This feed is published once the owner of this site sets Herald's public address.")

// archiveFeed is the archive as an Atom feed.
func (s *Server) archiveFeed(c *echo.Context) error {
	l, err := s.publicList(c)
	if err != nil {
		return err
	}
	entries, err := s.store.ArchiveEntries(c.Request().Context(), l.ID, archiveSize)
	if err != nil {
		return err
	}
	// A feed's links are absolute; they come from the public base URL,
	// never from the request's Host header.
	base := s.out.Links(c.Request().Context()).Base()
	if base == "" {
		return errNotPublished
	}
	base += "/archive/" + itoa(l.ID)
	updated := l.UpdatedAt
	if len(entries) > 0 {
		updated = entries[0].PublishedAt
	}
	f := atomFeed{Title: l.Name, ID: base, Updated: updated.UTC().Format(time.RFC3339),
		Links: []atomLink{{Href: base}, {Rel: "self", Href: base + "/feed.atom"}}}
	f.Author.Name = s.general().OrgName
	if f.Author.Name == "" {
		f.Author.Name = l.Name
	}
	for _, e := range entries {
		ae := atomEntry{Title: e.Title, ID: base + "/" + itoa(e.ID), Updated: e.PublishedAt.UTC().Format(time.RFC3339), Link: atomLink{Href: base + "/" + itoa(e.ID)}}
		ae.Content.Type, ae.Content.Body = "html", e.HTML
		f.Entries = append(f.Entries, ae)
	}
	out, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/atom+xml; charset=utf-8", append([]byte(xml.Header), out...))
}
