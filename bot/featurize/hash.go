package featurize

// FNV-1a, written out rather than taken from hash/fnv so that hashing a
// substring needs neither a Hash value nor a []byte conversion.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

func hashBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

// seed starts a hash in a namespace per n-gram kind and length, so the word
// "ok" and the character bigram "ok" land in different buckets.
func seed(kind byte, n int) uint64 {
	return hashByte(hashByte(fnvOffset, kind), byte(n))
}

// mix is the murmur3 64-bit finaliser. FNV's low bits, which the bucket mask
// keeps, are weak for short inputs; mixing spreads every input bit over them.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb93e66b9b34b
	h ^= h >> 33
	return h
}
