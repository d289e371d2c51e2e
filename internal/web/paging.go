package web

import (
	"net/url"
	"slices"
	"strings"
)

// pageSize is how many rows a page of a console list shows: users, groups, members, audit events, messages.
const pageSize = 50

// maxTrail bounds the cursors the address keeps for "Previous"; further back is the first page.
const maxTrail = 20

// pageLinks are the "Next" and "Previous" addresses of a list paged by cursors, as the users
// list has them: q holds the list's other parameters, cursor is this page's, trail the cursors of
// the pages before it ("" for the first), next the cursor of the page after it.
func pageLinks(path string, q url.Values, cursor string, trail []string, next string) (nextURL, prevURL string) {
	at := func(v url.Values) string {
		if len(v) == 0 {
			return path
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		return path + sep + v.Encode()
	}
	clone := func() url.Values {
		v := url.Values{}
		for k, s := range q {
			v[k] = slices.Clone(s)
		}
		return v
	}
	if next != "" {
		nv := clone()
		nv.Set("cursor", next)
		back := append(slices.Clone(trail), cursor)
		if len(back) > maxTrail {
			back = back[len(back)-maxTrail:]
		}
		nv["trail"] = back
		nextURL = at(nv)
	}
	if cursor != "" {
		pv := clone()
		if n := len(trail); n > 0 {
			if prev := trail[n-1]; prev != "" {
				pv.Set("cursor", prev)
			}
			if n > 1 {
				pv["trail"] = slices.Clone(trail[:n-1])
			}
		}
		prevURL = at(pv)
	}
	return nextURL, prevURL
}
