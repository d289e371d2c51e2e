package auth

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
)

//go:embed common-passwords.txt
var commonPasswordsFile string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 12000)
	for line := range strings.Lines(commonPasswordsFile) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			m[line] = struct{}{}
		}
	}
	return m
})

// isCommon reports whether a password is one that attackers try first: on the shipped list of
// common and breached passwords (in any letter case, also with digits or symbols added at the
// end, as in "Password2024!"), or a short unit or a listed word repeated.
func isCommon(password string) bool {
	p := strings.ToLower(password)
	list := commonPasswords()
	if _, ok := list[p]; ok {
		return true
	}
	if base := strings.TrimRightFunc(p, func(r rune) bool { return !unicode.IsLetter(r) }); base != p {
		if _, ok := list[base]; ok {
			return true
		}
	}
	// A short unit or a listed word repeated: "abcabcabcabc", "passwordpassword".
	for k := 1; k <= len(p)/2; k++ {
		if len(p)%k != 0 || strings.Repeat(p[:k], len(p)/k) != p {
			continue
		}
		if _, ok := list[p[:k]]; ok || k <= 4 {
			return true
		}
	}
	return false
}
