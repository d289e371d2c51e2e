package directory

import (
	"context"
	"errors"
	"net"
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
