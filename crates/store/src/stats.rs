//! System statistics.
