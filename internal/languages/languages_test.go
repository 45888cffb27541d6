package languages

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMatch(t *testing.T) {
	for in, want := range map[string]string{
		"en": "en", "en-US": "en", "zh-CN": "zh_CN", "zh": "zh_CN", "zh-Hans": "zh_CN", "zh-TW": "zh_TW", "zh-Hant-HK": "zh_TW",
		"ja-JP": "ja", "pt": "pt_BR", "pt-PT": "pt_BR", "es-MX": "es_419", "es": "es_419", "de-AT": "de", "xx": "", "": "",
	} {
		if got := Match(in); got != want {
			t.Errorf("Match(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every language has its _locales folder, and every folder is a language.
func TestLocaleFolders(t *testing.T) {
	dir := filepath.Join("..", "..", "extension", "_locales")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	folders := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() {
			folders[e.Name()] = true
		}
	}
	for _, l := range All {
		if !folders[l.Code] {
			t.Errorf("%s has no _locales folder", l.Code)
		}
		delete(folders, l.Code)
	}
	for f := range folders {
		t.Errorf("_locales/%s is not in the list", f)
	}
}
