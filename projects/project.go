// Package projects is the projects domain: the Project model, its store
// scoped by organization, and the browser and JSON handlers whose routes
// are gated in app/routes.go.
package projects

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scalekit-samples/go-rbac-projects/internal/plaintext"
	"github.com/scalekit-samples/go-rbac-projects/problem"
)

// Limits on user input, enforced before anything is written.
const (
	MaxNameLen        = 100
	MaxDescriptionLen = 2000
)

// Project is a project of one organization.
type Project struct {
	ID          int64     `json:"id"`
	OrgID       string    `json:"-"` // implied by the caller's token; never taken from input
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Input is what a user may set on a project.
type Input struct {
	Name        string
	Description string
}

// Validate trims the input and checks it against the limits.
func (in *Input) Validate() error {
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	switch {
	case in.Name == "":
		return problem.Invalid("name", "Give the project a name.")
	// Checked before the lengths: invalid UTF-8 would be counted wrong.
	case !plaintext.Valid(in.Name, false):
		return problem.Invalid("name", "The name holds characters that are not text (control characters or invalid UTF-8).")
	case !plaintext.Valid(in.Description, true):
		return problem.Invalid("description", "The description holds characters that are not text (control characters or invalid UTF-8).")
	case utf8.RuneCountInString(in.Name) > MaxNameLen:
		return problem.Invalid("name", "The name is too long: at most %d characters.", MaxNameLen)
	case utf8.RuneCountInString(in.Description) > MaxDescriptionLen:
		return problem.Invalid("description", "The description is too long: at most %d characters.", MaxDescriptionLen)
	}
	return nil
}
