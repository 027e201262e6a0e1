package bench

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
)

// zipfian draws ranks in [0, n) with P(rank i) proportional to
// 1/(i+1)^theta, exactly, by rejection-inversion (Hörmann and Derflinger,
// "Rejection-inversion to generate variates from monotone discrete
// distributions", 1996): O(1) set-up and memory, and about one uniform
// draw per rank for any theta > 0. (YCSB's generator, Gray et al.'s,
// needs an O(n) set-up and overweights ranks 2 to 9 by about 4%.) It is
// immutable and shared by every client of a run.
type zipfian struct {
	n           float64
	theta       float64
	hIntegralX1 float64 // hIntegral(1.5) - 1
	hIntegralN  float64 // hIntegral(n + 0.5)
	s           float64 // the squeeze: accept x close enough to k
}

func newZipfian(n int, theta float64) *zipfian {
	z := &zipfian{n: float64(n), theta: theta}
	z.hIntegralX1 = z.hIntegral(1.5) - 1
	z.hIntegralN = z.hIntegral(float64(n) + 0.5)
	z.s = 2 - z.hIntegralInverse(z.hIntegral(2.5)-z.h(2))
	return z
}

// rank returns the next rank, 0 being the most popular.
func (z *zipfian) rank(rng *rand.Rand) int {
	for {
		u := z.hIntegralN + rng.Float64()*(z.hIntegralX1-z.hIntegralN)
		x := z.hIntegralInverse(u)
		k := min(max(math.Floor(x+0.5), 1), z.n)
		if k-x <= z.s || u >= z.hIntegral(k+0.5)-z.h(k) {
			return int(k) - 1
		}
	}
}

// h is the density x^-theta; hIntegral its antiderivative
// (x^(1-theta) - 1)/(1-theta), written to stay accurate near theta = 1;
// hIntegralInverse the inverse of hIntegral.
func (z *zipfian) h(x float64) float64 { return math.Exp(-z.theta * math.Log(x)) }

func (z *zipfian) hIntegral(x float64) float64 {
	lx := math.Log(x)
	return expm1Over((1-z.theta)*lx) * lx
}

func (z *zipfian) hIntegralInverse(x float64) float64 {
	t := max(x*(1-z.theta), -1) // rounding may push t just below -1
	return math.Exp(log1pOver(t) * x)
}

// expm1Over returns (e^x - 1)/x, and log1pOver log(1+x)/x, both with
// their limit 1 at x = 0.
func expm1Over(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Expm1(x) / x
	}
	return 1 + x*0.5*(1+x/3*(1+0.25*x))
}

func log1pOver(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Log1p(x) / x
	}
	return 1 - x*(0.5-x*(1.0/3-0.25*x))
}

// scatter maps rank r of n to a key number by a 64-bit mix, so that the
// popular ranks land on keys spread over the key space (YCSB's
// "scrambled zipfian"). Distinct ranks may share a key, which shifts the
// distribution only slightly; the mix is fixed, so runs are repeatable.
func scatter(r, n int) int {
	x := uint64(r) + 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	return int(x % uint64(n))
}

// keyChooser picks the key number of each operation and numbers new
// keys for inserts. It is shared by every client of a run; each client
// passes its own random source.
type keyChooser struct {
	dist Distribution
	n    int // keys loaded before the run: numbers [0, n)
	zipf *zipfian
	// inserted counts the keys inserted during the run; insert j writes
	// key number n+j.
	inserted atomic.Int64
	// lag is how many of the newest inserts Latest avoids, because they
	// may still be in flight: one per client.
	lag int64
}

func newKeyChooser(cfg Config) *keyChooser {
	c := &keyChooser{dist: cfg.Distribution, n: cfg.Keys, lag: int64(cfg.Clients)}
	if c.dist == Zipfian || c.dist == Latest {
		c.zipf = newZipfian(cfg.Keys, cfg.Theta)
	}
	return c
}

// next returns the key number of a read, update, read-modify-write or
// delete.
func (c *keyChooser) next(rng *rand.Rand) int {
	switch c.dist {
	case Zipfian:
		return scatter(c.zipf.rank(rng), c.n)
	case Latest:
		newest := int64(c.n) + max(c.inserted.Load()-c.lag, 0) - 1
		k := newest - int64(c.zipf.rank(rng))
		if k < 0 {
			return rng.IntN(int(newest) + 1)
		}
		return int(k)
	default:
		return rng.IntN(c.n)
	}
}

// insert returns the number of a new key.
func (c *keyChooser) insert() int {
	return c.n + int(c.inserted.Add(1)-1)
}
