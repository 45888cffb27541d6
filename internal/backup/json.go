package backup

import (
	"strconv"
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
