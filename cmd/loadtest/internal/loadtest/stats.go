package loadtest

import (
	"bufio"
	"fmt"
	"math/bits"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// histogram counts latencies in buckets of about 3% width (32 per power of
// two), so p50 and p99 of millions of requests take a few kilobytes and
// no sorting. It is safe for concurrent use.
type histogram struct {
	counts [maxBucket + 1]atomic.Int64
}

const (
	subBuckets = 32
	// maxBucket holds everything from about 68 s (2^36 ns) up.
	maxBucket = (36-5)*subBuckets + subBuckets - 1
)

func bucketOf(ns int64) int {
	v := uint64(max(ns, 0))
	if v < 2*subBuckets {
		return int(v)
	}
	shift := bits.Len64(v) - 6 // v>>shift is in [32, 64)
	return min(shift*subBuckets+int(v>>shift), maxBucket)
}

// lowerBound is the smallest duration that falls in bucket i.
func lowerBound(i int) time.Duration {
	if i < 2*subBuckets {
		return time.Duration(i)
	}
	shift := i/subBuckets - 1
	return time.Duration(uint64(i-shift*subBuckets) << shift)
}

func (h *histogram) record(d time.Duration) { h.counts[bucketOf(int64(d))].Add(1) }

// quantile returns the latency below which a fraction q of the samples
// fall (the middle of that bucket), or 0 with no samples.
func (h *histogram) quantile(q float64) time.Duration {
	var total int64
	for i := range h.counts {
		total += h.counts[i].Load()
	}
	if total == 0 {
		return 0
	}
	rank := int64(q*float64(total-1)) + 1
	var seen int64
	for i := range h.counts {
		if seen += h.counts[i].Load(); seen >= rank {
			return (lowerBound(i) + lowerBound(i+1)) / 2
		}
	}
	return lowerBound(maxBucket)
}

// endpointStats is what one endpoint's requests answered, and how fast.
type endpointStats struct {
	latency  histogram
	statuses [600]atomic.Int64 // index: HTTP status; 0: no answer (transport error)
}

func (s *endpointStats) record(status int, d time.Duration) {
	if status < 0 || status >= len(s.statuses) {
		status = 0
	}
	s.statuses[status].Add(1)
	if status != 0 {
		s.latency.record(d)
	}
}

func (s *endpointStats) count() (n int64) {
	for i := range s.statuses {
		n += s.statuses[i].Load()
	}
	return n
}

// statusCounts lists the statuses seen, as "201:1234 403:5".
func (s *endpointStats) statusCounts() map[int]int64 {
	m := map[int]int64{}
	for i := range s.statuses {
		if n := s.statuses[i].Load(); n > 0 {
			m[i] = n
		}
	}
	return m
}

func formatStatuses(m map[int]int64) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := strconv.Itoa(k)
		if k == 0 {
			name = "error"
		}
		parts[i] = fmt.Sprintf("%s:%d", name, m[k])
	}
	return strings.Join(parts, " ")
}

// memory samples this process's resident set size from /proc/self/status
// (Linux only): VmRSS now and then, and VmHWM, the kernel's own peak.
type memory struct {
	mu      sync.Mutex
	maxRSS  int64 // bytes; 0 when /proc is not available
	samples int
}

// sample reads VmRSS once.
func (m *memory) sample() {
	rss, _ := procStatus("VmRSS")
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples++
	m.maxRSS = max(m.maxRSS, rss)
}

// every samples until stop is closed; the returned channel closes when the
// sampler has stopped.
func (m *memory) every(d time.Duration, stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			m.sample()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return done
}

// procStatus returns a "kB" field of /proc/self/status in bytes.
func procStatus(field string) (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", field, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("%s not in /proc/self/status", field)
}

func megabytes(b int64) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MB", float64(b)/(1<<20))
}
