/** The capacity layer's public API: sensors (real), capacity tracking, throttled flags, thermal maths. */
export * from './types.js';
export { createRealSensors, type RealSensorOptions, type RealSensorSource } from './real-sensors.js';
export { CapacityTracker, type CapacityOptions } from './tracker.js';
export { parseThrottled, encodeThrottled, THROTTLED_BITS, type ParsedThrottled } from './throttled.js';
export { ThermalStateMachine, validateThresholds } from './hysteresis.js';
export { powerW, steadyStateC, relaxC, predictC, secondsToReachC } from './thermal-math.js';
export { capacityOptionsFromProfile, thresholdsFromZones, type ProfileOverrides } from './from-profile.js';
export { clockFor, sustainedClock, sprintSeconds, MAX_SPRINT_S } from './governor.js';
