package featurize

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/syncd-dev/syncd/internal/freelist"
)

// Defaults used when a Config field is zero.
const (
	DefaultDims    = 1 << 15
	DefaultWordMin = 1
	DefaultWordMax = 2
	DefaultCharMin = 2
	DefaultCharMax = 5
)

// Config says which n-grams are hashed into how many buckets. The zero value
// means the defaults above. It is stored as JSON in a model's metadata.
type Config struct {
	// Dims is the length of the feature vector, a power of two so that a
	// hash maps to a bucket with a mask.
	Dims int `json:"dims"`
	// WordMin and WordMax bound the word n-gram lengths (CJK runes count as
	// words). WordMax < 0 turns word n-grams off.
	WordMin int `json:"word_min"`
	WordMax int `json:"word_max"`
	// CharMin and CharMax bound the character n-gram lengths, counted in
	// runes inside each space-padded chunk. CharMax < 0 turns them off.
	CharMin int `json:"char_min"`
	CharMax int `json:"char_max"`
	// Signed gives every n-gram a hash-derived sign, so that collisions
	// cancel out on average instead of adding up.
	Signed bool `json:"signed"`
	// StripGreetings drops the greetings a request starts with ("hi,",
	// "你好，") before taking n-grams (see StripGreetings). Models trained
	// before it existed have it off.
	StripGreetings bool `json:"strip_greetings,omitempty"`
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Dims == 0 {
		c.Dims = DefaultDims
	}
	if c.WordMin == 0 && c.WordMax == 0 {
		c.WordMin, c.WordMax = DefaultWordMin, DefaultWordMax
	}
	if c.CharMin == 0 && c.CharMax == 0 {
		c.CharMin, c.CharMax = DefaultCharMin, DefaultCharMax
	}
	return c
}

// Validate reports the first field that a featuriser cannot work with.
func (c Config) Validate() error {
	switch {
	case c.Dims < 2 || c.Dims > 1<<30 || c.Dims&(c.Dims-1) != 0:
		return fmt.Errorf("featurize: dims %d is not a power of two in [2, 2^30]", c.Dims)
	case c.WordMax >= 0 && (c.WordMin < 1 || c.WordMin > c.WordMax):
		return fmt.Errorf("featurize: word n-gram range [%d, %d] is invalid", c.WordMin, c.WordMax)
	case c.CharMax >= 0 && (c.CharMin < 1 || c.CharMin > c.CharMax):
		return fmt.Errorf("featurize: char n-gram range [%d, %d] is invalid", c.CharMin, c.CharMax)
	case c.WordMax < 0 && c.CharMax < 0:
		return fmt.Errorf("featurize: both word and char n-grams are off")
	}
	return nil
}

// MarshalText and ParseConfig let a Config ride in a model's string metadata.
func (c Config) MarshalText() ([]byte, error) {
	type plain Config // no MarshalText, so no recursion
	return json.Marshal(plain(c))
}

// ParseConfig reads what MarshalText wrote and validates it.
func ParseConfig(s string) (Config, error) {
	type plain Config
	var p plain
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return Config{}, fmt.Errorf("featurize: parse config: %w", err)
	}
	c := Config(p)
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Normalize is the text the features are taken from: NFKC (full-width
// letters and punctuation become their ASCII forms, so "ＯＲＤＥＲ？" and
// "order?" match), lower case, and single spaces between chunks. It is also
// the key of the bot's answer cache.
func Normalize(s string) string {
	if isASCII(s) {
		return normalizeASCII(s)
	}
	s = strings.ToLower(norm.NFKC.String(s))
	return strings.Join(strings.Fields(s), " ")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// normalizeASCII is Normalize for ASCII text, which NFKC leaves alone, in
// one pass and one allocation: most customer messages take this path, and
// the general one cost a tenth of the featuriser's time.
func normalizeASCII(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\v', '\f', '\r': // unicode.IsSpace in ASCII
			space = b.Len() > 0
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Vector is a sparse feature vector: Index is strictly increasing and every
// Value is non-zero. The vector has unit L2 norm unless it is empty.
type Vector struct {
	Index []int32
	Value []float32
}

// Reset empties v and keeps its storage.
func (v *Vector) Reset() {
	v.Index = v.Index[:0]
	v.Value = v.Value[:0]
}

// AddTo adds v into the dense row dst, which must have Dims elements.
func (v Vector) AddTo(dst []float32) {
	for k, i := range v.Index {
		dst[i] += v.Value[k]
	}
}

// Featurizer maps normalised text to a Vector. It is immutable and safe for
// concurrent use.
type Featurizer struct {
	cfg     Config
	mask    uint64
	scratch *freelist.List[*scratch]
}

// New validates cfg (after defaults) and returns a Featurizer for it.
func New(cfg Config) (*Featurizer, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Featurizer{cfg: cfg, mask: uint64(cfg.Dims - 1), scratch: freelist.New(2*runtime.GOMAXPROCS(0), newScratch, nil)}, nil
}

// Config returns the featuriser's settings with defaults filled in.
func (f *Featurizer) Config() Config { return f.cfg }

// Dims is the length of the dense feature vector.
func (f *Featurizer) Dims() int { return f.cfg.Dims }

// scratch holds the per-call buffers, kept between calls because Transform
// runs on the relay's hot path and a message yields a few hundred n-grams.
type scratch struct {
	keys  []uint32 // bucket<<1 | sign bit, one per n-gram occurrence
	words []span   // token spans for word n-grams
	runes []int    // rune start offsets inside a padded chunk
	pad   []byte   // " chunk "

	// counts and seen are collectDense's per-bucket tallies; both are all
	// zero between calls.
	counts []int32
	seen   []uint64 // bit per bucket with a key
}

type span struct{ start, end int }

// newScratch is a scratch for the featuriser's free list, which (unlike a
// sync.Pool) garbage collection does not empty: collectDense's tallies are
// 128 KiB at 2^15 buckets. Being the featuriser's own, they always have its
// size.
func newScratch() *scratch { return new(scratch) }

// Transform normalises text and featurises it into dst (reset first).
func (f *Featurizer) Transform(text string, dst *Vector) {
	f.TransformNormalized(Normalize(text), dst)
}

// TransformNormalized featurises text that Normalize already produced.
func (f *Featurizer) TransformNormalized(text string, dst *Vector) {
	dst.Reset()
	if f.cfg.StripGreetings {
		text = StripGreetings(text)
	}
	s := f.scratch.Get()
	defer f.scratch.Put(s)
	s.keys = s.keys[:0]
	if f.cfg.WordMax > 0 {
		f.wordGrams(text, s)
	}
	if f.cfg.CharMax > 0 {
		f.charGrams(text, s)
	}
	if f.cfg.Dims <= maxDenseDims {
		f.collectDense(s.keys, s, dst)
		return
	}
	slices.Sort(s.keys)
	f.collect(s.keys, dst)
}

// maxDenseDims bounds the feature vectors collectDense tallies: its buffers
// take 4.125 bytes per bucket in every kept scratch (264 KiB at 2^16).
// Up to there, tallying beat sorting (a radix sort then) at every message
// length measured, from 18 bytes (about 50 keys) to 200 (about 600): at
// 2^15 buckets the featuriser took about a fifth less time on English,
// 5-10 % less on Chinese (docs/benchmarks-bot.md). Larger vectors, which no
// shipped or documented model uses, are sorted.
const maxDenseDims = 1 << 16

// collectDense does what collect does, without sorting: it tallies each
// key's sign into its bucket and marks the bucket in a bitmap, then walks
// the bitmap in bucket order, so the vector, and the float rounding of its
// norm, are the ones collect gives. The weighting is written out in both: a
// shared helper does not inline, and cost 5 % here.
func (f *Featurizer) collectDense(keys []uint32, s *scratch, dst *Vector) {
	if len(s.counts) != f.cfg.Dims {
		s.counts = make([]int32, f.cfg.Dims)
		s.seen = make([]uint64, (f.cfg.Dims+63)/64)
	}
	counts, seen := s.counts, s.seen
	for _, k := range keys {
		b := k >> 1
		counts[b] += 1 - 2*int32(k&1)
		seen[b>>6] |= 1 << (b & 63)
	}
	var sumSq float64
	for w, word := range seen {
		if word == 0 {
			continue
		}
		seen[w] = 0
		for ; word != 0; word &= word - 1 {
			b := w<<6 | bits.TrailingZeros64(word)
			c := counts[b]
			counts[b] = 0
			if c == 0 {
				continue // signed collisions cancelled out
			}
			v := sublinear(math.Abs(float64(c)))
			if c < 0 {
				v = -v
			}
			sumSq += v * v
			dst.Index = append(dst.Index, int32(b))
			dst.Value = append(dst.Value, float32(v))
		}
	}
	scale(dst, sumSq)
}

// wordGrams hashes word n-grams. Tokens are runs of letters, digits and
// marks; a Han, Hiragana or Katakana rune is a token by itself, which makes
// word bigrams over Chinese the character bigrams a segmenter-free model
// relies on.
func (f *Featurizer) wordGrams(text string, s *scratch) {
	s.words = s.words[:0]
	start := -1
	for i, r := range text {
		switch {
		case isCJK(r):
			if start >= 0 {
				s.words = append(s.words, span{start, i})
				start = -1
			}
			s.words = append(s.words, span{i, i + utf8.RuneLen(r)})
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			if start < 0 {
				start = i
			}
		default:
			if start >= 0 {
				s.words = append(s.words, span{start, i})
				start = -1
			}
		}
	}
	if start >= 0 {
		s.words = append(s.words, span{start, len(text)})
	}
	for n := f.cfg.WordMin; n <= f.cfg.WordMax; n++ {
		for i := 0; i+n <= len(s.words); i++ {
			h := seed('w', n)
			for j := i; j < i+n; j++ {
				if j > i {
					h = hashByte(h, ' ')
				}
				h = hashString(h, text[s.words[j].start:s.words[j].end])
			}
			s.keys = append(s.keys, f.key(h))
		}
	}
}

// charGrams hashes character n-grams of each space-separated chunk padded
// with one space on both sides, the way scikit-learn's char_wb analyser
// does: the padding marks word starts and ends, which carry most of the
// signal in short messages. Punctuation stays in, so "refund?" differs from
// "refund" only in its last n-grams.
func (f *Featurizer) charGrams(text string, s *scratch) {
	for chunk := range strings.SplitSeq(text, " ") {
		if chunk == "" {
			continue
		}
		s.pad = append(append(append(s.pad[:0], ' '), chunk...), ' ')
		s.runes = s.runes[:0]
		for i := range string(s.pad) {
			s.runes = append(s.runes, i)
		}
		nr := len(s.runes)
		s.runes = append(s.runes, len(s.pad))
		for n := f.cfg.CharMin; n <= f.cfg.CharMax; n++ {
			sd := seed('c', n)
			if n > nr {
				// A chunk shorter than n counts once as a whole, like
				// char_wb, so short words still get their longest gram.
				if n == f.cfg.CharMin || nr >= n-1 {
					s.keys = append(s.keys, f.key(hashBytes(sd, s.pad)))
				}
				break
			}
			for i := 0; i+n <= nr; i++ {
				g := s.pad[s.runes[i]:s.runes[i+n]]
				s.keys = append(s.keys, f.key(hashBytes(sd, g)))
			}
		}
	}
}

// collect turns sorted hashed keys into the sublinear-tf, L2-normalised
// vector.
func (f *Featurizer) collect(keys []uint32, dst *Vector) {
	if len(keys) == 0 {
		return
	}
	var sumSq float64
	for i := 0; i < len(keys); {
		bucket := keys[i] >> 1
		var c float64
		for ; i < len(keys) && keys[i]>>1 == bucket; i++ {
			if keys[i]&1 == 1 {
				c--
			} else {
				c++
			}
		}
		if c == 0 {
			continue // signed collisions cancelled out
		}
		// Sublinear tf: a word said three times is not three times the
		// evidence.
		v := sublinear(math.Abs(c))
		if c < 0 {
			v = -v
		}
		sumSq += v * v
		dst.Index = append(dst.Index, int32(bucket))
		dst.Value = append(dst.Value, float32(v))
	}
	scale(dst, sumSq)
}

// scale brings dst, whose squared norm is sumSq, to unit length.
func scale(dst *Vector, sumSq float64) {
	if sumSq == 0 {
		return
	}
	inv := 1 / math.Sqrt(sumSq)
	for k := range dst.Value {
		dst.Value[k] = float32(float64(dst.Value[k]) * inv)
	}
}

func (f *Featurizer) key(h uint64) uint32 {
	h = mix(h)
	k := uint32(h&f.mask) << 1
	if f.cfg.Signed {
		k |= uint32(h >> 63)
	}
	return k
}

func isCJK(r rune) bool {
	return r >= 0x2E80 && (unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r))
}

// tfWeight[c] is 1+ln(c) for the counts nearly every n-gram has; most are
// 1, and math.Log was a fifth of the featuriser's time.
var tfWeight = func() (w [16]float64) {
	for c := 1; c < len(w); c++ {
		w[c] = 1 + math.Log(float64(c))
	}
	return w
}()

func sublinear(c float64) float64 {
	if c < float64(len(tfWeight)) {
		return tfWeight[int(c)]
	}
	return 1 + math.Log(c)
}
