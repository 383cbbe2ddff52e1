package mockidp_test

import (
	"encoding/xml"
	"io"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// picker is the sign-in page as a browser sees it.
type picker struct {
	title  string
	action string
	hidden url.Values
	orgs   map[string][]string // organization -> user_id buttons
	choice []string            // the chooser's organization_id buttons
	cancel bool
}

// parsePicker reads the page with encoding/xml in its lenient HTML mode,
// element by element, so tests check structure rather than substrings.
func parsePicker(t testing.TB, r io.Reader) picker {
	t.Helper()
	dec := xml.NewDecoder(r)
	dec.Strict, dec.AutoClose, dec.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	p := picker{hidden: url.Values{}, orgs: map[string][]string{}}
	var org string
	var inTitle bool
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return p
		}
		require.NoError(t, err)
		switch el := tok.(type) {
		case xml.StartElement:
			a := attrs(el)
			switch el.Name.Local {
			case "title":
				inTitle = true
			case "form":
				p.action = a["action"]
			case "section":
				org = a["aria-label"]
			case "input":
				if a["type"] == "hidden" {
					p.hidden.Add(a["name"], a["value"])
				}
			case "button":
				switch a["name"] {
				case "user_id":
					p.orgs[org] = append(p.orgs[org], a["value"])
				case "organization_id":
					p.choice = append(p.choice, a["value"])
				case "cancel":
					p.cancel = true
				}
			}
		case xml.CharData:
			if inTitle {
				p.title += string(el)
			}
		case xml.EndElement:
			inTitle = inTitle && el.Name.Local != "title"
		}
	}
}

func attrs(el xml.StartElement) map[string]string {
	m := map[string]string{}
	for _, a := range el.Attr {
		m[a.Name.Local] = a.Value
	}
	return m
}
