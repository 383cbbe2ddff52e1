package auth

import (
	"net/url"
	"strings"
)

// SafeReturnPath returns p if it is a path on this site, else "/". It is
// the open-redirect guard for GET /login?return_to=: an absolute URL,
// "//evil.example" (scheme-relative) and "/\evil.example" (which browsers
// read as scheme-relative) all land on "/".
func SafeReturnPath(p string) string {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
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
