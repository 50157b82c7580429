package mailer

import "bytes"

// appendDotStuffed appends msg to dst as DATA carries it (RFC 5321,
// 4.5.2): a line that starts with a dot gets a second one, and a bare LF
// becomes CRLF. The bytes are those textproto's DotWriter writes, which
// go-smtp's client used, but made in one pass that copies the runs in
// between whole; appendDataEnd then ends the data.
func appendDotStuffed(dst, msg []byte) []byte { return appendLines(dst, msg, true) }

// appendLines appends msg to dst with each bare LF made CRLF, as DATA and
// BDAT carry it, and with dots a second dot at the start of each line that
// starts with one, as only DATA does.
//
// DotWriter takes a CR and the byte after it as a pair, so of a run of
// CRs before a LF only an odd one has the LF for its own: after an even
// one, the LF counts as bare and gets a CR of its own.
func appendLines(dst, msg []byte, dots bool) []byte {
	if dots && len(msg) > 0 && msg[0] == '.' {
		dst = append(dst, '.')
	}
	done := 0 // msg[:done] is in dst
	for i := 0; ; {
		n := bytes.IndexByte(msg[i:], '\n')
		if n < 0 {
			break
		}
		lf := i + n
		if trailingCRs(msg[:lf])%2 == 0 {
			dst = append(dst, msg[done:lf]...)
			dst = append(dst, '\r')
			done = lf
		}
		i = lf + 1
		if dots && i < len(msg) && msg[i] == '.' {
			dst = append(dst, msg[done:i]...)
			dst = append(dst, '.')
			done = i
		}
	}
	return append(dst, msg[done:]...)
}

// hasBareLF reports whether appendLines would change msg, without dots.
func hasBareLF(msg []byte) bool {
	return nextBareLF(msg, 0) >= 0
}

// bareLFs counts the bare LFs of msg, each of which appendLines makes CRLF.
func bareLFs(msg []byte) int {
	n := 0
	for i := nextBareLF(msg, 0); i >= 0; i = nextBareLF(msg, i+1) {
		n++
	}
	return n
}

// nextBareLF is where the first bare LF of msg from i is, or -1.
func nextBareLF(msg []byte, i int) int {
	for {
		n := bytes.IndexByte(msg[i:], '\n')
		if n < 0 {
			return -1
		}
		if lf := i + n; trailingCRs(msg[:lf])%2 == 0 {
			return lf
		}
		i += n + 1
	}
}

// appendDataEnd appends what ends the DATA of msg, dot-stuffed by
// appendDotStuffed: the end of its last line, unless it has one, and the
// line with a lone dot.
func appendDataEnd(dst, msg []byte) []byte {
	return append(append(dst, lastLineEnd(msg)...), ".\r\n"...)
}

// lastLineEnd is what ends the last line of msg, its lines made CRLF by
// appendLines: nothing when it has its end, the LF after a CR of its own,
// or else CRLF.
func lastLineEnd(msg []byte) []byte {
	switch {
	case len(msg) > 0 && msg[len(msg)-1] == '\n':
		return nil
	case trailingCRs(msg)%2 == 1:
		return crlf[1:]
	}
	return crlf
}

var crlf = []byte("\r\n")

// trailingCRs counts the CRs that b ends in.
func trailingCRs(b []byte) int {
	n := 0
	for n < len(b) && b[len(b)-1-n] == '\r' {
		n++
	}
	return n
}

// dataChunk is about how much of a message goes in one write: most
// messages whole, while the buffer kept for it stays small and each
// write of a large one is timed on its own, as RFC 5321 (4.5.3.2.5)
// times each chunk of data.
const dataChunk = 64 << 10

// chunkEnd says where the first chunk of msg ends: after its last LF
// within dataChunk bytes, so that the next chunk starts a line and is
// dot-stuffed alone; or after the first LF past them, for a longer line.
func chunkEnd(msg []byte) int {
	if len(msg) <= dataChunk {
		return len(msg)
	}
	if i := bytes.LastIndexByte(msg[:dataChunk], '\n'); i >= 0 {
		return i + 1
	}
	if i := bytes.IndexByte(msg[dataChunk:], '\n'); i >= 0 {
		return dataChunk + i + 1
	}
	return len(msg)
}
