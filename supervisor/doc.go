// Package supervisor runs trees of sandboxed workers with the semantics
// OTP users expect, and pools of identical workers that take tasks from
// a queue. It builds on package actor and protoactor-go.
//
//	tree, err := supervisor.Start(system, supervisor.Spec{
//		Strategy: supervisor.OneForOne,
//		Children: []supervisor.Child{
//			{Name: "web", Props: actor.Props(actor.Config{Cmd: web})},
//			{Name: "jobs", Props: actor.Props(actor.Config{Cmd: jobs}), Restart: supervisor.Transient},
//		},
//		Backoff: supervisor.Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second, Jitter: 0.2},
//	})
//	...
//	err = tree.Stop() // every sandbox of the tree is dead when it returns
//
// # Why not protoactor's own supervision
//
// A supervisor here is a plain protoactor actor that owns its children
// and implements the strategies itself; protoactor's strategies are not
// used. protoactor has no rest-for-one, restarts an actor in place
// without stopping it, stops children all at once, hands failures over
// as interface{} panics, and its restart counting cannot escalate to a
// parent of ours. Owning the children gives the OTP semantics:
//
//   - Strategies: OneForOne restarts the child that ended; AllForOne
//     stops every other running child (in reverse start order) and
//     restarts them all (in start order); RestForOne does the same with
//     the children started after the one that ended.
//   - Restart types: Permanent children are always restarted; Transient
//     ones only after a failure; Temporary ones never. A child that is
//     not restarted is done: the strategies leave it out.
//   - Intensity: at most MaxRestarts restarts within Window; one more and
//     the supervisor gives up: it stops every child, in reverse start
//     order, and escalates a *GiveUpError to its parent (a supervisor of
//     a larger tree restarts it as its own strategy says; a Tree ends
//     with it as Err).
//   - Backoff: restarts wait Backoff.Initial, doubled for every restart
//     already counted in the window, up to Backoff.Max, with jitter; the
//     children being restarted are not running meanwhile.
//   - A restarted child is a new actor with a new PID (named
//     "Name#N"), as a new Erlang process would be: Tree.Children and
//     Event say which PID is current.
//   - Children change at run time, as with OTP's start_child and
//     terminate_child: StartChild adds a child after the others and
//     starts it (a worker per tenant, say); StopChild stops one, the Spec's
//     or an added one, waits until its sandbox is dead and forgets it.
//     Names are unique among siblings (ErrChildExists, ErrNoChild).
//
// What counts as a failure is the child's business: a process actor
// fails when its actor.Policy says so (its Exited.Err), and completes
// normally by stopping itself. Any other actor fails by panicking (the
// panic value becomes a *PanicError unless it is an error) and completes
// by stopping. Decisions see errors only.
//
// # Stopping
//
// Stopping a supervisor (Tree.Stop, or protoactor's Stop of a
// supervisor's PID, or its parent giving up) stops its children one at
// a time in reverse start order, each only after the previous one has
// terminated; a process actor terminates only once every process of its
// sandbox is dead and reaped. So when a supervisor has terminated, every
// sandbox under it is dead. The supervisor blocks while it stops
// children, as an OTP supervisor does, so a child with a long
// actor.Config.StopGrace holds it up that long.
//
// After its ordered stop, protoactor itself sends Stop to the children
// it has not yet seen terminate; those are already dead, so the system
// logger may report them as dead letters. It is harmless.
//
// When the Go process dies, even by SIGKILL, every sandbox dies with it
// (syscallproxy's supervisors hold a lifeline to the process).
package supervisor
