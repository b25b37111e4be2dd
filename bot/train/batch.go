package train

import (
	"math"
	"sync"

	"github.com/syncd-dev/syncd/bot/nn"
)

const (
	beta1   = 0.9
	beta2   = 0.999
	epsilon = 1e-8
)

// batch runs one Adam step on the examples idx.
func (t *trainer) batch(idx []int, lr float64) {
	t.step++
	t.touch(idx)
	// Forward and output gradients: independent per example.
	t.parallel(len(idx), func(lo, hi int) {
		for s := lo; s < hi; s++ {
			t.forwardBackward(s, idx[s], len(idx))
		}
	})
	// Weight gradients and updates: split by output column of the first
	// layer (and by row of the second), so each weight has one writer and
	// sums run in example order whatever the scheduling.
	c1 := float32(lr * math.Sqrt(1-math.Pow(beta2, float64(t.step))) / (1 - math.Pow(beta1, float64(t.step))))
	decay := float32(1 - lr*t.cfg.weightDecay())
	t.parallel(t.first.Out, func(lo, hi int) {
		t.updateFirst(idx, lo, hi, c1, decay)
	})
	if t.second != nil {
		t.parallel(t.second.In, func(lo, hi int) {
			t.updateSecond(len(idx), lo, hi, c1, decay)
		})
	}
	for _, r := range t.rows {
		t.slot[r] = -1
	}
}

// touch lists the first-layer rows the batch's features hit and gives each
// a slot in the sparse gradient buffer.
func (t *trainer) touch(idx []int) {
	t.rows = t.rows[:0]
	for _, i := range idx {
		for _, r := range t.xs[i].Index {
			if t.slot[r] < 0 {
				t.slot[r] = int32(len(t.rows))
				t.rows = append(t.rows, r)
			}
		}
	}
	need := len(t.rows) * t.first.Out
	if cap(t.grow) < need {
		t.grow = make([]float32, need)
	}
	t.grow = t.grow[:need]
}

// forwardBackward computes example i's output gradient at batch position s:
// dlogits = (p - onehot)·classWeight / batchSize, and for an MLP the hidden
// gradient dz.
func (t *trainer) forwardBackward(s, i, bs int) {
	h, c := t.first.Out, len(t.model.Labels)
	z := t.z[s*h : (s+1)*h]
	logits := t.logits[s*c : (s+1)*c]
	x := t.xs[i]
	copy(z, t.first.B)
	for k, r := range x.Index {
		v := x.Value[k]
		axpy(z, t.first.Row(int(r)), v)
	}
	if t.second != nil {
		keep := float32(1 - t.cfg.dropout())
		for j, v := range z {
			z[j] = max(v, 0) // z now holds the activations
			if t.cfg.dropout() > 0 && z[j] > 0 {
				if dropped(t.cfg.Seed, t.step, i, j, t.cfg.dropout()) {
					z[j] = 0
				} else {
					z[j] /= keep
				}
			}
		}
		copy(logits, t.second.B)
		for k, a := range z {
			if a == 0 {
				continue
			}
			axpy(logits, t.second.Row(k), a)
		}
	} else {
		copy(logits, z)
	}
	nn.Softmax(logits)
	y := t.ys[i]
	t.loss[s] = -math.Log(math.Max(float64(logits[y]), 1e-12))
	scale := t.classW[y] / float32(bs)
	d := t.dlogits[s*c : (s+1)*c]
	// With label smoothing the target is 1-ε on the label and ε/C on
	// every class.
	eps := float32(t.cfg.LabelSmoothing)
	for j, p := range logits {
		d[j] = (p - eps/float32(c)) * scale
	}
	d[y] -= (1 - eps) * scale
	if t.second == nil {
		copy(t.dz[s*h:(s+1)*h], d)
		return
	}
	dz := t.dz[s*h : (s+1)*h]
	for k, a := range z {
		if a <= 0 {
			dz[k] = 0
			continue
		}
		g := dot(t.second.Row(k), d)
		if t.cfg.dropout() > 0 {
			g /= float32(1 - t.cfg.dropout())
		}
		dz[k] = g
	}
}

// updateFirst accumulates and applies the first layer's gradient for output
// columns [lo, hi).
func (t *trainer) updateFirst(idx []int, lo, hi int, c1, decay float32) {
	h := t.first.Out
	for s, i := range idx {
		x := t.xs[i]
		dz := t.dz[s*h+lo : s*h+hi]
		for k, r := range x.Index {
			v := x.Value[k]
			g := t.grow[int(t.slot[r])*h+lo : int(t.slot[r])*h+hi]
			axpy(g, dz, v)
		}
	}
	for ri, r := range t.rows {
		off := int(r) * h
		adamRow(t.first.W[off+lo:off+hi], t.adam1.mW[off+lo:off+hi], t.adam1.vW[off+lo:off+hi],
			t.grow[ri*h+lo:ri*h+hi], c1, decay)
	}
	for j := lo; j < hi; j++ {
		var g float32
		for s := range idx {
			g += t.dz[s*h+j]
		}
		adam(&t.first.B[j], &t.adam1.mB[j], &t.adam1.vB[j], g, c1, 1)
	}
}

// updateSecond accumulates and applies the output layer's gradient for
// hidden rows [lo, hi); the worker holding row 0 also updates the biases.
func (t *trainer) updateSecond(bs, lo, hi int, c1, decay float32) {
	h, c := t.first.Out, len(t.model.Labels)
	for k := lo; k < hi; k++ {
		g := t.gw2[k*c : (k+1)*c]
		clear(g)
		for s := 0; s < bs; s++ {
			a := t.z[s*h+k]
			if a == 0 {
				continue
			}
			axpy(g, t.dlogits[s*c:(s+1)*c], a)
		}
		adamRow(t.second.W[k*c:(k+1)*c], t.adam2.mW[k*c:(k+1)*c], t.adam2.vW[k*c:(k+1)*c], g, c1, decay)
	}
	if lo == 0 {
		for j := 0; j < c; j++ {
			var g float32
			for s := 0; s < bs; s++ {
				g += t.dlogits[s*c+j]
			}
			adam(&t.second.B[j], &t.adam2.mB[j], &t.adam2.vB[j], g, c1, 1)
		}
	}
}

// adam applies one AdamW update; c1 folds the learning rate and both bias
// corrections, decay is 1 - lr·weightDecay.
func adam(w, m, v *float32, g, c1, decay float32) {
	*m = beta1**m + (1-beta1)*g
	*v = beta2**v + (1-beta2)*g*g
	*w = *w*decay - c1**m/(float32(math.Sqrt(float64(*v)))+epsilon)
}

// The kernels below are the training's inner loops. They are marked
// go:norace because the race detector makes them ten times slower, which
// turns the banking77 test into minutes under `go test -race`. They touch
// only the slices passed in; which worker may write which slice is decided
// by their (instrumented) callers, and TestTrainIsReproducible would see a
// race as differing model bytes.

// axpy adds a·x to y.
//
//go:norace
func axpy(y, x []float32, a float32) {
	x = x[:len(y)]
	for j, v := range x {
		y[j] += a * v
	}
}

// dot returns x·y.
//
//go:norace
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for j, v := range x {
		s += v * y[j]
	}
	return s
}

// adamRow applies an AdamW step to a row of weights and zeroes its
// gradient g, which is the next batch's accumulator.
//
//go:norace
func adamRow(w, m, v, g []float32, c1, decay float32) {
	m, v, g = m[:len(w)], v[:len(w)], g[:len(w)] // one bounds check, not four per element
	for j, gj := range g {
		mj := beta1*m[j] + (1-beta1)*gj
		vj := beta2*v[j] + (1-beta2)*gj*gj
		m[j], v[j] = mj, vj
		w[j] = w[j]*decay - c1*mj/(float32(math.Sqrt(float64(vj)))+epsilon)
		g[j] = 0
	}
}

// parallel splits [0, n) into the configured number of contiguous ranges
// and runs f on each, returning when all are done.
func (t *trainer) parallel(n int, f func(lo, hi int)) {
	w := min(t.cfg.Workers, n)
	if w <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for p := 1; p < w; p++ {
		lo, hi := n*p/w, n*(p+1)/w
		wg.Go(func() { f(lo, hi) })
	}
	f(0, n/w)
	wg.Wait()
}

// dropped decides from a hash of its coordinates whether hidden unit j of
// example i is dropped at this step: the same decision whichever worker
// computes it, so dropout does not cost reproducibility.
func dropped(seed uint64, step, i, j int, p float64) bool {
	h := seed ^ uint64(step)*0x9e3779b97f4a7c15 ^ uint64(i)<<32 ^ uint64(j)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb93e66b9b34b
	h ^= h >> 33
	return float64(h>>11)/(1<<53) < p
}
