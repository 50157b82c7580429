package store

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

// keepFreedMemory stops glibc giving freed memory back to the system after
// every burst of SQLite allocations: each time it does, madvise makes every
// CPU flush its TLB, which cost an eighth of the CPU of a busy tracking
// endpoint. Memory freed below 64 MB stays for the next allocations.
static void keepFreedMemory(void) {
#ifdef __GLIBC__
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_TOP_PAD, 16 * 1024 * 1024);
#endif
}
*/
import "C"

import "sync"

// keepFreedMemory tunes the C allocator SQLite uses (see the C comment),
// once per process however many stores are opened.
func keepFreedMemory() { keepOnce.Do(func() { C.keepFreedMemory() }) }

var keepOnce sync.Once
