package feedback

import "bytes"

// splitParts cuts a multipart body at its boundary lines. It is lenient
// where mime/multipart is strict: bounces often carry a truncated copy with
// no closing boundary, or a part header that is not quite a header.
func splitParts(body []byte, boundary string) [][]byte {
	if boundary == "" {
		return nil
	}
	delim := []byte("--" + boundary)
	var parts [][]byte
	start := -1
	for off := 0; off < len(body) && len(parts) < maxParts; {
		line, rest := cutLine(body[off:])
		next := len(body) - len(rest)
		if tail, ok := bytes.CutPrefix(line, delim); ok {
			tail = bytes.TrimSpace(tail)
			if len(tail) == 0 || bytes.Equal(tail, []byte("--")) {
				if start >= 0 {
					parts = append(parts, body[start:off])
				}
				if len(tail) > 0 {
					return parts
				}
				start = next
			}
		}
		off = next
	}
	if start >= 0 && start < len(body) && len(parts) < maxParts {
		parts = append(parts, body[start:])
	}
	return parts
}

// guessBoundary finds the boundary of a multipart whose header lost it:
// the first line that looks like a delimiter.
func guessBoundary(body []byte) string {
	for n, rest := 0, body; len(rest) > 0 && n < 1000; n++ {
		var line []byte
		line, rest = cutLine(rest)
		line = bytes.TrimRight(line, " \t\r")
		if len(line) > 2 && len(line) <= 72 && bytes.HasPrefix(line, []byte("--")) && !bytes.ContainsAny(line, " \t") {
			return string(bytes.TrimSuffix(line[2:], []byte("--")))
		}
	}
	return ""
}
