package backup

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// AppendString appends s as a JSON string. Only what JSON requires is
// escaped (quote, backslash, control characters), so a string read with
// gjson and written back keeps its bytes.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hex = "0123456789abcdef"

// AppendInt appends n in decimal.
func AppendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

// Compact appends src without the insignificant whitespace between tokens.
// src must be valid JSON; strings are copied unchanged, so every value keeps
// its bytes.
func Compact(dst, src []byte) []byte { return compact(dst, src) }

// compactString is Compact for a string source (gjson's Raw), without
// converting it to a byte slice first.
func compactString(dst []byte, src string) []byte { return compact(dst, src) }

func compact[S ~string | ~[]byte](dst []byte, src S) []byte {
	inString, escaped := false, false
	start := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case ' ', '\t', '\n', '\r':
			dst = append(dst, src[start:i]...)
			start = i + 1
		}
	}
	return append(dst, src[start:]...)
}

// MaxDepth is how deeply arrays and objects may nest in a document. gjson's
// validator recurses once per level, so a hostile file of a million "["
// would exhaust the stack and kill the worker; real documents nest a few
// levels.
const MaxDepth = 512

// shape scans JSON once and reports whether arrays/objects nest deeper
// than MaxDepth and whether there is whitespace between tokens. Strings are
// skipped with IndexByte (assembly on every platform, wasm included), which
// makes this scan several times faster than a byte-by-byte state machine on
// string-heavy documents. Invalid JSON gives some answer; gjson rejects it
// right after.
func shape(data []byte) (deep, spaced bool) {
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			// Find the closing quote: one not preceded by an odd number of
			// backslashes.
			j := i + 1
			for {
				k := bytes.IndexByte(data[j:], '"')
				if k < 0 {
					return deep, spaced
				}
				j += k
				bs := 0
				for m := j - 1; m > i && data[m] == '\\'; m-- {
					bs++
				}
				if bs%2 == 0 {
					break
				}
				j++
			}
			i = j
		case '[', '{':
			depth++
			if depth > MaxDepth {
				return true, spaced
			}
		case ']', '}':
			depth--
		case ' ', '\t', '\n', '\r':
			spaced = true
		}
	}
	return false, spaced
}

func tooDeep(data []byte) bool {
	deep, _ := shape(data)
	return deep
}

// ValidJSON reports whether data is valid JSON, in UTF-8 (which gjson does
// not check), that nests at most MaxDepth levels: the check to make before
// reading untrusted bytes with gjson.
func ValidJSON(data []byte) bool {
	return !tooDeep(data) && gjson.ValidBytes(data) && utf8.Valid(data)
}
