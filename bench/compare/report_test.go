package main

import (
	"math"
	"testing"
)

// TestPairedRatio: each round's ratio counts, whatever the drift between
// rounds; a contender that failed or did not run gives none.
func TestPairedRatio(t *testing.T) {
	// The machine runs twice as fast in the second round and three times
	// as fast in the third: a is 0.9 of b in every round.
	a := &measurement{vals: []float64{90, 180, 270}}
	b := &measurement{vals: []float64{100, 200, 300}}
	if q, ok := pairedRatio(a, b); !ok || math.Abs(q-0.9) > 1e-9 {
		t.Errorf("pairedRatio = %v, %v; want 0.9, true", q, ok)
	}
	// One bad round amid drift: the medians taken apart mix rounds (a's
	// median is its bad round, b's a fast one) and give 0.75; the rounds'
	// own ratios are 0.95, 0.95 and 0.5.
	a = &measurement{vals: []float64{95, 190, 150}}
	b = &measurement{vals: []float64{100, 200, 300}}
	ma, _ := a.median()
	mb, _ := b.median()
	if math.Abs(ma/mb-0.75) > 1e-9 {
		t.Fatalf("bad example: the medians' ratio is %v", ma/mb)
	}
	if q, _ := pairedRatio(a, b); math.Abs(q-0.95) > 1e-9 {
		t.Errorf("pairedRatio = %v; want 0.95", q)
	}
	// Rounds after a failure do not exist: only the rounds both ran.
	a = &measurement{vals: []float64{50, 60}}
	b = &measurement{vals: []float64{100, 100, 1}}
	if q, _ := pairedRatio(a, b); math.Abs(q-0.55) > 1e-9 {
		t.Errorf("pairedRatio = %v; want 0.55", q)
	}
	for _, m := range []*measurement{nil, {na: "by design"}, {fail: "boom", vals: []float64{1}}, {}} {
		if _, ok := pairedRatio(m, b); ok {
			t.Errorf("pairedRatio(%+v, b) is ok", m)
		}
		if _, ok := pairedRatio(b, m); ok {
			t.Errorf("pairedRatio(b, %+v) is ok", m)
		}
	}
}
