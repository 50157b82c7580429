package mailer

// appendQP appends text to dst quoted-printable (RFC 2045), byte for byte
// as mime/quotedprintable's Writer writes it in text mode: every line end,
// \n, \r or \r\n, becomes CRLF, lines are at most 76 characters with soft
// breaks, and a space or tab before a line end is encoded. It copies runs
// of plain characters whole, where the Writer takes them one at a time:
// every message of a campaign goes through here, twice.
func appendQP(dst []byte, text string) []byte {
	const max = 75 // characters on a line before its soft break's "="
	line := 0      // characters on the line being written
	cr := false    // the last line end was a \r, so a \n after it is part of it
	for k := 0; k < len(text); {
		switch b := text[k]; {
		case b == '\n' || b == '\r':
			k++
			if cr && b == '\n' {
				cr = false
				continue
			}
			cr = b == '\r'
			dst, line = encodeLastSpace(dst, line)
			dst, line = append(dst, '\r', '\n'), 0
		case qpPlainByte[b]:
			e := k + 1
			for e < len(text) && qpPlainByte[text[e]] {
				e++
			}
			for run := text[k:e]; len(run) > 0; {
				if line == max {
					dst, line = append(dst, "=\r\n"...), 0
				}
				n := min(len(run), max-line)
				dst, line, run = append(dst, run[:n]...), line+n, run[n:]
			}
			cr, k = false, e
		default:
			dst, line = encodeQP(dst, line, b)
			k++
		}
	}
	dst, _ = encodeLastSpace(dst, line)
	return dst
}

// qpPlain says whether b goes out as itself: printable ASCII but "=", and
// space and tab (encoded later when they end a line).
func qpPlain(b byte) bool {
	return b >= '!' && b <= '~' && b != '=' || b == ' ' || b == '\t'
}

// qpPlainByte is qpPlain for each byte, looked up where a run is scanned.
var qpPlainByte = func() (t [256]bool) {
	for b := range t {
		t[b] = qpPlain(byte(b))
	}
	return t
}()

// encodeQP appends b as "=XX", after a soft break when the line lacks room.
func encodeQP(dst []byte, line int, b byte) ([]byte, int) {
	const hex = "0123456789ABCDEF"
	if 75-line < 3 {
		dst, line = append(dst, "=\r\n"...), 0
	}
	return append(dst, '=', hex[b>>4], hex[b&0x0f]), line + 3
}

// encodeLastSpace encodes the line's last character when it is a space or
// a tab, as it comes before a line end.
func encodeLastSpace(dst []byte, line int) ([]byte, int) {
	if line == 0 {
		return dst, line
	}
	if b := dst[len(dst)-1]; b == ' ' || b == '\t' {
		return encodeQP(dst[:len(dst)-1], line-1, b)
	}
	return dst, line
}
