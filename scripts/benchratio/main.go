// Command benchratio prints `go test -bench` output read from stdin as is,
// then, for every package with a BenchmarkStdJSON baseline, each other
// benchmark of the same size as a multiple of that baseline. Nanoseconds
// move with the machine's load; a ratio measured in the same run does not,
// so the ratios are what make bench reports.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// result is one benchmark line: package, name without the -GOMAXPROCS
// suffix, and ns/op.
type result struct {
	pkg, name string
	ns        float64
}

var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op`)

const baseline = "BenchmarkStdJSON"

func main() {
	var pkg string
	var results []result
	base := map[string]float64{} // pkg + "/" + size -> ns/op
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		text := sc.Text()
		fmt.Println(text)
		if p, ok := strings.CutPrefix(text, "pkg: "); ok {
			pkg = p
			continue
		}
		m := line.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		ns, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue
		}
		name, size, _ := strings.Cut(m[1], "/")
		if name == baseline {
			base[pkg+"/"+size] = ns
			continue
		}
		results = append(results, result{pkg: pkg, name: m[1], ns: ns})
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
	header := false
	for _, r := range results {
		_, size, _ := strings.Cut(r.name, "/")
		b, ok := base[r.pkg+"/"+size]
		if !ok {
			continue
		}
		if !header {
			fmt.Println("\nagainst encoding/json on the same document, same run (lower is better):")
			header = true
		}
		short := r.pkg[strings.LastIndex(r.pkg, "/")+1:]
		fmt.Printf("  %-8s %-18s %10.2f ms  = %.2fx encoding/json (%.2f ms)\n", short, strings.TrimPrefix(r.name, "Benchmark"), r.ns/1e6, r.ns/b, b/1e6)
	}
}
