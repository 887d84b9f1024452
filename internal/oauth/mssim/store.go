package mssim

import (
	crand "crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"hash/maphash"
	"math/rand/v2"
	"sync"
)

// purgeable is stored in a shardMap; purgeAt says when (sim Unix nanos) an
// entry is dead long enough that nobody can learn anything from it.
type purgeable interface{ purgeAt() int64 }

const shardCount = 64

// shardMap spreads entries over independently locked shards so that
// concurrent refreshes rarely wait on each other.
type shardMap[V purgeable] struct {
	seed   maphash.Seed
	once   sync.Once
	shards [shardCount]shard[V]
}

type shard[V purgeable] struct {
	mu      sync.RWMutex
	m       map[string]V
	inserts int
}

func (sm *shardMap[V]) shard(key string) *shard[V] {
	sm.once.Do(func() { sm.seed = maphash.MakeSeed() })
	return &sm.shards[maphash.String(sm.seed, key)%shardCount]
}

func (sm *shardMap[V]) get(key string) (V, bool) {
	sh := sm.shard(key)
	sh.mu.RLock()
	v, ok := sh.m[key]
	sh.mu.RUnlock()
	return v, ok
}

// put stores v. Every so often it sweeps the shard, so a long benchmark or
// demo does not keep every token it ever issued.
func (sm *shardMap[V]) put(key string, v V, now int64) {
	sh := sm.shard(key)
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = make(map[string]V)
	}
	sh.m[key] = v
	sh.inserts++
	if sh.inserts%1024 == 0 {
		for k, e := range sh.m {
			if e.purgeAt() < now {
				delete(sh.m, k)
			}
		}
	}
	sh.mu.Unlock()
}

func (sm *shardMap[V]) del(key string) {
	sh := sm.shard(key)
	sh.mu.Lock()
	delete(sh.m, key)
	sh.mu.Unlock()
}

// each calls f for every entry; f must not call back into the map.
func (sm *shardMap[V]) each(f func(string, V)) {
	for i := range sm.shards {
		sh := &sm.shards[i]
		sh.mu.RLock()
		for k, v := range sh.m {
			f(k, v)
		}
		sh.mu.RUnlock()
	}
}

// Token values come from ChaCha8 generators seeded from crypto/rand: as
// unpredictable as crypto/rand for our purposes, without a syscall per token.
var rngPool = sync.Pool{New: func() any {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		panic("mssim: seeding token generator: " + err.Error())
	}
	return rand.NewChaCha8(seed)
}}

func randomBytes(b []byte) {
	g := rngPool.Get().(*rand.ChaCha8)
	_, _ = g.Read(b)
	rngPool.Put(g)
}

// newToken returns prefix followed by n random bytes, base64url-encoded.
func newToken(prefix string, n int) string {
	var buf [64]byte
	b := buf[:n]
	randomBytes(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// newGUID returns a random (version 4) GUID in its usual lowercase form.
func newGUID() string {
	var b [16]byte
	randomBytes(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// isGUID reports whether s has the 8-4-4-4-12 hex shape.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
