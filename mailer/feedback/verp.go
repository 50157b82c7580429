package feedback

import "strings"

// maxVERPToken bounds the token VERPToken returns.
const maxVERPToken = 200

// VERPToken returns the token of a VERP return path,
// "bounces+<token>@domain", and false for any other address. The prefix
// is matched in any case; the token is returned as written.
func VERPToken(address string) (string, bool) {
	a := strings.Trim(strings.TrimSpace(address), "<>")
	at := strings.LastIndexByte(a, '@')
	if at < 0 {
		return "", false
	}
	local := a[:at]
	const prefix = "bounces+"
	if len(local) <= len(prefix) || !strings.EqualFold(local[:len(prefix)], prefix) {
		return "", false
	}
	token := local[len(prefix):]
	if len(token) > maxVERPToken || strings.ContainsAny(token, " \t\r\n<>@\"") {
		return "", false
	}
	return token, true
}
