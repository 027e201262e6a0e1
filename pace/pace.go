package pace

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/chorusdb/chorus/clock"
)

// Pacer spaces work to at most a rate of units per second. It is safe for
// concurrent use.
type Pacer struct {
	clk clock.Clock
	// lim is nil without a bound.
	lim *rate.Limiter

	mu     sync.Mutex // keeps one charge's chunks together
	waited time.Duration
}

// New returns a Pacer of perSecond units per second on clk; perSecond <= 0
// means no bound, and a nil clk means real time.
func New(perSecond float64, clk clock.Clock) *Pacer {
	if clk == nil {
		clk = clock.Real{}
	}
	p := &Pacer{clk: clk}
	if perSecond > 0 {
		burst := int(min(math.Ceil(perSecond), math.MaxInt32))
		p.lim = rate.NewLimiter(rate.Limit(perSecond), burst)
	}
	return p
}

// Reserve charges n units now and returns how long the work they pay for
// must wait before it starts: zero within the budget, the time to repay
// the debt beyond it.
//
// rate.Limiter refuses a reservation larger than its burst, where this
// package goes into debt instead, so a large charge is taken as several
// reservations of at most a burst each, at the same instant: the limiter
// lets its tokens go negative across them, and the last one's delay is the
// whole charge's.
func (p *Pacer) Reserve(n int) time.Duration {
	if p.lim == nil || n <= 0 {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clk.Now()
	burst := p.lim.Burst()
	var d time.Duration
	for left := n; left > 0; left -= burst {
		d = p.lim.ReserveN(now, min(left, burst)).DelayFrom(now)
	}
	p.waited += d
	return d
}

// Wait charges n units and waits off the debt on the Pacer's clock, or
// returns ctx's error if ctx ends first. The charge stands either way.
func (p *Pacer) Wait(ctx context.Context, n int) error {
	return clock.Sleep(ctx, p.clk, p.Reserve(n))
}

// Waited returns the sum of the delays Reserve has asked for.
func (p *Pacer) Waited() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waited
}
