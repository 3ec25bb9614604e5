// Package stream runs a command in a sandbox and hands its life back as
// Go channel values: chunks of stdout and stderr, then one exit event.
//
//	s, err := stream.Start(ctx, &syscallproxy.Cmd{Path: "/usr/bin/make", Sandbox: ops.Rootless()})
//	if err != nil { ... }
//	for ev := range s.Events() {
//		switch ev.Kind {
//		case stream.Stdout, stream.Stderr:
//			use(ev.Data)
//			ev.Release() // optional: hands the buffer back for reuse
//		case stream.Exited:
//			fmt.Println(ev.Exit) // e.g. "exit status 2"
//		}
//	}
//
// It builds on syscallproxy: any sandbox works (ops.Process, ops.Rootless,
// ops.Container), and a Pipeline runs several sandboxes connected by
// kernel pipes. Lines, Output and CombinedOutput are the shortcuts.
//
// # Guarantees
//
//   - Order, and no loss: every byte the command (or anything it started)
//     wrote reaches Events, in order per fd, before the Exited event,
//     which is last, comes once, and is followed by the channel's close.
//     It holds when the command exits right after a large write, and when
//     a background process still holds the pipe open: the stream waits
//     until the sandbox has ended, which kills every process of it
//     (syscallproxy's supervisor does it, with or without a PID
//     namespace), then reads what the pipes hold without waiting for an
//     EOF.
//   - Backpressure: a pump reads its pipe only when it can hand the
//     previous chunk over. A consumer that stops receiving stops the
//     reads; the pipe fills and the command blocks in write(2).
//   - Cancellation has one owner, the stream's context: when it ends,
//     the command gets SIGTERM, and the whole sandbox is killed after
//     the grace period (GracePeriod). The Exited event still comes,
//     with Killed and Reason set, and nothing of the sandbox is left
//     running (command, grandchildren, double-forked daemons).
//   - stdin is never dropped silently: writes block while the command is
//     not reading, and input that could not be written is reported, by
//     the Write that failed (StdinPipe) or in Exit.Stdin (StdinReader,
//     StdinChan). A command that never reads stdin blocks neither its
//     output nor the caller's receive loop.
//
// # Memory
//
// Output is read into buffers that the consumer hands back with
// Event.Release; in steady state a stream allocates nothing per chunk. A
// pump's buffers start at 16 KiB and double while the command fills
// them, up to the pipe's size (PipeSize, 1 MiB by default; see
// MinChunkSize and MaxChunkSize), and a read takes all the pipe holds: a
// fast writer costs one hand-off to the consumer per pipe-full, a slow
// one no latency, and a quiet one no memory.
//
// A stream holds at most QueueLen+2 buffers queued in its channel or kept
// for reuse, plus the one each pump (one for stdout, one per stderr)
// reads into; buffers handed back beyond that are left to the garbage
// collector. For one command with the default pipes that is at most
// (1 + 2 + 2) × 1 MiB = 5 MiB, whatever the command writes and however
// slowly it is read; with PipeSize(64 << 10), 320 KiB. On top of it come
// the kernel's pipe buffers, PipeSize each for stdout, stderr and stdin,
// which the kernel fills page by page. Buffers the consumer holds
// without releasing are its own.
//
// # Goroutines
//
// A stream runs a goroutine per pipe it reads, one that waits for the
// sandboxes (its thread blocks in waitid), one that owns the end, and one
// feeding stdin from a reader or a channel. All of them return once the
// sandbox has ended and Events has been drained (or Wait called), except
// a stdin feeder blocked in a Read of the caller's reader, which returns
// when that Read does.
package stream
