package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/scalekit-samples/go-rbac-projects/internal/plaintext"
	"github.com/scalekit-samples/go-rbac-projects/problem"
)

// DecodeJSON reads the request body into v: at most MaxBody bytes, one
// JSON object, no unknown fields. Its errors are problem.InputErrors that
// tell the developer what to fix.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			return problem.Invalid("body", "the request body is larger than %d bytes", MaxBody)
		}
		return fmt.Errorf("read the request body: %w", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return problem.Invalid("body", "the request body is empty; send a JSON object")
	}
	if err := checkKeys(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem.Invalid("body", "the request body is not valid JSON for this endpoint")
	}
	if dec.More() {
		return problem.Invalid("body", "the request body holds more than one JSON value")
	}
	return nil
}

// checkKeys refuses, in a JSON object, what encoding/json lets pass: a key
// that names a field of v only when case is ignored ({"NAME": ...}), and a
// key given twice (the last would silently win). Anything that is not an
// object is left for the decoder to refuse.
func checkKeys(body []byte, v any) error {
	fields := fieldNames(reflect.TypeOf(v))
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		if seen[key] {
			return problem.Invalid("body", "the field %s is given twice", quoteKey(key))
		}
		seen[key] = true
		if fields != nil && !slices.Contains(fields, key) {
			return problem.Invalid("body", "the body has a field this endpoint does not take: %s (it takes %s)", quoteKey(key), quoted(fields))
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

// fieldNames are the JSON names of the fields of the struct t points to,
// as its tags spell them; nil when t is not a pointer to a struct.
func fieldNames(t reflect.Type) []string {
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := range t.Elem().NumField() {
		f := t.Elem().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case !f.IsExported() || name == "-":
			continue
		case name == "":
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// quoted lists names as JSON would write them: "name", "description".
func quoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// maxEchoedKey bounds how much of a client's key an error repeats: a key
// may be as long as the body.
const maxEchoedKey = 64

// quoteKey quotes key for an error message, cut to maxEchoedKey bytes.
func quoteKey(key string) string { return strconv.Quote(plaintext.Cut(key, maxEchoedKey)) }
