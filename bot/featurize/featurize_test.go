package featurize

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Where IS my Order?", "where is my order?"},
		{"  lots \t of\n\nspace  ", "lots of space"},
		{"ＷＨＥＲＥ　ＩＳ　ＭＹ　ＯＲＤＥＲ？", "where is my order?"}, // full-width letters, space and ?
		{"我要退款！", "我要退款!"},
		{"ﬁne", "fine"}, // ligature
		{"", ""},
	} {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTransformIsUnitLengthSortedAndDeterministic(t *testing.T) {
	f, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"where is my order", "我要退款", "a", "ok 👍 thanks!!!", "refund refund refund"} {
		var a, b Vector
		f.Transform(text, &a)
		f.Transform(text, &b)
		if len(a.Index) == 0 {
			t.Errorf("%q: no features", text)
			continue
		}
		var ss float64
		for k, i := range a.Index {
			if k > 0 && a.Index[k-1] >= i {
				t.Errorf("%q: index not strictly increasing at %d", text, k)
			}
			if int(i) >= f.Dims() {
				t.Errorf("%q: index %d out of range", text, i)
			}
			if a.Value[k] != b.Value[k] || i != b.Index[k] {
				t.Errorf("%q: two transforms differ", text)
			}
			ss += float64(a.Value[k]) * float64(a.Value[k])
		}
		if math.Abs(ss-1) > 1e-5 {
			t.Errorf("%q: squared norm %v, want 1", text, ss)
		}
	}
	var empty Vector
	f.Transform("   ", &empty)
	if len(empty.Index) != 0 {
		t.Errorf("blank text has %d features, want 0", len(empty.Index))
	}
}

// TestChineseNeedsNoSegmenter checks that texts sharing Chinese words share
// features although no word boundaries are marked.
func TestChineseNeedsNoSegmenter(t *testing.T) {
	f, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	sim := func(x, y string) float64 {
		var a, b Vector
		f.Transform(x, &a)
		f.Transform(y, &b)
		dense := make([]float32, f.Dims())
		a.AddTo(dense)
		var dot float64
		for k, i := range b.Index {
			dot += float64(dense[i]) * float64(b.Value[k])
		}
		return dot
	}
	related, unrelated := sim("我要退款", "退款什么时候到账"), sim("我要退款", "几点开门")
	if related <= unrelated+0.1 {
		t.Errorf("cosine(我要退款, 退款什么时候到账) = %.3f is not clearly above cosine(我要退款, 几点开门) = %.3f", related, unrelated)
	}
}

func TestSublinearTF(t *testing.T) {
	f, err := New(Config{Dims: 1 << 20, CharMax: -1, WordMin: 1, WordMax: 1})
	if err != nil {
		t.Fatal(err)
	}
	var v Vector
	f.Transform("refund refund refund please", &v)
	if len(v.Index) != 2 {
		t.Fatalf("got %d features, want 2", len(v.Index))
	}
	hi, lo := max(v.Value[0], v.Value[1]), min(v.Value[0], v.Value[1])
	want := 1 + math.Log(3) // tf 3 against tf 1
	if got := float64(hi / lo); math.Abs(got-want) > 1e-5 {
		t.Errorf("weight ratio %v, want 1+ln 3 = %v", got, want)
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{Dims: 1000}, false},
		{Config{WordMin: 3, WordMax: 2}, false},
		{Config{CharMax: -1}, true},
		{Config{CharMax: -1, WordMax: -1}, false},
	} {
		err := tc.cfg.WithDefaults().Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%+v: Validate() = %v, want ok=%v", tc.cfg, err, tc.ok)
		}
	}
	c := Config{Dims: 1 << 10, WordMin: 1, WordMax: 3, CharMin: 1, CharMax: 4, Signed: true}
	b, err := c.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseConfig(string(b))
	if err != nil || got != c {
		t.Errorf("round trip: got %+v, %v; want %+v", got, err, c)
	}
	if _, err := ParseConfig(`{"dims": 3}`); err == nil {
		t.Error("ParseConfig accepted dims 3")
	}
}

func BenchmarkTransform(b *testing.B) {
	f, _ := New(Config{})
	for _, tc := range []struct{ name, text string }{
		{"18B", "where is my order?"},
		{"80B", "Hi, I ordered a blue jacket last week and it still hasn't arrived, where is it?"},
		// The relay benchmark's body (bench/scratch.go), 200 bytes.
		{"200B", "#12345 Hello, I ordered a blue kettle last week and it has still not arrived; could you tell me where it is? Hello, I ordered a blue kettle last week and it has still not arrived; could you"},
		{"zh", "你好，我上周订购的蓝色水壶还没有到，请问现在到哪里了？我想申请退款。"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var v Vector
			b.ReportAllocs()
			for b.Loop() {
				f.Transform(tc.text, &v)
			}
		})
	}
}

// The ASCII fast path of Normalize agrees with the general one.
func TestNormalizeASCIIMatchesGeneralPath(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "aZ 9?\t\n\v\f\r.,!'-_xYq "
	general := func(s string) string {
		return strings.Join(strings.Fields(strings.ToLower(norm.NFKC.String(s))), " ")
	}
	for range 2000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		if got, want := Normalize(string(b)), general(string(b)); got != want {
			t.Fatalf("Normalize(%q) = %q, want %q", b, got, want)
		}
	}
}

// The bitmap tally gives the very vector the sort gives, signs, collisions
// that cancel and all, down to the float rounding.
func TestCollectDenseMatchesCollect(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, cfg := range []Config{{Dims: 1 << 4, Signed: true}, {Dims: 1 << 10, Signed: true}, {Dims: 1 << 14}, {Dims: maxDenseDims, Signed: true}} {
		f, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s := new(scratch)
		for _, n := range []int{1, 2, 50, 700, 5000} {
			for range 20 {
				keys := make([]uint32, n)
				for i := range keys {
					keys[i] = uint32(r.IntN(cfg.Dims))<<1 | uint32(r.IntN(2))
				}
				var dense, sorted Vector
				f.collectDense(keys, s, &dense)
				slices.Sort(keys)
				f.collect(keys, &sorted)
				if !slices.Equal(dense.Index, sorted.Index) || !slices.Equal(dense.Value, sorted.Value) {
					t.Fatalf("dims %d, %d keys: collectDense differs from collect", cfg.Dims, n)
				}
			}
			if slices.ContainsFunc(s.counts, func(c int32) bool { return c != 0 }) || slices.ContainsFunc(s.seen, func(w uint64) bool { return w != 0 }) {
				t.Fatalf("dims %d: collectDense left its tallies dirty", cfg.Dims)
			}
		}
	}
}

func TestStripGreetings(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"你好,我想退款,商品有质量问题", "我想退款,商品有质量问题"}, // Normalize's form of the "你好，我想退款，商品有质量问题"
		{"hi, where is my order", "where is my order"},
		{"good morning team! can i cancel", "team! can i cancel"},
		{"hello? anyone there?", "anyone there?"},
		{"你好,在吗?我要转人工", "我要转人工"},
		{"hi there", "hi there"}, // a greeting alone stays one
		{"你好", "你好"},
		{"hello!!!", "hello!!!"},
		{"history of my order", "history of my order"}, // "hi" only as a word
		{"yours truly", "yours truly"},
		{"亲爱的客服,东西坏了", "客服,东西坏了"},
		{"where is my order", "where is my order"},
		{"", ""},
	} {
		if got := StripGreetings(tc.in); got != tc.want {
			t.Errorf("StripGreetings(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	on, _ := New(Config{StripGreetings: true})
	off, _ := New(Config{})
	var a, b, c Vector
	on.Transform("Hi, where is my order?", &a)
	on.Transform("where is my order?", &b)
	off.Transform("Hi, where is my order?", &c)
	if !slices.Equal(a.Index, b.Index) || slices.Equal(a.Index, c.Index) {
		t.Error("StripGreetings does not decide whether a greeting reaches the features")
	}
}
