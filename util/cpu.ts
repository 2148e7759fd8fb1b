/** This process's CPU time so far in ms (user + system, all its threads). Unlike wall time
 * it does not grow with other processes' load, so it compares runs on a shared machine. */
export const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
