export { FakeClock } from './fake-clock.js';
export { CircuitBreakerTesting, CircuitBreakerTestingModule, type CircuitBreakerTestingOptions } from './testing.module.js';
