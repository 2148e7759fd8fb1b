/** Both architectures in one file, one after the other: two emulations at once would take both cores from the rest of the suite. */
import { armTest } from './arm-emulated.js';

armTest('arm64');
armTest('arm');
