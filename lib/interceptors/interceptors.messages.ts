// Every user-facing message of the error mapping.

/** The `error` field of the 503 body: the HTTP reason phrase. */
export const SERVICE_UNAVAILABLE = 'Service Unavailable';
