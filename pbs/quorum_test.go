package pbs

import (
	"errors"
	"math"
	"math/big"
	"testing"
)

func TestQuorumStringStrict(t *testing.T) {
	tests := []struct {
		q      Quorum
		str    string
		strict bool
	}{
		{Quorum{3, 2, 1}, "N=3 R=2 W=1", false},
		{Quorum{3, 2, 2}, "N=3 R=2 W=2", true},
		{Quorum{1, 1, 1}, "N=1 R=1 W=1", true},
		{Quorum{5, 1, 4}, "N=5 R=1 W=4", false},
		{Quorum{5, 1, 5}, "N=5 R=1 W=5", true},
	}
	for _, tt := range tests {
		if got := tt.q.String(); got != tt.str {
			t.Errorf("String() = %q, want %q", got, tt.str)
		}
		if got := tt.q.Strict(); got != tt.strict {
			t.Errorf("%v: Strict() = %v, want %v", tt.q, got, tt.strict)
		}
	}
}

func TestQuorumValidate(t *testing.T) {
	tests := []struct {
		q  Quorum
		ok bool
	}{
		{Quorum{3, 1, 1}, true},
		{Quorum{3, 3, 3}, true},
		{Quorum{1, 1, 1}, true},
		{Quorum{}, false},
		{Quorum{0, 1, 1}, false},
		{Quorum{-1, 1, 1}, false},
		{Quorum{3, 0, 1}, false},
		{Quorum{3, 4, 1}, false},
		{Quorum{3, 1, 0}, false},
		{Quorum{3, 1, 4}, false},
	}
	for _, tt := range tests {
		err := tt.q.Validate()
		if tt.ok && err != nil {
			t.Errorf("%v: Validate() = %v, want nil", tt.q, err)
		}
		if !tt.ok && !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: Validate() = %v, want ErrInvalid", tt.q, err)
		}
		if got := ClosedForm(tt.q); !tt.ok && !math.IsNaN(got) {
			t.Errorf("ClosedForm(%v) = %v, want NaN for an invalid quorum", tt.q, got)
		}
	}
}

func TestClosedForm(t *testing.T) {
	tests := []struct {
		q    Quorum
		want float64
	}{
		{Quorum{1, 1, 1}, 0},
		{Quorum{2, 1, 1}, 0.5},
		{Quorum{3, 1, 1}, 2.0 / 3},
		{Quorum{3, 2, 1}, 1.0 / 3},
		{Quorum{3, 1, 2}, 1.0 / 3},
		{Quorum{3, 2, 2}, 0},
		{Quorum{5, 2, 2}, 0.3}, // C(3,2)/C(5,2)
		{Quorum{5, 1, 1}, 0.8},
		{Quorum{5, 3, 3}, 0},
		{Quorum{100, 1, 1}, 0.99},
	}
	for _, tt := range tests {
		if got := ClosedForm(tt.q); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("ClosedForm(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

// TestClosedFormMatchesBinomials checks the product formula against exact
// binomial coefficients for every quorum up to N=40.
func TestClosedFormMatchesBinomials(t *testing.T) {
	for _, q := range allQuorums(40) {
		num := new(big.Int).Binomial(int64(q.N-q.W), int64(q.R))
		if q.R > q.N-q.W {
			num.SetInt64(0)
		}
		want, _ := new(big.Rat).SetFrac(num, new(big.Int).Binomial(int64(q.N), int64(q.R))).Float64()
		if got := ClosedForm(q); math.Abs(got-want) > 1e-12*want || (want == 0) != (got == 0) {
			t.Errorf("ClosedForm(%v) = %v, want %v", q, got, want)
		}
		if q.Strict() != (ClosedForm(q) == 0) {
			t.Errorf("%v: Strict() = %v but ClosedForm = %v", q, q.Strict(), ClosedForm(q))
		}
	}
}

func TestClosedFormK(t *testing.T) {
	tests := []struct {
		q    Quorum
		k    int
		want float64
	}{
		{Quorum{3, 1, 1}, 0, 1},
		{Quorum{3, 1, 1}, -1, 1},
		{Quorum{3, 1, 1}, 1, 2.0 / 3},
		{Quorum{3, 1, 1}, 2, 4.0 / 9},
		{Quorum{5, 1, 1}, 3, 0.512},
		{Quorum{3, 2, 2}, 0, 1},
		{Quorum{3, 2, 2}, 1, 0},
		{Quorum{3, 2, 2}, 5, 0},
	}
	for _, tt := range tests {
		if got := ClosedFormK(tt.q, tt.k); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("ClosedFormK(%v, %d) = %v, want %v", tt.q, tt.k, got, tt.want)
		}
	}
	if got := ClosedFormK(Quorum{3, 4, 1}, 0); !math.IsNaN(got) {
		t.Errorf("ClosedFormK of an invalid quorum = %v, want NaN", got)
	}
}
