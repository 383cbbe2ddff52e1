package database_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sqlWord marks a string literal as (part of) an SQL statement.
var sqlWord = regexp.MustCompile(`(?i)\b(select|insert|update|delete|from|where|values|set|returning)\b`)

// placeholder is a ? where SQLite would bind a parameter.
var placeholder = regexp.MustCompile(`[\s(,=<>]\?`)

// TestNoSQLUsesQuestionMarkPlaceholders: SQLite binds both ? and $N, and
// accepts a statement that mixes them (as a ? hidden after a `+columns+`
// concatenation did); PostgreSQL takes $N only. Every literal of the
// app's non-test Go files that reads like SQL is checked.
func TestNoSQLUsesQuestionMarkPlaceholders(t *testing.T) {
	checked := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || !sqlWord.MatchString(s) {
				return true
			}
			checked++
			assert.False(t, placeholder.MatchString(s), "%s: a ? placeholder (use $1, $2...): %s", path, s)
			return true
		})
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, checked, 30, "the walk found the app's SQL")
}
