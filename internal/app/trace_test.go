package app

import "github.com/davsync/davsync/internal/webdav"

// dbgTrace, when set by a debugging test, prints every request.
var dbgTrace func(r *webdav.Request, f string)
