//! One comparison of a kernel's output with its reference ([`Check`]), and the list a suite
//! fills ([`Checks`]).

use super::Suite;
use crate::error::Error;
use crate::quant::QuantType;

/// How a [`Check`]'s error is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// `max |got − want| / max |want|`: llama.cpp test-backend-ops' normalized error.
    Normalized,
    /// `max |got − want|`.
    Absolute,
    /// `max |got − want| / max(|want|, 1)`, element by element.
    Relative,
    /// How many elements (or picks, or conditions) differ from what they must be.
    Mismatches,
}

impl Measure {
    pub fn name(self) -> &'static str {
        match self {
            Measure::Normalized => "normalized",
            Measure::Absolute => "absolute",
            Measure::Relative => "relative",
            Measure::Mismatches => "mismatches",
        }
    }
}

/// One kernel output compared with its reference.
#[derive(Clone, Debug)]
pub struct Check {
    pub suite: Suite,
    /// What ran, e.g. `matvec`, `matmul`, `matmul_cols`, `attention`.
    pub kernel: &'static str,
    /// The weight's block type, for the kernels that read one.
    pub ty: Option<QuantType>,
    /// Sizes and options, e.g. `rows 300 cols 96 tokens 17 parts 5`.
    pub shape: String,
    pub measure: Measure,
    pub error: f64,
    pub budget: f64,
    /// The worst element (index, got, want), or what went wrong.
    pub detail: String,
}

impl Check {
    /// Within budget (a NaN error never is).
    pub fn passed(&self) -> bool {
        self.error <= self.budget
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ty = self.ty.map_or(String::new(), |t| format!(" {}", t.name()));
        write!(
            f,
            "{} {}{ty} [{}]: {} error {:.3e} (budget {:.1e}) {}",
            self.suite.name(),
            self.kernel,
            self.shape,
            self.measure.name(),
            self.error,
            self.budget,
            self.detail
        )
    }
}

/// The checks of one suite as it runs.
pub(super) struct Checks {
    suite: Suite,
    list: Vec<Check>,
}

impl Checks {
    pub(super) fn new(suite: Suite) -> Self {
        Checks { suite, list: Vec::new() }
    }

    pub(super) fn into_vec(self) -> Vec<Check> {
        self.list
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kernel: &'static str,
        ty: Option<QuantType>,
        shape: &str,
        measure: Measure,
        error: f64,
        budget: f64,
        detail: String,
    ) {
        let shape = shape.to_string();
        self.list.push(Check { suite: self.suite, kernel, ty, shape, measure, error, budget, detail });
    }

    /// The suite stopped on `e`.
    pub(super) fn failed(&mut self, e: Error) {
        self.push(
            "error",
            None,
            "",
            Measure::Mismatches,
            f64::INFINITY,
            0.0,
            format!("{} ({})", e, e.code()),
        );
    }

    /// `max |got − want| / max |want| <= budget` ([`Measure::Normalized`]).
    pub(super) fn close(
        &mut self,
        kernel: &'static str,
        ty: Option<QuantType>,
        shape: &str,
        got: &[f32],
        want: &[f32],
        budget: f64,
    ) {
        let scale = want.iter().fold(0f64, |a, &b| a.max((b as f64).abs())).max(1e-30);
        let (error, detail) = worst(got, want, |_| scale);
        self.push(
            kernel,
            ty,
            shape,
            Measure::Normalized,
            error,
            budget,
            format!("{detail}; max |want| {scale:.4}"),
        );
    }

    /// `max |got − want| <= budget` ([`Measure::Absolute`]).
    pub(super) fn absolute(
        &mut self,
        kernel: &'static str,
        shape: &str,
        got: &[f32],
        want: &[f32],
        budget: f64,
    ) {
        let (error, detail) = worst(got, want, |_| 1.0);
        self.push(kernel, None, shape, Measure::Absolute, error, budget, detail);
    }

    /// `|got − want| <= budget · max(|want|, 1)` for each element ([`Measure::Relative`]).
    pub(super) fn relative(
        &mut self,
        kernel: &'static str,
        shape: &str,
        got: &[f32],
        want: &[f32],
        budget: f64,
    ) {
        let (error, detail) = worst(got, want, |w| w.abs().max(1.0));
        self.push(kernel, None, shape, Measure::Relative, error, budget, detail);
    }

    /// Values that must be exactly equal: the error is how many differ ([`Measure::Mismatches`]).
    pub(super) fn same<T: PartialEq + std::fmt::Debug>(
        &mut self,
        kernel: &'static str,
        ty: Option<QuantType>,
        shape: &str,
        got: &[T],
        want: &[T],
    ) {
        let differ: Vec<usize> =
            (0..got.len().max(want.len())).filter(|&i| got.get(i) != want.get(i)).collect();
        let detail = match differ.first() {
            None => String::new(),
            Some(&i) => format!("first at {i}: got {:?}, want {:?}", got.get(i), want.get(i)),
        };
        self.push(kernel, ty, shape, Measure::Mismatches, differ.len() as f64, 0.0, detail);
    }

    /// A condition that must hold (`what` says which); counted as one mismatch when it does not.
    pub(super) fn holds(
        &mut self,
        kernel: &'static str,
        ty: Option<QuantType>,
        shape: &str,
        ok: bool,
        what: &str,
    ) {
        self.push(kernel, ty, shape, Measure::Mismatches, if ok { 0.0 } else { 1.0 }, 0.0, what.to_string());
    }

    /// A count of mismatches with a budget other than zero.
    pub(super) fn count(&mut self, kernel: &'static str, shape: &str, n: usize, budget: usize, what: String) {
        self.push(kernel, None, shape, Measure::Mismatches, n as f64, budget as f64, what);
    }
}

/// The largest `|got − want| / scale(want)` and where it is. Lengths that differ and values that
/// are not finite count as an infinite error.
fn worst(got: &[f32], want: &[f32], scale: impl Fn(f64) -> f64) -> (f64, String) {
    if got.len() != want.len() {
        return (f64::INFINITY, format!("length {} instead of {}", got.len(), want.len()));
    }
    let (mut error, mut at) = (0f64, None);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let e = if g.is_finite() { (g as f64 - w as f64).abs() / scale(w as f64) } else { f64::INFINITY };
        if e > error || e.is_nan() {
            (error, at) = (if e.is_nan() { f64::INFINITY } else { e }, Some(i));
            if !error.is_finite() {
                break;
            }
        }
    }
    match at {
        Some(i) => (error, format!("worst at {i}: got {}, want {}", got[i], want[i])),
        None => (0.0, String::new()),
    }
}
