package dirtest

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-ldap/ldap/v3"
)

// ADServer is a Samba AD DC of its own, for benchmark programs (tests share the binary's one
// through ActiveDirectory). It listens on 127.0.0.N, ports 389 and 636, and must run as root.
type ADServer struct {
	Endpoint
	// DomainDN is the domain's root, ADDomainDN.
	DomainDN string
	s        *adServer
}

// StartADServer provisions a domain and starts Samba on it (about 5 s); the caller must call
// Stop.
func StartADServer() (*ADServer, error) {
	if !installed("samba", "samba-tool") {
		return nil, fmt.Errorf("%s", missingSamba)
	}
	s, err := startADServer()
	if err != nil {
		return nil, err
	}
	return &ADServer{Endpoint: s.Endpoint, DomainDN: ADDomainDN, s: s}, nil
}

// Stop stops Samba and removes its files.
func (a *ADServer) Stop() error { return a.s.Stop() }

// AddUsers adds the organizational unit OU=ou under the domain and n users in it over conns
// connections at once, and returns the unit's DN. User i (from 0) has the sAMAccountName
// u<seed>-<i>, a given name, surname, mail, telephoneNumber and department drawn from the same
// lists as GenerateLDIF's, and is enabled without a password (userAccountControl 544: a
// password is not required), which Samba adds several times faster than one with a password.
// progress, when not nil, is called with the count added every 500 users.
func (a *ADServer) AddUsers(ou string, n int, seed int64, conns int, progress func(int)) (string, error) {
	admin, err := a.dialAdmin()
	if err != nil {
		return "", err
	}
	defer admin.Close()
	base := "OU=" + ldap.EscapeDN(ou) + "," + a.DomainDN
	if err := addEntry(admin, base, map[string][]string{"objectClass": {"organizationalUnit"}}); err != nil {
		return "", err
	}
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, conns)
	for range max(conns, 1) {
		wg.Go(func() {
			c, err := a.dialAdmin()
			if err != nil {
				errc <- err
				return
			}
			defer c.Close()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
				given, sn := givenNames[rng.IntN(len(givenNames))], surnames[rng.IntN(len(surnames))]
				sam := fmt.Sprintf("u%d-%d", seed, i)
				err := addEntry(c, "CN="+sam+","+base, map[string][]string{
					"objectClass":        {"user"},
					"sAMAccountName":     {sam},
					"userPrincipalName":  {sam + "@" + strings.ToLower(ADRealm)},
					"userAccountControl": {strconv.Itoa(uacNormal | 0x20)},
					"givenName":          {given},
					"sn":                 {sn},
					"mail":               {fmt.Sprintf("%s.%s.%s@example.test", strings.ToLower(given), strings.ToLower(sn), sam)},
					"telephoneNumber":    {fmt.Sprintf("+1 555 %03d %04d", rng.IntN(1000), rng.IntN(10000))},
					"department":         {departments[rng.IntN(len(departments))]},
				})
				if err != nil {
					errc <- err
					return
				}
				if d := done.Add(1); progress != nil && d%500 == 0 {
					progress(int(d))
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return "", err
	}
	return base, nil
}
