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
 * runner process (process-runner.ts), the service unit (service-files.ts) and the `swarmlet`
 * bin itself (LAUNCHER below). musl (OpenWrt) ignores it.
 */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=32768:glibc.malloc.arena_max=1';

/**
 * The first two lines of the `swarmlet` bin (bin/swarmlet.js; the device bundle's swarmlet.mjs,
 * scripts/bundle-agent.mjs): the file is both a shell script and JavaScript. Run as a program
 * (`swarmlet agent ...`), /bin/sh reads line 2: for the agent command it sets GLIBC_TUNABLES
 * unless the environment already has it, then execs node on the same file, so the agent keeps
 * the pid, arguments, environment, signals and exit code, and no second process stays (Node 20
 * has no execve of its own). Node reads line 2 as a string statement and a comment. Started as
 * `node FILE` (the service unit, which sets the variable itself) the shell line never runs.
 */
export const LAUNCHER = `#!/bin/sh
':' //; case " $* " in *" agent "*) [ -n "\${GLIBC_TUNABLES+x}" ] || export GLIBC_TUNABLES=${MALLOC_TUNABLES};; esac; exec node "$0" "$@"
`;
