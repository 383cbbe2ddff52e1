package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// call sends a request of the workload and records its status and
// latency. It reports whether the status was the expected one and, for a
// 2xx, the body decoded into out.
func (r *run) call(ctx context.Context, ep endpoint, method, path, token string, body, out any) bool {
	return r.callStatus(ctx, ep, method, path, token, body, out) == expected[ep]
}

func (r *run) callStatus(ctx context.Context, ep endpoint, method, path, token string, body, out any) int {
	status, data, took, err := r.send(ctx, method, path, token, body)
	r.stats[ep].record(status, took)
	switch {
	case err != nil:
		r.problems.add(kindTransport, "%s: %v", endpointNames[ep], err)
	case status >= 500:
		r.problems.add(kindServerError, "%s answered %d: %.200s", endpointNames[ep], status, data)
	case status != expected[ep]:
		r.problems.add(kindUnexpected, "%s answered %d, want %d: %.200s", endpointNames[ep], status, expected[ep], data)
	case out != nil && status < 300:
		if err := json.Unmarshal(data, out); err != nil {
			r.problems.add(kindWrongData, "%s: %v", endpointNames[ep], err)
			return -1
		}
	}
	return status
}

// expect sends a request outside the measured workload (set-up, read
// back) and decodes the answer, which must have status want.
func (r *run) expect(ctx context.Context, want int, method, path, token string, body, out any) error {
	status, data, _, err := r.send(ctx, method, path, token, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status != want {
		return fmt.Errorf("%s %s answered %d, want %d: %.200s", method, path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// send makes one request to the app and reads the whole answer; took
// runs from sending to the last byte of the body.
func (r *run) send(ctx context.Context, method, path, token string, body any) (status int, data []byte, took time.Duration, err error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return 0, nil, 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	data, err = io.ReadAll(resp.Body)
	took = time.Since(start)
	if err != nil {
		return 0, nil, took, err
	}
	return resp.StatusCode, data, took, nil
}
