package main

import (
	"os"
	"syscall"
)

// protocolOut keeps a private copy of the real stdout for protocol lines and points file
// descriptor 1 (and os.Stdout) at stderr, so nothing else in the process can write to stdout.
func protocolOut() *os.File {
	fd, err := syscall.Dup(1)
	if err != nil {
		return fallbackOut()
	}
	syscall.CloseOnExec(fd)
	if err := syscall.Dup3(2, 1, 0); err != nil {
		syscall.Close(fd)
		return fallbackOut()
	}
	os.Stdout = os.Stderr
	return os.NewFile(uintptr(fd), "protocol-stdout")
}
