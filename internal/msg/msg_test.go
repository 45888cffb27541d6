package msg

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

type locale map[string]struct {
	Message string `json:"message"`
}

func readLocale(t *testing.T, dir string) locale {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "messages.json"))
	if err != nil {
		t.Fatal(err)
	}
	var l locale
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return l
}

var placeholder = regexp.MustCompile(`\$[1-9]`)

func placeholders(s string) string {
	p := placeholder.FindAllString(s, -1)
	sort.Strings(p)
	return strings.Join(sort.StringSlice(p), ",")
}

// The English catalog is the English locale's words, and every locale that
// translates a message keeps its placeholders.
func TestCatalogIsTheEnglishLocale(t *testing.T) {
	root := filepath.Join("..", "..", "extension", "_locales")
	en := readLocale(t, filepath.Join(root, "en"))
	for k, v := range English {
		if en[k].Message != v {
			t.Errorf("%s: the en locale says %q, Go says %q", k, en[k].Message, v)
		}
		if strings.HasSuffix(k, "_one") {
			if _, ok := English[strings.TrimSuffix(k, "_one")+"_other"]; !ok {
				t.Errorf("%s has no _other form", k)
			}
			// Russian picks "one" for 21 and 31 too, French for 0: the
			// form must print the count, not a literal 1.
			if !strings.Contains(v, "$1") {
				t.Errorf("%s says a literal count instead of $1: %q", k, v)
			}
		}
	}
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		l := readLocale(t, filepath.Join(root, d.Name()))
		for k := range English {
			if m, ok := l[k]; ok && placeholders(m.Message) != placeholders(English[k]) && !strings.HasSuffix(k, "_one") {
				t.Errorf("%s/%s: placeholders %q, English has %q", d.Name(), k, placeholders(m.Message), placeholders(English[k]))
			}
		}
	}
}

func TestRender(t *testing.T) {
	if got := Count("askStale", 1).String(); !strings.Contains(got, "more than 1 day ago") {
		t.Errorf("one: %q", got)
	}
	if got := Count("askStale", 180).String(); !strings.Contains(got, "more than 180 days ago") {
		t.Errorf("other: %q", got)
	}
	if got := New("noteInsecure", "nas.lan").String(); !strings.HasPrefix(got, "the connection to nas.lan is not") {
		t.Errorf("args: %q", got)
	}
	b, err := json.Marshal(Count("askStale", 2))
	if err != nil {
		t.Fatal(err)
	}
	var back Msg
	if err := json.Unmarshal(b, &back); err != nil || back.Key != "askStale" || back.Text == "" || back.N == nil || *back.N != 2 || !strings.Contains(string(b), `"text":"this device last synced more than 2 days ago`) {
		t.Errorf("json: %s -> %+v %v", b, back, err)
	}
}
