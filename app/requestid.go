package app

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net/http"
)

// Every request gets an id: in the X-Request-Id response header, in every
// line logged while serving it, and on the page of a server error, so that
// "it failed" from a user can be matched to the log line that says why.
// An id sent by the client is ignored: it would let anybody write into the
// log's correlation.

type requestIDKey struct{}

// requestIDs gives each request its id.
func requestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An id needs to be unique, not secret: math/rand's ChaCha8 costs no
		// system call, unlike crypto/rand.
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], rand.Uint64())
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// requestID returns the id of the request ctx belongs to, or "".
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestIDLogs is a slog.Handler that adds request_id to every record
// logged with a request's context (the ...Context logging methods).
type requestIDLogs struct{ slog.Handler }

func (h requestIDLogs) Handle(ctx context.Context, rec slog.Record) error {
	if id := requestID(ctx); id != "" {
		rec.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, rec)
}

func (h requestIDLogs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDLogs{h.Handler.WithAttrs(attrs)}
}

func (h requestIDLogs) WithGroup(name string) slog.Handler {
	return requestIDLogs{h.Handler.WithGroup(name)}
}
