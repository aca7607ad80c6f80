//! TODO

pub mod kernels;
