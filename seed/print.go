package seed

import (
	"fmt"
	"io"
	"strings"
)

// label names the step's subject; an organization role carries its
// organization.
func (s *Step) label() string {
	if s.Org != "" {
		return s.Org + "/" + s.Name
	}
	return s.Name
}

// String reads like "role editor: update (permissions +tasks:assign)".
func (s Step) String() string {
	str := fmt.Sprintf("%s %s: %s", s.Kind, s.label(), s.Action)
	if len(s.Changes) > 0 {
		str += " (" + strings.Join(s.Changes, "; ") + ")"
	}
	return str
}

// Count returns how many steps have action a.
func (p *Plan) Count(a Action) int {
	n := 0
	for _, s := range p.Steps {
		if s.Action == a {
			n++
		}
	}
	return n
}

// Writes returns how many steps change the environment.
func (p *Plan) Writes() int {
	return p.Count(Create) + p.Count(Update) + p.Count(Delete)
}

// symbols mark each action in a printed plan, as in a diff.
var symbols = map[Action]string{Create: "+", Update: "~", Unchanged: "=", OnlyRemote: "?", Delete: "-"}

// Print writes the plan, one line per step, then the totals.
func (p *Plan) Print(w io.Writer) {
	for _, s := range p.Steps {
		detail := strings.Join(s.Changes, "; ")
		if s.Note != "" {
			detail = s.Note
		}
		line := fmt.Sprintf("  %s %-13s %-34s %s", symbols[s.Action], s.Kind, s.label(), detail)
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	fmt.Fprintf(w, "%d to create, %d to update, %d unchanged, %d only in the environment, %d to delete.\n",
		p.Count(Create), p.Count(Update), p.Count(Unchanged), p.Count(OnlyRemote), p.Count(Delete))
}

// Print writes the summary in one or two lines.
func (s Summary) Print(w io.Writer) {
	done := fmt.Sprintf("%d created, %d updated, %d unchanged, %d deleted, %d left alone",
		s.Created, s.Updated, s.Unchanged, s.Deleted, s.LeftAlone)
	if s.Failed == nil {
		fmt.Fprintf(w, "Done: %s.\n", done)
		return
	}
	fmt.Fprintf(w, "Stopped at %s %s. Applied before it: %s. Not applied: that step and %d after it.\n",
		s.Failed.Kind, s.Failed.label(), done, s.NotApplied)
}
