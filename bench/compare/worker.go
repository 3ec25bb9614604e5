package main

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stockade/stockade/bench/workload"
)

// worker runs one batch of a Go contender and prints its result line in
// the floor's format:
//
//	result mean_us=... median_us=... min_us=... n=...
//	result spawns_per_s=... n=... seconds=... workers=...
func worker(name, work string, n, heapMiB, conc int, seconds float64) error {
	var spawn func() error
	switch name {
	case "osexec":
		if work != "ns" {
			return fmt.Errorf("os/exec cannot run the %s op list", work)
		}
		spawn = osexecSpawn
	case "stockade":
		var err error
		if spawn, err = stockadeSpawner(work); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown contender %q", name)
	}
	heap := workload.Heap(heapMiB)
	var err error
	if conc > 0 {
		err = concurrent(spawn, conc, time.Duration(seconds*float64(time.Second)))
	} else {
		err = batch(spawn, n)
	}
	runtime.KeepAlive(heap)
	return err
}

// osexecSpawn is os/exec doing the work of workload.Namespaced.
func osexecSpawn() error {
	cmd := &exec.Cmd{
		Path:        workload.TruePath,
		Args:        []string{workload.TruePath},
		SysProcAttr: workload.OSExecAttr(),
	}
	return cmd.Run()
}

// batch times n spawns after a warm-up of n/10 (at least 2).
func batch(spawn func() error, n int) error {
	if n < 1 {
		return errors.New("batch needs at least one spawn")
	}
	for i := 0; i < max(n/10, 2); i++ {
		if err := spawn(); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	t := make([]float64, n)
	var sum float64
	for i := range t {
		t0 := time.Now()
		if err := spawn(); err != nil {
			return err
		}
		t[i] = float64(time.Since(t0).Nanoseconds()) / 1e3
		sum += t[i]
	}
	slices.Sort(t)
	fmt.Printf("result mean_us=%.1f median_us=%.1f min_us=%.1f n=%d\n", sum/float64(n), t[n/2], t[0], n)
	return nil
}

// concurrent runs w goroutines that spawn in a loop, counts the spawns
// of a window after a warm-up of a fifth of it, and prints the rate.
func concurrent(spawn func() error, w int, window time.Duration) error {
	var (
		stop  atomic.Bool
		count atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range w {
		wg.Go(func() {
			for !stop.Load() {
				if err := spawn(); err != nil {
					once.Do(func() { first = err })
					stop.Store(true)
					return
				}
				count.Add(1)
			}
		})
	}
	time.Sleep(window / 5)
	c0, t0 := count.Load(), time.Now()
	time.Sleep(window)
	c1, secs := count.Load(), time.Since(t0).Seconds()
	stop.Store(true)
	wg.Wait()
	if first != nil {
		return first
	}
	fmt.Printf("result spawns_per_s=%.1f n=%d seconds=%.3f workers=%d\n", float64(c1-c0)/secs, c1-c0, secs, w)
	return nil
}
