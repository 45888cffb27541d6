package webdav

// Test-only names for the internals that the external tests (package
// webdav_test, which use davtest and so cannot live inside the package:
// davtest imports webdav) check directly, where going through the public
// API would not pin them down as well.

var (
	DigestAuth       = digestAuth
	DigestAlgorithm  = digestAlgorithm
	PickChallenge    = pickChallenge
	IsTchar          = isTchar
	QuoteETag        = quoteETag
	RetryAfterOf     = retryAfterOf
	SleepCtx         = sleepCtx
	HrefPath         = hrefPath
	ParseDAVDate     = parseDAVDate
	ParseMultistatus = parseMultistatus
)

const (
	MaxRetryAfter = maxRetryAfter
	WeakETagPause = weakETagPause
)

// Path is the entry's unescaped absolute path.
func (e msEntry) Path() string { return e.path }

// Resources is resources: the folder itself and its children from a parsed
// multistatus.
func (c *Client) Resources(entries []msEntry, rel, reqAbs string) (self *Resource, children []Resource) {
	return c.resources(entries, rel, reqAbs)
}
