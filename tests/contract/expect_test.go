package contract

import (
	"fmt"
	"strings"

	"github.com/davsync/davsync/internal/errkind"
)

// expect is what one server does, measured and written down in
// shared/docs/webdav-servers.md. The suite asserts these, deviations
// included: a server that starts honouring If-Match, or stops, fails it.
type expect struct {
	// ifMatch: PUT with a stale If-Match is refused (412), not applied.
	ifMatch bool
	// ifNoneMatch: PUT with If-None-Match: * onto an existing file is refused.
	ifNoneMatch bool
	// deleteIfMatch: DELETE with a stale If-Match is refused.
	deleteIfMatch bool
	// notModified: GET with If-None-Match of the current ETag answers 304.
	notModified bool
	// getETag / propfindETag / putETag: the server sends an ETag there.
	getETag, propfindETag, putETag bool
	// weakAfterWrite: the ETag is weak for about a second after a write, so
	// an If-Match with your own fresh ETag may get 412 (Apache).
	weakAfterWrite bool
	// missingParent are the kinds a PUT below a missing folder may give.
	missingParent []errkind.Kind
	// copyIgnoresNoOverwrite: COPY with Overwrite: F onto an existing file
	// replaces it anyway (npm webdav-server; its MOVE honours the header).
	copyIgnoresNoOverwrite bool
	// copyStaleRead: right after a COPY onto an existing file, a GET may
	// still serve the old file's length and content (lighttpd links the
	// copy and its stat cache keeps the replaced file's entry for about a
	// second). The data on disk is right.
	copyStaleRead bool
	// digest: the server only accepts Digest auth ("NAME-digest" servers:
	// Apache with MD5, lighttpd with SHA-256); otherwise it is Basic.
	digest bool
	// ifHeader: the WebDAV If header with an entity tag is honoured, a weak
	// one included. The check probes it only where ETags turn weak after a
	// write (Apache), because npm webdav-server stops answering at it.
	ifHeader bool
	// secondETags: ETags are "<mtime seconds>-<size>" (nginx).
	secondETags bool
	// deleteDirNeedsSlash: DELETE of a folder without a trailing slash is
	// refused with 409 (nginx); the client retries with one, so the suite
	// requires the delete to succeed anyway.
	deleteDirNeedsSlash bool
}

var folderMissing = []errkind.Kind{errkind.FolderMissing}

var behaviour = map[string]expect{
	"apache": {ifMatch: true, ifNoneMatch: true, deleteIfMatch: true, notModified: true, ifHeader: true,
		getETag: true, propfindETag: true, weakAfterWrite: true, missingParent: folderMissing},
	// nginx answers 500 to a PUT below a missing folder; the client maps it
	// to folder_missing after a PROPFIND of the folder answers 404.
	"nginx": {notModified: true, getETag: true, deleteDirNeedsSlash: true, secondETags: true,
		missingParent: folderMissing},
	"lighttpd": {ifMatch: true, ifNoneMatch: true, deleteIfMatch: true, notModified: true,
		getETag: true, propfindETag: true, putETag: true, missingParent: folderMissing, copyStaleRead: true},
	"rclone": {notModified: true, getETag: true, propfindETag: true, putETag: true, missingParent: folderMissing},
	"sabre": {ifMatch: true, ifNoneMatch: true, deleteIfMatch: true, notModified: true,
		getETag: true, propfindETag: true, putETag: true, missingParent: folderMissing},
	"xnet": {notModified: true, getETag: true, propfindETag: true, putETag: true, missingParent: folderMissing},
	// x/net/webdav with scripts/servers/xnetdav -preconditions: the server
	// `make run` embeds.
	"xnet-pre": {ifMatch: true, ifNoneMatch: true, deleteIfMatch: true, notModified: true,
		getETag: true, propfindETag: true, putETag: true, missingParent: folderMissing},
	// npm webdav-server: no ETag on GET, so no 304 either.
	"npm": {propfindETag: true, missingParent: folderMissing, copyIgnoresNoOverwrite: true},
}

// expectFor returns the behaviour of server name; a "-digest" variant
// behaves like its Basic sibling apart from the auth scheme.
func expectFor(name string) (expect, bool) {
	if base, ok := strings.CutSuffix(name, "-digest"); ok {
		e, found := behaviour[base]
		e.digest = true
		return e, found
	}
	e, ok := behaviour[name]
	return e, ok
}

// deviations lists, for the report, where the server departs from RFC
// behaviour in ways the suite asserts.
func (e expect) deviations() string {
	var d []string
	add := func(cond bool, s string) {
		if cond {
			d = append(d, s)
		}
	}
	add(!e.ifMatch, "ignores If-Match on PUT")
	add(!e.ifNoneMatch, "ignores If-None-Match: * on PUT")
	add(!e.deleteIfMatch, "ignores If-Match on DELETE")
	add(!e.notModified, "no 304 on GET If-None-Match")
	add(!e.getETag, "no ETag on GET")
	add(!e.propfindETag, "no getetag in PROPFIND")
	add(!e.putETag, "no ETag on PUT")
	add(e.weakAfterWrite, "weak ETag for ~1 s after a write (If-Match then needs the client's pause)")
	if len(e.missingParent) > 0 && (len(e.missingParent) > 1 || e.missingParent[0] != errkind.FolderMissing) {
		add(true, fmt.Sprintf("PUT below a missing folder gives %v", e.missingParent))
	}
	add(e.copyIgnoresNoOverwrite, "COPY ignores Overwrite: F")
	add(e.copyStaleRead, "GET right after COPY onto an existing file may serve the old content (stat cache)")
	add(e.deleteDirNeedsSlash, "DELETE of a folder needs a trailing slash (409 otherwise; the client retries with one)")
	return strings.Join(d, "; ")
}
