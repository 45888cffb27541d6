// Command faultproxy runs the fault-injecting reverse proxy in front of a
// server until it is interrupted:
//
//	faultproxy -target http://127.0.0.1:8080 [-listen 127.0.0.1:0] [-seed 1] [-rules rules.json]
//
// It prints its URL on the first line of stdout. rules.json holds a JSON
// array of rules as the control API takes them, e.g.
//
//	[{"method":"PUT","nth":2,"fault":"reset-after"},
//	 {"method":"GET","prob":0.1,"fault":"status","status":503,"retry_after":"2"},
//	 {"fault":"delay","delay":"200ms"}]
//
// Rules can be changed while it runs through the control API
// (POST/DELETE <url>/_faultproxy/rules, GET <url>/_faultproxy/stats,
// GET <url>/_faultproxy/received for what clients sent). Hostile rules look
// like {"method":"GET","fault":"replace","body_b64":"...","etag":"\"x\""},
// {"fault":"challenge","challenge":"Basic realm=\"x\""},
// {"method":"PROPFIND","fault":"endless"} or
// {"fault":"fake-etag","etag":"x\r\nX-Injected: 1","raw_header":true}.
//
// Started without rules it doubles as the counting relay of the browser
// cycle bench (tests/browser/cyclebench.js, `make bench-cycle`): the bench
// resets it (POST /_faultproxy/reset) before a cycle and reads requests,
// body bytes and the per-request log (method, path, status, bytes,
// duration) from GET /_faultproxy/stats after it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/davsync/davsync/scripts/faultproxy"
)

func main() {
	target := flag.String("target", "", "base URL of the server to proxy (required)")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	seed := flag.Uint64("seed", 1, "seed of the random source for probabilistic rules")
	rulesFile := flag.String("rules", "", "JSON file with an array of rules")
	flag.Parse()
	if *target == "" {
		fmt.Fprintln(os.Stderr, "faultproxy: -target is required")
		flag.Usage()
		os.Exit(2)
	}
	var rules []faultproxy.Rule
	if *rulesFile != "" {
		data, err := os.ReadFile(*rulesFile)
		if err == nil {
			err = json.Unmarshal(data, &rules)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "faultproxy: rules: %v\n", err)
			os.Exit(2)
		}
	}
	p, err := faultproxy.Start(*target, *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "faultproxy: %v\n", err)
		os.Exit(1)
	}
	defer p.Close()
	p.Seed(*seed)
	for _, r := range rules {
		if _, err := p.Add(r); err != nil {
			fmt.Fprintf(os.Stderr, "faultproxy: rule: %v\n", err)
			os.Exit(2)
		}
	}
	fmt.Println(p.URL())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	st, _ := json.Marshal(p.Stats())
	fmt.Fprintf(os.Stderr, "faultproxy: stats %s\n", st)
}
