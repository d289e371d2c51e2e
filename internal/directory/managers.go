package directory

import (
	"context"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// maxManagerLookups bounds the managers an incremental sync reads apart.
const maxManagerLookups = 5000

// resolveManagers reads the managers that the entries read name but that this sync did not read
// (an incremental sync reads only what changed), each by its DN, and makes those who are users
// of this directory here known to the plan, so that a changed entry's new manager, or a new
// user's, is set as a full sync would set it. A manager who is not a user here, or no longer in
// the directory, stays unknown: the entry's manager is left as it is.
func (d *Directory) resolveManagers(ctx context.Context, c *conn, pl *planned, read []entry) error {
	var missing []string
	asked := map[string]bool{}
	for _, e := range read {
		dn := strings.ToLower(e.ManagerDN)
		if dn == "" || asked[dn] {
			continue
		}
		if _, ok := pl.dnExt[dn]; ok {
			continue
		}
		asked[dn] = true
		missing = append(missing, e.ManagerDN)
	}
	if len(missing) > maxManagerLookups {
		missing = missing[:maxManagerLookups]
	}
	attrs := []string{d.Mapping.Primary}
	if d.Mapping.Email != "" {
		attrs = append(attrs, d.Mapping.Email)
	}
	for _, dn := range missing {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := c.l.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, max(1, int(c.t.Request/time.Second)), false,
			"(objectClass=*)", attrs, nil))
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			continue
		}
		if err != nil {
			return requestProblem("search", err, c.t)
		}
		if len(res.Entries) == 0 {
			continue
		}
		ext := primaryValue(res.Entries[0], d.Mapping.Primary)
		if _, ok := pl.ids[ext]; ext == "" || !ok {
			continue
		}
		pl.dnExt[strings.ToLower(dn)] = ext
		if d.Mapping.Email != "" {
			pl.dnEmail[strings.ToLower(dn)] = res.Entries[0].GetAttributeValue(d.Mapping.Email)
		}
	}
	return nil
}
