package seccomp_test

import (
	"fmt"

	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/syscallproxy/internal/seccomp"
)

func ExampleBuild() {
	// What an ordinary program needs; anything else fails with ENOSYS,
	// so that the C library falls back to older calls where it can.
	prog, err := seccomp.Build(ops.Seccomp{
		Allow: ops.NewNames("@system-service", "ptrace"),
		Errno: 38, // ENOSYS
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The child hands prog to seccomp(2) as a struct sock_fprog of this
	// many instructions. prog is shared with later Builds: never modify it.
	fmt.Println(seccomp.Instructions(prog) > 0, len(prog)%seccomp.InstructionSize)

	_, err = seccomp.Build(ops.Seccomp{Allow: "read,fooo"})
	fmt.Println(err)
	// Output:
	// true 0
	// unknown syscall "fooo"
}
