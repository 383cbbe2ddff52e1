package mockidp

import (
	"net/url"
	"slices"
)

// registered reports whether uri is one of a client's registered URIs. The
// match is exact, except that for a loopback host (localhost, 127.0.0.1,
// [::1]) the port may differ, as RFC 8252 section 7.3 allows: native apps
// and tests listen on a port chosen at run time. Everything else about the
// URI, path and query included, must still be equal, so a prefix or a
// look-alike host never matches.
func registered(list []string, uri string) bool {
	if uri == "" {
		return false
	}
	if slices.Contains(list, uri) {
		return true
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.Opaque != "" || u.User != nil || u.Fragment != "" || u.RawFragment != "" {
		return false
	}
	for _, reg := range list {
		r, err := url.Parse(reg)
		if err != nil || r.Scheme != "http" || !loopback(r.Hostname()) {
			continue
		}
		if u.Hostname() == r.Hostname() && u.EscapedPath() == r.EscapedPath() &&
			u.RawQuery == r.RawQuery && u.ForceQuery == r.ForceQuery {
			return true
		}
	}
	return false
}

// loopback reports whether host is one of the literal loopback names. A
// DNS name that happens to resolve to 127.0.0.1 does not count.
func loopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
