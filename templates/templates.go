// Package templates holds the app's HTML templates and its stylesheet,
// embedded in the binary so the app runs from anywhere, offline.
package templates

import (
	"embed"
	"io/fs"
)

//go:embed layout.html pages partials
var files embed.FS

//go:embed static
var static embed.FS

// FS holds layout.html, pages/*.html and partials/*.html.
var FS fs.FS = files

// Static holds the files served under /static/.
var Static, _ = fs.Sub(static, "static")
