package directory

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"golang.org/x/text/unicode/norm"

	"github.com/usherhq/usher/internal/user"
)

// A group mapping makes a directory's groups usher groups. A group is read from the entries in
// the mapping's DNs and those its filter finds; it becomes the usher group of the same primary
// value (its external id), named by its name attribute, whose members are the users of the
// directory its member attributes name. A member that is no user of the directory in usher (a
// nested group, an entry out of scope or excluded, a computer) is passed over: nested groups
// are not expanded. A full sync deletes the groups that left the directory or the mapping
// (their members lose the roles they gave), as the group they mirror is gone; an incremental
// one reads the groups changed since its mark.

// groupEntry is a directory group read through the mapping.
type groupEntry struct {
	DN         string
	ExternalID string
	Name       string
	Members    []string // the members' DNs, normalised (normDN)
}

// GroupChange is one group's change in a plan.
type GroupChange struct {
	Kind    ChangeKind `json:"kind"` // create, update or delete
	DN      string     `json:"dn,omitempty"`
	GroupID string     `json:"group_id,omitempty"`
	Name    string     `json:"name"`
	Before  string     `json:"before,omitempty"` // an update's name before, when the directory renamed it
	Added   int64      `json:"added"`            // members
	Removed int64      `json:"removed"`
}

// normDN is a DN in one form whatever the spacing and case it was written in, for comparing a
// group's member values with the DNs of entries.
func normDN(dn string) string {
	if p, err := ldap.ParseDN(dn); err == nil {
		return strings.ToLower(p.String())
	}
	return strings.ToLower(strings.TrimSpace(dn))
}

// memberDN is a member value as a DN: uniqueMember may end in an optional unique identifier
// ("#'0101'B"), which names no entry.
func memberDN(v string) string {
	if i := strings.LastIndex(v, "#'"); i > 0 && strings.HasSuffix(v, "'B") {
		v = v[:i]
	}
	return normDN(v)
}

// groupsOn reports whether a sync of d reads groups.
func (d *Directory) groupsOn() bool {
	return d.Groups.Enabled && d.Groups.By != nil && d.Scope != ScopeNone
}

// groupsUnclaimed reports whether d's group mapping is on but no one answers for it: it was
// saved before usher recorded who configured a mapping. A sync leaves its groups as they are
// (it neither reads nor deletes them) until an administrator saves the groups again.
func (d *Directory) groupsUnclaimed() bool { return d.Groups.Enabled && d.Groups.By == nil }

// unclaimedReason is what a sync says of a mapping no one answers for.
const unclaimedReason = "The groups were not synchronised: no one answers for the group mapping, which was saved before usher recorded who configured it. Save the directory's groups again to choose who answers for them."

// groupAttributes are the attributes a sync reads of a group.
func (d *Directory) groupAttributes() []string {
	g := d.Groups
	set := append([]string{g.Primary, g.Name}, g.Members...)
	if d.Kind != ActiveDirectory {
		set = append(set, "modifyTimestamp")
	}
	return set
}

// maxMembers bounds the members a sync takes of one group.
const maxMembers = 1_000_000

// rangedRest is a member attribute of which Active Directory sent only the first values: a
// group of more than 1,500 members comes a range at a time (member;range=0-1499), the rest
// asked for by range from From until the last ("-*").
type rangedRest struct {
	Attr string
	From int
}

// toGroup reads an LDAP entry as a group through d's mapping. The member attributes Active
// Directory sent in part are in rest, for moreMembers to read once the search that found the
// group has ended: go-ldap reads one connection's answers in order, so a search made while
// another still delivers its entries waits behind them and both stall.
func (d *Directory) toGroup(e *ldap.Entry) (groupEntry, []rangedRest, *EntryError) {
	g := d.Groups
	// The name in NFC, as usher stores it: a directory that writes accents decomposed would
	// otherwise rename the group at every sync.
	out := groupEntry{DN: e.DN, ExternalID: primaryValue(e, g.Primary), Name: norm.NFC.String(strings.TrimSpace(e.GetEqualFoldAttributeValue(g.Name)))}
	refuse := func(field, reason string) (groupEntry, []rangedRest, *EntryError) {
		return out, nil, &EntryError{DN: e.DN, Field: field, Reason: reason, externalID: out.ExternalID,
			changed: e.GetEqualFoldAttributeValue("modifyTimestamp")}
	}
	switch {
	case len(e.DN) > maxValue:
		return refuse("", "The group's DN is too long.")
	case out.ExternalID == "" || len(out.ExternalID) > maxValue:
		out.ExternalID = ""
		return refuse(g.Primary, "The group has no "+g.Primary+", the attribute that names a group across syncs.")
	case out.Name == "":
		return refuse(g.Name, "The group has no "+g.Name+" to name it in usher.")
	case len(out.Name) > maxValue:
		return refuse(g.Name, "The group's name is too long.")
	}
	var rest []rangedRest
	for _, a := range e.Attributes {
		name, rng, ranged := strings.Cut(a.Name, ";range=")
		if !slices.ContainsFunc(g.Members, func(m string) bool { return strings.EqualFold(m, name) }) {
			continue
		}
		for _, v := range a.Values {
			out.Members = append(out.Members, memberDN(v))
		}
		if !ranged || strings.HasSuffix(rng, "-*") {
			continue
		}
		last, err := rangeEnd(rng)
		if err != nil {
			return refuse(name, "The directory sent the group's members in a range usher cannot read ("+rng+").")
		}
		rest = append(rest, rangedRest{Attr: name, From: last + 1})
	}
	if len(out.Members) > maxMembers {
		return refuse("", fmt.Sprintf("The group has more than %d members.", maxMembers))
	}
	return out, rest, nil
}

// rangeEnd is the last index of a range of values ("0-1499").
func rangeEnd(rng string) (int, error) {
	_, to, _ := strings.Cut(rng, "-")
	return strconv.Atoi(to)
}

// moreMembers reads the rest of a group's ranged member attributes, a range at a time, on a
// connection no other search is using. A range that cannot be read refuses the group (which
// is kept as it was); err is the context's.
func (d *Directory) moreMembers(ctx context.Context, c *conn, g *groupEntry, rest []rangedRest, changed string) (*EntryError, error) {
	refuse := func(field, reason string) *EntryError {
		return &EntryError{DN: g.DN, Field: field, Reason: reason, externalID: g.ExternalID, changed: changed}
	}
	for _, r := range rest {
		from := r.From
		for len(g.Members) <= maxMembers {
			want := fmt.Sprintf("%s;range=%d-*", r.Attr, from)
			res, err := c.l.Search(ldap.NewSearchRequest(g.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
				"(objectClass=*)", []string{want}, nil))
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err != nil || len(res.Entries) == 0 {
				return refuse(r.Attr, "The rest of the group's members could not be read."), nil
			}
			rng := ""
			for _, ra := range res.Entries[0].Attributes {
				if n, v, ok := strings.Cut(ra.Name, ";range="); ok && strings.EqualFold(n, r.Attr) {
					rng = v
					for _, v := range ra.Values {
						g.Members = append(g.Members, memberDN(v))
					}
				}
			}
			if rng == "" {
				return refuse(r.Attr, "The rest of the group's members could not be read."), nil
			}
			if strings.HasSuffix(rng, "-*") {
				break
			}
			last, err := rangeEnd(rng)
			if err != nil || last < from {
				return refuse(r.Attr, "The directory sent the group's members in a range usher cannot read ("+rng+")."), nil
			}
			from = last + 1
		}
	}
	if len(g.Members) > maxMembers {
		return refuse("", fmt.Sprintf("The group has more than %d members.", maxMembers)), nil
	}
	return nil, nil
}

// readGroups reads the groups of d's mapping: those named by DN, then those its filter finds;
// with a mark, only the groups changed since. A group that cannot be read as one is in refused.
func (d *Directory) readGroups(ctx context.Context, c *conn, mark string, latest *string, fn func(groupEntry)) (refused []EntryError, err error) {
	g := d.Groups
	since := func(f string) string {
		switch {
		case mark == "":
			return f
		case d.Kind == ActiveDirectory:
			return "(&" + f + "(uSNChanged>=" + ldap.EscapeFilter(mark) + "))"
		}
		from := mark
		if t, err := time.Parse(generalizedTime, mark); err == nil {
			from = t.Add(-markWindow).Format(generalizedTime)
		}
		return "(&" + f + "(modifyTimestamp>=" + ldap.EscapeFilter(from) + "))"
	}
	// The groups whose members came in part, read to the end once the search is over.
	type partGroup struct {
		g       groupEntry
		rest    []rangedRest
		changed string
	}
	var parts []partGroup
	each := func(e *ldap.Entry) error {
		changed := e.GetEqualFoldAttributeValue("modifyTimestamp")
		if changed > *latest {
			*latest = changed
		}
		ge, rest, bad := d.toGroup(e)
		switch {
		case bad != nil:
			refused = append(refused, *bad)
		case len(rest) > 0:
			parts = append(parts, partGroup{g: ge, rest: rest, changed: changed})
		default:
			fn(ge)
		}
		return nil
	}
	finish := func() error {
		for _, p := range parts {
			bad, err := d.moreMembers(ctx, c, &p.g, p.rest, p.changed)
			if err != nil {
				return err
			}
			if bad != nil {
				refused = append(refused, *bad)
				continue
			}
			fn(p.g)
		}
		parts = nil
		return nil
	}
	attrs := d.groupAttributes()
	for _, dn := range g.DNs {
		_, err := c.each(ctx, dn, ldap.ScopeBaseObject, since("(objectClass=*)"), attrs, 1, each)
		if p, ok := err.(*Problem); ok && p.Code == "directory.base_dn_not_found" {
			refused = append(refused, EntryError{DN: dn, Field: "groups.dns", Reason: "There is no such group in the directory."})
			continue
		}
		if err == nil {
			err = finish()
		}
		if err != nil {
			return refused, err
		}
	}
	if g.Filter != "" {
		base := g.BaseDN
		if base == "" {
			base = d.BaseDN
		}
		_, err := c.each(ctx, base, ldap.ScopeWholeSubtree, since(g.Filter), attrs, 0, each)
		if err == nil {
			err = finish()
		}
		if err != nil {
			return refused, err
		}
	}
	return refused, nil
}

// readUserDNs reads the DN and primary value of every entry in d's scope that its rules let in:
// what an incremental sync, which read only the users that changed, needs to tell who a
// changed group's members are.
func (d *Directory) readUserDNs(ctx context.Context, c *conn, into map[string]string) error {
	attrs := []string{d.Mapping.Primary}
	for _, x := range d.Exclusions {
		if x.Enabled {
			attrs = append(attrs, x.Attribute)
		}
	}
	for _, base := range d.bases() {
		_, err := c.each(ctx, base, ldap.ScopeWholeSubtree, d.Filter, attrs, 0, func(e *ldap.Entry) error {
			if d.excluded(e) {
				return nil
			}
			if ext := primaryValue(e, d.Mapping.Primary); ext != "" {
				into[normDN(e.DN)] = ext
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// plannedGroup is a group a sync creates (id "") or sets, with its members by primary value.
type plannedGroup struct {
	id      string
	g       groupEntry
	members []string
}

// planGroups compares the groups read with the directory's groups in usher. members maps the
// DN of every user entry known (normDN) to its primary value; synced says which primary values
// are users of the directory once the sync is applied.
// With full, the groups of existing not read leave, unless kept (read but refused); with
// removeAll (the mapping is off), every one leaves.
func planGroups(p *Plan, pl *planned, existing []user.Group, read []groupEntry, members map[string]string,
	synced map[string]bool, extOf map[string]string, keep map[string]bool, full, removeAll bool) {
	byExt := make(map[string]*user.Group, len(existing))
	for i := range existing {
		byExt[existing[i].ExternalID] = &existing[i]
	}
	shown := map[ChangeKind]int{}
	show := func(c GroupChange) {
		if shown[c.Kind] < planShown {
			shown[c.Kind]++
			p.GroupChanges = append(p.GroupChanges, c)
		}
	}
	seen := map[string]bool{}
	for _, ge := range read {
		if seen[ge.ExternalID] {
			continue // named one by one and found by the filter too
		}
		seen[ge.ExternalID] = true
		wantSet := map[string]bool{}
		var want []string
		for _, dn := range ge.Members {
			if ext, ok := members[dn]; ok && synced[ext] && !wantSet[ext] {
				wantSet[ext] = true
				want = append(want, ext)
			}
		}
		slices.Sort(want)
		g := byExt[ge.ExternalID]
		if g == nil {
			p.Counts.GroupsCreated++
			p.Counts.MembersAdded += int64(len(want))
			pl.groups = append(pl.groups, plannedGroup{g: ge, members: want})
			show(GroupChange{Kind: Create, DN: ge.DN, Name: ge.Name, Added: int64(len(want))})
			continue
		}
		have := map[string]bool{}
		for _, id := range g.MemberIDs {
			if ext, ok := extOf[id]; ok {
				have[ext] = true
			} else {
				have["id:"+id] = true // not a user of this directory: leaves
			}
		}
		var added, removed int64
		for _, ext := range want {
			if !have[ext] {
				added++
			}
		}
		for ext := range have {
			if !wantSet[ext] {
				removed++
			}
		}
		if added == 0 && removed == 0 && g.Name == ge.Name {
			continue
		}
		c := GroupChange{Kind: Update, DN: ge.DN, GroupID: g.ID, Name: ge.Name, Added: added, Removed: removed}
		if g.Name != ge.Name {
			c.Before = g.Name
		}
		p.Counts.GroupsUpdated++
		p.Counts.MembersAdded += added
		p.Counts.MembersRemoved += removed
		pl.groups = append(pl.groups, plannedGroup{id: g.ID, g: ge, members: want})
		show(c)
	}
	if !full {
		return
	}
	for i := range existing {
		g := &existing[i]
		if (seen[g.ExternalID] || keep[g.ExternalID]) && !removeAll {
			continue
		}
		p.Counts.GroupsDeleted++
		p.Counts.MembersRemoved += g.MemberCount
		pl.goneGroups = append(pl.goneGroups, g)
		show(GroupChange{Kind: Delete, GroupID: g.ID, Name: g.Name, Removed: g.MemberCount})
	}
}
