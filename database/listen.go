package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notify is a statement that sends the text bound to parameter $2 on the
// channel bound to $1 to every instance Listening, when (and only if) the
// transaction it runs in commits. It is "" on SQLite, which has no such
// thing: instances there poll.
func (d Dialect) Notify() string {
	if d.engine == Postgres {
		return "SELECT pg_notify($1, $2)"
	}
	return ""
}

// Listen receives the notifications sent on channel (Dialect.Notify) until
// ctx ends, on a connection of its own to the PostgreSQL server cfg names:
// LISTEN belongs to a session, so it cannot go through the pool, nor
// through a pooler such as PgBouncer in transaction mode.
//
// A notification sent while the connection is down is lost, not queued:
// after every (re)connect, once it listens again, Listen calls connected,
// whose job is to read what may have been missed. It then calls notified
// with each notification's payload, one at a time, from Listen's
// goroutine. A lost connection is retried with backoff (250 ms doubling
// to 5 s) and logged. On SQLite, Listen returns nil at once.
func Listen(ctx context.Context, cfg Config, channel string, log *slog.Logger, connected func(), notified func(payload string)) error {
	if cfg.Engine() != Postgres {
		return nil
	}
	cc, err := ParsePostgresURL(cfg.URL)
	if err != nil {
		return err
	}
	delay := 250 * time.Millisecond
	for {
		listening, err := listenOnce(ctx, cc, channel, connected, notified)
		if ctx.Err() != nil {
			return nil
		}
		if listening {
			delay = 250 * time.Millisecond // it worked for a while: start the backoff afresh
		}
		log.Warn("database listener lost its connection; reconnecting", "channel", channel, "retry_in", delay, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// listenOnce connects, listens and delivers until the connection fails or
// ctx ends; listening reports whether it got as far as LISTEN.
func listenOnce(ctx context.Context, cc *pgx.ConnConfig, channel string, connected func(), notified func(string)) (listening bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	connected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return true, ctx.Err()
			}
			return true, fmt.Errorf("wait for notification: %w", err)
		}
		notified(n.Payload)
	}
}
