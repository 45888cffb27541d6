// Package jsonlimit checks untrusted JSON bytes for the two things a
// recursive parser cannot survive cheaply: nesting deeper than a bound and
// input that ends in the middle of a value. It is one linear pass over the
// bytes, without allocations, meant to run before gjson.Valid (which
// recurses once per nesting level) ever sees the input.
package jsonlimit

// MaxDepth is the nesting davsync accepts in any imported JSON. It equals
// backup.MaxDepth (a test checks it): every document the sync file may hold
// must import again from its export, so the import cannot be stricter. A
// davsync document needs 5 levels and an All API Hub backup about 10; the
// rest is room for unknown fields inside records, and the bound still stops
// hostile input long before a recursive parser could exhaust the stack.
const MaxDepth = 512

// Problem is what Scan found wrong with the input; OK when nothing.
type Problem int

// The problems Scan reports.
const (
	OK         Problem = iota
	TooDeep            // nesting goes beyond the bound
	Truncated          // input ends inside a string or with unclosed brackets
	Unbalanced         // a closing bracket with no opening one, or the wrong kind
)

// Scan walks data once, counting '[' and '{' outside strings. It returns
// TooDeep as soon as the nesting exceeds maxDepth, so a hostile file of a
// million '[' costs maxDepth+1 steps of bookkeeping, never recursion.
// Scan does not validate JSON grammar; gjson.Valid does that afterwards.
func Scan(data []byte, maxDepth int) Problem {
	// A fixed stack of bracket kinds, one bit per level, catches "[}" early;
	// the depth is bounded, so the stack is too.
	var stack [8]uint64 // room for 512 levels; maxDepth is clamped below
	if maxDepth > 512 {
		maxDepth = 512
	}
	depth := 0
	inString := false
	escaped := false
	for _, c := range data {
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
		case '{', '[':
			if depth >= maxDepth {
				return TooDeep
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
				return Unbalanced
			}
			depth--
			w, b := depth/64, uint(depth%64)
			isObj := stack[w]>>b&1 == 1
			if isObj != (c == '}') {
				return Unbalanced
			}
		}
	}
	if inString || depth > 0 {
		return Truncated
	}
	return OK
}
