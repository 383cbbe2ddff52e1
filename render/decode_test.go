package render_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/render"
)

func TestDecodeJSONTakesOnlyTheFieldsAsSpelled(t *testing.T) {
	type body struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
	}
	tests := []struct {
		name, body string
		want       string // the InputError's message; "" for none
	}{
		{"both fields", `{"name":"Launch","description":"Q3"}`, ""},
		{"one field", ` {"name":"Launch"} `, ""},
		{"a key in another case", `{"NAME":"Launch"}`, `the body has a field this endpoint does not take: "NAME" (it takes "name", "description")`},
		{"an unknown key", `{"name":"Launch","owner":"usr_1"}`, `the body has a field this endpoint does not take: "owner" (it takes "name", "description")`},
		{"a key given twice", `{"name":"a","name":"b"}`, `the field "name" is given twice`},
		{"a long key, echoed in part", `{"` + strings.Repeat("k", 5000) + `":1}`, `the body has a field this endpoint does not take: "` + strings.Repeat("k", 64) + `…(4936 bytes cut)" (it takes "name", "description")`},
		{"not an object", `["Launch"]`, "the request body is not valid JSON for this endpoint"},
		{"a field of the wrong type", `{"name":7}`, "the request body is not valid JSON for this endpoint"},
		{"broken JSON", `{"name":`, "the request body is not valid JSON for this endpoint"},
		{"two values", `{"name":"a"} {"name":"b"}`, "the request body holds more than one JSON value"},
		{"empty", ` `, "the request body is empty; send a JSON object"},
		{"too big", `{"name":"` + strings.Repeat("x", render.MaxBody) + `"}`, "the request body is larger than 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/projects", strings.NewReader(tt.body))
			var got body
			err := render.DecodeJSON(httptest.NewRecorder(), r, &got)
			if tt.want == "" {
				require.NoError(t, err)
				require.NotNil(t, got.Name)
				assert.Equal(t, "Launch", *got.Name)
				return
			}
			var input *problem.InputError
			require.ErrorAs(t, err, &input)
			assert.Equal(t, "body", input.Field)
			assert.Equal(t, tt.want, input.Message)
		})
	}
}
