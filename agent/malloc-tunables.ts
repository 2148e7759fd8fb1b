/**
 * glibc malloc settings for the agent's processes. Task inputs, outputs and the messages
 * that carry them are tens of KB each; below glibc's default mmap threshold (128 KiB, and
 * it rises as large blocks are freed) they are carved from a heap that glibc gives back
 * only from its top, so after a burst of work the agent process kept ~7 MB it no longer
 * used (bench/agent). With a 32 KiB threshold each gets pages of its own, returned to the
 * system when freed. glibc reads this only at process start, so it is set where a process
 * is started: the runner process (process-runner.ts), the systemd unit and the container
 * image. musl (OpenWrt) ignores it; its allocator gives large blocks back anyway.
 */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=32768';
