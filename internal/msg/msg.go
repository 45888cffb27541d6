// Package msg is what davsync says to a user, as a message key with
// parameters: the pages render it through chrome.i18n in the user's
// language (the key names an entry in extension/_locales/*/messages.json,
// the parameters fill its $1..$9), and Go renders the same key in English
// for the command line, logs and tests.
//
// English is kept here, not read from the locale files, so that the
// native tool and the wasm module carry it without file access; a test
// checks it is word for word the English locale's.
package msg

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Msg is one message: a key of the catalog, its parameters, and its
// English, for a reader without the locale (the command line, logs, and
// the pages' fallback).
type Msg struct {
	Key  string   `json:"key"`
	Args []string `json:"args,omitempty"`
	// N, when set, picks the plural form: the catalog holds Key+"_one" and
	// Key+"_other", and each language's pages choose with Intl.PluralRules.
	N    *int   `json:"n,omitempty"`
	Text string `json:"text"`
}

// New returns the message key with its parameters.
func New(key string, args ...string) Msg {
	m := Msg{Key: key, Args: args}
	m.Text = m.render()
	return m
}

// Count returns the plural message key for n (n is also its first
// parameter, before args).
func Count(key string, n int, args ...string) Msg {
	m := Msg{Key: key, Args: append([]string{strconv.Itoa(n)}, args...), N: &n}
	m.Text = m.render()
	return m
}

// Plain is English text that has no key (a status saved by davsync 0.1):
// the pages show it as it is.
func Plain(text string) Msg { return Msg{Text: text} }

// UnmarshalJSON reads a message, or a plain string as Plain: statuses
// saved before warnings were messages held English text.
func (m *Msg) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*m = Plain(s)
		return nil
	}
	type fields Msg // without this method
	return json.Unmarshal(b, (*fields)(m))
}

// String is the message in English.
func (m Msg) String() string {
	if m.Text != "" {
		return m.Text
	}
	return m.render()
}

func (m Msg) render() string {
	key := m.Key
	if m.N != nil {
		if *m.N == 1 {
			key += "_one"
		} else {
			key += "_other"
		}
	}
	s, ok := English[key]
	if !ok {
		return m.Key + "(" + strings.Join(m.Args, ", ") + ")"
	}
	return fill(s, m.Args)
}

// fill replaces $1..$9 as chrome.i18n does.
func fill(s string, args []string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) && s[i+1] >= '1' && s[i+1] <= '9' {
			if n := int(s[i+1] - '1'); n < len(args) {
				b.WriteString(args[n])
			}
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
