//! Stored warnings, errors and security events (filled in below).
