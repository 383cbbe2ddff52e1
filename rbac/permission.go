package rbac

// Permission is a Scalekit permission name, written resource:action. It is
// a type of its own so that a gate cannot be handed a role name or any
// other string by mistake.
type Permission string

// The permissions this app's gates check. Each must be granted by some role
// of rbac.seed.json: app's TestEveryGateCanBePassed fails on a typo.
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
