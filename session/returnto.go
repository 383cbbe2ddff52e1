package session

import (
	"net/url"
	"strings"
)

// MaxReturnPath bounds the return_to path that sign-in remembers. The path
// travels in the pending-login cookie, and browsers (and securecookie)
// refuse cookies over about 4 KB once encrypted and encoded: a longer path
// is dropped, not turned into a failed sign-in. No page of this app has a
// path anywhere near this long.
const MaxReturnPath = 1024

// SafeReturnPath returns p if it is a path on this site, else "/". It is
// the open-redirect guard for GET /login?return_to=: an absolute URL,
// "//evil.example" (scheme-relative) and "/\evil.example" (which browsers
// read as scheme-relative) all land on "/", and so does a path longer than
// MaxReturnPath.
func SafeReturnPath(p string) string {
	if p == "" || len(p) > MaxReturnPath || p[0] != '/' || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	if strings.ContainsAny(p, "\\\r\n\t") || strings.ContainsRune(p, 0) {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return p
}
