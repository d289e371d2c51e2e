package web

import "net/url"

// pages gives the addresses of a cursor-paged list's "Next" and "Previous" pages, as the users
// list does: the list's query, the cursor of the page to show, and the trail of cursors that led
// to it (at most maxTrail, in the address, so that "Previous" needs no state on the server).
// cursor is the page shown ("" for the first), trail the trail it came with, next the store's
// cursor after it ("" on the last page). Either address is empty when there is no such page.
func pages(path string, query url.Values, cursor string, trail []string, next string) (nextURL, prevURL string) {
	with := func(v url.Values) string {
		if len(v) == 0 {
			return path
		}
		return path + "?" + v.Encode()
	}
	clone := func() url.Values {
		v := url.Values{}
		for k, s := range query {
			v[k] = append([]string(nil), s...)
		}
		return v
	}
	if next != "" {
		nv := clone()
		nv.Set("cursor", next)
		back := append(append([]string(nil), trail...), cursor)
		if len(back) > maxTrail {
			back = back[len(back)-maxTrail:]
		}
		for _, t := range back {
			nv.Add("trail", t)
		}
		nextURL = with(nv)
	}
	if cursor != "" {
		pv := clone()
		if n := len(trail); n > 0 {
			if prev := trail[n-1]; prev != "" {
				pv.Set("cursor", prev)
			}
			for _, t := range trail[:n-1] {
				pv.Add("trail", t)
			}
		}
		prevURL = with(pv)
	}
	return nextURL, prevURL
}
