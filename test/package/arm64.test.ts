import { armTest } from './arm-emulated.js';

armTest('arm64');
