// Every user-facing message of the error mapping.

/** The `error` field of the 503 body: the HTTP reason phrase. */
export const SERVICE_UNAVAILABLE = 'Service Unavailable';

/** The `error` field of the 504 body for a call timeout: the HTTP reason phrase. */
export const GATEWAY_TIMEOUT = 'Gateway Timeout';
