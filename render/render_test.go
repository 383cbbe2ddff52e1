package render_test

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/render"
)

func TestWriteJSON(t *testing.T) {
	big := strings.Repeat("x", 100<<10) // grows a buffer past what the pool keeps
	tests := []struct {
		name   string
		status int
		v      any
		want   string
	}{
		{"an object", http.StatusCreated, map[string]int{"id": 7}, `{"id":7}` + "\n"},
		{"a large answer", http.StatusOK, []string{big}, `["` + big + `"]` + "\n"},
		// Buffers are reused: a short answer after long ones holds nothing of them.
		{"a short answer after a large one", http.StatusOK, []int{}, "[]\n"},
		{"html is escaped", http.StatusOK, "<script>", `"\u003cscript\u003e"` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			require.NoError(t, render.WriteJSON(w, tt.status, tt.v))
			assert.Equal(t, tt.status, w.Code)
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			assert.Equal(t, tt.want, w.Body.String())
		})
	}
}

func TestWriteJSONWritesNothingWhenEncodingFails(t *testing.T) {
	w := httptest.NewRecorder()
	err := render.WriteJSON(w, http.StatusOK, map[string]float64{"x": math.Inf(1)})
	require.Error(t, err)
	assert.False(t, w.Flushed)
	assert.Empty(t, w.Body.String(), "nothing written, so the caller can still answer 500")
	assert.Empty(t, w.Header().Get("Content-Type"))
}
