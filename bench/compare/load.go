package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuTimes returns the busy (everything but idle and iowait; steal
// included) and total jiffies of all CPUs, from /proc/stat.
func cpuTimes() (busy, total uint64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, 0, fmt.Errorf("unexpected /proc/stat line %q", line)
	}
	for i, f := range fields[1:9] { // user nice system idle iowait irq softirq steal
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parsing /proc/stat: %w", err)
		}
		total += v
		if i != 3 && i != 4 {
			busy += v
		}
	}
	return busy, total, nil
}

// backgroundLoad returns the share of the machine's CPU time that others
// used during d, while this command ran nothing; -1 if unknown.
func backgroundLoad(d time.Duration) float64 {
	b0, t0, err := cpuTimes()
	if err != nil {
		return -1
	}
	time.Sleep(d)
	b1, t1, err := cpuTimes()
	if err != nil || t1 == t0 {
		return -1
	}
	return float64(b1-b0) / float64(t1-t0)
}
