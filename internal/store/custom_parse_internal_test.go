package store

import (
	"encoding/json"
	"maps"
	"testing"
)

// parseCustom reads what encoding/json reads, by its quick path or not, and refuses what it
// refuses, for these values.
func TestParseCustom(t *testing.T) {
	for _, s := range []string{`{}`, `{"a":"b"}`, `{ "a" : "b", "cost_center" : "4711" }`, `{"a":"","b":"x y"}`,
		`{"a":"Zoë \u00fc"}`, `{"a":"quote \" inside"}`, `{"a":"<tag>"}`, `{"a":"b",}`, `{"a":1}`, `{"a":"b"} x`, `{"a"`, `[]`, `{"a":"b" "c":"d"}`, "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", `{"a":"1","a":"2"}`} {
		want := map[string]string{}
		wantErr := json.Unmarshal([]byte(s), &want)
		got, err := parseCustom(s)
		if (err != nil) != (wantErr != nil) || err == nil && !maps.Equal(got, want) {
			t.Errorf("parseCustom(%s) = %v, %v; encoding/json: %v, %v", s, got, err, want, wantErr)
		}
	}
}
