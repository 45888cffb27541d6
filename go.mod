module github.com/davsync/davsync

go 1.26.0

require (
	github.com/hack-pad/safejs v0.1.0
	github.com/tidwall/gjson v1.20.0
	github.com/tidwall/sjson v1.2.5
	golang.org/x/net v0.62.0
	golang.org/x/term v0.48.0
)

require (
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
