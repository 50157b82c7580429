package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // registers GIF for image.DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// maxImage caps one uploaded image.
const maxImage = 5 << 20

// imageTypes are the images Herald takes, by the type their bytes show.
var imageTypes = map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}

// mediaError is a 422 about the uploaded file.
func mediaError(msg string) error {
	return &store.ValidationError{Fields: map[string]string{"file": msg}}
}

// saveImage checks an uploaded image by its content, not its name, and
// stores it. SVG is refused: it can carry scripts, which a mail client or a
// visitor's browser might run.
func (s *Server) saveImage(c *echo.Context) (store.Media, error) {
	mr, err := uploadParts(c, mediaError("Send the image as multipart/form-data in a field named file."))
	if err != nil {
		return store.Media{}, err
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return store.Media{}, mediaError("Choose an image to upload.")
		}
		if err != nil {
			return store.Media{}, readFailed(err, mediaError("The upload was cut short."))
		}
		if part.FormName() != "file" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, maxImage+1))
		if err != nil {
			return store.Media{}, readFailed(err, mediaError("The upload was cut short."))
		}
		return s.storeImage(c, filepath.Base(part.FileName()), data)
	}
}

func (s *Server) storeImage(c *echo.Context, name string, data []byte) (store.Media, error) {
	if len(data) > maxImage {
		return store.Media{}, mediaError("The image is larger than 5 MB; make it smaller first.")
	}
	if len(data) == 0 {
		return store.Media{}, mediaError("The file is empty.")
	}
	ct := http.DetectContentType(data)
	if _, isImage := imageTypes[ct]; !isImage && bytes.Contains(bytes.ToLower(data), []byte("<svg")) {
		return store.Media{}, mediaError("SVG images can carry scripts, so Herald does not take them; save the image as PNG instead.")
	}
	ext, ok := imageTypes[ct]
	if !ok {
		return store.Media{}, mediaError("Upload a PNG, JPEG, GIF or WebP image; this file is " + ct + ".")
	}
	var w, h int
	if ct == "image/webp" {
		w, h = webpSize(data)
	} else if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil {
		w, h = cfg.Width, cfg.Height
	}
	if w == 0 || h == 0 {
		return store.Media{}, mediaError("The image is damaged and cannot be read.")
	}
	sum := sha256.Sum256(data)
	dir := filepath.Join(s.dataDir, "media")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return store.Media{}, err
	}
	tmp, err := os.CreateTemp(dir, "upload-*"+ext)
	if err != nil {
		return store.Media{}, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return store.Media{}, err
	}
	tmp.Close()
	m, err := s.store.CreateMedia(c.Request().Context(), store.Media{FileName: cleanFileName(name, ext), ContentType: ct, Size: int64(len(data)),
		Width: w, Height: h, SHA256: hex.EncodeToString(sum[:]), Path: tmp.Name()})
	if err != nil {
		os.Remove(tmp.Name())
		return store.Media{}, err
	}
	final := filepath.Join(dir, fmt.Sprintf("%d-%s%s", m.ID, m.SHA256[:12], ext))
	if err := os.Rename(tmp.Name(), final); err == nil {
		s.store.SetMediaPath(c.Request().Context(), m.ID, final)
		m.Path = final
	}
	return m, nil
}

// webpSize reads a WebP image's width and height from its first chunk, or
// gives 0, 0 when the file is not a WebP image Herald can read.
func webpSize(b []byte) (int, int) {
	if len(b) < 30 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return 0, 0
	}
	le24 := func(p []byte) int { return int(p[0]) | int(p[1])<<8 | int(p[2])<<16 }
	switch string(b[12:16]) {
	case "VP8X": // extended: 24-bit width and height, minus one
		return le24(b[24:27]) + 1, le24(b[27:30]) + 1
	case "VP8 ": // lossy: a start code, then 14-bit width and height
		if b[23] != 0x9d || b[24] != 0x01 || b[25] != 0x2a {
			return 0, 0
		}
		return int(b[26]) | int(b[27]&0x3f)<<8, int(b[28]) | int(b[29]&0x3f)<<8
	case "VP8L": // lossless: a signature byte, then 14-bit width and height, minus one
		if b[20] != 0x2f {
			return 0, 0
		}
		bits := uint32(b[21]) | uint32(b[22])<<8 | uint32(b[23])<<16 | uint32(b[24])<<24
		return int(bits&0x3fff) + 1, int(bits>>14&0x3fff) + 1
	}
	return 0, 0
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// cleanFileName keeps a name that is safe in a URL, with the right extension.
func cleanFileName(name, ext string) string {
	base := strings.TrimSuffix(name, filepath.Ext(name))
	base = strings.Trim(unsafeName.ReplaceAllString(base, "-"), "-.")
	if base == "" {
		base = "image"
	}
	if len(base) > 80 {
		base = base[:80]
	}
	return base + ext
}

// mediaURL is where an uploaded image is served, for good: the id never
// changes hands and the file never changes.
func (s *Server) mediaURL(c *echo.Context, m store.Media) string {
	return s.publicURL(c) + "/media/" + itoa(m.ID) + "/" + m.FileName
}

// mediaServe serves an uploaded image to anyone: emails load them.
func (s *Server) mediaServe(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	m, err := s.store.Media(c.Request().Context(), id)
	if err != nil {
		return err
	}
	f, err := os.Open(m.Path)
	if err != nil {
		return store.ErrNotFound
	}
	defer f.Close()
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(c.Response(), c.Request(), m.FileName, m.CreatedAt.Truncate(time.Second), f)
	return nil
}

func (s *Server) mediaPage(c *echo.Context, status int, msg string) error {
	n, err := pageNumber(c)
	if err != nil {
		return err
	}
	p := templates.MediaProps{Shell: s.shell(c, "templates", "Media"), Error: msg, Page: n}
	ms, total, err := s.store.MediaPage(c.Request().Context(), store.Newest, mediaPerPage, (p.Page-1)*mediaPerPage)
	if err != nil {
		return err
	}
	p.Total, p.Pages = total, pageCount(total, mediaPerPage)
	for _, m := range ms {
		p.Items = append(p.Items, s.mediaItem(c, m))
	}
	return s.render(c, status, templates.MediaPage(p))
}

func (s *Server) mediaList(c *echo.Context) error { return s.mediaPage(c, http.StatusOK, "") }

func (s *Server) mediaUpload(c *echo.Context) error {
	m, err := s.saveImage(c)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.mediaPage(c, http.StatusUnprocessableEntity, ve.Fields["file"])
	}
	if err != nil {
		return err
	}
	s.flash(c, "success", m.FileName+" uploaded.")
	return redirect(c, "/templates/media")
}

func (s *Server) mediaDelete(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	m, err := s.store.DeleteMedia(c.Request().Context(), id)
	if err != nil {
		return err
	}
	os.Remove(m.Path)
	s.flash(c, "success", m.FileName+" deleted.")
	return redirect(c, "/templates/media")
}
