package store

/*
#ifdef __GLIBC__
#include <malloc.h>
static void trim(void) { malloc_trim(0); }
#else
static void trim(void) {}
#endif
*/
import "C"

import "runtime/debug"

// ReleaseMemory hands back to the system what a large job, like an
// import, freed: the Go heap's, and the C allocator's, where SQLite keeps
// its page cache, which would otherwise hold on to it. It costs a garbage
// collection: call it after work that took much memory, not often.
func ReleaseMemory() {
	debug.FreeOSMemory()
	C.trim()
}
