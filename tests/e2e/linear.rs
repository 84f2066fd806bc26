//! `advland linear` end-to-end tests (being written).
