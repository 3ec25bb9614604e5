package seccomp

// sysSeccomp is __NR_seccomp, which package syscall lacks.
const sysSeccomp = 317
