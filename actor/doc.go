// Package actor runs sandboxes as protoactor-go actors: one process actor
// per sandbox, and a proxy actor that forks sandboxes for other actors.
//
// Import protoactor-go's own package under another name:
//
//	import protoactor "github.com/asynkron/protoactor-go/actor"
//
//	pid := system.Root.Spawn(actor.Props(actor.Config{
//		Cmd:        &syscallproxy.Cmd{Path: "/usr/bin/make", Sandbox: ops.Rootless()},
//		Subscriber: me,
//	}))
//
// # Messages
//
// A process actor spawns its sandbox when it starts, and sends its
// subscriber (Config.Subscriber, else its parent) Running, then Stdout
// and Stderr chunks in the order stream delivers them, then one Exited,
// every one with the actor as sender. It takes WriteStdin, CloseStdin,
// Signal, Kill, Stop and Ack. All messages are plain values, never
// pointers: match them with `case actor.Stdout:`.
//
// # Backpressure: credit
//
// Output is delivered with a window of Config.Credit unacknowledged
// Stdout and Stderr messages. The subscriber answers each one it has
// dealt with by an Ack (msg.Ack(), or one Ack{Run, N} for N of them);
// once Credit messages are unanswered the actor stops taking events from
// its stream, the stream stops reading the pipes, and the command blocks
// in write(2). A slow subscriber slows the command; no mailbox grows.
// Data is the stream's pooled buffer, passed without a copy: it is valid
// until the message is acknowledged, when the actor hands it back for
// reuse. Copy what you keep.
//
// # Life and death
//
// When the command ends, Config.Policy says whether it completed
// normally (the actor then stops itself: its parent and watchers get
// Terminated, a system message that protoactor may deliver before the
// Exited sent just before it) or failed (the actor escalates the
// failure as a protoactor Failure whose reason is an error, usually an
// *ExitError: the parent's supervisor strategy decides). Package
// supervisor makes those decisions with OTP's semantics.
//
// Stopping, poisoning or restarting the actor ends its sandbox: every
// process of it is killed (after Config.StopGrace, SIGTERM first) and
// reaped before the actor's Stopping or Restarting handler returns, so
// that Terminated (for a stop) or the next Started (for a restart, which
// protoactor does without Stopping or Stopped) comes only once the
// sandbox is gone. A restarted actor starts a fresh sandbox; an actor
// never has two. Output not yet delivered when the actor is stopped this
// way is discarded, but the subscriber still gets Exited; the Stop
// message instead ends the sandbox and delivers everything first.
//
// # Goroutines
//
// A running sandbox costs its stream's goroutines (see package stream)
// plus one that carries events to the subscriber, and one that writes
// stdin from the first WriteStdin on. All of them end with the sandbox.
// The actor system's own goroutines are protoactor-go's: shut the
// system down (ActorSystem.Shutdown) after stopping every actor.
package actor
