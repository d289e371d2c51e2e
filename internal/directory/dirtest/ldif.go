package dirtest

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// GeneratedPassword is the userPassword of every thousandth generated user (the 1st, the
// 1001st, …): "pw-" followed by the user's uid. The others have none.
func GeneratedPassword(uid string) string { return "pw-" + uid }

var (
	givenNames = strings.Fields(`Ada Alan Alice Amara Anna Arjun Beatriz Ben Carla Chen Chloe Dara
		David Elena Emil Emma Fatima Felix Grace Hana Hugo Ines Ivan Jana Jonas Julia Kai Karim Lara
		Leo Lina Luca Maya Mei Mila Nadia Noah Nora Omar Oscar Paula Priya Rafael Rosa Sam Sara Sofia
		Tariq Theo Una Vera Wei Yara Yusuf Zoe`)
	surnames = strings.Fields(`Abbott Adeyemi Alvarez Andersen Bauer Becker Bianchi Brown Castro
		Chen Costa Dubois Eriksen Evans Fischer Garcia Gomez Hansen Hoffmann Ivanova Jensen Kaur Khan
		Kim Kowalski Larsen Lee Lopez Martin Meyer Moreau Muller Nakamura Nguyen Novak Okafor Olsen
		Patel Petrov Quinn Rossi Santos Schmidt Silva Singh Smith Tanaka Taylor Varga Wagner Wang
		Weber Wilson Yilmaz Young Zhang`)
	departments = strings.Fields(`Engineering Finance Legal Marketing Operations Research Sales Support`)
)

// generatedEpoch is when the generated users' changes begin (see GenerateLDIF).
var generatedEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// GenerateLDIF writes, as LDIF for slapadd or ldapadd, ou=people and ou=groups under suffix
// (not suffix's own entry), n inetOrgPerson users under ou=people and n/100 groups (at least
// one, at most 100, none when n is 0) of cn=group-K under ou=groups. Users have uid, cn,
// givenName, sn, a unique mail (uid@example.org), telephoneNumber and departmentNumber; user i
// (from 0) is a member of group i mod the number of groups, and was last modified i seconds
// after 2024-01-01 (modifyTimestamp), and the LDIF writes memberOf on
// each user as the memberof overlay would (slapadd skips overlays). Every thousandth user has
// the userPassword GeneratedPassword(uid). The same seed gives the same LDIF.
func GenerateLDIF(w io.Writer, suffix string, n int, seed int64) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	people, groupsDN := "ou=people,"+suffix, "ou=groups,"+suffix
	fmt.Fprintf(bw, "dn: %s\nobjectClass: organizationalUnit\nou: people\n\n", people)
	fmt.Fprintf(bw, "dn: %s\nobjectClass: organizationalUnit\nou: groups\n\n", groupsDN)
	groups := 0
	if n > 0 {
		groups = min(max(n/100, 1), 100)
	}
	groupDN := func(k int) string { return fmt.Sprintf("cn=group-%d,%s", k, groupsDN) }
	uids := make([]string, n)
	for i := range n {
		given := givenNames[rng.IntN(len(givenNames))]
		sn := surnames[rng.IntN(len(surnames))]
		// The index makes uid (and so mail) unique; the names only make them look real.
		uid := fmt.Sprintf("%s.%s.%d", strings.ToLower(given), strings.ToLower(sn), i)
		uids[i] = uid
		fmt.Fprintf(bw, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s %s\ngivenName: %s\nsn: %s\nmail: %s@example.org\ntelephoneNumber: +1 555 %03d %04d\ndepartmentNumber: %s\nmemberOf: %s\n",
			uid, people, uid, given, sn, given, sn, uid, rng.IntN(1000), rng.IntN(10000),
			departments[rng.IntN(len(departments))], groupDN(i%groups))
		if i%1000 == 0 {
			fmt.Fprintf(bw, "userPassword: %s\n", GeneratedPassword(uid))
		}
		// Entries of a real directory were made and changed over years, not in one second:
		// user i was last changed i seconds after the start of 2024.
		fmt.Fprintf(bw, "modifyTimestamp: %s\n", generatedEpoch.Add(time.Duration(i)*time.Second).Format("20060102150405Z"))
		bw.WriteString("\n")
	}
	for k := range groups {
		fmt.Fprintf(bw, "dn: %s\nobjectClass: groupOfNames\ncn: group-%d\n", groupDN(k), k)
		for i := k; i < n; i += groups {
			fmt.Fprintf(bw, "member: uid=%s,%s\n", uids[i], people)
		}
		bw.WriteString("\n")
	}
	return bw.Flush()
}
