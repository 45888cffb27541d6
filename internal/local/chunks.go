package local

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"strconv"
)

// The document is stored in pieces. Before, it was one value holding the
// whole compact document, and every change rewrote all of it: at 10,000
// accounts one edited account cost a 5 MB chrome.storage write (a third of a
// second in the browser) and so did every sync that brought one change.
//
// Now the compact bytes are cut into chunks at places their content
// decides (a rolling hash over the last bytes, so an edit moves the cuts
// only near itself), each chunk is a KV value of its own, and keyChunks
// lists them in order. A change writes the chunks whose bytes are new and
// the list: about one chunk for one edited record.
//
// Why this cannot lose or mix up data:
//   - a chunk's key is never written twice: a changed chunk gets a new
//     number (chunkList.Next only grows), so the chunks the previous list
//     names stay as they were until a later write drops them;
//   - the new chunks, the new list and the revision go in one KV.Set, so
//     after a crash the stored list is either the old one, whose chunks
//     are all still there, or the new one, whose chunks landed with it;
//   - chunks the new list no longer names are deleted only after that Set
//     returned, and the list records them (Free) until a later list no
//     longer needs to: a crash before the delete leaves them listed, and
//     the next write deletes them again (a number is never reused, so
//     deleting late cannot hit a chunk in use);
//   - reading checks every chunk's length against the list, and the
//     document still has to parse.
const (
	// keyChunks holds the chunk list (chunkList as JSON). It also carries
	// the revision and clock, as the one-value document did, so the list
	// and the revision it belongs to are read together.
	keyChunks = "davsync.local.chunks"
	// keyChunk prefixes one chunk's key: keyChunk + its number.
	keyChunk = "davsync.local.chunk."
)

// movedDoc replaces the one-value document (keyDoc) in the first write in
// chunks, in the same Set. A build from before chunks that is installed
// again reads it as a damaged document and stops with an error, instead of
// finding no document and taking the user's records for deleted.
var movedDoc = []byte(`{"rev":0,"hlc":0}` + "\n" + `{"moved_to":"` + keyChunks + `"}`)

// Chunk sizes: cuts fall where the rolling hash's top chunkBits bits are 0,
// about every 2^chunkBits bytes of varied content past chunkMin, and past
// chunkLong where its top chunkBitsLong bits are (content that repeats, a
// long run of one byte, gives the hash few new values, and a chunk cut at
// chunkMax moves its later cuts when an edit before it changes its
// length).
const (
	chunkMin      = 16 << 10
	chunkBits     = 14
	chunkLong     = 48 << 10
	chunkBitsLong = 11
	chunkMax      = 256 << 10
)

// chunkList is the stored list of the document's chunks.
type chunkList struct {
	Rev int64 `json:"rev"`
	HLC int64 `json:"hlc"`
	// Next is the number the next new chunk gets.
	Next int64 `json:"next"`
	// Chunks are the document's chunks in order: [number, length].
	Chunks [][2]int64 `json:"chunks"`
	// Kept are the chunks of the undo points kept by naming them, by the
	// point's id: a chunk is deleted only when neither the document nor any
	// kept point names it.
	Kept map[string][][2]int64 `json:"kept,omitempty"`
	// Free are chunks nothing names any more whose delete may not have
	// happened yet.
	Free []int64 `json:"free,omitempty"`
}

// chunk is one chunk of the cached document: where it is in the cached
// bytes and a hash of them to find it again.
type chunk struct {
	id       int64
	off, len int
	sum      uint64
}

func chunkKey(id int64) string { return keyChunk + strconv.FormatInt(id, 10) }

// gear is the rolling hash's table: 256 fixed pseudo-random numbers. Its
// values only decide where cuts fall; any fixed table works, and a device
// that one day uses another only writes its next document whole once.
var gear = func() (t [256]uint64) {
	x := uint64(0x9e3779b97f4a7c15)
	for i := range t {
		// splitmix64
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		t[i] = z ^ (z >> 31)
	}
	return t
}()

// cuts returns the end offset of each chunk of b. A cut never falls before
// a UTF-8 continuation byte, so every chunk of valid UTF-8 is valid UTF-8
// (the browser store keeps such a value as a string, not base64).
func cuts(b []byte) []int {
	var out []int
	start := 0
	for start < len(b) {
		end := len(b)
		if end-start > chunkMin {
			var h uint64
			end = min(len(b), start+chunkMax)
			for i := start + chunkMin - 64; i < end; i++ {
				h = h<<1 + gear[b[i]]
				n := i + 1 - start
				bits := chunkBits
				if n >= chunkLong {
					bits = chunkBitsLong
				}
				if n >= chunkMin && h>>(64-bits) == 0 && (i+1 == len(b) || b[i+1]&0xc0 != 0x80) {
					end = i + 1
					break
				}
			}
			for end < len(b) && b[end]&0xc0 == 0x80 {
				end++ // chunkMax fell inside a character
			}
		}
		out = append(out, end)
		start = end
	}
	return out
}

// chunkSeed keys the chunk hashes; they live only in memory and are
// always checked byte for byte, so any seed works.
var chunkSeed = maphash.MakeSeed()

// split cuts body into chunks, reusing the number of every chunk whose
// bytes old (the chunks of oldBytes) already holds. It returns the chunks
// and the numbers of those that are new.
func split(body []byte, oldBytes []byte, old []chunk, next *int64) (chunks []chunk, fresh []int) {
	bySum := make(map[uint64][]int, len(old))
	for i, c := range old {
		bySum[c.sum] = append(bySum[c.sum], i)
	}
	used := make(map[int64]bool, len(old))
	off := 0
	for _, end := range cuts(body) {
		b := body[off:end]
		c := chunk{off: off, len: end - off, sum: maphash.Bytes(chunkSeed, b)}
		for _, i := range bySum[c.sum] {
			o := old[i]
			if !used[o.id] && o.len == c.len && bytes.Equal(oldBytes[o.off:o.off+o.len], b) {
				c.id = o.id
				used[o.id] = true
				break
			}
		}
		if c.id == 0 {
			*next++
			c.id = *next
			fresh = append(fresh, len(chunks))
		}
		chunks = append(chunks, c)
		off = end
	}
	return chunks, fresh
}

// refsOf returns chunks as the list stores them: [number, length].
func refsOf(chunks []chunk) [][2]int64 {
	out := make([][2]int64, len(chunks))
	for i, c := range chunks {
		out[i] = [2]int64{c.id, int64(c.len)}
	}
	return out
}

// listOf returns the stored chunk list.
func listOf(rev, hlc, next int64, chunks []chunk, kept map[int64][][2]int64, free []int64) []byte {
	l := chunkList{Rev: rev, HLC: hlc, Next: next, Chunks: refsOf(chunks), Free: free}
	if len(kept) > 0 {
		l.Kept = make(map[string][][2]int64, len(kept))
		for id, refs := range kept {
			l.Kept[strconv.FormatInt(id, 10)] = refs
		}
	}
	b, _ := json.Marshal(l)
	return b
}

// unused returns the chunks the old document or old kept points name and
// neither the new document nor the new kept points do.
func unused(old []chunk, oldKept map[int64][][2]int64, chunks []chunk, kept map[int64][][2]int64) []int64 {
	named := make(map[int64]bool, len(chunks))
	for _, c := range chunks {
		named[c.id] = true
	}
	for _, refs := range kept {
		for _, r := range refs {
			named[r[0]] = true
		}
	}
	var out []int64
	seen := map[int64]bool{}
	drop := func(id int64) {
		if !named[id] && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, c := range old {
		drop(c.id)
	}
	for _, refs := range oldKept {
		for _, r := range refs {
			drop(r[0])
		}
	}
	return out
}
