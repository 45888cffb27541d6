// Package languages is the one list of the languages davsync speaks. The
// language preference, the extension's _locales folders (a test checks
// each has one), the pages' language picker (through the protocol's
// generated constants) and the import of All API Hub's language setting all
// read it. Adding a language is a folder in extension/_locales and a line
// here.
package languages

import "strings"

// Language is one language davsync ships.
type Language struct {
	// Code is the Chrome locale code, the name of its _locales folder.
	Code string `json:"code"`
	// Name is the language's own name for itself.
	Name string `json:"name"`
	// BCP47 is the tag Intl and <html lang> use.
	BCP47 string `json:"bcp47"`
}

// All lists the languages, English first.
var All = []Language{
	{"en", "English", "en"},
	{"zh_CN", "简体中文", "zh-CN"},
	{"zh_TW", "繁體中文", "zh-TW"},
	{"ja", "日本語", "ja"},
	{"ko", "한국어", "ko"},
	{"de", "Deutsch", "de"},
	{"fr", "Français", "fr"},
	{"es_419", "Español (Latinoamérica)", "es-419"},
	{"pt_BR", "Português (Brasil)", "pt-BR"},
	{"ru", "Русский", "ru"},
	{"vi", "Tiếng Việt", "vi"},
}

// Match returns the shipped language closest to a tag from elsewhere (a
// browser's "zh-Hant-TW", another app's "pt"), or "" when none is close:
// the exact code, then the same language with its script or region
// (Traditional Chinese for Hant, TW, HK and MO; Simplified otherwise), then
// the language alone.
func Match(tag string) string {
	t := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(tag), "-", "_"))
	if t == "" {
		return ""
	}
	for _, l := range All {
		if strings.ToLower(l.Code) == t {
			return l.Code
		}
	}
	base, rest, _ := strings.Cut(t, "_")
	if base == "zh" {
		for _, r := range []string{"hant", "tw", "hk", "mo"} {
			if strings.Contains("_"+rest+"_", "_"+r+"_") {
				return "zh_TW"
			}
		}
		return "zh_CN"
	}
	if base == "es" && rest != "" && rest != "es" {
		return "es_419" // Latin American Spanish for any region but Spain
	}
	for _, l := range All {
		if b, _, _ := strings.Cut(strings.ToLower(l.Code), "_"); b == base {
			return l.Code
		}
	}
	return ""
}
