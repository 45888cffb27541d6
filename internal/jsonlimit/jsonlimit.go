// Package jsonlimit checks untrusted JSON bytes for the two things a
// recursive parser cannot survive cheaply: nesting deeper than a bound and
// input that ends in the middle of a value. It is one linear pass over the
// bytes, without allocations, meant to run before gjson.Valid (which
// recurses once per nesting level) ever sees the input. It is davsync's one
// such scanner: backup.Parse, the import (transfer), the All API Hub reader
// and record edits all use it, with the one MaxDepth.
package jsonlimit

import (
	"bytes"
	"unicode/utf8"

	"github.com/davsync/davsync/internal/limits"
	"github.com/tidwall/gjson"
)

// MaxDepth is the nesting davsync accepts in any JSON it reads: the sync
// file, an import, a record from the pages. One bound for all, so that
// every document the sync file may hold imports again from its export. A
// davsync document needs 5 levels and an All API Hub backup about 10; the
// rest is room for unknown fields inside records, and the bound still stops
// hostile input long before a recursive parser (gjson's validator recurses
// once per level) could exhaust the stack.
const MaxDepth = limits.Depth

// Problem is what Scan found wrong with the input; OK when nothing.
type Problem int

// The problems Scan reports.
const (
	OK         Problem = iota
	TooDeep            // nesting goes beyond the bound
	Truncated          // input ends inside a string or with unclosed brackets
	Unbalanced         // a closing bracket with no opening one, or the wrong kind
	Invalid            // not JSON (Check only)
	NotUTF8            // JSON, but not UTF-8 text (Check only)
)

// Shape is what Scan found.
type Shape struct {
	Problem Problem
	// Spaced: there is whitespace between tokens (outside strings), so a
	// reader that keeps values byte for byte must compact them.
	Spaced bool
}

// Scan walks data once, counting '[' and '{' outside strings. It stops at
// TooDeep as soon as the nesting exceeds maxDepth (clamped to MaxDepth), so
// a hostile file of a million '[' costs maxDepth+1 steps of bookkeeping,
// never recursion. Strings are skipped with bytes.IndexByte (assembly on
// every platform, wasm included), several times faster than a byte-by-byte
// state machine on string-heavy documents. Scan does not validate JSON
// grammar; gjson.Valid does that afterwards (Check does both).
func Scan(data []byte, maxDepth int) Shape {
	// A fixed stack of bracket kinds, one bit per level, catches "[}" early;
	// the depth is bounded, so the stack is too.
	var stack [MaxDepth / 64]uint64
	if maxDepth > MaxDepth {
		maxDepth = MaxDepth
	}
	var sh Shape
	depth := 0
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			end := closingQuote(data, i+1)
			if end < 0 {
				sh.Problem = Truncated
				return sh
			}
			i = end
		case '{', '[':
			if depth >= maxDepth {
				sh.Problem = TooDeep
				return sh
			}
			bit := uint64(0)
			if c == '{' {
				bit = 1
			}
			w, b := depth/64, uint(depth%64)
			stack[w] = stack[w]&^(1<<b) | bit<<b
			depth++
		case '}', ']':
			if depth == 0 {
				sh.Problem = Unbalanced
				return sh
			}
			depth--
			w, b := depth/64, uint(depth%64)
			if isObj := stack[w]>>b&1 == 1; isObj != (c == '}') {
				sh.Problem = Unbalanced
				return sh
			}
		case ' ', '\t', '\n', '\r':
			sh.Spaced = true
		}
	}
	if depth > 0 {
		sh.Problem = Truncated
	}
	return sh
}

// closingQuote returns the index of the quote that ends the string whose
// contents start at from (one not preceded by an odd number of
// backslashes), or -1 when the data ends first.
func closingQuote(data []byte, from int) int {
	j := from
	for {
		k := bytes.IndexByte(data[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		bs := 0
		for m := j - 1; m >= from && data[m] == '\\'; m-- {
			bs++
		}
		if bs%2 == 0 {
			return j
		}
		j++
	}
}

// Checked is JSON that passed Check, so that a reader handed it (backup,
// allapihub) does not scan and validate the same bytes again: each file
// davsync reads is scanned once per layer of bytes it holds.
type Checked struct {
	// JSON is the checked input (not copied).
	JSON []byte
	// Spaced: there is whitespace between tokens (Shape.Spaced).
	Spaced bool
}

// Check scans data once (Scan with MaxDepth), then validates its grammar
// with gjson and its text as UTF-8 (which gjson does not check; JSON must be
// UTF-8, and the pages see every string through JavaScript, which would
// turn a bad byte into U+FFFD). It returns the first problem found.
func Check(data []byte) (Checked, Problem) {
	sh := Scan(data, MaxDepth)
	switch {
	case sh.Problem != OK:
		return Checked{}, sh.Problem
	case !gjson.ValidBytes(data):
		return Checked{}, Invalid
	case !utf8.Valid(data):
		return Checked{}, NotUTF8
	}
	return Checked{JSON: data, Spaced: sh.Spaced}, OK
}

// Valid reports whether Check finds nothing wrong with data: the check to
// make before reading untrusted bytes with gjson.
func Valid(data []byte) bool {
	_, p := Check(data)
	return p == OK
}
