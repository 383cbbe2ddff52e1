package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/scalekit-samples/go-rbac-projects/lease"
)

// SessionStore is a gorilla/sessions Store that keeps session data in the
// app's database. The cookie holds only a signed random id, so tokens never
// reach the browser, logout really ends a session, and app instances that
// share the database share sessions. The database holds the id's hash and
// the data encrypted with a key only the id gives: it holds no usable token.
type SessionStore struct {
	db      *sql.DB
	load    *sql.Stmt // prepared once: it runs on every browser request
	leases  *lease.Table
	codec   securecookie.Codec
	pending securecookie.Codec // sign-ins in progress (pendinglogin.go)
	options sessions.Options
	now     func() time.Time
}

// NewSessionStore returns the store on db, whose migrations created the
// sessions table. leases serialize
// refreshes across instances; secret signs the cookie; maxAge bounds a session's life; secure marks the cookie Secure
// (set it when the app is served over https).
func NewSessionStore(ctx context.Context, db *sql.DB, leases *lease.Table, secret []byte, maxAge time.Duration, secure bool) (*SessionStore, error) {
	if len(secret) < 32 {
		return nil, errors.New("session secret must be at least 32 bytes")
	}
	load, err := db.PrepareContext(ctx, `SELECT data FROM sessions WHERE id_hash = $1 AND expires_at > $2`)
	if err != nil {
		return nil, fmt.Errorf("prepare session lookup: %w", err)
	}
	codec := securecookie.New(secret, nil)
	codec.MaxAge(int(maxAge.Seconds()))
	codec.SetSerializer(securecookie.NopEncoder{}) // the value is the id's bytes: nothing to serialize
	return &SessionStore{
		db:      db,
		load:    load,
		leases:  leases,
		codec:   codec,
		pending: pendingCodec(secret),
		options: sessions.Options{
			Path:     "/",
			MaxAge:   int(maxAge.Seconds()),
			HttpOnly: true,                 // no script reads it
			Secure:   secure,               // https only when served over https
			SameSite: http.SameSiteLaxMode, // sent on top-level navigations back from the IdP
		},
		now: time.Now,
	}, nil
}

// Lifetime is the longest a session lasts from sign-in, however active.
func (s *SessionStore) Lifetime() time.Duration {
	return time.Duration(s.options.MaxAge) * time.Second
}

// Get returns the named session of the request (gorilla's per-request cache).
func (s *SessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session named by the request's cookie, or returns a new,
// empty one when there is none or it has expired.
func (s *SessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	opts := s.options
	sess.Options = &opts
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	var raw []byte
	if err := s.codec.Decode(name, c.Value, &raw); err != nil {
		return sess, nil // forged, tampered or expired cookie: start afresh
	}
	id := string(raw)
	var stored []byte
	err = s.load.QueryRowContext(r.Context(), hashID(id), s.now().Unix()).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return sess, nil
	}
	if err != nil {
		return sess, fmt.Errorf("load session: %w", err)
	}
	plain, err := unseal(id, stored)
	if errors.Is(err, errUnsealable) {
		return sess, nil // altered in the database: start afresh
	}
	if err != nil {
		return sess, err
	}
	data, ok := decodeData(plain)
	if !ok {
		return sess, nil // written by another version: start afresh
	}
	sess.Values[dataKey] = data
	sess.ID = id
	sess.IsNew = false
	return sess, nil
}

// Save writes the session and sets its cookie. A session whose MaxAge is
// negative is deleted and its cookie expired. Its Values hold one *Data.
func (s *SessionStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.Options.MaxAge < 0 {
		// The cookie is cleared even if the row cannot be deleted: the
		// browser is signed out, and the error still reaches the caller.
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", sess.Options))
		if sess.ID != "" {
			return s.delete(r.Context(), sess.ID)
		}
		return nil
	}
	if sess.ID == "" {
		id, err := newSessionID()
		if err != nil {
			return err
		}
		sess.ID = id
		s.sweep(r.Context())
	}
	plain, err := encodeData(sess)
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	data, err := seal(sess.ID, plain)
	if err != nil {
		return err
	}
	expires := s.now().Add(time.Duration(sess.Options.MaxAge) * time.Second)
	if _, err := s.db.ExecContext(r.Context(),
		`INSERT INTO sessions (id_hash, data, expires_at, org_id, user_id) VALUES ($1, $2, $3, $4, $5)
		 ON CONFLICT(id_hash) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at,
		   org_id = excluded.org_id, user_id = excluded.user_id`,
		hashID(sess.ID), data, expires.Unix(), dataOf(sess).OrgID, dataOf(sess).Subject); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	encoded, err := s.codec.Encode(sess.Name(), []byte(sess.ID))
	if err != nil {
		return fmt.Errorf("encode session cookie: %w", err)
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), encoded, sess.Options))
	return nil
}

// EndSessions deletes every session of the user in the organization, as
// when they leave its directory: their next request is signed out, on
// every instance sharing the database. It returns how many ended.
func (s *SessionStore) EndSessions(ctx context.Context, orgID, userID string) (int64, error) {
	if orgID == "" || userID == "" {
		return 0, nil // rows of sessions signed in before owners were recorded
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE org_id = $1 AND user_id = $2`, orgID, userID)
	if err != nil {
		return 0, fmt.Errorf("end sessions of %s: %w", userID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("end sessions of %s: %w", userID, err)
	}
	return n, nil
}

func (s *SessionStore) delete(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, hashID(id)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// sweep removes expired sessions. It runs when a session is created, which
// keeps the table bounded without a background job.
func (s *SessionStore) sweep(ctx context.Context) {
	_, _ = s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, s.now().Unix())
}

func newSessionID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new session id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}
