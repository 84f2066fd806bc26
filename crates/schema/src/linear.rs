//! Payloads of `advland linear` reports (being written).
