package errkind

import (
	"encoding/json"
	"os"
	"testing"
)

// The extension's English locale and Go say the same words for each kind
// (the command-line tool prints Go's).
func TestKindsMatchTheEnglishLocale(t *testing.T) {
	b, err := os.ReadFile("../../extension/_locales/en/messages.json")
	if err != nil {
		t.Fatal(err)
	}
	var en map[string]struct{ Message string }
	if err := json.Unmarshal(b, &en); err != nil {
		t.Fatal(err)
	}
	for _, k := range Kinds {
		if got := en["kind_"+string(k.Kind)].Message; got != k.Title {
			t.Errorf("kind_%s: locale %q, Go %q", k.Kind, got, k.Title)
		}
		if got := en["fix_"+string(k.Kind)].Message; got != k.Fix {
			t.Errorf("fix_%s: locale %q, Go %q", k.Kind, got, k.Fix)
		}
	}
}
