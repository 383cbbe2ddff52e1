package session

import (
	"fmt"
	"strconv"
	"strings"
)

// Session values are strings: tokens, times, a name. A session row holds
// them as netstrings - key, value, key, value - each its length in
// decimal, a colon, the bytes and a comma. Decoding is slicing, with no
// escapes to undo, and it runs on every browser request. The row is
// sealed (sessionseal.go) before it reaches the database.

// encodeValues encodes a session's values, which must all be strings.
func encodeValues(values map[any]any) ([]byte, error) {
	var b []byte
	for k, v := range values {
		ks, kok := k.(string)
		vs, vok := v.(string)
		if !kok || !vok {
			return nil, fmt.Errorf("session value %v is not a string", k)
		}
		b = appendNetstring(appendNetstring(b, ks), vs)
	}
	return b, nil
}

// decodeValues decodes what encodeValues made into values. ok is false
// if data is not such an encoding.
func decodeValues(data string, values map[any]any) (ok bool) {
	for data != "" {
		var k, v string
		if k, data, ok = cutNetstring(data); !ok {
			return false
		}
		if v, data, ok = cutNetstring(data); !ok {
			return false
		}
		values[k] = v
	}
	return true
}

func appendNetstring(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, ',')
}

// cutNetstring reads one netstring off the front of s.
func cutNetstring(s string) (value, rest string, ok bool) {
	digits, after, found := strings.Cut(s, ":")
	n, err := strconv.Atoi(digits)
	if !found || err != nil || n < 0 || n >= len(after) || after[n] != ',' {
		return "", "", false
	}
	return after[:n], after[n+1:], true
}
