//! One file per command; each exposes `run`.

pub mod calibrate;
pub mod compare;
pub mod connect;
pub mod demo;
pub mod eval;
pub mod experiment;
pub mod export;
pub mod export_grid;
pub mod import;
pub mod linear;
pub mod merge;
pub mod relate;
pub mod report;
pub mod sharpness;
pub mod surface;
pub mod train;
