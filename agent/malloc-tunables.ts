/**
 * glibc malloc settings for the agent's processes. Task inputs, outputs and the messages
 * that carry them are tens of KB each; below glibc's default mmap threshold (128 KiB, and
 * it rises as large blocks are freed) they are carved from a heap that glibc gives back
 * only from its top, so after a burst of work the agent process kept ~6-7 MB it no longer
 * used (bench/agent). With a 32 KiB threshold each gets pages of its own, returned to the
 * system when freed. One arena: V8's and libuv's helper threads otherwise each get a malloc
 * arena that keeps its pages (~0.7 MB idle, measured once); they malloc little, so they
 * rarely wait for the shared lock.
 * glibc reads this only at process start, so it is set where a process is started: the
 * runner process (process-runner.ts) and the service unit (service-files.ts); a hand-started
 * agent gets it from its environment. musl (OpenWrt) ignores it.
 */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=32768:glibc.malloc.arena_max=1';
