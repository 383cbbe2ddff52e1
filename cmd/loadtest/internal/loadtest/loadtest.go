// Package loadtest puts the real app under a mixed read/write load from
// several organizations at once and checks what must hold under load:
// no 5xx, every acknowledged write readable afterwards, no organization
// ever seeing another's rows, the IdP's key set fetched once, and a
// bounded memory footprint.
//
// Everything runs in one process over loopback HTTP: a mock IdP with
// generated organizations (mockidp.Start), the app configured as
// cmd/server would be against an external IdP (app.LoadConfig, then
// app.Start, cmd/server's start-up, on 127.0.0.1:0 with a temporary
// database), and the workers,
// each holding a bearer token minted by the IdP. Run stops by itself
// after Options.Duration or Options.MaxRequests, whichever comes first.
//
// cmd/loadtest is the command-line front end; the package's test runs the
// same workload for a few seconds under the race detector.
package loadtest

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Options bound a run. The zero value of a field means its default.
type Options struct {
	Duration    time.Duration // how long to run; default 60 s, at most 30 min
	Workers     int           // concurrent clients; default 16, at most 256
	Orgs        int           // generated organizations; default 4, at most 50
	MaxRequests int64         // stop after this many requests; default 10 million
	SeedFile    string        // the RBAC model; default "rbac.seed.json"
	Log         io.Writer     // the app's and the IdP's warnings and errors; nil: discarded
	// DatabaseURL is a PostgreSQL server (postgres://...) to run on
	// instead of a SQLite file: the run creates a database of its own
	// there (the user needs CREATEDB) and drops it at the end.
	DatabaseURL string
	// SigningKey is the mock IdP's signing key; nil: a fresh one, as
	// cmd/loadtest uses. Tests lend one (mockidptest.Key) rather than
	// spend the CPU of generating a key per run.
	SigningKey *rsa.PrivateKey
}

// Engine names the database a run with these options uses.
func (o Options) Engine() string {
	if o.DatabaseURL != "" {
		return "PostgreSQL"
	}
	return "SQLite"
}

// Limits of Options, so that a typo cannot turn the script into a
// runaway.
const (
	MaxDuration    = 30 * time.Minute
	MaxWorkers     = 256
	MaxOrgs        = 50
	maxRequestsCap = 100_000_000
)

// withDefaults fills in the defaults and checks the bounds.
func (o Options) withDefaults() (Options, error) {
	if o.Duration == 0 {
		o.Duration = 60 * time.Second
	}
	if o.Workers == 0 {
		o.Workers = 16
	}
	if o.Orgs == 0 {
		o.Orgs = 4
	}
	if o.MaxRequests == 0 {
		o.MaxRequests = 10_000_000
	}
	if o.SeedFile == "" {
		o.SeedFile = "rbac.seed.json"
	}
	switch {
	case o.Duration < 100*time.Millisecond || o.Duration > MaxDuration:
		return o, fmt.Errorf("duration %v: want between 100ms and %v", o.Duration, MaxDuration)
	case o.Workers < 1 || o.Workers > MaxWorkers:
		return o, fmt.Errorf("workers %d: want between 1 and %d", o.Workers, MaxWorkers)
	case o.Orgs < 1 || o.Orgs > MaxOrgs:
		return o, fmt.Errorf("orgs %d: want between 1 and %d", o.Orgs, MaxOrgs)
	case o.MaxRequests < 1 || o.MaxRequests > maxRequestsCap:
		return o, fmt.Errorf("max requests %d: want between 1 and %d", o.MaxRequests, maxRequestsCap)
	}
	return o, nil
}

// Run starts the IdP and the app, runs the mixed workload, reads every
// acknowledged write back, stops everything and reports. An error means
// the run could not be made; what the run found is in the Report (see
// Report.OK).
func Run(ctx context.Context, o Options) (*Report, error) {
	return onStack(ctx, o, runMixed)
}

// onStack starts the IdP and the app with o, runs measure against them,
// and stops them whatever happened.
func onStack[R any](ctx context.Context, o Options, measure func(context.Context, *stack, Options) (R, error)) (R, error) {
	var none R
	o, err := o.withDefaults()
	if err != nil {
		return none, err
	}
	s, err := startStack(ctx, o)
	if err != nil {
		return none, err
	}
	rep, err := measure(ctx, s, o)
	return rep, errors.Join(err, s.stop())
}

func runMixed(ctx context.Context, s *stack, o Options) (*Report, error) {
	r := newRun(s, o.MaxRequests)
	jwksBefore := s.idp.JWKSFetches() // the app fetches the key set when it first sees a token
	if err := r.setup(); err != nil {
		return nil, err
	}

	stopSampling := make(chan struct{})
	sampled := r.mem.every(250*time.Millisecond, stopSampling)
	runCtx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range o.Workers {
		m := r.member(i)
		wg.Go(func() { r.worker(runCtx, i, m) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopSampling)
	<-sampled

	rep := r.report(o, elapsed)
	rep.JWKSFetches = s.idp.JWKSFetches() - jwksBefore
	rep.JWKSFetchesTotal = s.idp.JWKSFetches()
	rep.RSSMax = r.mem.maxRSS
	rep.RSSSamples = r.mem.samples
	rep.RSSPeak, _ = procStatus("VmHWM")
	if ctx.Err() != nil {
		rep.fillChecks(r.problems)
		return rep, fmt.Errorf("interrupted after %v: %w", elapsed.Round(time.Millisecond), ctx.Err())
	}
	rep.Verified = r.verify(o.Workers)
	rep.fillChecks(r.problems)
	return rep, nil
}
