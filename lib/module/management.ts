// The management API lives in lib/management; the module definition imports it from here.
export { managementControllers } from '../management/circuit-breaker-management.controller.js';
