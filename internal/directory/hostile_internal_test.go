package directory

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// fakeLDAP is a hostile LDAP server: it answers each search with perPage entries and a paging
// cookie that promises more; after pages searches it closes the connection (mode "close"), or
// it keeps answering with the same cookie forever (mode "loop").
func fakeLDAP(t *testing.T, mode string, pages, perPage int) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		served, n := 0, 0
		for {
			p, err := ber.ReadPacket(c)
			if err != nil {
				return
			}
			id := p.Children[0].Value.(int64)
			op := p.Children[1]
			if op.Tag != ldap.ApplicationSearchRequest {
				continue
			}
			for i := 0; i < perPage; i++ {
				n++
				msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
				msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
				e := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultEntry, nil, "")
				e.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "uid=u"+strconv.Itoa(n)+",dc=x", ""))
				attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
				a := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
				a.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "entryUUID", ""))
				vs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "")
				vs.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "id-"+strconv.Itoa(n), ""))
				a.AppendChild(vs)
				attrs.AppendChild(a)
				e.AppendChild(attrs)
				msg.AppendChild(e)
				c.Write(msg.Bytes())
			}
			served++
			msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
			msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
			d := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultDone, nil, "")
			d.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(0), ""))
			d.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
			d.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
			msg.AppendChild(d)
			ctrls := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
			pg := ldap.NewControlPaging(1000)
			pg.SetCookie([]byte("more"))
			ctrls.AppendChild(pg.Encode())
			msg.AppendChild(ctrls)
			c.Write(msg.Bytes())
			if mode == "close" && served == pages {
				return // the server goes away after this page, its cookie promising more
			}
		}
	}()
	return ln.Addr().String()
}

// TestSearchThatDoesNotEnd: a search the server breaks off (the connection closed after a page
// whose cookie promised more) is an error, never a short list a sync would take for the whole
// directory; a server that keeps promising pages without entries is stopped at once.
func TestSearchThatDoesNotEnd(t *testing.T) {
	for _, c := range []struct {
		mode       string
		pages, per int
		code       string
	}{{"close", 1, 3, ""}, {"loop", 0, 0, "directory.paging_broken"}} {
		t.Run(c.mode, func(t *testing.T) {
			addr := fakeLDAP(t, c.mode, c.pages, c.per)
			host, port, _ := net.SplitHostPort(addr)
			p, _ := strconv.Atoi(port)
			cn, err := dial(context.Background(), Connection{Host: host, Port: p, Security: Plain},
				Timeouts{Dial: time.Second, Request: 2 * time.Second, Test: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer cn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			_, err = cn.each(ctx, "dc=x", ldap.ScopeWholeSubtree, "(objectClass=*)", []string{"entryUUID"}, 0,
				func(*ldap.Entry) error { return nil })
			var prob *Problem
			if !errors.As(err, &prob) || (c.code != "" && prob.Code != c.code) || time.Since(start) > 3*time.Second {
				t.Fatalf("err %v after %s", err, time.Since(start))
			}
		})
	}
}

// fakeEntry is an entry a fake server sends: its DN and its attributes' values, in order.
type fakeEntry struct {
	DN    string
	Attrs [][2]any // name, then a string or a []string of values
}

// fakeSearch is a fake LDAP server that answers each search with the entries answer gives for
// its base, scope and attributes, in one page (a paging control without a cookie), and with
// nothing for any other request.
func fakeSearch(t *testing.T, answer func(base string, scope int64, attrs []string) []fakeEntry) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for {
			p, err := ber.ReadPacket(c)
			if err != nil {
				return
			}
			id := p.Children[0].Value.(int64)
			op := p.Children[1]
			if op.Tag != ldap.ApplicationSearchRequest {
				continue
			}
			var attrs []string
			for _, a := range op.Children[7].Children {
				attrs = append(attrs, a.Data.String())
			}
			for _, fe := range answer(op.Children[0].Data.String(), op.Children[1].Value.(int64), attrs) {
				msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
				msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
				e := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultEntry, nil, "")
				e.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, fe.DN, ""))
				list := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
				for _, av := range fe.Attrs {
					a := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
					a.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, av[0].(string), ""))
					vs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "")
					values, ok := av[1].([]string)
					if !ok {
						values = []string{av[1].(string)}
					}
					for _, v := range values {
						vs.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, ""))
					}
					a.AppendChild(vs)
					list.AppendChild(a)
				}
				e.AppendChild(list)
				msg.AppendChild(e)
				c.Write(msg.Bytes())
			}
			msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
			msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
			d := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultDone, nil, "")
			d.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(0), ""))
			d.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
			d.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
			msg.AppendChild(d)
			ctrls := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
			ctrls.AppendChild(ldap.NewControlPaging(1000).Encode())
			msg.AppendChild(ctrls)
			c.Write(msg.Bytes())
		}
	}()
	return ln.Addr().String()
}

// TestRangedMembers: Active Directory sends a large group's members a range at a time. A group
// whose members come in ranges, first in a page of many groups, is read whole, and so are the
// groups after it: the rest of its ranges is asked for once the search of the groups is over,
// not while it still delivers entries on the same connection.
func TestRangedMembers(t *testing.T) {
	const others = 40
	member := func(i int) string { return "CN=User " + strconv.Itoa(i) + ",OU=Staff,DC=x" }
	guid := func(i int) string { return string([]byte{byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}) }
	big := "CN=Big,OU=Groups,DC=x"
	addr := fakeSearch(t, func(base string, scope int64, attrs []string) []fakeEntry {
		if scope == int64(ldap.ScopeBaseObject) && base == big && len(attrs) == 1 {
			switch attrs[0] {
			case "member;range=2-*":
				return []fakeEntry{{DN: big, Attrs: [][2]any{{"member;range=2-3", []string{member(2), member(3)}}}}}
			case "member;range=4-*":
				return []fakeEntry{{DN: big, Attrs: [][2]any{{"member;range=4-*", []string{member(4)}}}}}
			}
			return nil
		}
		out := []fakeEntry{{DN: big, Attrs: [][2]any{{"objectGUID", guid(0)}, {"cn", "Big"}, {"member;range=0-1", []string{member(0), member(1)}}}}}
		for i := 1; i <= others; i++ {
			out = append(out, fakeEntry{DN: "CN=G" + strconv.Itoa(i) + ",OU=Groups,DC=x",
				Attrs: [][2]any{{"objectGUID", guid(i)}, {"cn", "G" + strconv.Itoa(i)}, {"member", member(i)}}})
		}
		return out
	})
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	cn, err := dial(context.Background(), Connection{Host: host, Port: p, Security: Plain},
		Timeouts{Dial: time.Second, Request: 2 * time.Second, Test: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	d := &Directory{Kind: ActiveDirectory, Connection: Connection{BaseDN: "DC=x"}, Config: Preset(ActiveDirectory)}
	d.Groups.Enabled = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := map[string][]string{}
	var latest string
	refused, err := d.readGroups(ctx, cn, "", &latest, func(g groupEntry) { got[g.Name] = g.Members })
	if err != nil || len(refused) != 0 {
		t.Fatalf("readGroups: %v, refused %v", err, refused)
	}
	if len(got) != others+1 {
		t.Errorf("read %d groups, want %d", len(got), others+1)
	}
	want := []string{normDN(member(0)), normDN(member(1)), normDN(member(2)), normDN(member(3)), normDN(member(4))}
	if !slices.Equal(got["Big"], want) {
		t.Errorf("Big's members = %v, want %v", got["Big"], want)
	}
	if m := got["G"+strconv.Itoa(others)]; len(m) != 1 || m[0] != normDN(member(others)) {
		t.Errorf("the last group's members = %v", m)
	}
}
