package jsonlimit

import (
	"strings"
	"testing"
)

func TestScan(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want Problem
	}{
		{"empty object", `{}`, 64, OK},
		{"nested ok", `{"a":[{"b":[1,2,{"c":"]}"}]}]}`, 64, OK},
		{"brackets in strings ignored", `{"a":"[[[[{{{{\"]]"}`, 2, OK},
		{"escaped backslash ends string", `{"a":"\\"}`, 64, OK},
		{"exactly at limit", strings.Repeat("[", 3) + strings.Repeat("]", 3), 3, OK},
		{"one over limit", strings.Repeat("[", 4) + strings.Repeat("]", 4), 3, TooDeep},
		{"hostile depth", strings.Repeat("[", 1<<20), 64, TooDeep},
		{"truncated object", `{"a":[1,2`, 64, Truncated},
		{"truncated in string", `{"a":"abc`, 64, Truncated},
		{"truncated after escape", `{"a":"abc\`, 64, Truncated},
		{"stray close", `{}}`, 64, Unbalanced},
		{"wrong kind", `{"a":[}`, 64, Unbalanced},
		{"deep wrong kind", strings.Repeat("[", 100) + "}", 200, Unbalanced},
		{"scalar", `42`, 64, OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Scan([]byte(tt.in), tt.max).Problem; got != tt.want {
				t.Errorf("Scan(%.40q, %d) = %v, want %v", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func TestSpaced(t *testing.T) {
	for _, tc := range []struct {
		in           string
		deep, spaced bool
	}{
		{`{"a":"x y"}`, false, false},
		{`{"a":"x\\" ,"b":1}`, false, true},
		{`{"a":"x\\\" ]]]] "}`, false, false},
		{`{"a": 1}`, false, true},
		{"[\n]", false, true},
		{strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), false, false},
		{strings.Repeat("[", MaxDepth+1), true, false},
		{`"` + strings.Repeat("[", MaxDepth+1) + `"`, false, false},
	} {
		sh := Scan([]byte(tc.in), MaxDepth)
		if (sh.Problem == TooDeep) != tc.deep || sh.Spaced != tc.spaced {
			t.Errorf("Scan(%.40s) = %+v; want deep %v, spaced %v", tc.in, sh, tc.deep, tc.spaced)
		}
	}
}

func TestValid(t *testing.T) {
	for in, want := range map[string]bool{
		`{"a":[1,"x"]}`:                 true,
		"\"\xff\"":                      false, // not UTF-8
		`{"a":`:                         false,
		strings.Repeat("[", MaxDepth+1): false,
	} {
		if got := Valid([]byte(in)); got != want {
			t.Errorf("Valid(%.40q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzScan(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"]"}]}`))
	f.Add([]byte(`[[[[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = Scan(data, 64) // must never panic, whatever the bytes
	})
}

func BenchmarkScan(b *testing.B) {
	data := []byte(strings.Repeat(`{"id":"abc","site_url":"https://x.example/","tags":["a","b"]},`, 20000))
	data = append(append([]byte("["), data[:len(data)-1]...), ']')
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		Scan(data, 64)
	}
}
