package tasks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/problem"
)

// Store keeps tasks. Every method takes the caller's organization; tasks
// and projects of other organizations do not exist for it.
type Store interface {
	// List returns up to page.Size+1 tasks of the project, oldest first:
	// the extra one tells that there is a next page.
	List(ctx context.Context, orgID string, projectID int64, page Page) ([]Task, error)
	Get(ctx context.Context, orgID string, id int64) (Task, error)
	Create(ctx context.Context, orgID string, projectID int64, title, createdBy string) (Task, error)
	Assign(ctx context.Context, orgID string, id int64, assignee string) (Task, error)
	SetDone(ctx context.Context, orgID string, id int64, done bool) (Task, error)
}

// SQLStore is the Store on the app's database, SQLite or PostgreSQL.
type SQLStore struct {
	db  *sql.DB
	now func() time.Time
}

// NewSQLStore returns the Store on db, whose migrations created the tasks
// table.
func NewSQLStore(db *sql.DB) *SQLStore {
	return &SQLStore{db: db, now: time.Now}
}

const columns = `id, project_id, title, assignee, done, created_at`

// Page selects part of a project's tasks: at most Size tasks newer than
// the one with id After (0: from the oldest).
type Page struct {
	Size  int
	After int64
}

// List returns a page of the tasks of one of the organization's projects,
// oldest first, with one more task than page.Size if there are more. A
// project of another organization is ErrNotFound.
func (s *SQLStore) List(ctx context.Context, orgID string, projectID int64, page Page) ([]Task, error) {
	if err := s.projectExists(ctx, orgID, projectID); err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	// Keyset paging on (org_id, project_id, id), the tasks_project index: a
	// page is one range scan, however many tasks come before it.
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+columns+` FROM tasks WHERE org_id = $1 AND project_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
		orgID, projectID, page.After, page.Size+1)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	defer rows.Close()
	list := []Task{}
	for rows.Next() {
		t, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list tasks: %w", err)
		}
		list = append(list, t)
	}
	return list, rows.Err()
}

// Get returns one task of the organization.
func (s *SQLStore) Get(ctx context.Context, orgID string, id int64) (Task, error) {
	t, err := scan(s.db.QueryRowContext(ctx,
		`SELECT `+columns+` FROM tasks WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return Task{}, fmt.Errorf("get task %d: %w", id, err)
	}
	return t, nil
}

// Create adds a task to one of the organization's projects.
func (s *SQLStore) Create(ctx context.Context, orgID string, projectID int64, title, createdBy string) (Task, error) {
	title, err := ValidateTitle(title)
	if err != nil {
		return Task{}, err
	}
	// The project must be the organization's own: checked in the same
	// statement that inserts, so there is no window between check and write.
	// (Postgres types a parameter in a SELECT list as text, whatever the
	// column it goes to: the casts say what each is.)
	t, err := scan(s.db.QueryRowContext(ctx,
		`INSERT INTO tasks (org_id, project_id, title, created_by, created_at)
		 SELECT CAST($1 AS TEXT), id, CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS BIGINT)
		 FROM projects WHERE org_id = $5 AND id = $6
		 RETURNING `+columns,
		orgID, title, createdBy, s.now().UTC().UnixMilli(), orgID, projectID))
	if err != nil {
		return Task{}, fmt.Errorf("create task in project %d: %w", projectID, err)
	}
	return t, nil
}

// Assign sets the task's assignee ("" unassigns). The caller checks that
// the assignee belongs to the organization.
func (s *SQLStore) Assign(ctx context.Context, orgID string, id int64, assignee string) (Task, error) {
	t, err := scan(s.db.QueryRowContext(ctx,
		`UPDATE tasks SET assignee = $1 WHERE org_id = $2 AND id = $3 RETURNING `+columns,
		assignee, orgID, id))
	if err != nil {
		return Task{}, fmt.Errorf("assign task %d: %w", id, err)
	}
	return t, nil
}

// SetDone marks the task done or not done.
func (s *SQLStore) SetDone(ctx context.Context, orgID string, id int64, done bool) (Task, error) {
	t, err := scan(s.db.QueryRowContext(ctx,
		`UPDATE tasks SET done = $1 WHERE org_id = $2 AND id = $3 RETURNING `+columns,
		done, orgID, id))
	if err != nil {
		return Task{}, fmt.Errorf("update task %d: %w", id, err)
	}
	return t, nil
}

func (s *SQLStore) projectExists(ctx context.Context, orgID string, projectID int64) error {
	var one int
	err := s.db.QueryRowContext(ctx,
		`SELECT 1 FROM projects WHERE org_id = $1 AND id = $2`, orgID, projectID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("project %d: %w", projectID, problem.ErrNotFound)
	}
	return err
}

type scanner interface{ Scan(dest ...any) error }

func scan(row scanner) (Task, error) {
	var t Task
	var created int64
	err := row.Scan(&t.ID, &t.ProjectID, &t.Title, &t.Assignee, &t.Done, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Task{}, problem.ErrNotFound
	}
	if err != nil {
		return Task{}, err
	}
	t.CreatedAt = time.UnixMilli(created).UTC()
	return t, nil
}
