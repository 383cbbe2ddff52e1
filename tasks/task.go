// Package tasks is the tasks domain: tasks inside a project, their store
// scoped by organization, and the handlers to create, assign and complete
// them (gated in app/routes.go).
package tasks

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scalekit-samples/go-rbac-projects/internal/plaintext"
	"github.com/scalekit-samples/go-rbac-projects/problem"
)

// MaxTitleLen bounds a task's title.
const MaxTitleLen = 200

// Task is a piece of work in a project.
type Task struct {
	ID        int64     `json:"id"`
	ProjectID int64     `json:"project_id"`
	Title     string    `json:"title"`
	Assignee  string    `json:"assignee"` // a user id of the same organization, or ""
	Done      bool      `json:"done"`
	CreatedAt time.Time `json:"created_at"`
}

// ValidateTitle trims a title and checks it.
func ValidateTitle(title string) (string, error) {
	title = strings.TrimSpace(title)
	switch {
	case title == "":
		return "", problem.Invalid("title", "Give the task a title.")
	// Checked before the length: invalid UTF-8 would be counted wrong.
	case !plaintext.Valid(title, false):
		return "", problem.Invalid("title", "The title holds characters that are not text (control characters or invalid UTF-8).")
	case utf8.RuneCountInString(title) > MaxTitleLen:
		return "", problem.Invalid("title", "The title is too long: at most %d characters.", MaxTitleLen)
	}
	return title, nil
}
