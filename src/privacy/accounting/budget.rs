//! The accountants' one work and memory limit. Every accountant that builds a grid (the PLD's
//! discretised loss and its composed support, the PRV's discretised loss and FFT) asks
//! [`grid_points`] for the number of points it is about to allocate, computed in `f64` from
//! the grid's extent *before* anything is allocated, and gets either that number as a `usize`
//! or [`AccountingError::WorkLimit`]. The limit, [`MAX_GRID_POINTS`], bounds both memory (one
//! complex FFT buffer of that length is 64 MiB) and time (one evaluation stays near a second
//! on one core), so σ calibration, which evaluates an accountant many times, stays bounded too:
//! it treats an over-limit σ as one it cannot certify (see `calibrate`).
//!
//! The RDP accountant builds no grid; its fractional-order series is bounded by its own term
//! caps (`rdp::CAPPED_SERIES_MAX_TERMS`, `rdp::SIGNED_SERIES_SAFETY_STOP`).
//!
//! May depend on: `error`. f64 maths only.

use super::error::{AccountingError, Result};

/// Largest grid (points of one discretised distribution or FFT) an accountant builds:
/// 2^22 = 4,194,304 points, 64 MiB as complex f64.
pub const MAX_GRID_POINTS: usize = 1 << 22;

/// What to do instead, for [`AccountingError::WorkLimit`] messages. Names only options that
/// exist (the `--accountant` option of `dpwear privacy` and `dpwear eval`, the `accountant`
/// key of a grid's `[privacy]` table).
pub const WORK_LIMIT_HINT: &str =
    "use the rdp accountant (--accountant rdp, or accountant = \"rdp\" \
in the grid's [privacy] table), which needs no grid, or more noise (a larger sigma) or fewer steps";

/// `needed` grid points for `what`, as a `usize`, or [`AccountingError::WorkLimit`] when it is
/// not finite or exceeds [`MAX_GRID_POINTS`]. Call it before allocating.
pub(crate) fn grid_points(
    accountant: &'static str,
    what: &'static str,
    needed: f64,
) -> Result<usize> {
    if needed.is_finite() && needed >= 0.0 && needed <= MAX_GRID_POINTS as f64 {
        return Ok(needed as usize);
    }
    Err(AccountingError::WorkLimit {
        accountant,
        what,
        needed,
        limit: MAX_GRID_POINTS,
        hint: WORK_LIMIT_HINT,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_points_refuse_what_exceeds_the_limit_or_is_not_finite() {
        assert_eq!(grid_points("pld", "x", 12.0).unwrap(), 12);
        assert_eq!(
            grid_points("pld", "x", MAX_GRID_POINTS as f64).unwrap(),
            MAX_GRID_POINTS
        );
        for bad in [
            MAX_GRID_POINTS as f64 + 1.0,
            1e30,
            f64::INFINITY,
            f64::NAN,
            -1.0,
        ] {
            match grid_points("pld", "the loss grid", bad) {
                Err(e @ AccountingError::WorkLimit { .. }) => {
                    let msg = e.to_string();
                    assert!(
                        msg.contains("pld") && msg.contains("--accountant rdp"),
                        "{msg}"
                    );
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
