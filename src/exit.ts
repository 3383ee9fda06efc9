// How every command ends (README, "Exit status"): 0 done; 1 failed (a missing or broken file, no
// WebGPU adapter, a run that failed); 2 a usage error (an unknown flag, a flag's value out of its
// range, flags that do not go together); 128 + the signal's number when Ctrl-C (130) or SIGTERM
// (143) stopped it, as a shell reports a process the signal ended.
import os from 'node:os';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** The command line cannot be run as given: one line naming the flag and what it allows, exit status 2. */
export class UsageError extends Error {}

/** A shell's status for a process that `sig` ended. */
export const signalStatus = (sig: NodeJS.Signals): number => 128 + os.constants.signals[sig];
