package rbac

// Permission is a Scalekit permission name, written resource:action.
type Permission = string

// The permissions this app's handlers check. They must exist in
// rbac.seed.json; TestSeedFileDefinesEveryPermissionTheAppChecks keeps the
// two in step.
const (
	ProjectsCreate Permission = "projects:create"
	ProjectsRead   Permission = "projects:read"
	ProjectsUpdate Permission = "projects:update"
	ProjectsDelete Permission = "projects:delete"
	TasksRead      Permission = "tasks:read"
	TasksCreate    Permission = "tasks:create"
	TasksUpdate    Permission = "tasks:update"
	TasksAssign    Permission = "tasks:assign"
	MembersRead    Permission = "members:read"
	RolesAssign    Permission = "roles:assign"
)

// Checked lists every permission the app gates on.
var Checked = []Permission{
	ProjectsCreate, ProjectsRead, ProjectsUpdate, ProjectsDelete,
	TasksRead, TasksCreate, TasksUpdate, TasksAssign,
	MembersRead, RolesAssign,
}
