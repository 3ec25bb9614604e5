package supervisor

import (
	"testing"
	"time"
)

// Delays double from Initial up to Max; jitter stays within its bounds.
func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	for n, want := range []time.Duration{10, 10, 20, 40, 80, 80, 80} {
		if n == 0 {
			continue
		}
		if got := b.delay(n); got != want*time.Millisecond {
			t.Errorf("delay(%d) = %v, want %v", n, got, want*time.Millisecond)
		}
	}
	if d := (Backoff{}).delay(5); d != 0 {
		t.Errorf("zero Backoff: %v", d)
	}
	if d := (Backoff{Initial: time.Second}).delay(1000); d <= 0 {
		t.Errorf("no cap, many restarts: %v", d)
	}
	b.Jitter = 0.5
	for range 1000 {
		if d := b.delay(2); d < 10*time.Millisecond || d > 30*time.Millisecond {
			t.Fatalf("jittered delay(2) = %v, want 20ms ± 50%%", d)
		}
	}
}
