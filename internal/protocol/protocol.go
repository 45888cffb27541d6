// Package protocol is davsync's message protocol: the one definition of
// every method the extension's pages and worker send to Go, with its
// parameters, its result, and whether it changes local data. Handle runs a
// method against the app layer (internal/app); the generator (gen/, run by
// `go generate ./internal/protocol`) writes, from the same table,
// extension/PROTOCOL.md, the worker's and pages' constants
// (extension/protocol.gen.js) and their types (extension/protocol.gen.d.ts),
// which `make lint` type-checks the pages against.
//
// Every name is camelCase. Every failure is an *errkind.Error whose Kind
// is one of the stable strings the pages translate; a reply is the JSON
// object the result marshals to (the worker adds ok: true).
package protocol

//go:generate go run ./gen -root ../..

import (
	"context"
	"encoding/json"
	"reflect"
	"sort"

	"github.com/tidwall/gjson"

	"github.com/davsync/davsync/internal/app"
	"github.com/davsync/davsync/internal/errkind"
)

// Method describes one protocol method.
type Method struct {
	// Name is the method's stable name, e.g. "sync.now".
	Name string
	// Doc says what it does, for PROTOCOL.md.
	Doc string
	// Edits marks a method whose success changes local data: the worker
	// schedules a sync after it.
	Edits bool
	// Params and Result are the types of the parameters and the result.
	Params, Result reflect.Type

	run func(ctx context.Context, a *app.App, params []byte) (any, error)
}

// method defines a Method whose params decode into P and whose handler
// returns R.
func method[P, R any](name string, edits bool, doc string, fn func(ctx context.Context, a *app.App, p P) (R, error)) Method {
	return Method{
		Name: name, Doc: doc, Edits: edits,
		Params: reflect.TypeFor[P](), Result: reflect.TypeFor[R](),
		run: func(ctx context.Context, a *app.App, params []byte) (any, error) {
			var p P
			if err := json.Unmarshal(params, &p); err != nil {
				return nil, errkind.Internal(errkind.Invalid, name, "bad parameters: "+err.Error(), err)
			}
			return fn(ctx, a, p)
		},
	}
}

// byName indexes Methods.
var byName = func() map[string]Method {
	m := make(map[string]Method, len(Methods))
	for _, x := range Methods {
		m[x.Name] = x
	}
	return m
}()

// Names returns the methods' names, sorted.
func Names() []string {
	out := make([]string, 0, len(Methods))
	for _, m := range Methods {
		out = append(out, m.Name)
	}
	sort.Strings(out)
	return out
}

// Handle runs one method. params is the JSON object the page sent (empty
// means {}); the result is the JSON object the page receives (merged into
// the reply {ok: true, ...} by the worker). A failure is an *errkind.Error.
func Handle(ctx context.Context, a *app.App, method string, params []byte) ([]byte, error) {
	m, ok := byName[method]
	if !ok {
		return nil, errkind.Internal(errkind.Invalid, method, "unknown method "+quote(method)+"; the page and the extension are out of step, reload the extension", nil)
	}
	if len(params) == 0 {
		params = []byte("{}")
	}
	if !gjson.ValidBytes(params) || !gjson.ParseBytes(params).IsObject() {
		return nil, errkind.Internal(errkind.Invalid, method, "the parameters are not a JSON object", nil)
	}
	v, err := m.run(ctx, a, params)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errkind.Internal(errkind.Unknown, method, "could not encode the result", err)
	}
	return b, nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
